// `nic up|down` for routed guests on nodes in scratch namespaces, with real ip, nft and traffic: the
// plug's routes, proxy-NDP entry, tap MAC and sysctls; the announcement as the upstream router hears
// it (GARP request and reply, unsolicited NA with the override flag) and what it does to its
// neighbour table; down, --local-only and twice; and a migration between two nodes in either order
// leaving exactly one node proxying the guest's IPv6 address.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { NamespaceRun } from '../../src/lab/netns.ts';
import { nicDown, nicUp } from '../../src/systems/cluster/nic/index.ts';
import { applyChanges, type KernelChange } from '../../src/systems/cluster/nic/kernel.ts';
import { NicFailed } from '../../src/systems/cluster/nic/refused.ts';
import { type NicTable, nicTableOf } from '../../src/systems/cluster/nic/table.ts';
import { readCluster } from '../../src/systems/cluster/system.ts';
import type { Fault } from '../../src/systems/faults.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { cli, hear, routedGuest, routedNode, upstream } from '../support/nic-lab.ts';
import { needsRoot } from '../support/root.ts';

/** examples/routed-flat.yaml (public: eth1, table 500, 192.0.2.0/24, 2001:db8::/64); vm1 on node1. */
const FLAT = join(EXAMPLES_DIR, 'routed-flat.yaml');
const flat: NicTable = nicTableOf(readCluster(FLAT));
/** The same spec after vm1 moved to node2. */
const moved: NicTable = {
  ...flat,
  guests: flat.guests.map((g) => (g.name === 'vm1' ? { ...g, node: 'node2' } : g)),
};
const VM1 = { mac: '52:54:00:00:01:01', address: '192.0.2.10', address6: '2001:db8::5054:ff:fe00:101' };
const TAP_MAC = 'cc:47:52:4e:45:54';

type Node = ReturnType<typeof routedNode>;
const up = (n: Node, node: string, table = flat, faults: Fault[] = []) =>
  nicUp(n.exec, table, node, 'vm1:0', 'tap5', { faults });
const proxies = (n: Node) =>
  (JSON.parse(n.sh(['ip', '-j', '-6', 'neigh', 'show', 'proxy'])) as { dst: string; dev: string }[]).map(
    (p) => `${p.dst} dev ${p.dev}`,
  );
const routes = (n: Node, family: '-4' | '-6') =>
  (
    JSON.parse(n.sh(['ip', '-j', family, 'route', 'show', 'table', '500', 'dev', 'tap5'])) as {
      dst: string;
      protocol: string;
    }[]
  ).map((r) => `${r.dst} proto ${r.protocol}`);
const sysctl = (n: Node, key: string) => n.sh(['cat', `/proc/sys/net/${key}`]).trim();
const neighbour = (wire: string, run: NamespaceRun, address: string) =>
  JSON.parse(run.exec(wire, ['ip', '-j', 'neigh', 'show', address, 'dev', 'sw']).stdout)[0]?.lladdr as
    | string
    | undefined;
/** What a plug adds besides the tap's own link (whose link-local routes come and go with it): nft elements, table 500, proxy entries. */
const held = (n: Node) => ({
  ruleset: n.sh(['nft', 'list', 'ruleset']),
  routes: (['-4', '-6'] as const).map((f) => n.sh(['ip', '-j', f, 'route', 'show', 'table', '500'])),
  proxies: proxies(n),
});

