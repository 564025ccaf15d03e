// What a lab needs of this machine, checked before it creates anything: the commands it runs, each
// with the Debian package that has it, the VM lab's kernel and busybox, and the kernel modules a
// spec's nodes rely on. The packages are known here alone; .ci/run installs the same list
// (test/unit/preflight.test.ts compares them), and a refusal names them in one apt-get line.
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { HostPlan } from '../host/plan.ts';
import { staticBusybox } from '../vm/initramfs.ts';
import { installedKernels } from '../vm/kernel.ts';
import { LabError } from './errors.ts';

/** A command is there when PATH has it as an executable file, as spawn finds it. */
function onPath(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const path = join(dir, command);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {}
  }
  return undefined;
}

interface Requirement {
  /** The Debian package that brings it. */
  readonly package: string;
  /** What the lab does with it. */
  readonly for: string;
  /** Where it is (a path, a kernel version), or undefined when missing. */
  readonly find: () => string | undefined;
}

/** ifenslave is no command: a hook ifupdown runs before it brings a bond up. */
const IFENSLAVE = '/etc/network/if-pre-up.d/ifenslave';

const tool = (pkg: string, what: string): Requirement => ({ package: pkg, for: what, find: () => undefined });

/** Everything any lab or benchmark runs, keyed by the name a user sees. */
export const REQUIREMENTS = {
  ip: tool('iproute2', 'namespaces, links, addresses and routes'),
  ss: tool('iproute2', 'waiting for the servers to listen'),
  nft: tool('nftables', "loading each node's ruleset"),
  sysctl: tool('procps', "loading each node's sysctl.d"),
  conntrack: tool('conntrack', 'conntrack entries as evidence and on migration'),
  curl: tool('curl', 'the http checks'),
  ping: tool('iputils-ping', 'the ping checks'),
  tcpdump: tool('tcpdump', 'captures as evidence of a failed check'),
  // The lab prefers Debian's python3 to a version manager's shim on PATH (PYTHON in lab/agent.ts).
  python3: {
    package: 'python3',
    for: "the lab's servers and probes",
    find: () => (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : onPath('python3')),
  },
  haproxy: tool('haproxy', 'the HTTP reverse proxies'),
  conntrackd: tool('conntrackd', 'replicating conntrack state between the nodes (strategy ctsync)'),
  unshare: tool('util-linux', "conntrackd's own /run in a mount namespace"),
  iperf3: tool('iperf3', 'the throughput benchmarks: bench:lab, bench:cgnat, bench:strategies'),
  // `lab up --ssh`: each node's own sshd, the lab's keys, and the Ansible rollout from the workstation.
  sshd: {
    package: 'openssh-server',
    for: "each node's own sshd (lab up --ssh)",
    find: () => (existsSync('/usr/sbin/sshd') ? '/usr/sbin/sshd' : onPath('sshd')),
  },
  'ssh-keygen': tool('openssh-client', "the lab's SSH keys and the client Ansible runs (lab up --ssh)"),
  'ansible-playbook': tool('ansible-core', 'the rollout of contrib/ansible across the lab (lab up --ssh)'),
  'qemu-system-x86_64': tool('qemu-system-x86', 'the VM lab (--vm)'),
  modprobe: tool('kmod', "the VM lab: its kernel's modules"),
  'Debian kernel': {
    package: 'linux-image-amd64',
    for: 'the VM lab boots an installed Debian kernel',
    find: () => installedKernels().at(-1)?.version,
  },
  // The VM test of interfaces.d/convergent runs the real ifup (test/vm/ifupdown.test.ts).
  ifup: tool('ifupdown', 'bringing a node up from interfaces.d/convergent (ifup -a), in the VM test'),
  brctl: tool('bridge-utils', "ifupdown's bridge-ports options, in the same test"),
  ifenslave: {
    package: 'ifenslave',
    for: "ifupdown's bond-* options, in the same test",
    find: () => (existsSync(IFENSLAVE) ? IFENSLAVE : undefined),
  },
  'static busybox': {
    package: 'busybox-static',
    for: "the VM lab's initramfs",
    find: () => {
      try {
        return staticBusybox();
      } catch {
        return undefined;
      }
    },
  },
} as const satisfies Record<string, Requirement>;

export type Need = keyof typeof REQUIREMENTS;

/** Where a requirement is on this machine, or undefined. */
export function locate(need: Need): string | undefined {
  const r: Requirement = REQUIREMENTS[need];
  return r.find() ?? onPath(need);
}

