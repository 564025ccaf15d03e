// The host's links, addresses, routes and rules as `ip -j` shows them, read-only. Routes and rules
// are read by number (-N: tables and protocols as numbers, whatever rt_tables.d says) and only
// convergent's (proto 241): nothing else is ever compared, so nothing else is ever changed.
import { CONVERGENT_PROTO } from '../../host/routing.ts';
import { type Runner, runChecked } from '../../lab/run.ts';
import { parseAddress } from '../../util/ip.ts';

/** A link as `ip -d -j link show` gives it. */
export interface LiveLink {
  readonly ifname: string;
  readonly mtu: number;
  readonly master?: string;
  readonly flags?: readonly string[];
  readonly address?: string;
  readonly ifalias?: string;
  /** A VLAN's lower link (a veth's peer, too). */
  readonly link?: string;
  readonly linkinfo?: {
    readonly info_kind?: string;
    readonly info_data?: Readonly<Record<string, unknown>>;
    readonly info_slave_kind?: string;
  };
}

/** An interface address, in order (a device's first on a subnet is its primary). */
export interface LiveAddress {
  readonly dev: string;
  /** Normalised: "10.5.5.251/24", "2001:db8::1/64". */
  readonly cidr: string;
}

/** One of convergent's routes (proto 241). */
export interface LiveRoute {
  readonly family: 4 | 6;
  readonly table: number;
  readonly type: 'unicast' | 'unreachable' | string;
  /** "default", "10.0.0.0/24", "10.0.0.1/32". */
  readonly dst: string;
  readonly gateway?: string;
  readonly dev?: string;
  readonly metric: number;
  /** Another protocol's route (readOthers'): its number, put back by a rollback. */
  readonly protocol?: number;
}

/** One of convergent's policy rules (protocol 241), as `ip -N -j rule` says it. */
export interface LiveRule {
  readonly family: 4 | 6;
  readonly priority: number;
  readonly iif?: string;
  readonly src?: string;
  readonly srclen?: number;
  readonly dst?: string;
  readonly dstlen?: number;
  readonly fwmark?: string;
  readonly fwmask?: string;
  readonly table: string;
  /** Another protocol's rule (readOthers'): its number, put back by a rollback. */
  readonly protocol?: number;
}

export interface HostLive {
  readonly links: readonly LiveLink[];
  readonly addresses: readonly LiveAddress[];
  readonly routes: readonly LiveRoute[];
  readonly rules: readonly LiveRule[];
}

const PROTO = String(CONVERGENT_PROTO);
/** Route types by number (rtnetlink's RTN_*), as -N shows them: unicast is left out. */
const ROUTE_TYPES: Readonly<Record<string, string>> = {
  '1': 'unicast',
  '6': 'blackhole',
  '7': 'unreachable',
};

export function readHost(run: Runner): HostLive {
  const json = <T>(argv: string[]) => JSON.parse(runChecked(run, argv) || '[]') as T[];
  const links = json<LiveLink>(['ip', '-d', '-j', 'link', 'show']);
  const addrs = json<{ ifname: string; addr_info?: { local: string; prefixlen: number }[] }>([
    'ip',
    '-j',
    'address',
    'show',
  ]);
  const addresses = addrs.flatMap((l) =>
    (l.addr_info ?? []).map((a) => ({ dev: l.ifname, cidr: cidrText(a.local, a.prefixlen) })),
  );
  const routes = ([4, 6] as const).flatMap((family) =>
    json<RawRoute>(['ip', '-N', `-${family}`, '-j', 'route', 'show', 'table', 'all', 'proto', PROTO]).map(
      (r) => liveRoute(family, r),
    ),
  );
  const rules = ([4, 6] as const).flatMap((family) =>
    json<RawRule>(['ip', '-N', `-${family}`, '-j', 'rule', 'show', 'protocol', PROTO])
      .filter((r) => r.protocol === PROTO)
      .map(({ protocol: _, ...r }) => ({ ...r, family }) as LiveRule),
  );
  return { links, addresses, routes, rules };
}

/**
 * The routes and rules of every other protocol (boot, static, kernel, ...): the checkpoint keeps those
 * an apply is about to make convergent's (a default route an installer left), to put them back.
 * ip -N omits a route's protocol when it is boot (3), a rule's when it has none (0).
 */
export function readOthers(run: Runner): Pick<HostLive, 'routes' | 'rules'> {
  const json = <T>(argv: string[]) => JSON.parse(runChecked(run, argv) || '[]') as T[];
  const routes = ([4, 6] as const).flatMap((family) =>
    json<RawRoute>(['ip', '-N', `-${family}`, '-j', 'route', 'show', 'table', 'all'])
      .filter((r) => r.protocol !== PROTO)
      .map((r) => ({ ...liveRoute(family, r), protocol: Number(r.protocol ?? 3) })),
  );
  const rules = ([4, 6] as const).flatMap((family) =>
    json<RawRule>(['ip', '-N', `-${family}`, '-j', 'rule', 'show'])
      .filter((r) => r.protocol !== PROTO)
      .map(({ protocol, ...r }) => ({ ...r, family, protocol: Number(protocol ?? 0) }) as LiveRule),
  );
  return { routes, rules };
}

interface RawRoute {
  readonly protocol?: string;
  readonly type?: string;
  readonly dst: string;
  readonly gateway?: string;
  readonly dev?: string;
  readonly table?: string;
  readonly metric?: number;
}

type RawRule = Omit<LiveRule, 'family' | 'protocol'> & { readonly protocol?: string };

function liveRoute(family: 4 | 6, r: RawRoute): LiveRoute {
  const type = ROUTE_TYPES[r.type ?? '1'] ?? `type ${r.type}`;
  return {
    family,
    table: Number(r.table ?? 254),
    type,
    dst: routeDst(r.dst, family),
    ...(r.gateway === undefined ? {} : { gateway: addressText(r.gateway) }),
    // An unreachable route's device is the kernel's (lo), not one it was given.
    ...(r.dev === undefined || type === 'unreachable' ? {} : { dev: r.dev }),
    metric: r.metric ?? 0,
  };
}

/** "default", or the prefix with its length always: ip prints a host route without one. */
export function routeDst(dst: string, family: 4 | 6): string {
  if (dst === 'default') return dst;
  const [address, length] = dst.split('/');
  return cidrText(address as string, length === undefined ? (family === 4 ? 32 : 128) : Number(length));
}

export function cidrText(address: string, length: number): string {
  return `${addressText(address)}/${length}`;
}

/** The address's normalised text (IPv6 compressed as ipaddr.js does), or the text as given. */
export function addressText(text: string): string {
  return parseAddress(text)?.text ?? text;
}

/**
 * The values of these sysctls (path segments: a name may hold a dot), undefined where the key does
 * not exist; whitespace collapsed, as sysctl compares them. One process for all.
 */
export function readSysctls(run: Runner, keys: readonly (readonly string[])[]): (string | undefined)[] {
  if (keys.length === 0) return [];
  const script =
    'for k; do if [ -r "/proc/sys/$k" ]; then printf "=%s\\n" "$(cat "/proc/sys/$k" | tr -s "\\t " "  ")"; else echo "!"; fi; done';
  const out = runChecked(run, ['sh', '-c', script, 'sh', ...keys.map((k) => k.join('/'))]);
  return out
    .split('\n')
    .slice(0, keys.length)
    .map((line) => (line.startsWith('=') ? line.slice(1).trim() : undefined));
}
