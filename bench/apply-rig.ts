// The rig of bench/apply.bench.ts: three namespaces of the run, a client, the node and a guest, two
// veth pairs (the node's ends named as the spec's uplink bridge and guest bridge, which its rules
// match), and one TCP connection held open from the client through the node's full-NAT forward to an
// echo server in the guest: a byte out and back every 20 ms, each gap timed, for as long as the bench
// runs. Its conntrack entry on the node is read before and after each apply.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { PYTHON } from '../src/lab/agent.ts';
import type { NamespaceRun } from '../src/lab/netns.ts';
import { type Runner, realRunner, runChecked } from '../src/lab/run.ts';

/** generateSpec's node1, guest1 and its subnet; forward 0 is tcp/10000 -> guest1:10000. */
export const NODE_PUBLIC = '172.16.1.1';
export const PORT = 10000;
const CLIENT_ADDRESS = '172.16.0.1/16';
const NODE_GUEST_SIDE = '10.64.254.1/16';
const GUEST_ADDRESS = '10.64.0.1/16';

const ECHO = `import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(1); print("ready", flush=True)
c, _ = s.accept()
while True:
    d = c.recv(4096)
    if not d: break
    c.sendall(d)
`;

// Until a line on stdin: one byte out and back every 20 ms; prints the count and the longest gap.
const HOLD = `import json, select, socket, sys, time
c = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2)
print("ready", flush=True)
n, gap, last = 0, 0.0, time.monotonic()
try:
    while not select.select([sys.stdin], [], [], 0.02)[0]:
        c.sendall(b"x")
        if c.recv(1) != b"x": raise OSError("closed")
        now = time.monotonic(); gap = max(gap, now - last); last = now; n += 1
    print(json.dumps({"exchanges": n, "longest_gap_ms": gap * 1000}), flush=True)
except OSError as e:
    print(json.dumps({"exchanges": n, "error": str(e)}), flush=True)
`;

export interface Rig {
  /** Commands in the node's namespace. */
  readonly run: Runner;
  readonly ns: (name: string) => string;
}

export function buildRig(nsRun: NamespaceRun): Rig {
  const [client, node, guest] = ['client', 'node', 'guest'].map((n) => nsRun.add(n)) as [
    string,
    string,
    string,
  ];
  const ip = (ns: string, ...argv: string[]) => runChecked(realRunner, ['ip', '-n', ns, ...argv]);
  ip(node, 'link', 'add', 'xenbr0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', client);
  ip(node, 'link', 'add', 'guestbr0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', guest);
  for (const [ns, dev, address] of [
    [client, 'eth0', CLIENT_ADDRESS],
    [node, 'xenbr0', `${NODE_PUBLIC}/16`],
    [node, 'guestbr0', NODE_GUEST_SIDE],
    [guest, 'eth0', GUEST_ADDRESS],
  ] as const) {
    ip(ns, 'addr', 'add', address, 'dev', dev);
    ip(ns, 'link', 'set', dev, 'up');
  }
  runChecked(realRunner, ['ip', 'netns', 'exec', node, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  return {
    run: (argv, options) => realRunner(['ip', 'netns', 'exec', node, ...argv], options),
    ns: nsRun.ns.bind(nsRun),
  };
}

/** A python program in a namespace of the run, tracked, once it printed "ready". */
function startPython(nsRun: NamespaceRun, ns: string, program: string, args: string[]) {
  const child = spawn('ip', ['netns', 'exec', ns, PYTHON, '-c', program, ...args]);
  if (child.pid !== undefined) nsRun.track(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`python in ${ns}: not ready in 10 s: ${stderr}`)),
      10_000,
    );
    child.stdout.on('data', () => {
      if (stdout.startsWith('ready\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => reject(new Error(`python in ${ns} exited ${code}: ${stderr}`)));
  });
  return { child, ready, output: () => stdout.slice('ready\n'.length), stderr: () => stderr };
}

export interface Held {
  /** Ends the connection's exchanges: what the client saw. */
  stop(): Promise<{ exchanges: number; longest_gap_ms?: number; error?: string }>;
}

/** The echo server in the guest, then the connection from the client through the node. */
export async function holdConnection(nsRun: NamespaceRun, rig: Rig): Promise<Held> {
  const server = startPython(nsRun, rig.ns('guest'), ECHO, [String(PORT)]);
  await server.ready;
  const client = startPython(nsRun, rig.ns('client'), HOLD, [NODE_PUBLIC, String(PORT)]);
  await client.ready;
  return {
    stop: () =>
      new Promise((resolve, reject) => {
        const child: ChildProcessWithoutNullStreams = client.child;
        child.on('close', () => {
          try {
            resolve(JSON.parse(client.output()));
          } catch {
            reject(new Error(`the connection's client said: ${client.output()} ${client.stderr()}`));
          }
        });
        child.stdin.end('stop\n');
      }),
  };
}

/** The connection's conntrack entry on the node, its countdown left out: tuples, status, mark, id. */
export function conntrackEntry(rig: Rig): string {
  const listed = runChecked(rig.run, [
    'conntrack',
    '-L',
    '-p',
    'tcp',
    '--orig-port-dst',
    String(PORT),
    '-o',
    'id',
  ]);
  const lines = listed.trim().split('\n').filter(Boolean);
  if (lines.length !== 1)
    throw new Error(`expected the one connection to port ${PORT}, conntrack lists:\n${listed}`);
  return (lines[0] as string).replace(/^(\S+\s+\d+\s+)\d+\s+/, '$1');
}
