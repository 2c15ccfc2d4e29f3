// The conformance suite's per-file set-up and helpers: the harness (registry, Kafka, offsets) started
// before the tests, connectors stopped and databases dropped after each test whatever happened, and the
// reading helpers every scenario uses.
import { afterAll, afterEach, beforeAll } from "vitest";
import { kafkaConnection } from "../../../test/support/stack.ts";
import type { Connector, ConnectorDeps, SourceDefinition } from "../contract.ts";
import {
  createConnector,
  readTopics,
  shortId,
  startHarness,
  waitFor,
  type Harness,
  type ReadMessage,
} from "./harness.ts";
import type { ConformanceTarget, TestDatabase } from "./target.ts";

export interface Ev {
  op: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  source: { snapshot: string; lsn: bigint | null; file: string | null; pos: bigint | null; table: string };
  transaction: { id: string; total_order: bigint; data_collection_order: bigint } | null;
}

export interface Suite {
  target: ConformanceTarget;
  harness(): Harness;
  /** A fresh database, dropped after the test. */
  database(prefix: string): Promise<TestDatabase>;
  /** A source definition of the target's kind. */
  def(name: string, db: TestDatabase, tables: string[], extra?: Partial<SourceDefinition>): SourceDefinition;
  /** A connector, stopped after the test. */
  connector(def: SourceDefinition, deps?: Partial<ConnectorDeps>): Connector;
  streaming(c: Connector): Promise<void>;
  /**
   * Waits until the connector handled everything committed so far (a row inserted into `fence`, a captured
   * table, shows in its events) and Kafka has it all, then reads the topics from the start.
   */
  fenceAndRead(c: Connector, db: TestDatabase, fence: string, topics: string[]): Promise<ReadMessage[]>;
}

export function useSuite(target: ConformanceTarget): Suite {
  let h: Harness | undefined;
  const connectors: Connector[] = [];
  const databases: TestDatabase[] = [];
  let fences = 0;
  beforeAll(async () => {
    h = await startHarness(kafkaConnection());
  });
  afterEach(async () => {
    for (const c of connectors.splice(0)) await c.stop().catch(() => undefined);
    for (const db of databases.splice(0)) await db.drop().catch(() => undefined);
  });
  afterAll(async () => {
    await h?.stop();
  });
  const harness = (): Harness => {
    if (!h) throw new Error("the harness starts before the tests: use it inside them");
    return h;
  };
  return {
    target,
    harness,
    database: async (prefix) => {
      const db = await target.createDatabase(prefix);
      databases.push(db);
      return db;
    },
    def: (name, db, tables, extra = {}) => ({
      name,
      owner: "svc",
      kind: target.kind,
      url: db.url,
      tables: tables.map((t) => db.qualified(t)),
      snapshot: "initial",
      ...extra,
    }),
    connector: (def, deps = {}) => {
      const c = createConnector(def, harness().deps(deps));
      connectors.push(c);
      return c;
    },
    streaming: (c) =>
      waitFor(() => c.status().state === "streaming", 90_000, "streaming").then(() => undefined),
    fenceAndRead: async (c, db, fence, topics) => {
      const id = ++fences;
      const qualified = db.qualified(fence);
      const before = c.status().events[qualified] ?? 0;
      await db.exec(`INSERT INTO ${fence} (id) VALUES (${1_000_000 + id})`);
      await waitFor(() => (c.status().events[qualified] ?? 0) > before, 60_000, "the fence row");
      const kafka = harness().kafka;
      // Everything before the fence was enqueued before it, and the producer acknowledges in order: once
      // Kafka has the fence row, it has the rest.
      const fenceTopic = topicOf(db, fence, topics);
      const isFence = (m: ReadMessage): boolean =>
        String((m.key as { id?: unknown } | null)?.id) === String(1_000_000 + id);
      await waitFor(
        async () =>
          (
            await readTopics(kafka, harness().registryUrl, [fenceTopic], (m) => m.some(isFence), {
              idleMs: 1000,
              timeoutMs: 10_000,
            })
          ).some(isFence),
        60_000,
        "the fence row in Kafka",
      );
      let total = 0;
      for (const topic of topics)
        for (const p of (await kafka.admin().offsets(topic)).values()) total += Number(p.high);
      return readTopics(kafka, harness().registryUrl, topics, (m) => m.length >= total, {
        idleMs: 10_000,
        timeoutMs: 90_000,
      });
    },
  };
}

function topicOf(db: TestDatabase, fence: string, topics: string[]): string {
  const suffix = `.${db.qualified(fence)}`;
  const topic = topics.find((t) => t.endsWith(suffix));
  if (!topic)
    throw new Error(`fenceAndRead: the fence table's topic (…${suffix}) must be among the topics read`);
  return topic;
}

export const shortName = shortId;
export { readTopics, waitFor, type ReadMessage };

/** Events of a table topic (tombstones left out). */
export function events(msgs: ReadMessage[], topic: string): (ReadMessage & { value: Ev })[] {
  return msgs.filter((m): m is ReadMessage & { value: Ev } => m.topic === topic && m.value !== null);
}

/**
 * The table a topic replays to: the last event per key in offset order (a delete removes the key, a
 * truncate empties its partition).
 */
export function replay(msgs: ReadMessage[], topic: string, key = "id"): Map<string, Record<string, unknown>> {
  const partitions = new Map<number, Map<string, Record<string, unknown>>>();
  const sorted = msgs
    .filter((m) => m.topic === topic)
    .sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)));
  for (const m of sorted) {
    if (m.value === null) continue;
    let state = partitions.get(m.partition);
    if (!state) partitions.set(m.partition, (state = new Map()));
    const v = m.value as Ev;
    if (v.op === "t") {
      state.clear();
      continue;
    }
    const k = String((m.key as Record<string, unknown>)[key]);
    if (v.op === "d") state.delete(k);
    else if (v.after) state.set(k, v.after);
  }
  const all = new Map<string, Record<string, unknown>>();
  for (const state of partitions.values()) for (const [k, v] of state) all.set(k, v);
  return all;
}
