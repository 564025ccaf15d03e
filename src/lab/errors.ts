// The lab's one error: something this machine, or the lab's model of a spec, cannot do. The CLI
// prints its message alone and exits 4.

/** Thrown when the lab cannot run what was asked; says why and what to change. */
export class LabError extends Error {
  override name = 'LabError';
}
