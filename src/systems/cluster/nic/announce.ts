// The announcement after a routed plug (F22): gratuitous ARP request and reply, unsolicited NA, sent
// on the uplink by announce.py (AF_PACKET: node has no raw sockets; Ganeti nodes run Python). It is
// best effort: the plug stands without it (the upstream router learns the move at its next ARP or NS,
// through the old node meanwhile), so a failure is a warning, not an error.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Exec } from './refused.ts';

const HELPER = join('src', 'systems', 'cluster', 'nic', 'announce.py');

/**
 * announce.py, found from this module up: next to it in src/, or under the repository from dist/
 * and from the bundle (dist/bundle/convergent.cjs), which sit at other depths.
 */
function helperPath(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  if (existsSync(join(dir, 'announce.py'))) return join(dir, 'announce.py');
  for (let up = 0; up < 6; up++, dir = dirname(dir)) {
    if (existsSync(join(dir, HELPER))) return join(dir, HELPER);
  }
  return undefined;
}

/** The warning of a failed announcement; undefined when it went out. `-I -S`: no site, a fast start. */
export function announce(exec: Exec, uplink: string, ipv4?: string, ipv6?: string): string | undefined {
  const helper = helperPath();
  if (helper === undefined) return `no announcement: ${HELPER} is not installed with convergent`;
  const args = [...(ipv4 ? [ipv4] : []), ...(ipv6 ? ['--ipv6', ipv6] : [])];
  const r = exec(['python3', '-I', '-S', helper, uplink, ...args]);
  if (r.status === 0) return undefined;
  if (r.status === 127 || /python3.*(No such file|not found)/.test(r.stderr))
    return 'no announcement (gratuitous ARP, unsolicited NA): python3 is not installed (Debian package python3)';
  return `no announcement on ${uplink}: ${r.stderr.trim() || `exit ${r.status}`}`;
}
