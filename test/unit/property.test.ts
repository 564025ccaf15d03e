// For random valid clusters: validation accepts them, compile never throws, and what must be unique
// is (node tags, guest-bridge MACs, addresses). Tags stay put when nodes are appended.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { formatProblem, type LocatedProblem, SpecError } from '../../src/input/problem.ts';
import { compileCluster } from '../../src/systems/cluster/compile/index.ts';
import { renderNode } from '../../src/systems/cluster/render.ts';
import { formatIPv4 } from '../../src/util/ipv4.ts';
import { generateSpec } from '../support/generate.ts';
import { clusterFromObject, clusterFromText } from '../support/spec.ts';

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

  test('the number of rules per node does not grow with the cluster, but for a one-rule chain per node tag', () => {
    // Stateless reaches a node tag's chain by one verdict-map lookup: chains grow, a packet's rules do not.
    const perTag = (name: string) => /^(ct|mark)-tag-\d+$/.test(name);
    const rules = (nodes: number, guests: number, forwards: number) => {
      const plans = compileCluster(clusterFromObject(generateSpec({ nodes, guests, forwards })));
      const chains = plans.map((p) => p.ruleset.tables.flatMap((t) => t.chains));
      for (const tagChains of chains.map((cs) => cs.filter((c) => perTag(c.name)))) {
        assert.ok(tagChains.every((c) => c.rules.length === 1));
        assert.equal(tagChains.length % nodes, 0, 'a chain per node tag');
      }
      return new Set(
        chains.map((cs) => cs.filter((c) => !perTag(c.name)).reduce((n, c) => n + c.rules.length, 0)),
      );
    };
    assert.deepEqual(rules(2, 4, 4), rules(12, 120, 400));
  });
});

// A mistake whose fix line names a concrete edit: applying that edit, as written, makes the error go
// away (and here leaves a valid spec). Kinds: a node the pipes leave out, a name given twice, a
// misspelt field, a misspelt choice.
function problemsOfText(text: string): LocatedProblem[] {
  try {
    clusterFromText(text);
    return [];
  } catch (err) {
    if (err instanceof SpecError) return [...err.problems];
    throw err;
  }
}

const small = fc.record({
  nodes: fc.integer({ min: 2, max: 7 }),
  guests: fc.integer({ min: 1, max: 8 }),
  forwards: fc.integer({ min: 1, max: 8 }),
});

/** A one-letter slip: two neighbours swapped, a letter dropped or typed twice. */
const slip = (word: string) =>
  fc.tuple(fc.constantFrom('swap', 'drop', 'double'), fc.nat()).map(([how, n]) => {
    const i = n % (word.length - 1);
    if (how === 'swap') return word.slice(0, i) + word[i + 1] + word[i] + word.slice(i + 2);
    if (how === 'drop') return word.slice(0, i) + word.slice(i + 1);
    return word.slice(0, i + 1) + word.slice(i);
  });

