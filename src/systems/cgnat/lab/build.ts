// The CGNAT lab: the router, the uplink's far side (the peer) and every tenant's clients, each in a
// namespace of the run, wired as in the demo: the router's uplink interface to the peer's, and each
// client's `cuplink` to a port named after it on its tenant's bridge. The router loads its rendered
// files unchanged (the netns backend's tenant namespaces get the run's names); clients and peer get
// their addresses and routes from the spec.
import { join } from 'node:path';
import { FILES } from '../../../host/files.ts';
import { probeCapabilities } from '../../../lab/capabilities.ts';
import { LabError } from '../../../lab/errors.ts';
import { writeFiles } from '../../../lab/files.ts';
import { NamespaceRun } from '../../../lab/netns.ts';
import { cgnatNeeds, requireLab } from '../../../lab/preflight.ts';
import { labDir } from '../../../lab/registry.ts';
import { realRunner, runChecked } from '../../../lab/run.ts';
import { startServer } from '../../../lab/servers.ts';
import { portsNotForwarding, waitUntilSettled } from '../../../lab/settle.ts';
import { type Cidr, formatCidr, inCidr, networkOf } from '../../../util/ip.ts';
import { formatIPv4 } from '../../../util/ipv4.ts';
import { plural } from '../../../util/plural.ts';
import type { Fault } from '../../faults.ts';
import { compileCgnat } from '../compile/index.ts';
import type { Cgnat, Client, Tenant } from '../model.ts';
import type { CgnatPlan } from '../plan.ts';
import { loadCommand, renderCgnat } from '../render.ts';

/** The client's end of its link to the tenant bridge, as in the demo. */
export const CLIENT_IFACE = 'cuplink';

/** A CGNAT lab, built by this process or, for `lab check`, by an earlier `lab up`. */
export interface CgnatLab {
  readonly id: string;
  readonly cgnat: Cgnat;
  readonly dir: string;
  /** host -> its namespace: router, peer, clients. */
  readonly ns: (host: string) => string;
  readonly clients: ReadonlyMap<string, { readonly client: Client; readonly tenant: Tenant }>;
}

/** One ip batch in a namespace of the run; a failure names the namespace and the line. */
function ipBatch(ns: string, lines: readonly string[]): void {
  const r = realRunner(['ip', '-n', ns, '-batch', '-'], { input: `${lines.join('\n')}\n` });
  if (r.code !== 0) {
    const at = /Command failed -:(\d+)/.exec(r.stderr)?.[1];
    const line = at === undefined ? '' : ` at "${lines[Number(at) - 1]}"`;
    throw new LabError(`${ns}: ip -batch failed${line}: ${r.stderr.split('\n')[0]?.trim()}`);
  }
}

/** A lab this process built: its run removes it (or keeps it, for `lab up`). */
export type BuiltCgnatLab = CgnatLab & { readonly run: NamespaceRun };

export async function buildCgnatLab(
  c: Cgnat,
  say: (line: string) => void,
  faults: readonly Fault[] = [],
): Promise<BuiltCgnatLab> {
  // Before anything exists: a missing tool is refused with what to install.
  requireLab(cgnatNeeds());
  const run = new NamespaceRun();
  const dir = labDir(run.id);
  run.removesDir(dir);
  try {
    const clients = clientsOf(c);
    const hosts = [c.router, c.peer.name, ...clients.keys()];
    run.addAll(hosts);
    say(
      `lab ${run.id}: router ${c.router}, uplink peer ${c.peer.name}, ${plural(clients.size, 'client')} (backend ${c.backend})`,
    );
    const plan = compileCgnat(c, { namespaceOf: (t) => run.ns(t.name), faults });
    writeFiles(dir, renderCgnat(plan));
    const lab: CgnatLab = { id: run.id, cgnat: c, dir, ns: (h) => run.ns(h), clients };
    createLinks(lab, run, plan);
    loadRouter(lab, plan);
    say(`${c.router}: loaded ${plan.batches.map((b) => b.file).join(', ')}, sysctl.d, nftables.conf`);
    setUpHosts(lab);
    await startServers(c, run, dir, [c.peer.name, ...clients.keys()]);
    await settle(run, [...hosts, ...(c.backend === 'netns' ? c.tenants.map((t) => t.name) : [])]);
    say(`servers listening on ${plural(clients.size + 1, 'host')}`);
    return { ...lab, run };
  } catch (err) {
    run.cleanup();
    throw err;
  }
}

