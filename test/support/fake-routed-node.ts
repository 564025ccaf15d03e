// A routed node for nic up|down's unit tests, rootless: it keeps links, nft elements, routes and
// proxy-NDP entries as the kernel and nft would, answers the commands nic runs (ip, nft, sysctl, and
// kernel.py's change lines, or "python3: No such file" with python: false) and records each one.
import assert from 'node:assert/strict';
import type { Exec } from '../../src/systems/cluster/nic/index.ts';

interface Link {
  ifname: string;
  mtu: number;
  address: string;
  flags: string[];
  ifalias?: string;
  master?: string;
}

/** A node: links, nft elements ("family table set key" -> value), routes ("table dst dev"), proxies ("dev dst"). */
export function fakeNode(links: string[], options: { tables?: boolean; python?: boolean } = {}) {
  const ran: string[] = [];
  const link = new Map<string, Link>(
    links.map((n) => [n, { ifname: n, mtu: 1500, address: '52:54:00:ff:00:01', flags: ['BROADCAST'] }]),
  );
  let elements = new Map<string, string>();
  const routes = new Set<string>();
  const proxies = new Set<string>();
  const sysctls: string[] = [];
  const ok = (stdout = '') => ({ status: 0, stdout, stderr: '' });
  const fail = (stderr: string) => ({ status: 2, stdout: '', stderr });
  const nft = (stdin: string) => {
    if (options.tables === false) return fail('Error: Could not process rule: No such file or directory');
    const next = new Map(elements);
    for (const line of stdin.split('\n').filter(Boolean)) {
      const m = /^(create|add|delete) element (\S+ \S+ \S+) \{ (.+?)(?: : (.+))? \}$/.exec(line);
      assert.ok(m, `nft line ${line}`);
      const [, verb, where, key, value] = m as unknown as string[];
      const id = `${where} ${key}`;
      if (verb === 'delete') {
        if (!next.delete(id)) return fail('Error: Could not process rule: No such file or directory');
      } else if (next.has(id) && (verb === 'create' || next.get(id) !== (value ?? ''))) {
        return fail('Error: Could not process rule: File exists');
      } else next.set(id, value ?? '');
    }
    elements = next;
    return ok();
  };
  // As nft -j lists a table: a set's element is its key (a concatenation's parts), a map's [key, value].
  const listed = (family: string, table: string) => {
    const sets = new Map<string, unknown[]>();
    for (const [id, value] of elements) {
      const [f, t, set, ...key] = id.split(' ');
      if (f !== family || t !== table) continue;
      const parts = key
        .join(' ')
        .split(' . ')
        .map((p) => p.replace(/"/g, ''));
      const k = parts.length > 1 ? { concat: parts } : parts[0];
      sets.set(set as string, [...(sets.get(set as string) ?? []), value ? [k, value] : k]);
    }
    const items = [...sets].map(([name, elem]) =>
      Array.isArray(elem[0]) ? { map: { name, map: 'verdict', elem } } : { set: { name, elem } },
    );
    return JSON.stringify({ nftables: [{ table: { family, name: table } }, ...items] });
  };
  /** A route ("table dst dev") or proxy entry ("dev dst") replaced or deleted; false: not there. */
  const change = (set: Set<string>, verb: string, id: string) => {
    if (verb !== 'replace') return set.delete(id);
    set.add(id);
    return true;
  };
  const batch = (stdin: string, force: boolean) => {
    for (const line of stdin.split('\n').filter(Boolean)) {
      const route = /^route (replace|del) (\S+?)\/(?:32|128)(?: proto static)? dev (\S+) table (\d+)$/.exec(
        line,
      );
      const proxy = /^neigh (replace|del) proxy (\S+) dev (\S+)$/.exec(line);
      const done = route
        ? change(routes, route[1] as string, `${route[4]} ${route[2]} ${route[3]}`)
        : proxy
          ? change(proxies, proxy[1] as string, `${proxy[3]} ${proxy[2]}`)
          : assert.fail(`ip -batch line ${line}`);
      if (!done && !force) return fail(`RTNETLINK answers: No such process\nCommand failed -:1`);
    }
    return ok();
  };
  /** Whether the table routes the address to another tap (kernel.py's routed_elsewhere). */
  const elsewhere = (table: string, address: string, tap: string) =>
    [...routes].some((r) => r.startsWith(`${table} ${address} `) && !r.endsWith(` ${tap}`));
  /** kernel.py's changes, one per line (a deletion of what is gone is no error there). */
  const announced: string[] = [];
  const kernel = (stdin: string) => {
    for (const line of stdin.split('\n').filter(Boolean)) {
      const w = line.split(' ') as [string, string, string, string, string];
      const l = link.get(w[1]);
      if (w[0] === 'down' || w[0] === 'link') {
        if (!l) return { status: 1, stdout: '', stderr: `kernel.py: ${line}: no device ${w[1]}` };
        if (w[0] === 'down') l.flags = [];
        else
          Object.assign(l, {
            address: w[2],
            mtu: Number(w[3]),
            ifalias: w.slice(4).join(' '),
            flags: ['UP'],
          });
        if (w[0] === 'link') delete l.master;
      } else if (w[0] === 'sysctl') sysctls.push(`${w[1]}=${w[2]}`);
      else if (w[0] === 'route') change(routes, w[1], `${w[4]} ${w[2]} ${w[3]}`);
      else if (w[0] === 'proxy') change(proxies, w[1], `${w[3]} ${w[2]}`);
      else if (w[0] === 'unhost') {
        const own = change(routes, 'del', `${w[3]} ${w[1]} ${w[2]}`);
        if (own || !elsewhere(w[3], w[1], w[2])) change(proxies, 'del', `${w[4]} ${w[1]}`);
      } else if (w[0] === 'announce') announced.push(w.slice(1).join(' '));
      else assert.fail(`kernel.py line ${line}`);
    }
    return ok();
  };
  const exec: Exec = (argv, stdin) => {
    const line = argv.join(' ');
    ran.push(stdin === undefined ? line : `${line} <<${stdin}`);
    if (argv[0] === 'nft' && argv[1] === '-f') return nft(stdin ?? '');
    if (line.startsWith('nft -j list table ')) return ok(listed(argv[4] as string, argv[5] as string));
    if (line.startsWith('ip -force -batch') || line.startsWith('ip -batch'))
      return batch(stdin ?? '', argv[1] === '-force');
    if (line.startsWith('ip link set dev ')) {
      const l = link.get(argv[4] as string);
      if (!l) return fail('Cannot find device');
      const words = argv.slice(5);
      for (let i = 0; i < words.length; i++) {
        const w = words[i] as string;
        if (w === 'up' || w === 'down') l.flags = w === 'up' ? ['UP'] : [];
        else if (w === 'nomaster') delete l.master;
        else if (w === 'address') l.address = words[++i] as string;
        else if (w === 'mtu') l.mtu = Number(words[++i]);
        else if (w === 'alias') l.ifalias = words[++i] as string;
      }
      return ok();
    }
    if (line === 'ip -force -j -batch -') {
      // One JSON array a line for each link there is, as ip answers `link show dev X` lines.
      const devs = (stdin ?? '').split('\n').flatMap((l) => /^link show dev (\S+)$/.exec(l)?.[1] ?? []);
      const found = devs.flatMap((d) => link.get(d) ?? []);
      return ok(found.map((l) => `${JSON.stringify([l])}\n`).join(''));
    }
    let m = /^ip route del (\S+?)\/(?:32|128) dev (\S+) table (\d+)$/.exec(line);
    if (m)
      return change(routes, 'del', `${m[3]} ${m[1]} ${m[2]}`)
        ? ok()
        : fail('RTNETLINK answers: No such process');
    m = /^ip neigh del proxy (\S+) dev (\S+)$/.exec(line);
    if (m)
      return change(proxies, 'del', `${m[2]} ${m[1]}`)
        ? ok()
        : fail('RTNETLINK answers: No such file or directory');
    m = /^ip -j -6 route show table (\d+) (\S+)\/128$/.exec(line);
    if (m) {
      const [, table, address] = m as unknown as string[];
      const held = [...routes].map((r) => r.split(' ')).filter(([t, dst]) => t === table && dst === address);
      return ok(JSON.stringify(held.map(([, dst, dev]) => ({ dst, dev }))));
    }
    m = /^ip -j link show dev (\S+)$/.exec(line);
    if (m) {
      const l = link.get(m[1] as string);
      return l ? ok(JSON.stringify([l])) : fail(`Device "${m[1]}" does not exist.`);
    }
    m = /^ip -j -([46]) route show table (\d+)(?: dev (\S+))?$/.exec(line);
    if (m) {
      const [, family, table, dev] = m as unknown as string[];
      const held = [...routes]
        .map((r) => r.split(' '))
        .filter(
          ([t, dst, d]) =>
            t === table && (dev === undefined || d === dev) && dst?.includes(':') === (family === '6'),
        );
      return ok(JSON.stringify(held.map(([, dst, d]) => ({ dst, dev: d }))));
    }
    m = /^ip -j -6 neigh show proxy dev (\S+)$/.exec(line);
    if (m)
      return ok(
        JSON.stringify(
          [...proxies]
            .map((p) => p.split(' '))
            .filter(([d]) => d === m?.[1])
            .map(([, dst]) => ({ dst })),
        ),
      );
    if (argv[0] === 'sysctl') {
      sysctls.push(...argv.slice(2));
      return ok();
    }
    if (argv[0] === 'python3')
      return options.python === false ? fail('python3: No such file or directory') : kernel(stdin ?? '');
    return assert.fail(`unexpected command ${line}`);
  };
  const changes = () => ran.filter((l) => !/^ip (-force )?-j /.test(l));
  const state = () => ({
    elements: [...elements.entries()].map(([k, v]) => (v ? `${k} : ${v}` : k)).sort(),
    routes: [...routes].sort(),
    proxies: [...proxies].sort(),
    alias: [...link.values()].map((l) => `${l.ifname} ${l.address} ${l.mtu} ${l.ifalias ?? ''}`),
  });
  return { exec, ran, changes, state, link, sysctls, routes, proxies, announced };
}
