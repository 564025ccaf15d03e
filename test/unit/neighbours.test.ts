// The kernel's ARP table overflow, as the lab reads it: /proc/net/stat/arp_cache as this machine
// printed it after a 20-node, 260-guest lab whose checks overflowed it (7 timed out).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { overflowProblem, tableFulls } from '../../src/lab/neighbours.ts';

const AFTER_OVERFLOW = `entries  allocs   destroys hash_grows lookups  hits     res_failed rcv_probes_mcast rcv_probes_ucast periodic_gc_runs forced_gc_runs unresolved_discards table_fulls
00000000 00000613 00000570 00000005   00013a3e 0000098e 00000008   00000000         00000000         00000000         00000078       00000000            00000062
00000000 00000634 000006d7 00000003   00012bb1 0000099f 00000003   00000000         00000000         00000052         00000042       00000000            00000036
`;

test('the times the ARP table was full are summed over the CPUs (hex)', () => {
  assert.equal(tableFulls(AFTER_OVERFLOW), 0x62 + 0x36);
  assert.equal(tableFulls(AFTER_OVERFLOW.replace(/00000062|00000036/g, '00000000')), 0);
  // A kernel without the column: nothing to say.
  assert.equal(tableFulls('entries  allocs\n00000002 0000002e\n'), 0);
});

test('a failed check in a lab that overflowed the table names the limit and the fix', () => {
  assert.equal(
    overflowProblem(152, '1024'),
    "the kernel's ARP table was full 152 times during the checks (net.ipv4.neigh.default.gc_thresh3 = 1024, shared by all namespaces): " +
      'packets needing a new neighbour were dropped; raise it, e.g. sysctl -w net.ipv4.neigh.default.gc_thresh3=4096',
  );
  assert.match(overflowProblem(1, '1024'), /^the kernel's ARP table was full 1 time during the checks /);
});
