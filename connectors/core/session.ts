// One run of a connector, from connecting to closing, for any backend: prerequisites, the backend's session
// and tables, the Kafka side, the initial snapshot when needed, then the stream with its heartbeat and
// re-snapshots. A failure anywhere closes the session; the runtime (runtime.ts) decides whether to run
// another. Nothing is confirmed to the server that Kafka has not acknowledged (checkpoints.ts), so a session
// may die at any instant.
//
// Where streaming starts: after a snapshot, at its position; otherwise at the position stored in
// `_mesh_offsets` (or, for state written before positions were stored, the one the server holds). When the
// server no longer has it (MESH_SOURCE_POSITION_LOST: a dropped slot, purged binlogs) a source in snapshot mode
// `when_needed` snapshots again; any other stops with that error in its status.
import type { Clock } from "../../lib/clock.ts";
import { isMeshError, MeshError } from "../../lib/errors.ts";
import { snapshotStateKey, incrementalKey, type SnapshotState } from "../../protocol/offsets.ts";
import type { OutMessage } from "../../lib/kafka/index.ts";
import { OFFSETS_TOPIC, tableTopic } from "../../protocol/topics.ts";
import type { BackendSession, ChangeStream, SourceBackend, SourceTable } from "./backend.ts";
import { ChangeWriter } from "./change-writer.ts";
import {
  DEFAULT_DELIVERY,
  type ConnectorDeps,
  type SourceDefinition,
  type SourceStatus,
} from "./contract.ts";
import type { SourceIdentity } from "./events.ts";
import { startHeartbeat } from "./heartbeat.ts";
import { runInitialSnapshot } from "./initial-snapshot.ts";
import type { ParkedResolution } from "./contract.ts";
import { openOutboxRouter } from "./outbox-session.ts";
import { loadResnapshotState, ResnapshotRunner } from "./resnapshot.ts";
import { openSessionKafka, type SessionKafka } from "./session-kafka.ts";
import { countEventsWritten, countTransactionAcked } from "./metrics.ts";
import { StreamPump } from "./stream-pump.ts";
import { WatermarkWindow } from "./watermark-window.ts";

/** `_mesh_offsets` `<source>/<kind>`: the snapshot state and, once streaming, the confirmed position. */
export interface StoredState extends SnapshotState {
  /** The last confirmed position (`PositionCodec.serialize`). */
  position?: string;
}

export interface Session {
  /** Resolves after drain(); rejects when the session failed. */
  closed: Promise<void>;
  drain(): Promise<void>;
  resnapshot(tables: string[]): Promise<void>;
  /** Retries or skips an aggregate's parked domain events (outbox-router.ts). */
  resolveParked(topic: string, key: string, action: "retry" | "skip"): Promise<ParkedResolution>;
}

export interface SessionHooks {
  /** Aborted when the connector is stopped or paused while this session is being set up. */
  signal: AbortSignal;
  status: SourceStatus;
  onReady: () => void;
  clock: Clock;
}

