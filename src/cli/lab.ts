// convergent lab test|up|check|apply|down|status|exec: the cluster in network namespaces, with real traffic.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import type { HostPlan } from '../host/plan.ts';
import { LabError } from '../lab/errors.ts';
import { exitIfInterrupted } from '../lab/interrupt.ts';
import { cgnatNeeds, clusterNeeds, type Reason, requireLab } from '../lab/preflight.ts';
import {
  type LabEntry,
  labDir,
  listLabs,
  readState,
  removableByAll,
  removeLab,
  SPEC_COPY,
} from '../lab/registry.ts';
import { failures, formatReport } from '../lab/report.ts';
import { realRunner } from '../lab/run.ts';
import { compileCgnat } from '../systems/cgnat/compile/index.ts';
import { cgnatLabCheck, cgnatLabTest, cgnatLabUp } from '../systems/cgnat/lab/index.ts';
import type { Backend, Cgnat } from '../systems/cgnat/model.ts';
import { conntrackdArgv, runsConntrackd } from '../systems/cluster/features/ctsync/lab.ts';
import { applyToLab } from '../systems/cluster/lab/apply.ts';
import { attach, type LabReport, labTest, labUp, prepare, runChecks } from '../systems/cluster/lab/lab.ts';
import { describeTopology } from '../systems/cluster/lab/topology.ts';
import { FAULTS, type Fault, faultsFor, isFault, whyNot } from '../systems/faults.ts';
import { type AnySpec, readAnySpec, readCluster } from '../systems/read.ts';
import { plural } from '../util/plural.ts';
import { VM_RUN } from '../vm/initramfs.ts';
import { type Kernel, pickKernels } from '../vm/kernel.ts';
import { type VmLabReport, type VmSpec, vmLabTest, vmLabUp } from '../vm/lab.ts';
import { formatMatrix, type KernelRun } from '../vm/matrix.ts';
import { listVmLabs, removeVmLab, type VmLabEntry, type VmLabRecord, vmRequest } from '../vm/resident.ts';
import { colorFor } from './color.ts';
import { EXIT, reportAndExit, UsageError } from './errors.ts';

const progress = (line: string) => process.stderr.write(`lab: ${line}\n`);
/** A changed spec for `lab apply` on a VM lab, copied into the VM's run directory. */
const APPLIED = 'apply.yaml';

/** Known faults; with a spec, only those that change something in it (a usage error names those). */
function faultsOf(names: readonly string[], spec?: AnySpec): Fault[] {
  for (const n of names)
    if (!isFault(n)) throw new UsageError(`unknown fault "${n}"; faults: ${Object.keys(FAULTS).join(', ')}`);
  const faults = names as Fault[];
  if (!spec) return faults;
  for (const f of faults) {
    const why = whyNot(f, spec);
    if (why === undefined) continue;
    const name = spec.kind === 'cgnat' ? spec.cgnat.name : spec.cluster.name;
    const fit = faultsFor(spec);
    throw new UsageError(
      `fault ${f} does nothing to ${name}: ${why}; ${fit.length > 0 ? `faults for this spec: ${fit.join(', ')}` : 'this spec takes no fault'}`,
    );
  }
  return faults;
}

function needRoot(): void {
  if (process.getuid?.() !== 0)
    throw new LabError('the lab creates network namespaces and needs root: run it with sudo, or as root');
}

/** Root, then every tool (and on this kernel, module) the lab runs: refused before it creates anything. */
function needLab(needs: readonly Reason[], plans: readonly HostPlan[] = []): void {
  needRoot();
  requireLab(needs, plans);
}

/** A lab on this machine: in namespaces here, or in a VM left running by `lab up --vm`. */
type AnyLab =
  | { readonly ns: LabEntry; readonly vm?: undefined }
  | { readonly vm: VmLabEntry; readonly ns?: undefined };

/**
 * The lab a command means: by id or cluster name, or the only one there is. A lab whose run is still
 * in progress (another `lab test`) is only taken when named by its id; leftovers of a crashed run
 * only by `lab down <id>`.
 */