/** The namespace a tenant's bridge lives in: the router's (vrf), or the tenant's own (netns). */
const bridgeNs = (lab: CgnatLab, t: Tenant) =>
  lab.cgnat.backend === 'vrf' ? lab.ns(lab.cgnat.router) : lab.ns(t.name);

/** Links first: the uplink, then the tenants' namespaces (the rendered netns add), then the clients. */
function createLinks(lab: CgnatLab, run: NamespaceRun, plan: CgnatPlan): void {
  const c = lab.cgnat;
  const router = lab.ns(c.router);
  ipBatch(router, [
    'link set dev lo up',
    `link add name ${c.uplink.interface} type veth peer name ${c.peer.interface} netns ${lab.ns(c.peer.name)}`,
  ]);
  if (c.backend === 'vrf' && !probeCapabilities(realRunner, router, c.uplink.interface).has('vrf'))
    throw new LabError(
      'this kernel has no VRF devices, which backend vrf needs: run it in a VM on a Debian kernel (lab test FILE --vm), or on the netns backend (lab test FILE --backend netns)',
    );
  for (const b of plan.batches.filter((x) => x.global))
    runChecked(realRunner, ['ip', '-batch', join(lab.dir, b.file)]);
  if (c.backend === 'netns') run.adopt(c.tenants.map((t) => lab.ns(t.name)));
  for (const [name, { tenant }] of lab.clients)
    ipBatch(lab.ns(name), [
      'link set dev lo up',
      `link add name ${CLIENT_IFACE} type veth peer name ${name} netns ${bridgeNs(lab, tenant)}`,
    ]);
}

/** The router's own files, as an operator loads them; the clients' ports join their tenants' bridges. */
function loadRouter(lab: CgnatLab, plan: CgnatPlan): void {
  const c = lab.cgnat;
  const router = lab.ns(c.router);
  for (const b of plan.batches.filter((x) => !x.global)) {
    const where = b.namespace ? ['-n', b.namespace] : ['-n', router];
    const argv = ['ip', ...(b.family === 6 ? ['-6'] : []), ...where, '-batch', join(lab.dir, b.file)];
    const r = realRunner(argv);
    if (r.code !== 0) throw new LabError(`router ${c.router}: ${loadCommand(b)} failed: ${r.stderr.trim()}`);
  }
  for (const t of c.tenants) {
    const ports = t.clients.flatMap((x) => [
      `link set dev ${x.name} master ${t.bridge}`,
      `link set dev ${x.name} up`,
    ]);
    if (ports.length > 0) ipBatch(bridgeNs(lab, t), ports);
  }
  const sysctl = (ns: string, file: string) =>
    runChecked(realRunner, ['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-p', join(lab.dir, file)]);
  sysctl(router, FILES.sysctl);
  for (const ns of plan.namespaceSysctls.keys()) sysctl(ns, `netns/${ns}.sysctl.conf`);
  const nft = realRunner(['ip', 'netns', 'exec', router, 'nft', '-f', join(lab.dir, FILES.nftables)]);
  if (nft.code !== 0)
    throw new LabError(`router ${c.router}: nft -f nftables.conf failed: ${nft.stderr.trim()}`);
}

/** The clients' addresses and routes, and the peer's. */
function setUpHosts(lab: CgnatLab): void {
  for (const [name, { client, tenant }] of lab.clients) {
    ipBatch(lab.ns(name), clientLines(client, tenant));
    // A check with a fixed source port, run again (lab check) while its last connection is in
    // TIME_WAIT, reuses the port as a client host would with tcp_tw_reuse.
    runChecked(realRunner, [
      'ip',
      'netns',
      'exec',
      lab.ns(name),
      'sysctl',
      '-q',
      '-w',
      'net.ipv4.tcp_tw_reuse=1',
    ]);
  }
  ipBatch(lab.ns(lab.cgnat.peer.name), peerLines(lab.cgnat));
}

