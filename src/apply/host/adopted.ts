// What a checkpoint notes of a host object the apply after it adopts (makes convergent's): a bridge
// an installer made, its address, a default route of proto boot. A rollback puts each back as it was,
// not convergent's: the link's alias as it was, the route's or rule's protocol, the address out of
// the record. The plans' types carry none of these: a plan never has them, only a checkpoint.

export interface Adopted {
  /** A link's alias before the apply ('' for none), instead of convergent's. */
  readonly formerAlias?: string;
  /** A route's or rule's protocol before the apply (a number), instead of convergent's. */
  readonly protocol?: number;
  /** An address that was not convergent's: not in the record after a rollback. */
  readonly adopted?: true;
}

export const adoptedOf = (plan: object): Adopted => plan as Adopted;
