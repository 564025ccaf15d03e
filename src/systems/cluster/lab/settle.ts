// When the cluster's lab is ready for traffic: every bridge port forwards, and STP has settled on
// the guest bridges that run it.
import { LabError } from '../../../lab/errors.ts';
import { bridgePorts, portsNotForwarding, waitUntilSettled } from '../../../lab/settle.ts';
import { plural } from '../../../util/plural.ts';
import type { Network } from '../model.ts';
import type { LabInstance } from './build.ts';
import { UPSTREAM } from './topology.ts';

/**
 * A bridge port forwards only once the kernel's link watcher has seen its carrier, up to a second
 * after both ends of a veth are up: until then the port is "disabled" and drops every frame (the
 * first ARP request of a check went unanswered by the other node). Waits for every bridge port of
 * the nodes and the upstream to forward, but those of STP bridges, which waitForStp deals with.
 */
export async function waitForPorts(lab: LabInstance): Promise<void> {
  const stp = new Set(lab.cluster.networks.filter((n) => n.stp).map((n) => n.bridge));
  const hosts = [UPSTREAM, ...lab.cluster.nodes.map((n) => n.name)];
  await waitUntilSettled('bridge ports still not forwarding', 50, () =>
    hosts.flatMap((host) => portsNotForwarding(lab.runner, lab.ns(host), host, stp)),
  );
}

/**
 * An IPv6 address is tentative for about a second after its link comes up (duplicate address
 * detection), and a host answers no neighbour solicitation for it meanwhile: a routed tap's
 * link-local address is the guests' IPv6 router. Waits until no node or guest holds one.
 */
export async function waitForDad(lab: LabInstance): Promise<void> {
  if (!lab.cluster.routed.some((r) => r.subnet6 !== undefined)) return;
  const hosts = [...lab.cluster.nodes, ...lab.cluster.guests].map((h) => h.name);
  await waitUntilSettled('IPv6 addresses still tentative', 100, () =>
    hosts.flatMap((host) => {
      const r = lab.runner(['ip', '-n', lab.ns(host), '-6', '-o', 'address', 'show', 'tentative']);
      return r.stdout
        .split('\n')
        .filter((l) => l.trim() !== '' && !l.includes('dadfailed'))
        .map((l) => `${host} ${l.split(/\s+/)[1]}`);
    }),
  );
}

interface PipeEnd {
  readonly node: string;
  readonly ifname: string;
}

/** An STP network's pipe ends that are still connected, and the loops their pipes make. */
interface StpSegment {
  readonly network: Network;
  readonly ends: readonly PipeEnd[];
  readonly loops: number;
}

function stpSegments(lab: LabInstance, cut: ReadonlySet<string>): StpSegment[] {
  return lab.cluster.networks
    .filter((n) => n.stp)
    .map((network) => {
      const pipes = network.pipes.filter((p) => p.ends.every((e) => !cut.has(e.node)));
      const ends = pipes.flatMap((p) => p.ends);
      return { network, ends, loops: Math.max(0, pipes.length - new Set(ends.map((e) => e.node)).size + 1) };
    });
}

/**
 * With STP, ports listen and learn for 2 x forward_delay before they forward; after a node fails,
 * a blocked port may also wait for max_age (20 s) before it takes over. Settled means: no port
 * listening or learning, and as many pipe ports blocking as the remaining pipes have loops.
 */
export async function waitForStp(
  lab: LabInstance,
  say: (l: string) => void,
  cut: ReadonlySet<string> = new Set(),
): Promise<void> {
  say('waiting for STP to settle on the guest bridges');
  const started = Date.now();
  const nodes = lab.cluster.nodes.map((n) => n.name).filter((n) => !cut.has(n));
  const segments = stpSegments(lab, cut);
  for (;;) {
    const states = new Map(nodes.map((n) => [n, bridgePorts(lab.runner, lab.ns(n))]));
    const moving = [...states.values()].some((ports) =>
      ports.some((p) => p.state === 'listening' || p.state === 'learning'),
    );
    const blocking = segments.map(({ network, ends, loops }) => ({
      network,
      loops,
      ports: ends.filter((e) => states.get(e.node)?.find((p) => p.ifname === e.ifname)?.state === 'blocking'),
    }));
    const settled = !moving && blocking.every((b) => b.ports.length === b.loops);
    if (settled || Date.now() - started > STP_TIMEOUT_MS) {
      judgeStp(blocking, ((Date.now() - started) / 1000).toFixed(1), say);
      if (!settled) throw new LabError(`STP did not settle within ${STP_TIMEOUT_MS / 1000} s`);
      return;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Each STP network's blocking ports against its loops: a refusal, or a line saying it settled. */
function judgeStp(
  blocking: readonly { network: Network; loops: number; ports: readonly PipeEnd[] }[],
  seconds: string,
  say: (l: string) => void,
): void {
  for (const b of blocking) {
    const list = b.ports.map((e) => `${e.node} ${e.ifname}`).join(', ') || 'none';
    if (b.ports.length !== b.loops)
      throw new LabError(
        `STP on ${b.network.name} still blocks ${plural(b.ports.length, 'pipe port')} (${list}) after ${seconds} s, where the pipes have ${plural(b.loops, 'loop')}: ` +
          `${b.ports.length < b.loops ? 'a loop is left open' : 'the guest segment is cut in two'}`,
      );
    say(`${b.network.name}: STP settled after ${seconds} s; blocking: ${list}`);
  }
}

/** Up to max_age (20 s) for stale information to expire, then 2 x forward_delay (at most 30 s each). */
const STP_TIMEOUT_MS = 90_000;