describe('nic up|down on a routed network', () => {
  test('up: /32, /128 and proxy entry, the tap MAC and sysctls, elements, and the announcement the upstream hears; down, twice', async (t) => {
    if (!needsRoot(t)) return;
    const run = new NamespaceRun();
    try {
      const wire = upstream(run);
      const n1 = routedNode(run, wire, 'node1', FLAT);
      const guest = routedGuest(run, n1.ns, 'vm1', 'tap5', VM1);
      const empty = held(n1);
      // The upstream knew the address elsewhere (a migration's old node): the announcement must move it.
      for (const address of [VM1.address, VM1.address6]) {
        const stale = [
          'neigh',
          'replace',
          address,
          'lladdr',
          '02:00:00:00:00:99',
          'dev',
          'sw',
          'nud',
          'stale',
        ];
        run.exec(wire, ['ip', ...stale]);
      }
      // As the hook runs it: the CLI, in the node's namespace.
      let said = { code: -1, stdout: '', stderr: '' };
      const heard = await hear(run, wire, 'sw', () => {
        said = cli(n1.ns, 'up', FLAT, '--node', 'node1', '--nic', 'vm1:0', '--tap', 'tap5');
      });
      assert.equal(said.code, 0, said.stderr);
      assert.equal(said.stderr, '', 'no warning: the announcement went out');
      assert.equal(
        said.stdout,
        `nic vm1:0 on tap5: routed public (table 500, uplink eth1) mtu 1500, ${VM1.address} ${VM1.address6}, anti-spoofing ${VM1.address} ${VM1.address6}, profile protected\n`,
      );
      assert.deepEqual(routes(n1, '-4'), [`${VM1.address} proto static`]);
      assert.deepEqual(routes(n1, '-6'), [`${VM1.address6} proto static`]);
      assert.deepEqual(proxies(n1), [`${VM1.address6} dev eth1`]);
      const tap = JSON.parse(n1.sh(['ip', '-j', 'link', 'show', 'dev', 'tap5']))[0];
      assert.equal(tap.address, TAP_MAC);
      assert.equal(tap.master, undefined);
      assert.match(tap.ifalias, /^convergent t=500 u=eth1 /);
      assert.equal(sysctl(n1, 'ipv4/conf/tap5/proxy_arp'), '1');
      assert.equal(sysctl(n1, 'ipv6/conf/tap5/proxy_ndp'), '0');
      const sets = n1.sh(['nft', 'list', 'table', 'inet', 'convergent_routed']);
      assert.match(sets, /"tap5" \. 192\.0\.2\.10/);
      assert.match(sets, /"tap5" : jump protected/);
      assert.match(n1.sh(['nft', 'list', 'table', 'arp', 'convergent_arp']), /"tap5" : 192\.0\.2\.1\b/);

      // The announcement: from node1's uplink MAC, a GARP request and a GARP reply for the address,
      // an unsolicited NA (override, not solicited, hop limit 255) for address6.
      const mine = heard.filter((h) => h.from === n1.mac);
      const garp = (op: number) =>
        mine.some((h) => h.arp === op && h.sender === VM1.address && h.target === VM1.address);
      assert.ok(garp(1), `a GARP request: ${JSON.stringify(heard)}`);
      assert.ok(garp(2), `a GARP reply: ${JSON.stringify(heard)}`);
      assert.ok(
        mine.some((h) => h.na === VM1.address6 && h.override && !h.solicited && h.hops === 255),
        `an unsolicited NA with the override flag: ${JSON.stringify(heard)}`,
      );
      // What it is for: the upstream's neighbour entries moved to node1's uplink, before any traffic.
      assert.equal(neighbour(wire, run, VM1.address), n1.mac);
      assert.equal(neighbour(wire, run, VM1.address6), n1.mac);

      // The guest reaches its gateway and the upstream reaches the guest, in both families.
      const ping = (ns: string, to: string) => run.exec(ns, ['ping', '-c1', '-W2', to]).code;
      assert.equal(ping(guest, '192.0.2.1'), 0, 'guest -> gateway');
      assert.equal(ping(guest, '2001:db8::1'), 0, 'guest -> gateway6');
      assert.equal(ping(wire, VM1.address6), 0, 'upstream -> guest (IPv6, proxy NDP)');
      const guestNeighbours = run.exec(guest, ['ip', '-j', 'neigh', 'show', 'dev', 'eth0']).stdout;
      const macs = (JSON.parse(guestNeighbours) as { lladdr?: string }[]).flatMap((n) => n.lladdr ?? []);
      assert.ok(macs.length > 0, 'the guest has neighbours after pinging');
      assert.deepEqual(new Set(macs), new Set([TAP_MAC]), "the guest's neighbours are all the tap MAC");

      const once = held(n1);
      up(n1, 'node1');
      assert.deepEqual(held(n1), once, 'up twice leaves what once did');

      const down = cli(n1.ns, 'down', FLAT, '--node', 'node1', '--tap', 'tap5');
      assert.equal(down.code, 0, down.stderr);
      assert.equal(
        down.stdout,
        `nic down tap5 on node1: 6 elements removed, routes of ${VM1.address} ${VM1.address6} removed, in no bridge\n`,
      );
      assert.deepEqual(held(n1), empty, 'down leaves nothing of the plug');
      nicDown(n1.exec, flat, 'node1', 'tap5', { localOnly: true });
      assert.deepEqual(held(n1), empty, 'down twice is down once');
    } finally {
      run.cleanup();
    }
  });

  test('migration: up on node2 and down --local-only on node1 in either order, tap gone or not: one node proxies', (t) => {
    if (!needsRoot(t)) return;
    for (const order of ['up first', 'down first', 'tap gone first'] as const) {
      const run = new NamespaceRun();
      try {
        const wire = upstream(run);
        const [n1, n2] = [routedNode(run, wire, 'node1', FLAT), routedNode(run, wire, 'node2', FLAT)];
        routedGuest(run, n1.ns, 'vm1', 'tap5', VM1);
        up(n1, 'node1');
        n2.sh(['ip', 'link', 'add', 'tap5', 'type', 'veth', 'peer', 'name', 'vm1-new']);
        const onNew = () => up(n2, 'node2', moved);
        const offOld = () => {
          if (order === 'tap gone first') run.exec(n1.ns, ['ip', 'link', 'del', 'tap5']);
          return nicDown(n1.exec, flat, 'node1', 'tap5', { localOnly: true });
        };
        const steps = order === 'up first' ? [onNew, offOld] : [offOld, onNew];
        for (const step of [...steps, ...steps]) step();
        assert.deepEqual([proxies(n1), proxies(n2)], [[], [`${VM1.address6} dev eth1`]], order);
        assert.deepEqual(routes(n2, '-6'), [`${VM1.address6} proto static`], order);
      } finally {
        run.cleanup();
      }
    }
  });

  test('faults: no-tap-proxy-arp (the guest cannot reach its gateway), no-garp (nothing heard), keep-proxy-ndp (two nodes proxy)', async (t) => {
    if (!needsRoot(t)) return;
    const run = new NamespaceRun();
    try {
      const wire = upstream(run);
      const [n1, n2] = [routedNode(run, wire, 'node1', FLAT), routedNode(run, wire, 'node2', FLAT)];
      const guest = routedGuest(run, n1.ns, 'vm1', 'tap5', VM1);
      const heard = await hear(run, wire, 'sw', () => up(n1, 'node1', flat, ['no-tap-proxy-arp', 'no-garp']));
      assert.deepEqual(
        heard.filter((h) => h.from === n1.mac && (h.arp || h.na)),
        [],
        'no-garp: nothing announced',
      );
      assert.equal(sysctl(n1, 'ipv4/conf/tap5/proxy_arp'), '0');
      assert.notEqual(
        run.exec(guest, ['ping', '-c1', '-W1', '192.0.2.1']).code,
        0,
        'no-tap-proxy-arp: no gateway',
      );
      n2.sh(['ip', 'link', 'add', 'tap5', 'type', 'veth', 'peer', 'name', 'vm1-new']);
      up(n2, 'node2', moved);
      nicDown(n1.exec, flat, 'node1', 'tap5', { localOnly: true, faults: ['keep-proxy-ndp'] });
      assert.deepEqual(
        [proxies(n1), proxies(n2)],
        [[`${VM1.address6} dev eth1`], [`${VM1.address6} dev eth1`]],
      );
    } finally {
      run.cleanup();
    }
  });

  test('kernel.py: a change the kernel refuses is named and stops the rest; deleting what is gone is no error', (t) => {
    if (!needsRoot(t)) return;
    const run = new NamespaceRun();
    try {
      const n1 = routedNode(run, upstream(run), 'node1', FLAT);
      n1.sh(['ip', 'link', 'add', 'tap5', 'up', 'type', 'veth', 'peer', 'name', 'vm1-e0']);
      const route = (verb: 'replace' | 'del', address: string, dev: string, table: number) =>
        ({ kind: 'route', verb, address, dev, table }) as const;
      // Twice each, in a table above 255 (RTA_TABLE only) and in 500; deleted twice, and on a gone device.
      const adds = [
        route('replace', VM1.address, 'tap5', 70000),
        route('replace', VM1.address6, 'tap5', 500),
      ];
      assert.equal(applyChanges(n1.exec, [...adds, ...adds]), undefined);
      assert.match(
        n1.sh(['ip', '-4', 'route', 'show', 'table', '70000']),
        /^192\.0\.2\.10 dev tap5 proto static scope link/,
      );
      assert.deepEqual(routes(n1, '-6'), [`${VM1.address6} proto static`]);
      const dels = [route('del', VM1.address, 'tap5', 70000), route('del', VM1.address6, 'tap5', 500)];
      const gone = { kind: 'proxy', verb: 'del', address: VM1.address6, dev: 'nosuch' } as const;
      assert.equal(applyChanges(n1.exec, [...dels, ...dels, gone]), undefined);
      assert.equal(n1.sh(['ip', '-4', 'route', 'show', 'table', '70000']), '');
      assert.deepEqual(routes(n1, '-6'), []);
      // A route to a device that is not there: refused by name, and the change after it not made.
      assert.throws(
        () => applyChanges(n1.exec, [route('replace', VM1.address, 'tap9', 500), adds[1] as KernelChange]),
        (err: unknown) =>
          err instanceof NicFailed &&
          /route replace 192\.0\.2\.10 tap9 500: no device tap9/.test(err.message),
      );
      assert.deepEqual(routes(n1, '-6'), []);
      // An announcement on a device that is gone: the changes stand, a warning says why.
      const warning = applyChanges(n1.exec, [
        adds[1] as KernelChange,
        { kind: 'announce', uplink: 'nosuch', ipv4: VM1.address },
      ]);
      assert.match(warning ?? '', /^no announcement: announce on nosuch: .*No such device/);
      assert.deepEqual(routes(n1, '-6'), [`${VM1.address6} proto static`]);
    } finally {
      run.cleanup();
    }
  });

  test("a live tap's down leaves the proxy entry when another tap of the node routes the guest now, and removes it when none does", (t) => {
    if (!needsRoot(t)) return;
    const run = new NamespaceRun();
    try {
      const n1 = routedNode(run, upstream(run), 'node1', FLAT);
      routedGuest(run, n1.ns, 'vm1', 'tap5', VM1);
      n1.sh(['ip', 'link', 'add', 'tap7', 'up', 'type', 'veth', 'peer', 'name', 'vm1-e7']);
      up(n1, 'node1');
      nicUp(n1.exec, flat, 'node1', 'vm1:0', 'tap7');
      // tap7's /128 replaced tap5's: one route, the new tap's.
      const tap7 = JSON.parse(n1.sh(['ip', '-j', '-6', 'route', 'show', 'table', '500', 'dev', 'tap7']));
      assert.deepEqual(routes(n1, '-6'), [], "tap5's /128 is gone");
      assert.equal(tap7.length, 1);
      nicDown(n1.exec, flat, 'node1', 'tap5', { localOnly: true });
      assert.deepEqual(proxies(n1), [`${VM1.address6} dev eth1`], "tap7's guest is still answered for");
      nicDown(n1.exec, flat, 'node1', 'tap7', { localOnly: true });
      assert.deepEqual(proxies(n1), []);
      // A tap taken down first (the kernel flushes its routes): its down still removes the proxy entry.
      up(n1, 'node1');
      n1.sh(['ip', 'link', 'set', 'tap5', 'down']);
      assert.deepEqual(routes(n1, '-6'), [], 'down flushed the /128');
      nicDown(n1.exec, flat, 'node1', 'tap5', { localOnly: true });
      assert.deepEqual(proxies(n1), [], 'no orphan left');
    } finally {
      run.cleanup();
    }
  });
});
