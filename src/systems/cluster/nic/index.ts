// The NIC lifecycle (F21): `nic up` and `nic down`, as the CLI and the lab call them.
export { type DownOptions, nicDown, type Unplugged } from './down.ts';
export { execWith, hostExec } from './exec.ts';
export { type Exec, type ExecResult, NicFailed, NicRefused } from './refused.ts';
export { nicUp, type Plugged, type UpOptions } from './up.ts';