/** Every tenant's clients by name. */
export function clientsOf(c: Cgnat): CgnatLab['clients'] {
  return new Map(
    c.tenants.flatMap((tenant) => tenant.clients.map((client) => [client.name, { client, tenant }] as const)),
  );
}

/** A client's addresses: its subscriber IPv4 and IPv6 on the tenant's networks, public ones as /32. */
function clientLines(client: Client, tenant: Tenant): string[] {
  const lines = [`link set dev ${CLIENT_IFACE} up`];
  for (const a of client.addresses) {
    const net = tenant.gateways.find((g) => inCidr(g, a));
    lines.push(`address add ${a.text}/${net ? net.length : a.family === 4 ? 32 : 128} dev ${CLIENT_IFACE}`);
  }
  // A default route per family the client has an address of (an IPv4-only client has no IPv6 route).
  for (const g of tenant.gateways.filter((x) => client.addresses.some((a) => a.family === x.family)))
    lines.push(`route add ${g.family === 4 ? '0.0.0.0/0' : '::/0'} via ${g.text} dev ${CLIENT_IFACE}`);
  return lines;
}

/** The provider side: its addresses, and routes to what the router announces (pool, IPv6, public routes). */
function peerLines(c: Cgnat): string[] {
  const dev = c.peer.interface;
  const lines = ['link set dev lo up', `link set dev ${dev} up`];
  for (const a of c.peer.addresses) lines.push(`address add ${formatCidr(a)} dev ${dev}`);
  const via = (family: 4 | 6) => c.uplink.addresses.find((a) => a.family === family);
  const v4 = via(4) as Cidr;
  const v6 = via(6);
  for (const pub of c.nat.pool)
    if (formatIPv4(pub) !== v4.text) lines.push(`route add ${formatIPv4(pub)}/32 via ${v4.text} dev ${dev}`);
  for (const t of c.tenants) {
    for (const r of t.routes)
      lines.push(`route add ${formatIPv4(r.to.network)}/${r.to.length} via ${v4.text} dev ${dev}`);
    const six = t.gateways.find((g) => g.family === 6);
    if (six && v6) lines.push(`route add ${formatCidr(networkOf(six))} via ${v6.text} dev ${dev}`);
  }
  return lines;
}

/** The check servers on the peer and every client, both families, on every port a check dials. */
async function startServers(
  c: Cgnat,
  run: NamespaceRun,
  dir: string,
  hosts: readonly string[],
): Promise<void> {
  const checks = c.checks ?? [];
  const tcp = new Set(checks.flatMap((x) => (x.proto === 'tcp' ? [x.port] : [])));
  const udp = new Set(checks.flatMap((x) => (x.proto === 'udp' ? [x.port] : [])));
  if (tcp.size + udp.size === 0) return;
  const args = [
    '--ipv6',
    ...[...tcp].flatMap((p) => ['--tcp', String(p)]),
    ...[...udp].flatMap((p) => ['--udp', String(p)]),
  ];
  const started = hosts.map((host) =>
    startServer(run.ns(host), host, args, join(dir, 'logs'), (pid) => run.track(pid)),
  );
  await Promise.all(started.map((ready) => ready()));
}

/** IPv6 addresses are usable once duplicate address detection is over, and bridge ports once they forward. */
function settle(run: NamespaceRun, hosts: readonly string[]): Promise<void> {
  return waitUntilSettled('the lab did not settle', 100, () =>
    hosts.flatMap((h) => {
      const tentative = realRunner(['ip', '-n', run.ns(h), '-6', '-o', 'address', 'show', 'tentative']);
      return [
        ...(tentative.stdout.trim() === '' ? [] : [`${h}: IPv6 duplicate address detection`]),
        ...portsNotForwarding(realRunner, run.ns(h), h),
      ];
    }),
  );
}
