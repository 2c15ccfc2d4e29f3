// A session's outbox router (outbox-router.ts), made when the source has an outbox: its parked events loaded
// from `_mesh_parked_events` (which is created first, so an exactly-once transaction can write to it), the
// event schemas read from `deps.eventSchemas`, else from the registry client when it reads as well.
import type { Clock } from "../../lib/clock.ts";
import type { OrderedProducer } from "../../lib/kafka/index.ts";
import type { ConnectorDeps, SourceDefinition, SourceStatus } from "./contract.ts";
import { loadParkedEvents } from "./outbox-parked.ts";
import { OutboxRouter } from "./outbox-router.ts";
import { isEventSchemaSource } from "./outbox-schemas.ts";

export interface OutboxSessionOptions {
  def: SourceDefinition;
  deps: ConnectorDeps;
  /** Whether the backend resolved outbox tables (a message prefix alone also makes an outbox). */
  hasOutboxTables: boolean;
  sink: OrderedProducer;
  ensureTopic(topic: string): Promise<void>;
  status: SourceStatus;
  clock: Clock;
}

/** The router, or undefined when the source routes no outbox events. */
export async function openOutboxRouter(o: OutboxSessionOptions): Promise<OutboxRouter | undefined> {
  if (!o.hasOutboxTables && !o.def.outbox?.messagePrefix) return undefined;
  const parked = await loadParkedEvents(o.deps.kafka, o.def.name);
  const schemas = o.deps.eventSchemas ?? (isEventSchemaSource(o.deps.registry) ? o.deps.registry : null);
  o.status.outbox ??= {};
  return new OutboxRouter({
    source: o.def.name,
    owner: o.def.owner,
    untyped: o.def.outbox?.untyped ?? "park",
    schemas,
    sink: o.sink,
    ensureTopic: (topic) => o.ensureTopic(topic),
    parked,
    now: () => o.clock.now(),
    status: o.status.outbox,
    logger: o.deps.logger,
  });
}
