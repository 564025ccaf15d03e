// `lab up --ssh`: each node runs its own sshd in its namespace, listening on its uplink address, with
// host keys, authorized_keys and config in the lab's directory (never ~/.ssh or /etc/ssh), so that
// Ansible can reach the nodes from the workstation as it reaches real hosts. The lab's directory also
// gets the client's side: its key, known_hosts, an ssh_config, and an ansible.cfg and inventory that
// use them alone. The sshds are the lab's processes: killed with it (lab down, a failed build, an
// interrupt), their files removed with its directory.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { runChecked } from '../../../lab/run.ts';
import { startDaemon, waitListening } from '../../../lab/servers.ts';
import { formatIPv4 } from '../../../util/ipv4.ts';
import type { LabInstance } from './build.ts';
import { WORKSTATION } from './topology.ts';

/** sshd refuses to start as root without it; Debian's ssh.service creates it (RuntimeDirectory). */
const PRIVSEP_DIR = '/run/sshd';

/** The lab's SSH and Ansible files. */
export function sshPaths(labDir: string) {
  const ssh = join(labDir, 'ssh');
  const ansible = join(labDir, 'ansible');
  return {
    ssh,
    key: join(ssh, 'id_ed25519'),
    authorized: join(ssh, 'authorized_keys'),
    knownHosts: join(ssh, 'known_hosts'),
    config: join(ssh, 'ssh_config'),
    ansible,
    ansibleCfg: join(ansible, 'ansible.cfg'),
    inventory: join(ansible, 'inventory.yml'),
  };
}

