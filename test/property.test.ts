// For random valid clusters: validation accepts them, compile never throws, and what must be unique
// is (node tags, guest-bridge MACs, addresses). Tags stay put when nodes are appended.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { compileCluster } from '../src/compile/index.ts';
import { renderNode } from '../src/render/files.ts';
import { formatIPv4 } from '../src/util/ipv4.ts';
import { generateSpec } from './support/generate.ts';
import { clusterFromObject } from './support/spec.ts';

const shape = fc.record({
  nodes: fc.integer({ min: 1, max: 12 }),
  guests: fc.integer({ min: 0, max: 40 }),
  forwards: fc.integer({ min: 0, max: 40 }),
  pinned: fc.uniqueArray(fc.integer({ min: 0, max: 11 }), { maxLength: 6 }),
  strategy: fc.constantFrom('fullnat' as const, 'stateless' as const, 'mixed' as const),
});

describe('properties of compile', () => {
  test('random valid clusters compile and render; tags, MACs and addresses never collide', () => {
    fc.assert(
      fc.property(shape, (o) => {
        const cluster = clusterFromObject(generateSpec(o));
        const plans = compileCluster(cluster);
        assert.equal(plans.length, o.nodes);
        for (const plan of plans) assert.ok(renderNode(plan).length >= 3);

        const tags = cluster.nodes.map((n) => n.tag);
        assert.equal(new Set(tags).size, tags.length, 'node tags are unique');
        assert.ok(tags.every((t) => t >= 1 && t <= 255));
        const macs = cluster.nodes.map((n) => n.bridgeMac);
        assert.equal(new Set(macs).size, macs.length, 'guest-bridge MACs are unique');

        // Every address a plan puts on a device is unique across the cluster, except the anycast gateway.
        // The anycast gateways, from the spec, are on every node's guest bridge exactly once.
        const anycast = new Set(cluster.networks.map((n) => `${formatIPv4(n.gateway)}/${n.subnet.length}`));
        for (const plan of plans) {
          const cidrs = plan.addresses.map((a) => a.cidr);
          for (const gw of anycast)
            assert.equal(cidrs.filter((c) => c === gw).length, 1, `${plan.node} has ${gw}`);
        }
        const own = plans.flatMap((p) => p.addresses.map((a) => a.cidr)).filter((c) => !anycast.has(c));
        assert.equal(new Set(own).size, own.length, 'node addresses are unique');
      }),
      { numRuns: 60 },
    );
  });

  test('appending nodes never changes the tags of existing nodes', () => {
    fc.assert(
      fc.property(shape, fc.integer({ min: 1, max: 5 }), (o, extra) => {
        const before = clusterFromObject(generateSpec({ ...o, forwards: 0 }));
        const after = clusterFromObject(generateSpec({ ...o, forwards: 0, nodes: o.nodes + extra }));
        for (const node of before.nodes) {
          assert.equal(
            after.nodes.find((n) => n.name === node.name)?.tag,
            node.tag,
            `${node.name} kept its tag`,
          );
        }
      }),
      { numRuns: 40 },
    );
  });

  test('the number of rules per node does not grow with the cluster', () => {
    const rules = (nodes: number, guests: number, forwards: number) => {
      const plans = compileCluster(clusterFromObject(generateSpec({ nodes, guests, forwards })));
      return new Set(
        plans.map((p) =>
          p.ruleset.tables.reduce((n, t) => n + t.chains.reduce((m, c) => m + c.rules.length, 0), 0),
        ),
      );
    };
    assert.deepEqual(rules(2, 4, 4), rules(12, 120, 400));
  });
});
