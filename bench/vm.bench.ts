// The VM lab's cost against the namespace lab, for the same examples (as root; the VM and its run
// directory are removed whatever happens, like the labs):
//   namespace   lab test of the example on this machine's kernel (prepare excluded: both share it)
//   vm          lab test --vm: qemu (TCG) booting Debian's kernel, the same lab test inside
//               boot = until the job runs in the VM; total = until qemu exited
// Overhead = vm total - namespace total; target under 30 s. RUNS rounds, interleaved; medians.
// Run: npm run bench:vm [-- --json]   (figures go into bench/README.md; RUNS overrides 3; --smoke runs
// part4 once, to prove the bench works)
import { performance } from 'node:perf_hooks';
import { labTest, prepare } from '../src/systems/cluster/lab/lab.ts';
import { pickKernels } from '../src/vm/kernel.ts';
import { vmLabTest } from '../src/vm/lab.ts';
import { SMOKE_LINE, setting, smoke } from './smoke.ts';
import { json, machineInfo, machineLine, median, note, otherNamespaces, out, warnOthers } from './support.ts';

const RUNS = setting('RUNS', 3, 1);
const EXAMPLES = ['examples/part4-stateless.yaml', ...(smoke ? [] : ['examples/part3-fullnat.yaml'])];

interface Figure {
  example: string;
  kernel: string;
  namespaceS: number[];
  bootS: number[];
  vmS: number[];
}

const [kernel] = pickKernels(process.env.KERNEL ? [process.env.KERNEL] : []);
if (!kernel) throw new Error('no kernel');
const others = [otherNamespaces()];
const figures: Figure[] = [];
for (const example of EXAMPLES) {
  const p = prepare(example);
  const f: Figure = { example, kernel: kernel.version, namespaceS: [], bootS: [], vmS: [] };
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const here = await labTest(p, { progress: () => {} });
    f.namespaceS.push((performance.now() - t) / 1000);
    const vm = await vmLabTest(p, { kernel, progress: () => {} });
    if (here.failed + vm.failed > 0)
      throw new Error(`${example}: checks failed (namespace ${here.failed}, vm ${vm.failed})`);
    f.bootS.push(vm.vm.bootMs / 1000);
    f.vmS.push(vm.vm.totalMs / 1000);
    note(
      `${example} run ${i + 1}: namespace ${f.namespaceS.at(-1)?.toFixed(1)} s, vm ${f.vmS.at(-1)?.toFixed(1)} s (boot ${f.bootS.at(-1)?.toFixed(1)} s)`,
    );
  }
  figures.push(f);
  others.push(otherNamespaces());
}
warnOthers(others);

const machine = machineInfo();
if (smoke) out(SMOKE_LINE);
out(machineLine(machine));
out(`qemu TCG (no KVM), 2 vCPUs, 1 GiB, kernel ${kernel.version}; median of ${RUNS} runs, interleaved`);
out('');
out('  example                        namespace   vm boot   vm total   overhead');
for (const f of figures) {
  const ns = median(f.namespaceS);
  const vm = median(f.vmS);
  out(
    `  ${f.example.padEnd(30)} ${`${ns.toFixed(1)} s`.padStart(9)} ${`${median(f.bootS).toFixed(1)} s`.padStart(9)} ${`${vm.toFixed(1)} s`.padStart(10)} ${`${(vm - ns).toFixed(1)} s`.padStart(10)}`,
  );
}
if (json) process.stdout.write(`${JSON.stringify({ machine, figures }, null, 2)}\n`);