/** Starts every node's sshd and waits until each listens; writes the client's files; returns the PIDs. */
export async function startSshd(lab: LabInstance, say: (l: string) => void): Promise<number[]> {
  const paths = sshPaths(lab.dir);
  mkdirSync(paths.ssh, { recursive: true });
  keygen(lab, paths.key, 'convergent lab client');
  writeFileSync(paths.authorized, readFileSync(`${paths.key}.pub`));
  if (!existsSync(PRIVSEP_DIR)) mkdirSync(PRIVSEP_DIR, { mode: 0o755 });
  const known: string[] = [];
  const nodes = lab.cluster.nodes.map((n) => ({ name: n.name, address: formatIPv4(n.address) }));
  const pids = nodes.map((node) => {
    const dir = join(paths.ssh, node.name);
    mkdirSync(dir, { recursive: true });
    const hostKey = join(dir, 'ssh_host_ed25519_key');
    keygen(lab, hostKey, `${node.name} (lab ${lab.id})`);
    const pub = readFileSync(`${hostKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
    known.push(`${node.address} ${pub}`);
    const config = join(dir, 'sshd_config');
    writeFileSync(config, sshdConfig(node.address, hostKey, paths.authorized));
    // -D: in the foreground, so the PID is sshd's and the lab can stop it; -e: its log to the lab's.
    const pid = startDaemon(
      ['ip', 'netns', 'exec', lab.ns(node.name), '/usr/sbin/sshd', '-D', '-e', '-f', config],
      join(lab.dir, 'logs', `${node.name}-sshd.log`),
      `node ${node.name}: sshd`,
    );
    lab.track(pid);
    return pid;
  });
  writeFileSync(paths.knownHosts, `${known.join('\n')}\n`);
  writeFileSync(paths.config, clientConfig(paths));
  writeAnsible(lab, paths);
  for (const node of nodes)
    await waitListening(
      lab.runner,
      lab.ns(node.name),
      `${node.address}:22`,
      `sshd on ${node.name}`,
      join(lab.dir, 'logs'),
    );
  say(`sshd listening on ${nodes.map((n) => `${n.name} (${n.address}:22)`).join(', ')}`);
  return pids;
}

function keygen(lab: LabInstance, file: string, comment: string): void {
  runChecked(lab.runner, ['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
}

function sshdConfig(address: string, hostKey: string, authorized: string): string {
  return [
    "# convergent lab: this node's own sshd, for root with the lab's key only",
    `ListenAddress ${address}:22`,
    `HostKey ${hostKey}`,
    `AuthorizedKeysFile ${authorized}`,
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'UseDNS no',
    'PrintMotd no',
    'PrintLastLog no',
    'PidFile none',
    'Subsystem sftp internal-sftp',
    '',
  ].join('\n');
}

/** The client's whole configuration: `ssh -F` reads neither ~/.ssh/config nor /etc/ssh/ssh_config. */
function clientConfig(paths: ReturnType<typeof sshPaths>): string {
  return [
    'Host *',
    '  User root',
    `  IdentityFile ${paths.key}`,
    '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${paths.knownHosts}`,
    '  GlobalKnownHostsFile /dev/null',
    '  StrictHostKeyChecking yes',
    '  BatchMode yes',
    '  ConnectTimeout 10',
    // A node cut off by a bad change is given up on in 15 s; its watchdog rolls it back.
    '  ServerAliveInterval 5',
    '  ServerAliveCountMax 3',
    '',
  ].join('\n');
}

/**
 * ansible.cfg and an inventory of the nodes in group `convergent_nodes`, with where each keeps the
 * rollout's copies (`convergent_dir`), its state and root (in its lab directory, as the lab's own
 * apply), how it runs this very convergent (`convergent_command`), and where the controller renders
 * (`convergent_render_dir`): contrib/ansible's variables.
 */
function writeAnsible(lab: LabInstance, paths: ReturnType<typeof sshPaths>): void {
  mkdirSync(paths.ansible, { recursive: true });
  writeFileSync(
    paths.ansibleCfg,
    [
      '# convergent lab: Ansible reads nothing of ~/.ansible, ~/.ssh or /etc/ansible',
      '[defaults]',
      `inventory = ${paths.inventory}`,
      `home = ${join(paths.ansible, 'home')}`,
      `local_tmp = ${join(paths.ansible, 'tmp')}`,
      `remote_tmp = ${join(paths.ansible, 'remote-tmp')}`,
      'interpreter_python = /usr/bin/python3',
      'retry_files_enabled = False',
      'host_key_checking = True',
      '',
      '[ssh_connection]',
      // A connection per node for the whole play (a new one costs 0.5 s); the masters live in the
      // workstation's namespace, so they end 30 s after the play or with the lab.
      `ssh_args = -F ${paths.config} -o ControlMaster=auto -o ControlPersist=30s`,
      `control_path_dir = ${join(paths.ansible, 'cp')}`,
      'pipelining = True',
      '',
    ].join('\n'),
  );
  const hosts = Object.fromEntries(
    lab.cluster.nodes.map((n) => {
      const dir = join(lab.dir, 'nodes', n.name);
      return [
        n.name,
        {
          ansible_host: formatIPv4(n.address),
          convergent_dir: join(dir, 'rollout'),
          convergent_state: join(dir, 'state'),
          convergent_root: join(dir, 'root'),
        },
      ];
    }),
  );
  const vars = {
    ansible_user: 'root',
    convergent_command: selfCommand(),
    convergent_render_dir: join(paths.ansible, 'rendered'),
  };
  writeFileSync(paths.inventory, stringify({ all: { vars, children: { convergent_nodes: { hosts } } } }));
}

/** How this process runs convergent, from any directory: under tsx, its loader by absolute path. */
function selfCommand(): string[] {
  const main = process.argv[1] ?? 'convergent';
  if (!main.endsWith('.ts')) return [process.execPath, main];
  return [process.execPath, '--import', import.meta.resolve('tsx'), main];
}

/** The environment ansible-playbook runs with: the lab's files alone. */
export function ansibleEnv(labDir: string): string[] {
  const paths = sshPaths(labDir);
  // Ansible refuses a locale that is not UTF-8 (CI runs without LANG).
  return [`ANSIBLE_CONFIG=${paths.ansibleCfg}`, `HOME=${join(paths.ansible, 'home')}`, 'LC_ALL=C.UTF-8'];
}

/** The command that runs ansible-playbook from the lab's workstation. */
export function ansibleArgv(
  lab: { dir: string; ns(host: string): string },
  args: readonly string[],
): string[] {
  return [
    'ip',
    'netns',
    'exec',
    lab.ns(WORKSTATION),
    'env',
    ...ansibleEnv(lab.dir),
    'ansible-playbook',
    ...args,
  ];
}
