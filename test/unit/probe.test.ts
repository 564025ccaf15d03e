// A probe that fails says why, whatever its client did: the lab stopped it at its limit, a signal
// ended it, it exited with an error, or it printed no result. The lab's clients are replaced by a
// runner that answers as they would, so every kind of failure can be shown without root.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import { AGENT_DIR, PYTHON } from '../../src/lab/agent.ts';
import { PACE_ENV } from '../../src/lab/pace.ts';
import type { RunOptions, RunResult } from '../../src/lab/run.ts';
import { outcomeOf } from '../../src/systems/cgnat/lab/probe.ts';
import type { LabInstance } from '../../src/systems/cluster/lab/build.ts';
import { prepare } from '../../src/systems/cluster/lab/lab.ts';
import { runProbe } from '../../src/systems/cluster/lab/probe.ts';
import type { Probe } from '../../src/systems/cluster/lab/probes.ts';
import { paceOf, paceScript } from '../../src/vm/pace.ts';
import { EXAMPLES_DIR } from '../support/examples.ts';

const p = prepare(join(EXAMPLES_DIR, 'part4-stateless.yaml'));
const probeOf = (proto: string): Probe => {
  const probe = p.probes.find((x) => x.check.proto === proto);
  assert.ok(probe, proto);
  return probe;
};
const clientOf: Record<string, string> = {
  http: 'curl',
  tcp: 'probe.py',
  udp: 'probe.py',
  ping: 'ping',
  arp: 'probe.py',
};

/** A lab whose clients all end as `result` says; it keeps what they were run with. */
function labAnswering(result: RunResult) {
  const calls: { argv: readonly string[]; options?: RunOptions }[] = [];
  const lab = {
    cluster: p.cluster,
    ns: (host: string) => `cvg-test-${host}`,
    runAsync: async (argv: readonly string[], options?: RunOptions) => {
      calls.push({ argv, options });
      return result;
    },
  } as unknown as LabInstance;
  return { lab, calls };
}

const stopped: RunResult = { code: 128, stdout: '', stderr: '', timedOut: true, signal: 'SIGKILL' };

afterEach(() => {
  delete process.env[PACE_ENV];
});

describe('a failed probe says why', () => {
  for (const proto of ['http', 'tcp', 'udp', 'ping', 'arp']) {
    const client = clientOf[proto] as string;
    test(`${proto} (${client}): every kind of failure has its reason`, async () => {
      const cases: [RunResult, RegExp][] = [
        // Killed by the lab at its limit before it printed anything: the VM lab under load.
        [stopped, new RegExp(`^${client} had not finished after 20 s; the lab stopped it$`)],
        [
          { code: 128, stdout: '', stderr: '', signal: 'SIGTERM' },
          new RegExp(`^${client} was ended by SIGTERM$`),
        ],
        [
          {
            code: 2,
            stdout: '',
            stderr: 'Traceback (most recent call last):\n  ...\nOSError: [Errno 19] No such device\n',
          },
          new RegExp(`^${client} exited 2: OSError: \\[Errno 19\\] No such device$`),
        ],
        [{ code: 3, stdout: '', stderr: '' }, new RegExp(`^${client} exited 3 without a message$`)],
      ];
      if (proto !== 'http' && proto !== 'ping') {
        cases.push([
          { code: 0, stdout: 'Segmentation', stderr: '' },
          /^probe\.py printed no result: "Segmentation"$/,
        ]);
        cases.push([{ code: 0, stdout: '', stderr: '' }, /^probe\.py printed nothing$/]);
        cases.push([
          { code: 0, stdout: '{"error": "connection refused"}\n', stderr: '' },
          /^connection refused$/,
        ]);
      }
      if (proto === 'ping')
        cases.push([
          { code: 1, stdout: '1 packets transmitted, 0 received', stderr: '' },
          /^no echo reply within 2 s$/,
        ]);
      for (const [result, reason] of cases) {
        const { lab } = labAnswering(result);
        const outcome = await runProbe(lab, probeOf(proto), 20000);
        assert.match(outcome.error ?? '', reason, JSON.stringify(result));
      }
    });
  }

  test("the CGNAT lab's probe.py says why too", () => {
    assert.equal(outcomeOf(stopped).error, 'probe.py had not finished after 20 s; the lab stopped it');
    assert.equal(outcomeOf({ code: 1, stdout: '', stderr: '' }).error, 'probe.py exited 1 without a message');
    assert.equal(
      outcomeOf({ code: 0, stdout: '{"error": "connection refused"}', stderr: '' }).error,
      'connection refused',
    );
  });

  test('probe.py names a refused connection', async () => {
    // A port that was just free on the loopback: nothing listens there.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise((resolve) => server.close(resolve));
    const r = spawnSync(PYTHON, [join(AGENT_DIR, 'probe.py'), 'tcp', '127.0.0.1', String(port), '0'], {
      encoding: 'utf8',
    });
    assert.deepEqual(JSON.parse(r.stdout), { error: 'connection refused' });
  });
});

describe("the lab's pace", () => {
  test("clients' timeouts and the lab's limit grow with the pace the VM measured", async () => {
    process.env[PACE_ENV] = '2.5';
    const curl = labAnswering(stopped);
    const failed = await runProbe(curl.lab, probeOf('http'), 20000);
    assert.equal(failed.error, 'curl had not finished after 50 s; the lab stopped it');
    assert.equal(curl.calls[0]?.options?.timeoutMs, 50_000);
    const argv = curl.calls[0]?.argv ?? [];
    assert.equal(argv[argv.indexOf('--max-time') + 1], '7.5');

    const ping = labAnswering({ code: 1, stdout: '', stderr: '' });
    assert.equal((await runProbe(ping.lab, probeOf('ping'), 20000)).error, 'no echo reply within 5 s');
    const pingArgv = ping.calls[0]?.argv ?? [];
    assert.equal(pingArgv[pingArgv.indexOf('-W') + 1], '5');
  });

  test('the VM job measures it, exports it and reports it on a line of its own', () => {
    // `true` is a shell builtin: far quicker than python3 in an idle VM, so the pace is 1.
    const r = spawnSync('sh', ['-c', `${paceScript('true')}\necho "$${PACE_ENV}"`], { encoding: 'utf8' });
    const [line, exported] = r.stdout.trim().split('\n');
    const measured = paceOf(line ?? '');
    assert.equal(measured?.pace, 1, r.stdout);
    assert.ok(Number.isInteger(measured?.pythonStartMs), r.stdout);
    assert.equal(exported, '1.0');
    assert.deepEqual(paceOf('convergent-vm: pace 3.4 1020'), { pace: 3.4, pythonStartMs: 1020 });
    assert.equal(paceOf('lab: running 14 checks'), undefined);
  });
});
