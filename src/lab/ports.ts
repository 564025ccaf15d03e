// Client ports: each run of checks reserves its range in the lab's state before it sends anything.
import { type LabRecord, writeState } from './registry.ts';

export const FIRST_PORT = 20000;
const LAST_PORT = 59999;

/**
 * Client ports for `count` flows, reserved in the lab's state before anything is sent: a run that
 * dies half-way, or one running beside it, must not reuse a port whose flow still sits in conntrack
 * or TIME_WAIT.
 */
export function reservePorts(state: LabRecord, count: number): () => number {
  let port = state.nextPort + count > LAST_PORT + 1 ? FIRST_PORT : state.nextPort;
  state.nextPort = port + count;
  writeState(state);
  return () => port++;
}
