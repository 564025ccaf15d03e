// The systems, one per kind of spec: every command reads a spec here and asks its system.
import type { ZodType } from 'zod';
import type { LabRecord } from '../lab/registry.ts';
import { cgnatSystem } from './cgnat/system.ts';
import { clusterSystem } from './cluster/system.ts';
import { KINDS, type KindName, loadSpecFile } from './kinds.ts';
import type { Loaded, System } from './system.ts';

/** A system with its types erased: what it reads, it alone is given back. */
export type AnySystem = System<unknown, unknown, LabRecord>;

/** One system per kind of spec (kinds.ts: the loader's side of each; TypeScript wants both). */
export const SYSTEMS: { readonly [K in KindName]: AnySystem } = {
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
  const loaded = loadSpecFile(file);
  return { system: SYSTEMS[loaded.kind as KindName], loaded };
}

/** A spec of any kind, checked and resolved; a SpecError with every problem, located. */
export function readSpec(file: string): Read {
  const { system, loaded } = loadSpec(file);
  return { system, spec: system.read(loaded) };
}

/** The system of a lab's kind; undefined for a kind this version does not know. */
export function systemOf(kind: string): AnySystem | undefined {
  return Object.hasOwn(SYSTEMS, kind) ? SYSTEMS[kind as KindName] : undefined;
}

/** Every kind's schema, the default first (for the JSON Schema). */
export function specSchemas(): [ZodType, ...ZodType[]] {
  return [KINDS[0].schema, ...KINDS.slice(1).map((k): ZodType => k.schema)];
}
