// Where a flow left the cluster, as the lab judges it: the handshake's reply apart from the rest, and
// CT-SYNC's replies that outran the sync, which leave through the entering node by design.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { flowNodes, type Observations, type Seen } from '../../src/lab/observe.ts';
import { leftThrough } from '../../src/systems/cluster/lab/probe.ts';

const MAC = { node1: '0a:01:00:00:00:01', node2: '0a:02:00:00:00:01' } as const;
const nodeOfMac = new Map(Object.entries(MAC).map(([n, m]) => [m, n]));
const flow = { proto: 'tcp', clientPort: 20000, serverPort: 80, clientIsWorkstation: true } as const;
const reply = (node: keyof typeof MAC): Seen => ({ proto: 'tcp', sport: 80, dport: 20000, mac: MAC[node] });
const request: Seen = { proto: 'tcp', sport: 20000, dport: 80, mac: MAC.node2 };

function seen(replies: Seen[], handshake: Seen[]): Observations {
  return { towardWorkstation: replies, handshakeTowardWorkstation: handshake, fromWorkstation: [request] };
}

describe('lab: where a flow left', () => {
  test('the SYN-ACK is named apart when it left through another node than the replies', () => {
    assert.deepEqual(flowNodes(seen([reply('node1')], [reply('node2')]), flow, nodeOfMac), {
      enters: 'node2',
      leaves: 'node1',
      handshake: 'node2',
    });
  });

  test('a SYN-ACK that left with the replies is not named; with no other reply it is the flow', () => {
    assert.deepEqual(flowNodes(seen([reply('node1')], [reply('node1')]), flow, nodeOfMac), {
      enters: 'node2',
      leaves: 'node1',
    });
    assert.deepEqual(flowNodes(seen([], [reply('node2')]), flow, nodeOfMac), {
      enters: 'node2',
      leaves: 'node2',
    });
  });

  test('replies through the entering node pass only when the flow is on record as sent back', () => {
    assert.ok(leftThrough({ enters: 'node2', leaves: 'node1' }, 'node1'));
    assert.ok(!leftThrough({ enters: 'node2', leaves: 'node2' }, 'node1'), 'not sent back: the wrong node');
    assert.ok(!leftThrough({ enters: 'node2', leaves: 'node1+node2' }, 'node1'));
    assert.ok(leftThrough({ enters: 'node2', leaves: 'node2', outran: true }, 'node1'));
    assert.ok(leftThrough({ enters: 'node2', leaves: 'node1+node2', outran: true }, 'node1'));
    // Sent back, yet a third node: no design explains it.
    assert.ok(!leftThrough({ enters: 'node2', leaves: 'node2+node3', outran: true }, 'node1'));
    assert.ok(!leftThrough({ enters: 'node2', outran: true }, 'node1'), 'nothing left at all');
  });
});
