// One run of the Postgres connector, from connecting to closing: set-up (prerequisites, publication, topics,
// schemas), the initial snapshot when needed, then the stream. A failure anywhere closes the session; the
// connector (connector.ts) decides whether to run another. Nothing is confirmed to the slot that Kafka has
// not acknowledged, so a session may die at any instant.
import type pg from "pg";
import { MeshError } from "../../lib/errors.ts";
import type { ConnectorDeps, SourceDefinition, SourceStatus } from "../core/change-source.ts";
import { EventWriter } from "../../protocol/event-writer.ts";
import { createProducer, ensureTopics, KafkaSink } from "../core/kafka-sink.ts";
import { incrementalKey, snapshotStateKey, type SnapshotState } from "../../protocol/offsets.ts";
import { heartbeatTopic, tableTopic, transactionsTopic } from "../../protocol/topics.ts";
import { connect, primaryKey, qualifiedIdent, quoteIdent, resolveTables, TypeCatalog } from "./catalog.ts";
import { runInitialSnapshot } from "./initial-snapshot.ts";
import { formatLsn, parseLsn } from "./lsn.ts";
import { defaultPublicationName, defaultSlotName } from "./names.ts";
import type { Relation } from "./pgoutput.ts";
import { checkPostgresPrerequisites } from "./prerequisites.ts";
import { ReplicationStream, type StreamItem } from "./replication-stream.ts";
import { tableMapping, type TableMapping } from "./row-mapping.ts";
import { createSlot, dropSlot, ensurePublication, slotExists, slotLag } from "./slot.ts";
import { beginSnapshotTransaction } from "./snapshot.ts";
import { HEARTBEAT_PREFIX, StreamProcessor } from "./stream-processor.ts";
import {
  loadIncrementalState,
  runIncrementalSnapshot,
  WatermarkWindow,
  type IncrementalState,
} from "./incremental-snapshot.ts";

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

const QUEUE_HIGH = 20_000;
const QUEUE_LOW = 2_000;

