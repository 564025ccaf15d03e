// What a kind of spec (a system: a cluster, a CGNAT router) is to the CLI. Each kind has one entry
// in systems/registry.ts; a command reads the spec, gets its system, and asks it, never the kind.

import type { Desired } from '../apply/desired.ts';
import type { HealthPlan } from '../apply/health.ts';
import type { RenderedFile } from '../host/files.ts';
import type { HostPlan } from '../host/plan.ts';
import type { SourceMap } from '../input/source.ts';
import type { Capability } from '../lab/capabilities.ts';
import type { Reason } from '../lab/preflight.ts';
import type { LabRecord } from '../lab/registry.ts';
import type { LabReport } from '../lab/result.ts';
import type { UpSpec } from '../vm/lab.ts';
import type { Fault } from './faults.ts';

export type Progress = (line: string) => void;

/** A spec's files per host, in the order of its hosts. */
export type Rendered = ReadonlyMap<string, readonly RenderedFile[]>;

/** A spec as loaded: schema-checked, with where each of its values is in the file. */
export interface Loaded<Input> {
  readonly file: string;
  readonly spec: Input;
  readonly source: SourceMap;
}

/**
 * One kind of spec: `Input` is what its schema checked, `Spec` its resolved model, `State` the
 * state.json of its lab (the engine's LabRecord and the system's own fields). The registry erases
 * the three: a spec only ever meets the system that read it (members are methods, whose parameters
 * TypeScript checks both ways, so that erasing type-checks). Messages for the user are returned as
 * text; the CLI says them.
 */
export interface System<Input, Spec, State extends LabRecord> {
  readonly kind: State['kind'];
  /** The kind in a sentence: "cluster", "CGNAT". */
  readonly title: string;
  /** Validates a schema-checked spec and resolves it; a SpecError with every problem, located. */
  read(loaded: Loaded<Input>): Spec;
  name(spec: Spec): string;
  /** What `convergent check` prints after "FILE: ok: ". */
  describe(spec: Spec): string;
  /** Why `render --node HOST` renders nothing; undefined for a host that has files. */
  unknownHost(spec: Spec, host: string, file: string): string | undefined;
  /** Every host's files, or one host's. */
  render(spec: Spec, host?: string): Rendered;
  /** `render --help`: the files a host of this kind gets. */
  readonly filesHelp: string;
  /** The faults that change something in this spec (faults.ts says what each one needs). */
  faults(spec: Spec): Fault[];
  /** `convergent diff|apply --node N`: what the node is made into and how it checks itself, or why not. */
  applyTarget(spec: Spec, node: string, file: string): ApplyTarget | HostRefusal;
  readonly lab: SystemLab<Spec, State>;
}

/** One node of a spec as `convergent apply` makes it: its desired state and its local health checks. */
export interface ApplyTarget {
  readonly desired: Desired;
  readonly health: HealthPlan;
}

/** Why `convergent apply` does not take this kind of spec, and what to do instead. */
export interface HostRefusal {
  readonly refused: string;
  readonly fix: string;
}

/** The options of `lab test` and `lab up` that only some systems take. */
export interface LabFlags {
  /** `lab test --cut NODE` (a cluster). */
  readonly cut?: string;
  /** `--backend vrf|netns` (a CGNAT router). */
  readonly backend?: string;
  /** `lab up --ssh`: each node's own sshd, for Ansible from the workstation (a cluster). */
  readonly ssh?: boolean;
}

/** The lab of a system: what the lab commands ask of it. */
export interface SystemLab<Spec, State extends LabRecord> {
  /** Why a flag does not go with this spec (a usage error), or undefined. */
  flagProblem(spec: Spec, flags: LabFlags): string | undefined;
  /** Everything that can fail before a side effect: compiled, planned, faults applied. */
  prepare(spec: Spec, file: string, faults: readonly Fault[], flags: LabFlags): PreparedLab;
  /** A state.json of this kind as read: written by this version or an earlier one. */
  state(record: LabRecord): State;
  /** What the state adds to the lab's name in `lab status`: "backend vrf". */
  detail(state: State): string | undefined;
  /** `lab exec`: the argv that runs a command in a host of the lab (in its namespace `ns`). */
  execArgv(state: State, host: string, ns: string, command: readonly string[]): string[];
  /** `lab check` on a lab `lab up` left running, with its faults. */
  check(state: State, faults: readonly Fault[], progress: Progress): Promise<LabReport>;
  /** `lab apply`: move a changed spec into the running lab, or the reason this kind is rebuilt instead. */
  readonly apply: LabApply<State> | ApplyRefusal;
}

export interface LabApply<State extends LabRecord> {
  /** What moved, as printed. */
  apply(state: State, file: string, faults: readonly Fault[], progress: Progress): Promise<string[]>;
}

/** Why `lab apply` refuses this kind: of the changed spec (located at its kind), and of a running lab. */
export interface ApplyRefusal {
  readonly spec: { readonly message: string; readonly fix: string };
  readonly lab: string;
}

/** A lab ready to be built, here or in a VM. */
export interface PreparedLab {
  /** "cluster part4", "CGNAT demo". */
  readonly label: string;
  /** What this run adds: "backend vrf". */
  readonly detail?: string;
  /** The host `lab up` suggests for `lab exec`. */
  readonly first: string;
  /** Lines said before the lab is built (its addresses). */
  readonly topology: readonly string[];
  /** What the lab needs here or in a VM; the plans whose modules must be loaded; kernel devices. */
  needs(vm: boolean): { needs: Reason[]; plans: readonly HostPlan[]; devices: Capability[] };
  /** What `lab test --vm` and `lab up --vm` give the VM. */
  vm(): UpSpec;
  test(progress: Progress): Promise<LabReport>;
  up(progress: Progress): Promise<LabRecord>;
}
