// The systems, one per kind of spec: every command reads a spec here and asks its system.
import type { ZodType } from 'zod';
import { readAnySpecFile, SPEC_SCHEMAS, type SpecKind } from '../input/load.ts';
import type { LabRecord } from '../lab/registry.ts';
import { cgnatSystem } from './cgnat/system.ts';
import { clusterSystem } from './cluster/system.ts';
import type { Loaded, System } from './system.ts';

/** A system with its types erased: what it reads, it alone is given back. */
export type AnySystem = System<unknown, unknown, LabRecord>;

/** One system per kind of spec that load.ts knows (SPEC_SCHEMAS), in the order of `check`'s help. */
export const SYSTEMS: { readonly [K in SpecKind]: AnySystem } = {
  cluster: clusterSystem,
  cgnat: cgnatSystem,
};

/** A spec, checked and resolved, with the system that read it. */
export interface Read {
  readonly system: AnySystem;
  readonly spec: unknown;
}

/** A spec schema-checked, not yet validated: its system, and where its values are. */
export function loadSpec(file: string): { system: AnySystem; loaded: Loaded<unknown> } {
  const loaded = readAnySpecFile(file);
  return { system: SYSTEMS[loaded.kind], loaded };
}

/** A spec of any kind, checked and resolved; a SpecError with every problem, located. */
export function readSpec(file: string): Read {
  const { system, loaded } = loadSpec(file);
  return { system, spec: system.read(loaded) };
}

/** The system of a lab's kind; undefined for a kind this version does not know. */
export function systemOf(kind: string): AnySystem | undefined {
  return Object.hasOwn(SYSTEMS, kind) ? SYSTEMS[kind as SpecKind] : undefined;
}

/** Every kind's schema, in registry order (for the JSON Schema). */
export function specSchemas(): [ZodType, ...ZodType[]] {
  const [first, ...rest] = (Object.keys(SYSTEMS) as SpecKind[]).map((k): ZodType => SPEC_SCHEMAS[k]);
  if (first === undefined) throw new Error('the registry has no system');
  return [first, ...rest];
}