describe('suggested fixes are valid as written', () => {
  test('a node the pipes leave out: the suggested pipe joins it, with interfaces still free', () => {
    fc.assert(
      fc.property(small, fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), (o, cuts) => {
        const spec = generateSpec(o) as { networks: { guestnet: { pipes: Record<string, string>[] } } };
        const pipes = spec.networks.guestnet.pipes;
        for (const c of cuts) if (pipes.length > 0) pipes.splice(c % pipes.length, 1);
        for (let round = 0; round < o.nodes; round++) {
          const problems = problemsOfText(stringify(spec));
          if (problems.length === 0) return;
          assert.ok(
            problems.every((p) => /do not join node/.test(p.message)),
            problems.map(formatProblem).join('\n'),
          );
          const p = problems[0] as LocatedProblem;
          const m = /add a pipe such as \{ (\S+): (\S+), (\S+): (\S+) \}/.exec(p.fix ?? '');
          assert.ok(m, `a pipe to add: ${p.fix}`);
          pipes.push({ [m[1] as string]: m[2] as string, [m[3] as string]: m[4] as string });
          const after = problemsOfText(stringify(spec)).map((q) => q.message);
          assert.ok(!after.includes(p.message), `still: ${p.message}`);
        }
        assert.deepEqual(problemsOfText(stringify(spec)).map(formatProblem), []);
      }),
      { numRuns: 40 },
    );
  });

  test('a name given twice: renaming it as suggested leaves a valid spec', () => {
    fc.assert(
      fc.property(small, fc.nat(), (o, k) => {
        const name = `guest${(k % o.guests) + 1}`;
        // Another guest of the same name before the real one, at an address no one uses.
        const text = stringify(generateSpec(o)).replace(
          'guests:\n',
          `guests:\n  ${name}:\n    node: node1\n    address: 10.64.200.1\n`,
        );
        const problems = problemsOfText(text);
        assert.equal(problems.length, 1, problems.map(formatProblem).join('\n'));
        const p = problems[0] as LocatedProblem;
        const to = /rename this one, e\.g\. to (\S+),/.exec(p.fix ?? '')?.[1];
        assert.ok(to, `a name to rename to: ${p.fix}`);
        const lines = text.split('\n');
        const line = lines[p.location.line - 1] as string;
        const col = p.location.col - 1;
        assert.equal(line.slice(col, col + name.length), name);
        lines[p.location.line - 1] = line.slice(0, col) + to + line.slice(col + name.length);
        assert.deepEqual(problemsOfText(lines.join('\n')).map(formatProblem), []);
      }),
      { numRuns: 40 },
    );
  });

  const fieldOf = fc.constantFrom(
    { at: 'guests', index: (s: number) => `guest${s}`, fields: ['node', 'address'] },
    { at: 'nodes', index: (s: number) => `node${s}`, fields: ['address'] },
    { at: 'forwards', index: (s: number) => s - 1, fields: ['port', 'to', 'proto', 'toPort'] },
  );

  test('a misspelt field: the field it suggests is the one meant', () => {
    fc.assert(
      fc.property(small, fieldOf, fc.nat(), fc.nat(), fc.context(), (o, where, n, f, ctx) => {
        const spec = generateSpec(o) as Record<string, Record<string | number, Record<string, unknown>>>;
        const count = where.at === 'guests' ? o.guests : where.at === 'nodes' ? o.nodes : o.forwards;
        const key = where.index((n % count) + 1);
        const entry = spec[where.at]?.[key] as Record<string, unknown>;
        const field = where.fields[f % where.fields.length] as string;
        const typo = fc.sample(slip(field), { numRuns: 1, seed: n + f })[0] as string;
        fc.pre(typo !== field);
        ctx.log(`${where.at}.${String(key)}.${field} -> ${typo}`);
        entry[typo] = entry[field];
        delete entry[field];
        const problems = problemsOfText(stringify(spec));
        const unknown = problems.find((p) => p.message.startsWith('unknown field'));
        assert.ok(unknown, problems.map(formatProblem).join('\n'));
        const meant = /did you mean "(\w+)"/.exec(unknown.fix ?? '')?.[1];
        assert.equal(meant, field, formatProblem(unknown));
        entry[meant] = entry[typo];
        delete entry[typo];
        assert.deepEqual(problemsOfText(stringify(spec)).map(formatProblem), []);
      }),
      { numRuns: 60 },
    );
  });

  test('a misspelt choice: the value it suggests is the one meant', () => {
    fc.assert(
      fc.property(small, fc.nat(), fc.nat(), (o, n, seed) => {
        const spec = generateSpec(o) as { forwards: { strategy: string }[] };
        const forward = spec.forwards[n % spec.forwards.length] as { strategy: string };
        const meant = forward.strategy;
        const typo = fc.sample(slip(meant), { numRuns: 1, seed })[0] as string;
        fc.pre(typo !== meant);
        forward.strategy = typo;
        const problems = problemsOfText(stringify(spec));
        assert.equal(problems.length, 1, problems.map(formatProblem).join('\n'));
        const value = /^write strategy: (\S+)$/.exec(problems[0]?.fix ?? '')?.[1];
        assert.equal(value, meant, formatProblem(problems[0] as LocatedProblem));
        forward.strategy = value as string;
        assert.deepEqual(problemsOfText(stringify(spec)).map(formatProblem), []);
      }),
      { numRuns: 40 },
    );
  });
});
