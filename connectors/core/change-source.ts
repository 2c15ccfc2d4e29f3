// The connector contract (docs/contracts.md "Runtime contracts"): what the API and `mesh connect` call.
// A source definition in, a running connector with start/stop/pause/resume/resnapshot/status out.
// Backends (connectors/postgres, connectors/mysql) implement `SourceBackend` (backend.ts) and are registered
// here by the entry points (connectors/backends.ts); this file only dispatches and never imports a backend.
// Every connector is the one runtime (runtime.ts) over its kind's backend.
import { MeshError } from "../../lib/errors.ts";
import { incrementalKey, snapshotStateKey } from "../../protocol/offsets.ts";
import type { SourceBackend } from "./backend.ts";
import { trackConnector } from "./metrics.ts";
import type { OffsetStore } from "./offset-store.ts";
import type { Connector, ConnectorDeps, Problem, SourceDefinition } from "./contract.ts";
import { ConnectorRuntime } from "./runtime.ts";

export type * from "./contract.ts";

interface Registered {
  create(def: SourceDefinition, deps: ConnectorDeps): Connector;
  checkPrerequisites(def: SourceDefinition): Promise<Problem[]>;
  teardown(def: SourceDefinition): Promise<void>;
}

const backends: Partial<Record<SourceDefinition["kind"], Registered>> = {};

/** Makes a backend available to createConnector; the entry points call it (see connectors/backends.ts). */
export function registerConnectorBackend<P>(kind: SourceDefinition["kind"], backend: SourceBackend<P>): void {
  backends[kind] = {
    create: (def, deps) => new ConnectorRuntime(backend, def, deps),
    checkPrerequisites: (def) => backend.checkPrerequisites(def),
    teardown: (def) => backend.teardown(def),
  };
}

function backendOf(def: SourceDefinition): Registered {
  const backend = backends[def.kind];
  if (!backend)
    throw new MeshError("MESH_SOURCE_PREREQUISITE", `no connector for kind ${def.kind} in this build`, {
      kind: def.kind,
    });
  return backend;
}

export function createConnector(def: SourceDefinition, deps: ConnectorDeps): Connector {
  return trackConnector(def.name, backendOf(def).create(def, deps));
}

export function checkSourcePrerequisites(def: SourceDefinition): Promise<Problem[]> {
  return backendOf(def).checkPrerequisites(def);
}

/**
 * Removes what the source holds on its server (Postgres: slot and publication) through its backend; the
 * source's connector must be stopped. Throws a MeshError naming what is left and the SQL to remove it.
 * With `offsets`, the source's stored state goes too, so a source re-created under the name starts afresh
 * (a stored position would otherwise name a slot that is gone).
 */
export async function teardownSource(def: SourceDefinition, offsets?: OffsetStore): Promise<void> {
  await backendOf(def).teardown(def);
  await offsets?.save(snapshotStateKey(def.name, def.kind), null);
  await offsets?.save(incrementalKey(def.name, def.kind), null);
}
