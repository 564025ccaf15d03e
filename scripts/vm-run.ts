// Runs shell commands as root in the VM lab's VM (Debian's kernel under qemu, this machine's root
// read-only with a writable layer; /run/vm is shared with the host), printing their output.
// For experiments on a kernel this machine lacks (VRF, bonds, 802.1Q):
//   node --import tsx scripts/vm-run.ts 'ip link add blue type vrf table 10 && ip -d link show blue'
// The commands start in the current directory (the VM sees it at the same path). KERNEL=6.1 picks
// the kernel; the exit status is the commands'.
import { pickKernels } from '../src/vm/kernel.ts';
import { runInVm } from '../src/vm/qemu.ts';

const script = process.argv[2];
if (!script) {
  process.stderr.write("usage: node --import tsx scripts/vm-run.ts 'COMMANDS'\n");
  process.exit(2);
}
const [kernel] = pickKernels(process.env.KERNEL ? [process.env.KERNEL] : []);
if (!kernel) throw new Error('no kernel');
const quoted = `'${process.cwd().replaceAll("'", "'\\''")}'`;
const result = await runInVm({
  kernel,
  script: `cd ${quoted} || exit 1\n${script}`,
  progress: (line) => process.stdout.write(`${line}\n`),
});
process.stderr.write(
  `kernel ${kernel.version}: boot ${(result.bootMs / 1000).toFixed(1)} s, total ${(result.totalMs / 1000).toFixed(1)} s\n`,
);
process.exitCode = result.code;
