// The MySQL backend against the stack's MariaDB, below the runtime: the snapshot and the binlog stream
// give the same exact values for every documented type, transactions come grouped with their GTIDs, DDL
// announces a new table version before the rows written under it, and a purged position is reported as
// lost.
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../lib/logger.ts";
import { createMysqlDatabase, kafkaConnection, stackEnv } from "../../test/support/stack.ts";
import type { BackendSession, ChangeStream, Row, StreamEvent } from "../core/backend.ts";
import type { SourceDefinition } from "../core/change-source.ts";
import { createConnector, startHarness, waitFor } from "../core/conformance/harness.ts";
import { mysqlBackend } from "./backend.ts";
import type { MysqlPosition } from "./binlog-position.ts";
import { TYPE_COLUMNS, TYPE_ROWS } from "./test-support/type-cases.ts";

let db: Awaited<ReturnType<typeof createMysqlDatabase>>;
let admin: mysql.Connection;

function cdcUrl(database: string): string {
  const u = new URL(stackEnv().MESH_MYSQL_CDC_URL);
  u.pathname = `/${database}`;
  return u.toString();
}

function def(tables: string[]): SourceDefinition {
  return {
    name: `src_${db.name}`,
    owner: "svc",
    kind: "mysql",
    url: cdcUrl(db.name),
    tables,
    snapshot: "initial",
  };
}

async function open(tables: string[]): Promise<BackendSession<MysqlPosition>> {
  return mysqlBackend.open(def(tables), {
    signal: new AbortController().signal,
    logger: silentLogger(),
    fail: (err) => {
      throw err;
    },
  });
}

/** Reads batches until `until` holds for what was read (or 20 s pass). */
async function take(
  stream: ChangeStream<MysqlPosition>,
  until: (events: StreamEvent<MysqlPosition>[]) => boolean,
): Promise<StreamEvent<MysqlPosition>[]> {
  const events: StreamEvent<MysqlPosition>[] = [];
  const it = stream[Symbol.asyncIterator]();
  const deadline = Date.now() + 20_000;
  while (!until(events)) {
    if (Date.now() > deadline) throw new Error(`timed out; got ${events.map((e) => e.kind).join(",")}`);
    const next = await Promise.race([it.next(), new Promise<null>((r) => setTimeout(() => r(null), 500))]);
    if (next && !next.done) events.push(...next.value);
  }
  return events;
}

beforeAll(async () => {
  db = await createMysqlDatabase("mybe");
  admin = await mysql.createConnection({ uri: db.url, multipleStatements: true });
  await admin.query("SET time_zone = '+00:00', sql_mode = ''");
});
afterAll(async () => {
  await admin.end();
  await db.drop();
});

describe("types", () => {
  it("reads every documented type the same, exactly, in the snapshot and from the binlog", async () => {
    await admin.query(`CREATE TABLE types (${TYPE_COLUMNS.join(", ")})`);
    const values = (r: Record<string, string>): string => `(${Object.values(r).join(", ")})`;
    const cols = Object.keys(TYPE_ROWS[0]?.literals ?? {}).join(", ");
    await admin.query(
      `INSERT INTO types (${cols}) VALUES ${TYPE_ROWS.map((r) => values(r.literals)).join(", ")}`,
    );

    const session = await open([`${db.name}.types`]);
    try {
      const snap = await session.snapshot();
      const snapRows: Row[] = [];
      for await (const chunk of snap.rows(snap.tables[0]!.table, 2)) snapRows.push(...chunk);
      await snap.close();
      expect(snapRows).toHaveLength(TYPE_ROWS.length);
      for (const [i, r] of TYPE_ROWS.entries())
        expect(snapRows[i], `snapshot row ${r.literals.id}`).toEqual(r.expected);

      const stream = await session.stream(snap.position);
      await admin.query(`DELETE FROM types`);
      await admin.query(
        `INSERT INTO types (${cols}) VALUES ${TYPE_ROWS.map((r) => values(r.literals)).join(", ")}`,
      );
      const events = await take(stream, (es) => es.filter((e) => e.kind === "commit").length >= 2);
      const inserts = events.filter((e) => e.kind === "change" && e.op === "c");
      expect(inserts.map((e) => (e as { after: Row }).after)).toEqual(TYPE_ROWS.map((r) => r.expected));
      // The binlog's FULL metadata describes the catalogue's version: one announcement, the same shape.
      const schemas = events.filter((e) => e.kind === "schema");
      expect(schemas).toHaveLength(1);
      expect((schemas[0] as { table: { shape: unknown } }).table.shape).toEqual(snap.tables[0]?.table.shape);
      const deletes = events.filter((e) => e.kind === "change" && e.op === "d");
      expect(deletes.map((e) => (e as { before: Row }).before)).toEqual(snapRows);
    } finally {
      await session.close();
    }
  });
});

describe("keyless tables", () => {
  it("are read whole by one streamed SELECT in chunks, and streamed with their full rows", async () => {
    await admin.query("CREATE TABLE log (at DATETIME(6), msg VARCHAR(20), f FLOAT)");
    await admin.query(
      "INSERT INTO log SELECT '2024-01-01 00:00:00.000001' + INTERVAL seq SECOND, CONCAT('m', seq), seq + 0.1 FROM seq_1_to_2500",
    );
    const session = await open([`${db.name}.log`]);
    try {
      const snap = await session.snapshot();
      expect(snap.tables[0]?.table.shape.key).toEqual([]);
      const sizes: number[] = [];
      const rows: Row[] = [];
      for await (const chunk of snap.rows(snap.tables[0]!.table, 1000)) {
        sizes.push(chunk.length);
        rows.push(...chunk);
      }
      await snap.close();
      expect(sizes).toEqual([1000, 1000, 500]);
      expect(rows[0]).toEqual({ at: 1704067201000001n, msg: "m1", f: Math.fround(1.1) });
      const stream = await session.stream(snap.position);
      await admin.query("DELETE FROM log WHERE msg = 'm1'");
      const events = await take(stream, (es) => es.some((e) => e.kind === "commit"));
      expect(events.filter((e) => e.kind === "change")).toMatchObject([
        { op: "d", before: { at: 1704067201000001n, msg: "m1", f: Math.fround(1.1) }, after: null },
      ]);
    } finally {
      await session.close();
    }
  });
});

describe("positions", () => {
  it("a source in snapshot mode never, stopped before any change, resumes where its first stream began", async () => {
    await admin.query("CREATE TABLE later (id INT PRIMARY KEY)");
    const h = await startHarness(kafkaConnection());
    try {
      const d: SourceDefinition = {
        ...def([`${db.name}.later`]),
        name: `never_${db.name}`,
        snapshot: "never",
      };
      const first = createConnector(d, h.deps());
      await first.start();
      await first.stop();
      // Written while nothing runs: only the stored position can bring these rows.
      await admin.query("INSERT INTO later VALUES (1), (2), (3)");
      const second = createConnector(d, h.deps());
      await second.start();
      await waitFor(() => (second.status().events[`${db.name}.later`] ?? 0) === 3, 30_000, "the rows");
      await second.stop();
    } finally {
      await h.stop();
    }
  });
});