/** What every lab in namespaces runs: building the nodes, the servers, the clients, the evidence. */
const CLUSTER_LAB: readonly Need[] = [
  'ip',
  'ss',
  'nft',
  'sysctl',
  'conntrack',
  'curl',
  'ping',
  'tcpdump',
  'python3',
];
/** The CGNAT lab's router, clients and checks (no http checks, no captures). */
const CGNAT_LAB: readonly Need[] = ['ip', 'nft', 'sysctl', 'conntrack', 'ping', 'python3'];
/** The VM lab runs the lab inside on this machine's root: its tools and these. */
const VM_LAB: readonly Need[] = ['qemu-system-x86_64', 'Debian kernel', 'static busybox', 'modprobe'];

/** A need and why this lab has it, in the words of the spec where it comes from the spec. */
export interface Reason {
  readonly need: Need;
  readonly why: string;
}

/** Each need with what it is for, in general words. */
export const reasons = (needs: readonly Need[]): Reason[] =>
  needs.map((need) => ({ need, why: REQUIREMENTS[need].for }));

/** What `lab up --ssh` needs besides the lab's own tools. */
export const sshNeeds = (): Reason[] => reasons(['sshd', 'ssh-keygen', 'ansible-playbook']);

/** What a system's lab needs on this kernel (its tools), and in a VM besides. */
export function labNeeds(system: 'cluster' | 'cgnat', vm = false): Reason[] {
  return reasons([...(system === 'cluster' ? CLUSTER_LAB : CGNAT_LAB), ...(vm ? VM_LAB : [])]);
}

export const cgnatNeeds = (vm = false): Reason[] => labNeeds('cgnat', vm);

/** What a lab on this kernel may need, whatever its spec (proxies and ctsync included). */
export function anyLabNeeds(): Reason[] {
  return reasons([...new Set<Need>([...CLUSTER_LAB, ...CGNAT_LAB, 'haproxy', 'conntrackd', 'unshare'])]);
}

/** What the VM lab needs besides the lab's own tools. */
export function vmNeeds(): Reason[] {
  return reasons(VM_LAB);
}

/** Everything: every lab, the VM lab and the benchmarks (`convergent doctor` without a spec). */
export function allNeeds(): Reason[] {
  return reasons(Object.keys(REQUIREMENTS) as Need[]);
}

/** The one command that installs what is missing; the same package once. */
export function installLine(missing: readonly Need[]): string {
  return `apt-get install ${[...new Set(missing.map((n) => REQUIREMENTS[n].package))].join(' ')}`;
}

/** The needs that are missing, each once (the first reason given for it). */
export function missingOf(needs: readonly Reason[]): Reason[] {
  const first = needs.filter((r, i) => needs.findIndex((x) => x.need === r.need) === i);
  return first.filter((r) => locate(r.need) === undefined);
}

export const BRIDGE_NF = '/proc/sys/net/bridge';
// Modules a lab cannot load into a namespace, and how to tell that the kernel has them.
const MODULE_PROBES: Record<string, string> = {
  br_netfilter: BRIDGE_NF,
  nf_conntrack: '/proc/sys/net/netfilter/nf_conntrack_max',
};

export interface ModuleNeed {
  readonly node: string;
  readonly name: string;
  readonly source: string;
}

/** Kernel modules the nodes rely on that this machine has not loaded (the lab never loads one). */
export function missingModules(plans: readonly HostPlan[]): ModuleNeed[] {
  return plans.flatMap((plan) =>
    plan.modules
      .filter((m) => !existsSync(MODULE_PROBES[m.name] ?? `/sys/module/${m.name}`))
      .map((m) => ({ node: plan.node, ...m })),
  );
}

export const loadModule = (m: ModuleNeed) =>
  `node ${m.node} needs kernel module ${m.name} (${m.source}), which this machine has not loaded; load it with: modprobe ${m.name}`;

/** The refusal of a lab that lacks something, as one line: what, what for, and how to get it. */
export function describeMissing(missing: readonly Reason[]): string {
  const what = missing.map((r) => `${r.need} (${r.why})`).join(', ');
  const them = missing.length === 1 ? 'it' : 'them';
  return `the lab needs ${what}, which this machine lacks; install ${them}: ${installLine(missing.map((r) => r.need))} (convergent doctor lists what the lab needs)`;
}

/**
 * Throws the refusal (LabError: exit 4) when a need or a module is missing; called before the lab
 * creates anything. Modules count only for a lab on this kernel (a VM's kernel loads its own).
 */
export function requireLab(needs: readonly Reason[], plans: readonly HostPlan[] = []): void {
  const missing = missingOf(needs);
  if (missing.length > 0) throw new LabError(describeMissing(missing));
  const [module] = missingModules(plans);
  if (module) throw new LabError(loadModule(module));
}