function selectLab(selector: string | undefined, leftovers = false): AnyLab {
  const taken = (id: string, complete: boolean, creatorAlive: boolean) =>
    (complete || leftovers) && (!creatorAlive || id === selector);
  const labs: (AnyLab & { id: string; cluster?: string })[] = [
    ...listLabs(realRunner)
      .filter((l) => taken(l.id, l.state !== undefined, l.creatorAlive))
      .map((l) => ({ ns: l, id: l.id, cluster: l.state?.cluster })),
    ...listVmLabs()
      .filter((l) => taken(l.id, l.record !== undefined, l.creatorAlive))
      .map((l) => ({ vm: l, id: l.id, cluster: l.record?.cluster })),
  ];
  const match =
    selector === undefined ? labs : labs.filter((l) => l.id === selector || l.cluster === selector);
  if (match.length === 1) return match[0] as AnyLab;
  const known =
    labs.map((l) => `${l.id} (${l.cluster ?? 'leftover'}${l.vm ? ', in a VM' : ''})`).join(', ') || 'none';
  if (match.length === 0)
    throw new UsageError(`${selector ? `no lab "${selector}"` : 'no lab is up'}; labs: ${known}`);
  throw new UsageError(`${match.length} labs match; name one by id: ${known}`);
}

/** A VM lab's request: the VM's progress lines as the lab's, tagged with its kernel. */
async function inVm(
  vm: VmLabEntry,
  args: readonly string[],
  files: Readonly<Record<string, string>> = {},
  lines: (line: string) => void = (l) => progress(`[${vm.record?.kernel}] ${l.replace(/^lab: /, '')}`),
): Promise<{ code: number; stdout: string }> {
  const record = vm.record as VmLabRecord;
  const quote = (x: string) => `'${x.replaceAll("'", "'\\''")}'`;
  return vmRequest(vm, [...record.cli.argv, ...args].map(quote).join(' '), lines, files);
}

/** A lab that `lab up` left running, as built: from the copy of its spec, with its faults. */
function runningLab(entry: LabEntry) {
  const state = entry.state as NonNullable<LabEntry['state']>;
  const p = prepare(join(labDir(state.id), SPEC_COPY), faultsOf(state.faults));
  return { lab: attach(state, p, realRunner), p };
}

const collect = (value: string, previous: string[]) => [...previous, value];

/** A step that failed because the run was interrupted: the interrupt is what the user is told. */
function failed(err: unknown): never {
  exitIfInterrupted();
  return reportAndExit(err);
}

/** The report on stdout, and the exit status from the checks (after a cut too). */
function printReport(report: LabReport, json: boolean): void {
  process.stdout.write(
    json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report, colorFor(process.stdout)),
  );
  process.exitCode = failures(report) === 0 ? EXIT.ok : EXIT.failed;
}

/** The next steps, once a lab is up. */
function upMessage(id: string, what: string, hosts: readonly string[], first: string): string {
  return (
    `lab ${id} is up ${what}\n` +
    `  hosts: ${hosts.join(', ')}\n` +
    `  run:   convergent lab exec --lab ${id} ${first} -- nft list ruleset\n` +
    `         convergent lab check ${id}\n` +
    `  stop:  convergent lab down ${id}\n`
  );
}

/** `lab up` of a CGNAT spec: here on either backend, or in a VM. */
async function cgnatUp(
  file: string,
  cgnat: Cgnat,
  options: { fault: string[]; vm?: true; kernel?: string; backend?: string },
): Promise<void> {
  const backend = backendOf(options.backend);
  const faults = faultsOf(options.fault, { kind: 'cgnat', cgnat });
  if (options.kernel !== undefined && !options.vm) throw new UsageError('--kernel goes with --vm');
  needLab(cgnatNeeds(options.vm));
  if (options.vm) {
    const [kernel] = pickKernels(options.kernel === undefined ? [] : [options.kernel]) as [Kernel];
    progress(`booting kernel ${kernel.version} in a VM (qemu); it stays up until lab down`);
    const clients = cgnat.tenants.flatMap((t) => t.clients.map((c) => [c.name, 'client'] as const));
    const roles = { [cgnat.router]: 'router', [cgnat.peer.name]: 'peer', ...Object.fromEntries(clients) };
    const hosts = Object.keys(roles);
    const up = await vmLabUp(
      {
        kind: 'cgnat',
        file: resolvePath(file),
        plans: [compileCgnat(cgnat)],
        name: cgnat.name,
        hosts: roles,
      },
      { kernel, faults, backend, progress: (l) => progress(`[${kernel.version}] ${l}`) },
    );
    process.stdout.write(
      upMessage(
        up.id,
        `in a VM (CGNAT ${up.cluster}, kernel ${up.kernel}, booted in ${(up.bootMs / 1000).toFixed(1)} s)`,
        hosts,
        cgnat.router,
      ),
    );
    return;
  }
  const state = await cgnatLabUp(cgnat, resolvePath(file), { progress, backend, faults });
  process.stdout.write(
    upMessage(
      state.id,
      `(CGNAT ${state.cluster}, backend ${state.backend})`,
      Object.keys(state.hosts),
      cgnat.router,
    ),
  );
}

