// What the running kernel offers the lab, probed by creating each device type in a lab namespace
// (never in the machine's own): the lab models a pipe named eth1.100 as a real 802.1Q subinterface
// where it can, and says what the kernel lacks and the way out (--vm).
import { NamespaceRun } from './netns.ts';
import type { Runner } from './run.ts';

export const CAPABILITIES = {
  vlan: { what: '802.1Q VLAN subinterfaces', module: '8021q', add: ['type', 'vlan', 'id', '4094'] },
  vrf: { what: 'VRF devices', module: 'vrf', add: ['type', 'vrf', 'table', '4094'] },
  bond: { what: 'bonding', module: 'bonding', add: ['type', 'bond'] },
} as const;

export type Capability = keyof typeof CAPABILITIES;

/**
 * Tries each device type in namespace `ns`, which must hold an interface named `parent`: one
 * `ip -force -batch` that adds and deletes each, and reports the lines that failed.
 */
export function probeCapabilities(runner: Runner, ns: string, parent: string): Set<Capability> {
  const names = Object.keys(CAPABILITIES) as Capability[];
  const lines = names.flatMap((name) => {
    const link = name === 'vlan' ? ['link', parent] : [];
    return [
      ['link', 'add', ...link, 'name', `probe-${name}`, ...CAPABILITIES[name].add].join(' '),
      `link del probe-${name}`,
    ];
  });
  const r = runner(['ip', '-n', ns, '-force', '-batch', '-'], { input: `${lines.join('\n')}\n` });
  const failed = new Set([...r.stderr.matchAll(/^Command failed -:(\d+)$/gm)].map((m) => Number(m[1])));
  // Line 2i+1 adds the i-th device type.
  return new Set(names.filter((_, i) => !failed.has(2 * i + 1)));
}

/** What the lab says about the kernel it runs on, and the way to the missing device types. */
export function describeCapabilities(have: ReadonlySet<Capability>): string {
  const names = (keys: Capability[]) => keys.map((k) => CAPABILITIES[k].what).join(', ');
  const all = Object.keys(CAPABILITIES) as Capability[];
  const lacking = all.filter((k) => !have.has(k));
  const offered = all.filter((k) => have.has(k));
  if (lacking.length === 0) return `this kernel offers ${names(offered)}`;
  return `this kernel ${offered.length ? `offers ${names(offered)} but ` : ''}has no ${names(lacking)}; "lab test --vm" runs the lab on a Debian kernel that has them`;
}

/** What every lab builds on: a kernel without one of these cannot run it, here or in any backend. */
export const KERNEL_FEATURES = [
  'network namespaces',
  'veth pairs',
  'bridges',
  'nf_tables',
  'conntrack',
] as const;

export type KernelFeature = (typeof KERNEL_FEATURES)[number];

/** A probe's answer: true, or why not (the tool's error, or what was missing to ask). */
export type Answer = true | string;

/**
 * Asks the running kernel for the lab's features by using each once in a namespace of its own
 * (`convergent doctor`), removed afterwards: the machine's own namespace is never touched.
 */
export function probeKernel(runner: Runner): {
  features: Map<KernelFeature, Answer>;
  devices?: Set<Capability>;
} {
  const features = new Map<KernelFeature, Answer>();
  const run = new NamespaceRun(runner);
  try {
    let ns: string;
    try {
      ns = run.add('doctor');
      features.set('network namespaces', true);
    } catch (err) {
      const why = (err as Error).message;
      for (const f of KERNEL_FEATURES) features.set(f, f === 'network namespaces' ? why : 'not probed');
      return { features };
    }
    const ip = (line: string): Answer => {
      const r = runner(['ip', '-n', ns, ...line.split(' ')]);
      return r.code === 0 || r.stderr.trim() || `ip exited ${r.code}`;
    };
    features.set('veth pairs', ip('link add probe0 type veth peer name probe1'));
    features.set('bridges', ip('link add probe-br type bridge'));
    const nft = (input: string): Answer => {
      const r = run.exec(ns, ['nft', '-f', '-'], input);
      return r.code === 0 || r.stderr.trim().split('\n')[0] || `nft exited ${r.code}`;
    };
    const tables = nft(
      'table ip convergent_probe {\n  chain forward {\n    type filter hook forward priority 0;\n  }\n}\n',
    );
    features.set('nf_tables', tables);
    // A ct expression needs the kernel's connection tracking: nat, stateful filters and zones use it.
    features.set(
      'conntrack',
      tables === true
        ? nft('add rule ip convergent_probe forward ct state established accept\n')
        : 'not probed',
    );
    return { features, devices: probeCapabilities(runner, ns, 'probe0') };
  } finally {
    run.cleanup();
  }
}
