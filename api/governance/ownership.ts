// Owns who may register and manage what (docs/governance.md "Ownership and policies"): a service token
// registers sources, views and event types as its own service (naming another owner is refused), and changes
// or deletes only what its service owns; the admin (and internal principals) name any owner and manage
// everything. A record without an owner (a view declared before ownership existed, or by the admin) is the
// admin's.
import { MeshError } from "../../lib/errors.ts";
import type { Reader } from "./decide.ts";

/** What a principal needs here: decide.ts's Reader and its id (for messages). */
export type Actor = Reader & { id: string };

function privileged(actor: Actor): boolean {
  return actor.admin || actor.internal;
}

/**
 * The owner a registration gets: a service's own (a different `requested` is refused), the admin's choice.
 * `required`: the admin must name one (sources: every table has an owning service).
 */
export function registeringOwner(
  actor: Actor,
  what: string,
  requested: string | undefined,
  required: boolean,
): string | undefined {
  if (privileged(actor)) {
    if (requested === undefined && required)
      throw new MeshError(
        "MESH_UNPROCESSABLE",
        `name the service that owns this ${what} in "owner" (the admin token belongs to no service)`,
        { field: "owner" },
      );
    return requested;
  }
  const service = actor.service;
  if (service === null)
    throw new MeshError("MESH_FORBIDDEN", `this token belongs to no service; it cannot own a ${what}`, {
      policy: null,
      reason: "no service",
    });
  if (requested !== undefined && requested !== service)
    throw new MeshError(
      "MESH_FORBIDDEN",
      `service "${service}" may register a ${what} only as its own (owner "${service}"), not as "${requested}"; omit "owner" or use "${service}"'s token`,
      { policy: null, reason: "not the owner", owner: requested, service },
    );
  return service;
}

/** Only the owner (or the admin) changes or deletes it: 403 MESH_FORBIDDEN naming the owner otherwise. */
export function requireOwner(actor: Actor, what: string, name: string, owner: string | undefined): void {
  if (privileged(actor) || (owner !== undefined && actor.service === owner)) return;
  const holder = owner === undefined ? "the admin" : `service "${owner}"`;
  throw new MeshError(
    "MESH_FORBIDDEN",
    `${what} ${name} belongs to ${holder}; only its owner (or the admin) may change or delete it (this token: service "${actor.service ?? actor.id}")`,
    { policy: null, reason: "not the owner", [what]: name, owner: owner ?? null, service: actor.service },
  );
}