export async function runSession<P>(
  backend: SourceBackend<P>,
  def: SourceDefinition,
  deps: ConnectorDeps,
  hooks: SessionHooks,
): Promise<Session> {
  const { status, clock } = hooks;
  const positions = backend.positions;
  const abort = new AbortController();
  hooks.signal.addEventListener("abort", () => abort.abort(), { once: true });
  const cleanups: (() => Promise<unknown>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const release of cleanups.splice(0).reverse()) await release().catch(() => undefined);
  };
  // Until streaming, a failure the backend reports between calls aborts the set-up; then it fails the session.
  const lost: { err: Error | null } = { err: null };
  let onLost = (err: Error): void => {
    lost.err ??= err;
    abort.abort();
  };
  try {
    await requirePrerequisites(backend, def);
    const session = await backend.open(def, {
      signal: abort.signal,
      logger: deps.logger,
      fail: (err) => onLost(err),
    });
    cleanups.push(() => session.close());
    const captured = new Set(session.tables);
    const outbox = new Set(session.outboxTables);
    const kafka = await openSessionKafka({
      kafka: deps.kafka,
      registry: deps.registry,
      source: def.name,
      tableTopics: session.tables.map((q) => topicOf(def.name, q)),
      partitions: def.partitions,
      delivery: def.delivery ?? DEFAULT_DELIVERY,
    });
    cleanups.push(() => kafka.close());
    const { producer, writer } = kafka;
    const useTable = async (table: SourceTable): Promise<boolean> => {
      if (outbox.has(table.qualified)) return true;
      const ok = await writer.useShape(table.shape);
      const failure = writer.failedTables().get(table.shape.topic);
      status.tables[table.qualified] = ok
        ? { state: "streaming", error: null }
        : { state: "failed", error: failure ?? null };
      if (!ok && failure)
        deps.logger.error({ source: def.name, table: table.qualified, err: failure }, "table stopped");
      return ok;
    };
    const identity: SourceIdentity = { name: def.name, connector: backend.connector, db: session.db };
    const onEvents = (table: string, n: number): void => {
      status.events[table] = (status.events[table] ?? 0) + n;
      countEventsWritten(def.name, table, n);
    };
    const stateKey = snapshotStateKey(def.name, backend.kind);
    const state = ((await deps.offsets.load(stateKey)) ?? {}) as StoredState;
    const save = (position: P | null): Promise<void> =>
      deps.offsets.save(stateKey, {
        snapshotDone: true,
        ...(position === null ? {} : { position: positions.serialize(position) }),
      } satisfies StoredState);
    // Exactly-once: the same record, written in the Kafka transaction that ends at the position, so the stored
    // position is always exactly what committed (a restart resumes there, never before, never after).
    const positionRecord =
      (def.delivery ?? DEFAULT_DELIVERY) === "exactly-once"
        ? (position: P): OutMessage => ({
            topic: OFFSETS_TOPIC,
            key: stateKey,
            value: JSON.stringify({
              snapshotDone: true,
              position: positions.serialize(position),
            } satisfies StoredState),
            partition: 0,
          })
        : undefined;

    // ---- initial snapshot ----
    const snapshot = async (): Promise<P> => {
      await deps.offsets.save(stateKey, { snapshotDone: false } satisfies StoredState);
      const read = await session.snapshot();
      try {
        status.state = "snapshotting";
        hooks.onReady();
        await runInitialSnapshot({
          read,
          source: identity,
          positions,
          skip: outbox,
          useTable,
          writer,
          sink: producer,
          chunkRows: deps.snapshotChunkRows ?? 10_000,
          nowMicros: BigInt(clock.now()) * 1000n,
          doneRecord: positionRecord?.(read.position),
          onProgress: (p) => (status.progress = { phase: "initial", ...p }),
          onEvents,
          signal: abort.signal,
        });
      } finally {
        await read.close();
      }
      await save(read.position);
      status.progress = null;
      return read.position;
    };
    const snapshotNeeded = def.snapshot !== "never" && state.snapshotDone !== true;
    let from: P | null = snapshotNeeded
      ? await snapshot()
      : state.position
        ? positions.parse(state.position)
        : await session.storedPosition();
    let stream: ChangeStream<P>;
    try {
      stream = await session.stream(from);
    } catch (err) {
      const lostPosition = isMeshError(err) && err.code === "MESH_SOURCE_POSITION_LOST";
      if (!lostPosition || snapshotNeeded || def.snapshot !== "when_needed") throw err;
      deps.logger.warn({ source: def.name, err }, "stored position lost: snapshotting again (when_needed)");
      from = await snapshot();
      stream = await session.stream(from);
    }
    cleanups.push(() => stream.close());
    // Where the server resumes now (the slot may be ahead of what was stored): keepalive replies carry it.
    const serverPosition = await session.storedPosition();
    const start = later((a: P, b: P) => positions.compare(a, b), from, serverPosition);
    if (!state.position || from === null) await save(start);

    return await streamSession({
      backend,
      def,
      deps,
      hooks,
      session,
      stream,
      kafka,
      identity,
      useTable,
      onEvents,
      outbox,
      captured,
      start,
      save,
      positionRecord,
      abort,
      cleanups,
      cleanup,
      setOnLost: (f) => {
        if (lost.err) throw lost.err;
        onLost = f;
      },
    });
  } catch (err) {
    await cleanup();
    throw lost.err ?? err;
  }
}

