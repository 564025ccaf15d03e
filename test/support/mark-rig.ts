// Three namespaces (client, host, server) shared by every example of the coexistence test: the host
// carries a foreign table that marks TCP under its own bits, as kube-proxy or Neutron would, and a
// flow needs those bits to pass it: the routes to the client and the server are only in table 40,
// which `ip rule fwmark 0x4000/0x4000` selects, and the foreign table drops forwarded TCP whose
// connection lacks 0x8000. Each case rebuilds the host's links under the names the ruleset knows,
// loads the foreign table and a ruleset with `nft -f`, and sends one real connection through.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_DIR, PYTHON } from '../../src/lab/agent.ts';
import { NamespaceRun } from '../../src/lab/netns.ts';
import { startServer } from '../../src/lab/servers.ts';
import { addressOf, type MarkFlow, type Side } from './mark-flows.ts';

/** The foreign table's bits: kube-proxy's masquerade bit on packets, its drop bit on connections. */
export const FOREIGN_PACKET_BIT = 0x4000;
export const FOREIGN_CONN_BIT = 0x8000;
const TABLE = 40;

// Prerouting -400 comes before every hook of convergent's (raw -300 is its first); the ct mark is
// set at mangle - 1, before convergent's tenant marks at mangle; the gate runs after its filters.
export const FOREIGN = `table inet foreign
delete table inet foreign
table inet foreign {
	chain mark_early {
		type filter hook prerouting priority -400; policy accept;
		meta l4proto tcp meta mark set meta mark | 0x00004000 comment "routed by ip rule fwmark 0x4000/0x4000"
	}
	chain ctmark {
		type filter hook prerouting priority mangle - 1; policy accept;
		ct state new meta l4proto tcp ct mark set ct mark | 0x00008000
	}
	chain gate {
		type filter hook forward priority filter + 10; policy accept;
		meta l4proto tcp ct mark & 0x00008000 == 0 counter drop comment "as Neutron drops what lacks its mark"
	}
}
`;

/** The netdev devices a ruleset hooks (`devices = { ... }`): they must exist for it to load. */
export function hookedDevices(ruleset: string): string[] {
  const all = [...ruleset.matchAll(/devices = \{([^}]*)\}/g)].flatMap((m) =>
    [...(m[1] as string).matchAll(/"([^"]+)"/g)].map((d) => d[1] as string),
  );
  return [...new Set(all)];
}

export interface Probe {
  readonly banner?: string;
  readonly error?: string;
}

export class MarkRig {
  readonly run = new NamespaceRun();
  readonly host: string;
  readonly client: string;
  readonly server: string;
  readonly #dir: string;
  #sport = 41000;

  constructor() {
    this.#dir = mkdtempSync(join(tmpdir(), 'convergent-marks-'));
    this.run.removesDir(this.#dir);
    this.host = this.run.ns('host');
    this.client = this.run.ns('client');
    this.server = this.run.ns('server');
    try {
      for (const name of ['host', 'client', 'server']) this.run.add(name);
      this.#batch(this.host, [
        `rule add pref 100 fwmark ${FOREIGN_PACKET_BIT}/${FOREIGN_PACKET_BIT} lookup ${TABLE}`,
      ]);
      for (const key of ['ip_forward', 'conf.all.rp_filter', 'conf.default.rp_filter'])
        this.#ok(this.host, ['sysctl', '-qw', `net.ipv4.${key}=${key === 'ip_forward' ? 1 : 0}`]);
    } catch (e) {
      this.run.cleanup();
      throw e;
    }
  }

  /** Starts the server on every port a flow ends at. */
  async listen(ports: readonly number[]): Promise<void> {
    const args = [...new Set(ports)].flatMap((p) => ['--tcp', String(p)]);
    await startServer(this.server, 'server', args, join(this.#dir, 'logs'), (pid) => this.run.track(pid))();
  }

  /** The host as the flow needs it: links named as the ruleset knows them, stand-ins for `devices`. */
  wire(flow: MarkFlow, ruleset: string): void {
    this.#ok(this.host, ['nft', 'flush ruleset']);
    this.#ok(this.host, ['conntrack', '-F']);
    const links = JSON.parse(this.#ok(this.host, ['ip', '-j', 'link', 'show'])) as { ifname: string }[];
    // Deleting one end of a veth deletes the other: the stand-ins' peers go with them.
    const old = links.map((l) => l.ifname).filter((n) => n !== 'lo' && !n.startsWith('standin'));
    const standIns = hookedDevices(ruleset).filter((d) => d !== flow.client.dev && d !== flow.server.dev);
    this.#batch(this.host, [
      ...old.map((n) => `link del ${n}`),
      `link add ${flow.client.dev} type veth peer name eth0 netns ${this.client}`,
      `link add ${flow.server.dev} type veth peer name eth0 netns ${this.server}`,
      ...standIns.map((d, i) => `link add ${d} type veth peer name standin${i}`),
      ...sideOfHost(flow.client),
      ...sideOfHost(flow.server),
    ]);
    this.#batch(this.client, sideOfPeer(flow.client));
    this.#batch(this.server, sideOfPeer(flow.server));
  }

  /** `nft -f` of the text, written to a file first, as a user loads a rendered file. */
  load(name: string, text: string): void {
    const file = join(this.#dir, `${name}.nft`);
    writeFileSync(file, text);
    this.#ok(this.host, ['nft', '-f', file]);
  }

  /** One TCP connection from the client, and the connection marks the host recorded for it. */
  connect(flow: MarkFlow): Probe & { marks: number[] } {
    const sport = this.#sport++;
    const r = this.run.exec(this.client, [
      PYTHON,
      join(AGENT_DIR, 'probe.py'),
      'tcp',
      flow.dial.address,
      String(flow.dial.port),
      String(sport),
    ]);
    const probe = JSON.parse(r.stdout || '{"error":"no output"}') as Probe;
    const listed = this.run.exec(this.host, ['conntrack', '-L', '-p', 'tcp']);
    const marks = listed.stdout
      .split('\n')
      .filter((l) => l.includes(`sport=${sport} `))
      .map((l) => Number(/ mark=(\d+)/.exec(l)?.[1] ?? -1));
    return { ...probe, marks };
  }

  cleanup(): void {
    this.run.cleanup();
  }

  #ok(ns: string, argv: string[], input?: string): string {
    const r = this.run.exec(ns, argv, input);
    assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  #batch(ns: string, lines: string[]): void {
    this.#ok(ns, ['ip', '-batch', '-'], `${lines.join('\n')}\n`);
  }
}

/** The host's end: its address without the subnet's route, the peer reachable only by table 40. */
function sideOfHost(side: Side): string[] {
  return [
    `address add ${side.host} dev ${side.dev} noprefixroute`,
    ...(side.extra ?? []).map((a) => `address add ${a}/32 dev ${side.dev}`),
    `link set ${side.dev} up`,
    `route add ${addressOf(side.peer)}/32 dev ${side.dev} table ${TABLE}`,
  ];
}

function sideOfPeer(side: Side): string[] {
  return [
    'link set lo up',
    `address add ${side.peer} dev eth0`,
    'link set eth0 up',
    `route add default via ${addressOf(side.host)} dev eth0 onlink`,
  ];
}
