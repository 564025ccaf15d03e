// The lab's own programs (src/lab/agent/: the servers and the probe client), run inside its namespaces.
// This module sits two levels below the repository, as dist/cli/main.js and the VM's bundle do, so
// the URL below resolves to the same folder from the sources, the build and the bundle.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const AGENT_DIR = fileURLToPath(new URL('../../src/lab/agent/', import.meta.url));
/** Debian's python3 when present: a version manager's shim on PATH costs 100 ms a start. */
export const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
