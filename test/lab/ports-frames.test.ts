// Frames a guest must never put on the trunk, whatever its spoof policy: a VLAN-tagged frame (it
// would hop onto another VLAN of the trunk) and an STP BPDU. Sent raw from behind a plugged tap in a
// fresh network namespace (`unshare --net`, gone with its process) holding ganeti-seed's ruleset;
// the drop rules' counters and a listener on the bridge's other port say what happened.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { EXAMPLES_DIR } from '../support/examples.ts';
import { needsRoot } from '../support/root.ts';

const RULESET = join(EXAMPLES_DIR, '..', 'test', 'golden', 'ganeti-seed', 'node1', 'nftables.conf');

// tap0 is a plugged guest port (in "plugged", in no map: as a spoof: allow NIC on a bridged
// network); p1 is the bridge's other port, where a frame that got through would arrive.
const SCRIPT = `set -e
ip link add name br0x type bridge; ip link set br0x up
ip link add tap0 type veth peer name g0; ip link set tap0 master br0x up; ip link set g0 up
ip link add p1 type veth peer name p1peer; ip link set p1 master br0x up; ip link set p1peer up
nft -f "$RULESET"
nft add element bridge convergent_ports plugged '{ "tap0" }'
python3 - <<'PY'
import socket, time
rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)); rx.bind(("p1peer", 0)); rx.settimeout(0.5)
tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); tx.bind(("g0", 0))
src = bytes.fromhex("525400000104")
arp = bytes.fromhex("0806") + bytes(28)
frames = {
    "tagged": b"\\xff" * 6 + src + bytes.fromhex("81000068") + arp,       # 802.1Q, VLAN 104
    "qinq": b"\\xff" * 6 + src + bytes.fromhex("88a80068") + arp,         # 802.1ad
    "bpdu": bytes.fromhex("0180c2000000") + src + bytes.fromhex("0026424203") + bytes(35),
    "plain": b"\\xff" * 6 + src + arp,                                    # passes: no antispoof element here
}
for name, frame in frames.items():
    tx.send(frame)
    seen = False
    end = time.time() + 0.5
    while time.time() < end:
        try:
            got = rx.recv(2048)
        except socket.timeout:
            break
        if got[6:12] == src:
            seen = True
            break
    print(name, "through" if seen else "dropped")
PY
nft list chain bridge convergent_ports from_guest_hook | grep -o 'counter packets [0-9]*'
`;

describe('guest ports drop VLAN tags and BPDUs (ports table, every guest port)', () => {
  test('tagged, QinQ and BPDU frames from a plugged tap are dropped; an untagged one passes', (t) => {
    if (!needsRoot(t)) return;
    const run = spawnSync('unshare', ['--net', 'sh', '-c', SCRIPT], {
      encoding: 'utf8',
      env: { ...process.env, RULESET },
      timeout: 60_000,
    });
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stdout.trim().split('\n');
    assert.deepEqual(lines.slice(0, 4), ['tagged dropped', 'qinq dropped', 'bpdu dropped', 'plain through']);
    assert.deepEqual(lines.slice(4), ['counter packets 2', 'counter packets 1']);
  });
});