interface StreamSessionOptions<P> {
  backend: SourceBackend<P>;
  def: SourceDefinition;
  deps: ConnectorDeps;
  hooks: SessionHooks;
  session: BackendSession<P>;
  stream: ChangeStream<P>;
  kafka: SessionKafka;
  identity: SourceIdentity;
  useTable: (table: SourceTable) => Promise<boolean>;
  onEvents: (table: string, n: number) => void;
  outbox: ReadonlySet<string>;
  captured: ReadonlySet<string>;
  start: P | null;
  save: (position: P | null) => Promise<void>;
  positionRecord: ((position: P) => OutMessage) | undefined;
  abort: AbortController;
  cleanups: (() => Promise<unknown>)[];
  cleanup: () => Promise<void>;
  /** From now on a failure the backend reports fails the running session (throws one reported already). */
  setOnLost: (fail: (err: Error) => void) => void;
}

async function streamSession<P>(o: StreamSessionOptions<P>): Promise<Session> {
  const { def, deps, hooks, session, stream, kafka, abort } = o;
  const { status, clock } = hooks;
  const positions = o.backend.positions;
  const { producer, writer } = kafka;
  const { promise: closed, resolve: endSession, reject: failSession } = Promise.withResolvers<void>();
  // Nobody awaits `closed` when set-up fails after the stream started; the set-up's error is the one thrown.
  closed.catch(() => undefined);
  let draining = false;
  let pump: StreamPump<P> | null = null;
  const fail = (err: Error): void => {
    if (draining) return;
    draining = true;
    abort.abort();
    void pump?.halt();
    void o.cleanup().then(() => failSession(err));
  };
  const window = new WatermarkWindow({ now: () => clock.now() });
  const outbox = await openOutboxRouter({
    def,
    deps,
    hasOutboxTables: o.outbox.size > 0,
    sink: producer,
    ensureTopic: (topic) => kafka.ensureTopic(topic),
    status,
    clock,
  });
  if (outbox) o.cleanups.push(() => Promise.resolve(outbox.close()));
  const changes = new ChangeWriter<P>({
    source: o.identity,
    owner: def.owner,
    positions,
    writer,
    sink: producer,
    useTable: o.useTable,
    outboxTables: o.outbox,
    messagePrefix: def.outbox?.messagePrefix,
    ensureTopic: (topic) => kafka.ensureTopic(topic),
    outbox,
    window,
    confirm: (position) => {
      status.offset = positions.serialize(position);
      stream.confirm(position).catch(() => undefined);
    },
    onEvents: o.onEvents,
    onTransactionAcked: (commitMicros, events) => {
      countTransactionAcked(def.name);
      deps.onTransactionAcked?.(commitMicros, events);
    },
    nowMicros: () => BigInt(clock.now()) * 1000n,
    confirmed: o.start,
    positionRecord: o.positionRecord,
  });
  if (o.start !== null) status.offset = positions.serialize(o.start);
  pump = new StreamPump({ stream, handle: (ev) => changes.handle(ev), sink: producer, onFailure: fail });
  kafka.onFailure(fail);
  pump.start();

  // The confirmed position, stored now and then (the server keeps its own; this one outlives the server's).
  let saved = o.start;
  const savePosition = async (): Promise<void> => {
    // Exactly-once stores positions only inside its transactions: a save from here could land after a newer
    // committed one and move the stored position back (a restart would then write duplicates).
    if (o.positionRecord) return;
    const c = changes.confirmed;
    if (c === null || (saved !== null && positions.compare(c, saved) <= 0)) return;
    await o.save(c);
    saved = c;
  };
  const intervalMs = deps.heartbeatIntervalMs ?? 10_000;
  const stopHeartbeat = startHeartbeat({
    session,
    positions,
    intervalMs,
    writer,
    changes,
    confirm: (p) => stream.confirm(p),
    status,
    logger: deps.logger,
    source: def.name,
    clock,
    ending: () => draining,
  });
  const saving = setInterval(() => void savePosition().catch(() => undefined), intervalMs);
  o.cleanups.push(() => {
    stopHeartbeat();
    clearInterval(saving);
    return Promise.resolve();
  });

  // ---- incremental re-snapshots (resumed from _mesh_offsets after a restart) ----
  const incKey = incrementalKey(def.name, o.backend.kind);
  const saved0 = await loadResnapshotState(deps.offsets, incKey);
  const resnapshots = new ResnapshotRunner(
    {
      session,
      window,
      offsets: deps.offsets,
      stateKey: incKey,
      chunkRows: deps.snapshotChunkRows ?? 10_000,
      useTable: o.useTable,
      flush: () => producer.flush(),
      onProgress: (table, rowsDone) => {
        status.progress = table ? { phase: "incremental", rowsDone, rowsEstimated: rowsDone, table } : null;
      },
      signal: abort.signal,
    },
    saved0,
    fail,
  );
  resnapshots.run();
  o.setOnLost(fail);
  status.state = "streaming";
  status.error = null;
  hooks.onReady();

  return {
    closed,
    drain: async () => {
      if (draining) return closed.catch(() => undefined);
      draining = true;
      abort.abort();
      await pump.halt();
      await producer.flush().catch(() => undefined);
      const confirmed = changes.confirmed;
      if (confirmed !== null) await stream.confirm(confirmed).catch(() => undefined);
      await savePosition().catch(() => undefined);
      // Lets the status update leave before the replication connection closes.
      await new Promise((r) => setTimeout(r, 50));
      await o.cleanup();
      endSession();
      return closed;
    },
    resnapshot: async (wanted) => {
      const unknown = wanted.filter((t) => !o.captured.has(t));
      if (unknown.length > 0)
        throw new MeshError("MESH_NOT_FOUND", `not captured by source ${def.name}: ${unknown.join(", ")}`, {
          tables: unknown,
        });
      await resnapshots.request(wanted);
    },
    resolveParked: (topic, key, action) => {
      if (!outbox)
        throw new MeshError("MESH_NOT_FOUND", `source ${def.name} has no outbox: nothing of it is parked`, {
          source: def.name,
        });
      return outbox.resolve(topic, key, action);
    },
  };
}

/** Throws what stands in the way: retryable when every problem is transient (unreachable, slot still busy). */
async function requirePrerequisites<P>(backend: SourceBackend<P>, def: SourceDefinition): Promise<void> {
  const problems = await backend.checkPrerequisites(def);
  const transient = problems.find((p) => p.transient === true);
  if (transient)
    throw new MeshError("MESH_SOURCE_UNREACHABLE", `${transient.message}; retrying`, { problems });
  if (problems.length > 0) {
    const code = problems.some((p) => p.code === "auth") ? "MESH_SOURCE_AUTH" : "MESH_SOURCE_PREREQUISITE";
    throw new MeshError(code, problems.map((p) => `${p.message} (fix: ${p.fix})`).join("; "), { problems });
  }
}

function topicOf(source: string, qualified: string): string {
  const dot = qualified.indexOf(".");
  return tableTopic(source, qualified.slice(0, dot), qualified.slice(dot + 1));
}

function later<P>(compare: (a: P, b: P) => number, a: P | null, b: P | null): P | null {
  if (a === null) return b;
  if (b === null) return a;
  return compare(a, b) >= 0 ? a : b;
}