function backendOf(backend: string | undefined): Backend | undefined {
  if (backend !== undefined && backend !== 'vrf' && backend !== 'netns')
    throw new UsageError(`--backend is vrf or netns, not "${backend}"`);
  return backend;
}

/** `lab test --vm`: one kernel prints the lab's own report; several, a table over them. */
async function vmTest(
  p: VmSpec,
  o: { kernels: readonly Kernel[]; faults: readonly string[]; cut?: string; backend?: string; json: boolean },
): Promise<void> {
  const runs: KernelRun[] = [];
  for (const kernel of o.kernels) {
    progress(`booting kernel ${kernel.version} in a VM (qemu)`);
    try {
      const report = await vmLabTest(p, {
        kernel,
        faults: o.faults,
        cut: o.cut,
        backend: o.backend,
        progress: (l) => progress(`[${kernel.version}] ${l}`),
      });
      progress(
        `kernel ${kernel.version}: VM booted in ${(report.vm.bootMs / 1000).toFixed(1)} s, ${(report.vm.totalMs / 1000).toFixed(1)} s in all`,
      );
      runs.push({ kernel: kernel.version, report });
    } catch (err) {
      // One kernel that cannot run the lab does not hide the others' results.
      if (o.kernels.length === 1 || !(err instanceof LabError)) throw err;
      progress(`kernel ${kernel.version}: ${err.message}`);
      runs.push({ kernel: kernel.version, error: err.message });
    }
  }
  if (runs.length === 1) return printReport(runs[0]?.report as VmLabReport, o.json);
  process.stdout.write(o.json ? `${JSON.stringify(runs, null, 2)}\n` : formatMatrix(runs));
  process.exitCode = runs.some((r) => r.error)
    ? EXIT.lab
    : runs.every((r) => r.report && failures(r.report) === 0)
      ? EXIT.ok
      : EXIT.failed;
}

