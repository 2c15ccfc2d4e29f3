// One run of the Postgres connector, from connecting to closing: set-up (prerequisites, publication, the
// Kafka side, schemas), the initial snapshot when needed, then the stream with its heartbeat and
// re-snapshots. A failure anywhere closes the session; the connector (connector.ts) decides whether to run
// another. Nothing is confirmed to the slot that Kafka has not acknowledged (stream-processor.ts), so a
// session may die at any instant. The parts live beside it: session-connections.ts (what it holds open, lost
// connections), session-kafka.ts (topics, producer, writer), stream-loop.ts, heartbeat.ts and
// incremental-snapshot.ts.
import { MeshError } from "../../lib/errors.ts";
import { incrementalKey, snapshotStateKey, type SnapshotState } from "../../protocol/offsets.ts";
import type { ConnectorDeps, SourceDefinition, SourceStatus } from "../core/change-source.ts";
import { fetchColumns, primaryKey, resolveTables, TypeCatalog } from "./catalog.ts";
import { startHeartbeat } from "./heartbeat.ts";
import { IncrementalRunner, loadIncrementalState, WatermarkWindow } from "./incremental-snapshot.ts";
import { runInitialSnapshot } from "./initial-snapshot.ts";
import { formatLsn, parseLsn } from "./lsn.ts";
import { defaultPublicationName, defaultSlotName } from "./names.ts";
import type { Relation } from "./pgoutput.ts";
import { checkPostgresPrerequisites } from "./prerequisites.ts";
import { tableMapping, type TableMapping } from "./row-mapping.ts";
import { SessionConnections } from "./session-connections.ts";
import { openSessionKafka } from "./session-kafka.ts";
import { createSlot, dropSlot, ensurePublication, slotExists, slotLag } from "./slot.ts";
import { beginSnapshotTransaction } from "./snapshot.ts";
import { StreamLoop } from "./stream-loop.ts";
import { StreamProcessor } from "./stream-processor.ts";

export interface Session {
  /** Resolves after drain(); rejects when the session failed. */
  closed: Promise<void>;
  drain(): Promise<void>;
  resnapshot(tables: string[]): Promise<void>;
}

export interface SessionHooks {
  /** Aborted when the connector is stopped or paused while this session is being set up. */
  signal: AbortSignal;
  status: SourceStatus;
  onReady: () => void;
  resnapshot: string[];
}