export async function runSession(
  def: SourceDefinition,
  deps: ConnectorDeps,
  hooks: SessionHooks,
): Promise<Session> {
  const status = hooks.status;
  const slot = def.slot ?? defaultSlotName(def.name);
  const publication = def.publication ?? defaultPublicationName(def.name);
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) await fn().catch(() => undefined);
    cleanups.length = 0;
  };
  const abort = new AbortController();
  hooks.signal.addEventListener("abort", () => abort.abort(), { once: true });
  // A connection the server ends (restart, pg_terminate_backend) must fail this session, never the process:
  // during set-up it aborts the snapshot and the session throws `lost`; once streaming it fails the session.
  // Either way the connector shows `failed` with the error and retries.
  const lost: { error?: MeshError } = {};
  let onLost = (err: Error): void => {
    lost.error ??= connectionLost(err);
    abort.abort();
  };
  const open = async (): Promise<pg.Client> => {
    // A bounded connect: a database that stopped answering must not hold the session (or a stop) for minutes.
    const c = connect(def.url, { connectionTimeoutMillis: 10_000 }, (err) => onLost(err));
    await c.connect();
    cleanups.push(() => c.end());
    return c;
  };
  try {
    const problems = await checkPostgresPrerequisites(def);
    const busy = problems.find((p) => p.code === "slot_in_use" || p.code === "unreachable");
    // A killed predecessor's walsender lingers until the server notices: retry, do not give up.
    if (busy) throw new MeshError("MESH_SOURCE_UNREACHABLE", `${busy.message}; retrying`, { problems });
    if (problems.length > 0) {
      const code = problems.some((p) => p.code === "auth") ? "MESH_SOURCE_AUTH" : "MESH_SOURCE_PREREQUISITE";
      throw new MeshError(code, problems.map((p) => `${p.message} (fix: ${p.fix})`).join("; "), { problems });
    }
    const client = await open();
    const db = (await client.query<{ db: string }>("SELECT current_database() AS db")).rows[0]?.db ?? "";
    const captured = await resolveTables(client, def.tables);
    const outbox = await resolveTables(client, def.outbox?.tables ?? []);
    const outboxNames = new Set(outbox.map((t) => `${t.schema}.${t.table}`));
    const tables = captured.filter((t) => !outboxNames.has(`${t.schema}.${t.table}`));
    await ensurePublication(client, publication, [...tables, ...outbox]);

    const admin = deps.kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    const partitions = await ensureTopics(admin, [
      ...tables.map((t) => ({
        topic: tableTopic(def.name, t.schema, t.table),
        partitions: def.partitions ?? 3,
      })),
      { topic: transactionsTopic(def.name), partitions: 1 },
      { topic: heartbeatTopic(def.name), partitions: 1, compact: true },
    ]);
    const producer = createProducer(deps.kafka);
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const sink = new KafkaSink({ producer });
    const writer = new EventWriter({
      source: def.name,
      sink,
      registry: deps.registry,
      partitions: (t) => partitions.get(t) ?? 1,
    });
    await writer.prepareMarkers();

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
    cleanups.push(() => Promise.resolve(abort.abort()));
    if (def.snapshot !== "never" && (!exists || state.snapshotDone !== true)) {
      if (exists) await dropSlot(client, slot);
      await deps.offsets.save(stateKey, { snapshotDone: false });
      const created = await createSlot(def.url, slot, true);
      const snapClient = await open();
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
        sink,
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
    let stream: ReplicationStream | null = null;
    let failSession!: (err: Error) => void;
    let endSession!: () => void;
    const closed = new Promise<void>((res, rej) => {
      endSession = res;
      failSession = rej;
    });
    const window = new WatermarkWindow();
    const processor = new StreamProcessor({
      def,
      db,
      writer,
      sink,
      mapRelation,
      fetchColumns: (m, keyText, cols) => fetchColumns(client, m, keyText, cols),
      confirm: (lsn) => {
        status.offset = formatLsn(lsn);
        stream?.confirm(lsn).catch(() => undefined);
      },
      onEvents,
      outboxTables: outboxNames,
      window,
      onTransactionAcked: deps.onTransactionAcked,
      ensureTopic: async (topic) => {
        if (partitions.has(topic)) return;
        const created = await ensureTopics(admin, [{ topic, partitions: def.partitions ?? 3 }]);
        for (const [t, n] of created) partitions.set(t, n);
      },
    });
    // Start from the slot's confirmed position: every status update (keepalive replies included) then carries
    // a real flush position, and the server never times the connection out during a long first transaction.
    const slotState = await slotLag(client, slot);
    if (slotState) processor.confirmed = parseLsn(slotState.confirmed);
    const queue: StreamItem[] = [];
    let queueHead = 0;
    let pumping = false;
    let draining = false;
    let socketPaused = false;
    const fail = (err: Error): void => {
      if (draining) return;
      draining = true;
      void cleanup().then(() => failSession(err));
    };
    const pump = async (): Promise<void> => {
      if (pumping) return;
      pumping = true;
      try {
        while (queueHead < queue.length && !draining) {
          const item = queue[queueHead++] as StreamItem;
          await processor.handle(item);
          // While changes keep arriving the loop may never see an empty queue: drop handled items now and
          // then, or a long busy stream (one huge transaction) would keep every decoded change alive.
          if (queueHead >= 4096 && queueHead * 2 >= queue.length) {
            queue.splice(0, queueHead);
            queueHead = 0;
          }
          if (socketPaused && queue.length - queueHead < QUEUE_LOW) {
            socketPaused = false;
            stream?.resume();
          }
        }
        queue.splice(0, queueHead);
        queueHead = 0;
      } catch (err) {
        fail(err instanceof Error ? err : new Error(String(err)));
      } finally {
        pumping = false;
      }
    };
    stream = new ReplicationStream({
      url: def.url,
      slot,
      publication,
      onItem: (item) => {
        queue.push(item);
        if (!socketPaused && queue.length - queueHead > QUEUE_HIGH) {
          socketPaused = true;
          stream?.pause();
        }
        void pump();
      },
      onClose: (err) => fail(err ?? new Error("replication stream closed")),
    });
    cleanups.push(() => stream.stop());
    sink.onFailure((err) =>
      fail(
        new MeshError("MESH_KAFKA_UNAVAILABLE", `Kafka refused a batch: ${err.message}`, {}, { cause: err }),
      ),
    );
    await stream.start();

    // Its own connection: the main one may be busy with a TOAST fetch or a catalogue query.
    const hbClient = await open();
    let beating = false;
    const tick = setInterval(() => void heartbeat(), deps.heartbeatIntervalMs ?? 10_000);
    cleanups.push(() => Promise.resolve(clearInterval(tick)));
    const heartbeat = async (): Promise<void> => {
      if (draining || beating) return;
      beating = true;
      try {
        writer.writeHeartbeat(BigInt(Date.now()), processor.confirmed || null);
        // A WAL record we will receive: once everything before it is acknowledged, the slot moves past it even
        // when captured tables are idle and the database is busy elsewhere (so WAL does not pile up).
        await hbClient.query("SELECT pg_logical_emit_message(false, $1, '')", [HEARTBEAT_PREFIX]);
        await stream?.confirm(processor.confirmed);
        const lag = await slotLag(hbClient, slot);
        status.lagBytes = lag?.lagBytes ?? null;
        const pendingSince = processor.oldestPendingCommitMicros;
        status.lagSeconds =
          pendingSince === null ? 0 : Math.max(0, Date.now() / 1000 - Number(pendingSince) / 1e6);
      } catch (err) {
        deps.logger.warn({ err, source: def.name }, "heartbeat failed");
      } finally {
        beating = false;
      }
    };

    // ---- incremental re-snapshots (resumed from _mesh_offsets after a restart) ----
    const incKey = incrementalKey(def.name, "postgres");
    let incState: IncrementalState | null = await loadIncrementalState(deps.offsets, incKey);
    let incRunning: Promise<void> | null = null;
    const incClient = await open();
    const runIncremental = (): void => {
      // Once aborted (stop, pause, failure) the driver returns at once: re-running it would spin forever.
      if (incRunning || !incState || abort.signal.aborted) return;
      const state = incState;
      incRunning = runIncrementalSnapshot(
        {
          client: incClient,
          window,
          offsets: deps.offsets,
          stateKey: incKey,
          chunkRows: deps.snapshotChunkRows ?? 10_000,
          mapRelation,
          flush: () => sink.flush(),
          onProgress: (table, rowsDone) => {
            status.progress = table
              ? { phase: "incremental", rowsDone, rowsEstimated: rowsDone, table }
              : null;
          },
          signal: abort.signal,
        },
        state,
      )
        .then(() => {
          incRunning = null;
          if (state.tables.length === 0) incState = null;
          runIncremental();
        })
        .catch((err: unknown) => {
          incRunning = null;
          if (!abort.signal.aborted) fail(err instanceof Error ? err : new Error(String(err)));
        });
    };
    runIncremental();
    if (lost.error) throw lost.error;
    onLost = (err) => fail(connectionLost(err));
    status.state = "streaming";
    status.error = null;
    hooks.onReady();

    return {
      closed,
      drain: async () => {
        if (draining) return closed.catch(() => undefined);
        draining = true;
        // Items not yet handled are dropped: they were not confirmed, so the slot sends them again.
        while (pumping) await new Promise((r) => setTimeout(r, 5));
        await sink.flush().catch(() => undefined);
        await stream.confirm(processor.confirmed);
        await new Promise((r) => setTimeout(r, 50));
        await cleanup();
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
        incState ??= { tables: [], lastKey: null };
        for (const t of wanted) if (!incState.tables.includes(t)) incState.tables.push(t);
        await deps.offsets.save(incKey, incState);
        runIncremental();
      },
    };
  } catch (err) {
    await cleanup();
    if (lost.error) throw lost.error;
    throw err;
  }
}

function connectionLost(err: Error): MeshError {
  return new MeshError(
    "MESH_SOURCE_UNREACHABLE",
    `lost a connection to the source database: ${err.message}; retrying`,
    {},
    { cause: err },
  );
}

async function fetchColumns(
  client: pg.Client,
  m: TableMapping,
  keyText: (string | null)[],
  columns: number[],
): Promise<(string | null)[] | null> {
  const cols = columns.map((i) => quoteIdent(m.columnNames[i] as string)).join(", ");
  const where = m.keyIndexes
    .map((i, j) => `${quoteIdent(m.columnNames[i] as string)} = $${j + 1}`)
    .join(" AND ");
  const res = await client.query<(string | null)[]>({
    text: `SELECT ${cols} FROM ${qualifiedIdent(m.schema, m.table)} WHERE ${where}`,
    values: keyText,
    rowMode: "array",
  });
  return res.rows[0] ?? null;
}