export function labCommand(program: Command): void {
  const lab = program
    .command('lab')
    .description('emulate the cluster in network namespaces and prove it with real traffic');

  lab
    .command('test')
    .description('bring the lab up, run every check, tear it down; exit 0 only if all pass')
    .argument('<file>', 'cluster spec (YAML)')
    .option('--fault <name>', `inject a known mistake (${Object.keys(FAULTS).join(', ')})`, collect, [])
    .option(
      '--cut <node>',
      'then cut this node off (uplink and pipes down) and run the checks that do not need it',
    )
    .option('--json', 'print the report as JSON on stdout')
    .option('--vm', 'run the lab inside a VM booting a Debian kernel (qemu), not on this kernel')
    .option(
      '--kernel <version>',
      'with --vm: the kernel (e.g. 6.1); repeat for a table over kernels',
      collect,
      [],
    )
    .option('--backend <backend>', 'a CGNAT spec: run it on this backend instead (vrf or netns)')
    .action(async (file, options) => {
      try {
        const spec = readAnySpec(file);
        if (spec.kind === 'cgnat') {
          const { cgnat } = spec;
          backendOf(options.backend);
          const faults = faultsOf(options.fault, spec);
          if (options.cut !== undefined) throw new UsageError('--cut goes with a cluster spec');
          if (options.kernel.length > 0 && !options.vm) throw new UsageError('--kernel goes with --vm');
          needLab(cgnatNeeds(options.vm));
          if (options.vm) {
            await vmTest(
              { file: resolvePath(file), plans: [compileCgnat(cgnat)] },
              {
                kernels: pickKernels(options.kernel),
                faults,
                backend: options.backend,
                json: options.json === true,
              },
            );
            return;
          }
          const report = await cgnatLabTest(cgnat, { progress, backend: backendOf(options.backend), faults });
          exitIfInterrupted();
          printReport(report, options.json === true);
          return;
        }
        if (options.backend !== undefined)
          throw new UsageError('--backend goes with a CGNAT spec (kind: cgnat)');
        const p = prepare(file, faultsOf(options.fault, spec));
        if (options.cut !== undefined && !p.cluster.nodes.some((n) => n.name === options.cut))
          throw new UsageError(
            `no node "${options.cut}" to cut; nodes: ${p.cluster.nodes.map((n) => n.name).join(', ')}`,
          );
        if (options.kernel.length > 0 && !options.vm) throw new UsageError('--kernel goes with --vm');
        needLab(clusterNeeds(p.plans, options.vm), options.vm ? [] : p.plans);
        for (const line of describeTopology(p.cluster, p.topology)) progress(line);
        if (options.vm) {
          await vmTest(p, {
            kernels: pickKernels(options.kernel),
            faults: options.fault,
            cut: options.cut,
            json: options.json === true,
          });
          return;
        }
        const report = await labTest(p, { progress, cut: options.cut });
        exitIfInterrupted();
        printReport(report, options.json === true);
      } catch (err) {
        failed(err);
      }
    });

  lab
    .command('up')
    .description('bring the lab up and leave it running (see lab exec, lab check, lab down)')
    .argument('<file>', 'cluster spec (YAML)')
    .option('--fault <name>', 'inject a known mistake', collect, [])
    .option('--vm', 'in a VM booting a Debian kernel (qemu), which stays up until lab down')
    .option('--kernel <version>', 'with --vm: the kernel (e.g. 6.1)')
    .option('--backend <backend>', 'a CGNAT spec: bring it up on this backend instead (vrf or netns)')
    .action(async (file, options) => {
      try {
        const spec = readAnySpec(file);
        if (spec.kind === 'cgnat') {
          await cgnatUp(file, spec.cgnat, options);
          return;
        }
        if (options.backend !== undefined)
          throw new UsageError('--backend goes with a CGNAT spec (kind: cgnat)');
        const p = prepare(file, faultsOf(options.fault, spec));
        if (options.kernel !== undefined && !options.vm) throw new UsageError('--kernel goes with --vm');
        needLab(clusterNeeds(p.plans, options.vm), options.vm ? [] : p.plans);
        for (const line of describeTopology(p.cluster, p.topology)) progress(line);
        if (options.vm) {
          const [kernel] = pickKernels(options.kernel === undefined ? [] : [options.kernel]) as [Kernel];
          progress(`booting kernel ${kernel.version} in a VM (qemu); it stays up until lab down`);
          const hosts = Object.fromEntries(p.topology.hosts.map((h) => [h.name, h.role]));
          const up = await vmLabUp(
            { ...p, name: p.cluster.name, hosts },
            {
              kernel,
              faults: options.fault,
              progress: (l) => progress(`[${kernel.version}] ${l}`),
            },
          );
          const first = p.cluster.nodes[0]?.name ?? 'workstation';
          process.stdout.write(
            upMessage(
              up.id,
              `in a VM (cluster ${up.cluster}, kernel ${up.kernel}, booted in ${(up.bootMs / 1000).toFixed(1)} s)`,
              Object.keys(up.hosts),
              first,
            ),
          );
          return;
        }
        const { lab: up, run } = await labUp(p, { progress });
        run.keep();
        process.stdout.write(
          upMessage(
            up.id,
            `(cluster ${up.cluster.name})`,
            Object.keys(up.state.hosts),
            p.cluster.nodes[0]?.name ?? 'workstation',
          ),
        );
      } catch (err) {
        failed(err);
      }
    });

  lab
    .command('check')
    .description('run the checks again on a lab that is up')
    .argument('[lab]', 'lab id or cluster name (default: the only lab up)')
    .option('--json', 'print the report as JSON on stdout')
    .action(async (selector, options) => {
      try {
        needRoot();
        const chosen = selectLab(selector);
        if (chosen.vm) {
          const r = await inVm(chosen.vm, ['lab', 'check', '--json']);
          // The report names the lab inside the VM; the user knows the VM's.
          if (r.code === EXIT.ok || r.code === EXIT.failed)
            printReport({ ...(JSON.parse(r.stdout) as LabReport), lab: chosen.vm.id }, options.json === true);
          else
            throw new LabError(
              `lab check in the VM of ${chosen.vm.id} failed (exit ${r.code}); its output is above`,
            );
          return;
        }
        const state = chosen.ns.state;
        if (state?.kind === 'cgnat') {
          printReport(await cgnatLabCheck(state, progress), options.json === true);
          return;
        }
        const { lab: up, p } = runningLab(chosen.ns);
        const report = await runChecks(up, p, progress);
        printReport(report, options.json === true);
      } catch (err) {
        reportAndExit(err);
      }
    });

  lab
    .command('apply')
    .description('apply a changed spec to a lab that is up: move guests (migration), reload rulesets')
    .argument('<file>', 'the changed cluster spec (YAML)')
    .option('--lab <lab>', 'lab id or cluster name (default: the only lab up)')
    .action(async (file, options) => {
      try {
        // The spec first: a CGNAT spec, or a broken one, is refused before any lab is looked at.
        readCluster(file);
        needRoot();
        const chosen = selectLab(options.lab);
        if (chosen.vm) {
          const changed = prepare(file, faultsOf(chosen.vm.record?.faults ?? []));
          const r = await inVm(chosen.vm, ['lab', 'apply', `${VM_RUN}/${APPLIED}`], {
            [APPLIED]: readFileSync(changed.file, 'utf8'),
          });
          if (r.code !== 0)
            throw new LabError(
              `lab apply in the VM of ${chosen.vm.id} failed (exit ${r.code}); its output is above`,
            );
          // Its "next:" line names the lab inside the VM.
          const moves = r.stdout.split('\n').filter((l) => l !== '' && !l.trimStart().startsWith('next:'));
          process.stdout.write(`${moves.join('\n')}\n  next: convergent lab check ${chosen.vm.id}\n`);
          return;
        }
        if (chosen.ns.state?.kind === 'cgnat')
          throw new UsageError(
            'lab apply moves the guests of a cluster; a CGNAT lab is rebuilt: lab down, then lab up the changed spec',
          );
        const { lab: up } = runningLab(chosen.ns);
        const state = up.state;
        const moves = await applyToLab(up, prepare(file, faultsOf(state.faults)), progress);
        process.stdout.write(
          `${moves.length === 0 ? 'no guest moved' : moves.map((m) => `${m.guest}: ${m.from} -> ${m.to}`).join('\n')}\n` +
            `  next: convergent lab check ${state.id}\n`,
        );
      } catch (err) {
        reportAndExit(err);
      }
    });

  lab
    .command('down')
    .description('remove a lab: its processes, namespaces and state')
    .argument('[lab]', 'lab id or cluster name (default: the only lab up)')
    .option('--all', 'remove every lab and the leftovers of crashed runs (not runs still in progress)')
    .action((selector, options) => {
      try {
        needRoot();
        const doomed: AnyLab[] = options.all
          ? [
              ...removableByAll(listLabs(realRunner)).map((ns) => ({ ns })),
              ...listVmLabs()
                .filter((l) => !l.creatorAlive)
                .map((vm) => ({ vm })),
            ]
          : [selectLab(selector, true)];
        for (const { ns, vm } of doomed) {
          if (ns) removeLab(ns, realRunner);
          if (vm) removeVmLab(vm);
          const cluster = ns ? ns.state?.cluster : vm?.record?.cluster;
          process.stderr.write(
            `removed ${(ns ?? vm)?.id}${cluster ? ` (${cluster}${vm ? `, its VM ended` : ''})` : ' (leftover)'}\n`,
          );
        }
        if (doomed.length === 0) process.stderr.write('no lab to remove\n');
      } catch (err) {
        reportAndExit(err);
      }
    });

  lab
    .command('status')
    .description('list the labs on this machine, or show one')
    .argument('[lab]', 'lab id or cluster name')
    .option('--json', 'print as JSON on stdout')
    .action((selector, options) => {
      try {
        const chosen = selector ? selectLab(selector, true) : undefined;
        const labs = chosen ? (chosen.ns ? [chosen.ns] : []) : listLabs(realRunner);
        const vms = chosen ? (chosen.vm ? [chosen.vm] : []) : listVmLabs();
        if (options.json) {
          process.stdout.write(`${JSON.stringify([...labs, ...vms], null, 2)}\n`);
          return;
        }
        if (labs.length + vms.length === 0) process.stdout.write('no labs\n');
        for (const l of labs) {
          const s = l.state;
          const what = s
            ? `${s.kind === 'cgnat' ? `CGNAT ${s.cluster} (backend ${s.backend})` : `cluster ${s.cluster}`} from ${s.spec}, up since ${s.created}`
            : 'leftover of a crashed run';
          const running = l.creatorAlive ? ' (its run is still in progress)' : '';
          process.stdout.write(`${l.id}  ${what}${running}\n  ${plural(l.namespaces.length, 'namespace')}\n`);
          if (s && selector) {
            for (const [host, h] of Object.entries(s.hosts))
              process.stdout.write(`  ${host.padEnd(16)} ${h.role.padEnd(12)} ${h.ns}\n`);
            for (const n of s.notes) process.stdout.write(`  note: ${n}\n`);
            if (s.faults.length > 0) process.stdout.write(`  faults injected: ${s.faults.join(', ')}\n`);
          }
        }
        for (const v of vms) {
          const r = v.record;
          const what = r
            ? `${r.kind === 'cgnat' ? 'CGNAT' : 'cluster'} ${r.cluster} from ${r.spec}, up since ${r.created}, in a VM (kernel ${r.kernel})`
            : `the VM of a "lab test --vm"${v.creatorAlive ? '' : ' left by a crashed run'}`;
          const running = v.creatorAlive ? ' (its run is still in progress)' : '';
          const qemu = v.pid === undefined ? 'qemu is not running' : `qemu PID ${v.pid}`;
          process.stdout.write(`${v.id}  ${what}${running}\n  ${qemu}, ${v.dir}\n`);
          if (r && selector) {
            for (const [host, role] of Object.entries(r.hosts))
              process.stdout.write(`  ${host.padEnd(16)} ${role}\n`);
            if (r.faults.length > 0) process.stdout.write(`  faults injected: ${r.faults.join(', ')}\n`);
          }
        }
      } catch (err) {
        reportAndExit(err);
      }
    });

  lab
    .command('exec')
    .description('run a command inside a node, guest, the workstation or the upstream router')
    .argument('<host>', 'node, guest, workstation or upstream')
    .argument('<command...>', 'the command, after --')
    .option('--lab <lab>', 'lab id or cluster name (default: the only lab up)')
    .action(async (host, command, options) => {
      try {
        needRoot();
        const chosen = selectLab(options.lab);
        if (chosen.vm) {
          // In the VM the command's output comes back when it ends; no terminal, no input.
          const r = await inVm(chosen.vm, ['lab', 'exec', host, '--', ...command], {}, (l) =>
            process.stderr.write(`${l}\n`),
          );
          process.stdout.write(r.stdout);
          process.exitCode = r.code;
          return;
        }
        const state = readState(chosen.ns.id);
        const ns = state?.hosts[host]?.ns;
        if (!state || !ns)
          throw new UsageError(
            `no host "${host}" in the lab; hosts: ${Object.keys(state?.hosts ?? {}).join(', ')}`,
          );
        // conntrackd's control socket lives in the node's own /run (systems/cluster/features/ctsync/lab.ts).
        const [cmd, ...args] =
          command[0] === 'conntrackd' && runsConntrackd(labDir(state.id), host)
            ? conntrackdArgv(labDir(state.id), ns, host, command.slice(1))
            : ['ip', 'netns', 'exec', ns, ...command];
        const r = spawnSync(cmd as string, args, { stdio: 'inherit' });
        process.exitCode = r.status ?? 1;
      } catch (err) {
        reportAndExit(err);
      }
    });
}