export async function runSession(
  def: SourceDefinition,
  deps: ConnectorDeps,
  hooks: SessionHooks,
): Promise<Session> {
  const status = hooks.status;
  const slot = def.slot ?? defaultSlotName(def.name);
  const publication = def.publication ?? defaultPublicationName(def.name);
  const abort = new AbortController();
  hooks.signal.addEventListener("abort", () => abort.abort(), { once: true });
  const conns = new SessionConnections(def.url, abort);
  try {
    await requirePrerequisites(def);
    const client = await conns.open();
    const db = (await client.query<{ db: string }>("SELECT current_database() AS db")).rows[0]?.db ?? "";
    const captured = await resolveTables(client, def.tables);
    const outbox = await resolveTables(client, def.outbox?.tables ?? []);
    const outboxNames = new Set(outbox.map((t) => `${t.schema}.${t.table}`));
    const tables = captured.filter((t) => !outboxNames.has(`${t.schema}.${t.table}`));
    await ensurePublication(client, publication, [...tables, ...outbox]);

    const kafka = await openSessionKafka({
      kafka: deps.kafka,
      registry: deps.registry,
      source: def.name,
      tables,
      partitions: def.partitions,
    });
    conns.defer(() => kafka.close());
    const { producer, writer } = kafka;

    const types = new TypeCatalog(client);
    const mapRelation = async (rel: Relation): Promise<TableMapping | null> => {
      await types.load(rel.columns.map((c) => c.typeOid));
      const pk = await primaryKey(client, rel.schema, rel.name);
      const mapping = tableMapping(def.name, rel, (oid) => types.get(oid), pk);
      if (outboxNames.has(mapping.qualified)) return mapping;
      const ok = await writer.useShape(mapping.shape);
      const failure = writer.failedTables().get(mapping.shape.topic);
      status.tables[mapping.qualified] = ok
        ? { state: "streaming", error: null }
        : { state: "failed", error: failure ?? null };
      if (!ok && failure)
        deps.logger.error({ source: def.name, table: mapping.qualified, err: failure }, "table stopped");
      return ok ? mapping : null;
    };
    const onEvents = (table: string, n: number): void => {
      status.events[table] = (status.events[table] ?? 0) + n;
    };

    // ---- initial snapshot, in the slot's exported snapshot ----
    const stateKey = snapshotStateKey(def.name, "postgres");
    const state = ((await deps.offsets.load(stateKey)) ?? {}) as SnapshotState;
    const exists = await slotExists(client, slot);
    conns.defer(() => Promise.resolve(abort.abort()));
    if (def.snapshot !== "never" && (!exists || state.snapshotDone !== true)) {
      if (exists) await dropSlot(client, slot);
      await deps.offsets.save(stateKey, { snapshotDone: false });
      const created = await createSlot(def.url, slot, true);
      const snapClient = await conns.open();
      try {
        await beginSnapshotTransaction(snapClient, created.snapshotName ?? "");
      } finally {
        await created.release();
      }
      status.state = "snapshotting";
      hooks.onReady();
      await runInitialSnapshot({
        client: snapClient,
        source: def.name,
        db,
        tables: captured,
        skip: outboxNames,
        consistentPoint: created.consistentPoint,
        mapRelation,
        writer,
        sink: producer,
        chunkRows: deps.snapshotChunkRows ?? 10_000,
        nowMicros: BigInt(Date.now()) * 1000n,
        onProgress: (p) => (status.progress = { phase: "initial", ...p }),
        onEvents,
        signal: abort.signal,
      });
      await snapClient.query("COMMIT");
      await deps.offsets.save(stateKey, { snapshotDone: true });
      status.progress = null;
    } else if (!exists) {
      const created = await createSlot(def.url, slot, false);
      await created.release();
      await deps.offsets.save(stateKey, { snapshotDone: true });
    }

    // ---- streaming ----
    const { promise: closed, resolve: endSession, reject: failSession } = Promise.withResolvers<void>();
    // Nobody awaits `closed` when set-up fails after the stream started; the set-up's error is the one thrown.
    closed.catch(() => undefined);
    let draining = false;
    let loop: StreamLoop | null = null;
    const fail = (err: Error): void => {
      if (draining) return;
      draining = true;
      void loop?.halt();
      void conns.cleanup().then(() => failSession(err));
    };
    const window = new WatermarkWindow();
    const processor = new StreamProcessor({
      def,
      db,
      writer,
      sink: producer,
      mapRelation,
      fetchColumns: (m, keyText, cols) => fetchColumns(client, m, keyText, cols),
      confirm: (lsn) => {
        status.offset = formatLsn(lsn);
        loop?.confirm(lsn).catch(() => undefined);
      },
      onEvents,
      outboxTables: outboxNames,
      window,
      onTransactionAcked: deps.onTransactionAcked,
      ensureTopic: (topic) => kafka.ensureTopic(topic),
    });
    // Start from the slot's confirmed position: every status update (keepalive replies included) then carries
    // a real flush position, and the server never times the connection out during a long first transaction.
    const slotState = await slotLag(client, slot);
    if (slotState) processor.confirmed = parseLsn(slotState.confirmed);
    const stream = new StreamLoop({
      url: def.url,
      slot,
      publication,
      handle: (item) => processor.handle(item),
      onFailure: fail,
    });
    loop = stream;
    conns.defer(() => stream.stop());
    kafka.onFailure(fail);
    await stream.start();

    const stopHeartbeat = startHeartbeat({
      client: await conns.open(),
      slot,
      intervalMs: deps.heartbeatIntervalMs ?? 10_000,
      writer,
      processor,
      confirm: (lsn) => stream.confirm(lsn),
      status,
      logger: deps.logger,
      source: def.name,
      ending: () => draining,
    });
    conns.defer(() => Promise.resolve(stopHeartbeat()));

    // ---- incremental re-snapshots (resumed from _mesh_offsets after a restart) ----
    const incKey = incrementalKey(def.name, "postgres");
    const saved = await loadIncrementalState(deps.offsets, incKey);
    const incremental = new IncrementalRunner(
      {
        client: await conns.open(),
        window,
        offsets: deps.offsets,
        stateKey: incKey,
        chunkRows: deps.snapshotChunkRows ?? 10_000,
        mapRelation,
        flush: () => producer.flush(),
        onProgress: (table, rowsDone) => {
          status.progress = table ? { phase: "incremental", rowsDone, rowsEstimated: rowsDone, table } : null;
        },
        signal: abort.signal,
      },
      saved,
      fail,
    );
    incremental.run();
    conns.streaming(fail);
    status.state = "streaming";
    status.error = null;
    hooks.onReady();

    return {
      closed,
      drain: async () => {
        if (draining) return closed.catch(() => undefined);
        draining = true;
        await stream.halt();
        await producer.flush().catch(() => undefined);
        await stream.confirm(processor.confirmed);
        // Lets the status update leave before the replication connection closes.
        await new Promise((r) => setTimeout(r, 50));
        await conns.cleanup();
        endSession();
        return closed;
      },
      resnapshot: async (wanted) => {
        const known = new Set(tables.map((t) => `${t.schema}.${t.table}`));
        const unknown = wanted.filter((t) => !known.has(t));
        if (unknown.length > 0)
          throw new MeshError("MESH_NOT_FOUND", `not captured by source ${def.name}: ${unknown.join(", ")}`, {
            tables: unknown,
          });
        await incremental.request(wanted);
      },
    };
  } catch (err) {
    await conns.cleanup();
    if (conns.lostError) throw conns.lostError;
    throw err;
  }
}

/** Throws what stands in the way: retryable when the database is unreachable or the slot still busy. */
async function requirePrerequisites(def: SourceDefinition): Promise<void> {
  const problems = await checkPostgresPrerequisites(def);
  const busy = problems.find((p) => p.code === "slot_in_use" || p.code === "unreachable");
  // A killed predecessor's walsender lingers until the server notices: retry, do not give up.
  if (busy) throw new MeshError("MESH_SOURCE_UNREACHABLE", `${busy.message}; retrying`, { problems });
  if (problems.length > 0) {
    const code = problems.some((p) => p.code === "auth") ? "MESH_SOURCE_AUTH" : "MESH_SOURCE_PREREQUISITE";
    throw new MeshError(code, problems.map((p) => `${p.message} (fix: ${p.fix})`).join("; "), { problems });
  }
}
