import { describe, expect, it } from "vitest";
import type { StreamEvent } from "../core/backend.ts";
import type { MysqlPosition } from "./binlog-position.ts";
import { recognize } from "./ddl.ts";
import type { MysqlColumn } from "./mysql-types.ts";
import { tableVersion } from "./table-version.ts";
import { TransactionGrouper, type BinlogItem } from "./transactions.ts";

const col = (name: string, dataType: string): MysqlColumn => ({
  name,
  dataType,
  columnType: dataType,
  numericPrecision: null,
  numericScale: null,
  charset: null,
  collation: null,
  comment: "",
  generated: false,
});
const items = tableVersion("src", "shop", "items", [col("id", "int"), col("name", "varchar")], ["id"]);
const table = { kind: "table" as const, version: items };

function grouper(gtids: string | null = "0-1-10"): TransactionGrouper {
  return new TransactionGrouper({
    start: { file: "bin.000001", pos: 100, gtids, gtid: null },
    truncated: (tables) =>
      tables.filter((t) => t.db === "shop" && t.table === "items").map(() => items.table),
    source: "src",
  });
}

function run(g: TransactionGrouper, list: BinlogItem[]): StreamEvent<MysqlPosition>[] {
  const out: StreamEvent<MysqlPosition>[] = [];
  for (const item of list) g.handle(item, out);
  return out;
}

const q = (sql: string, end: number): BinlogItem => ({
  t: "query",
  statement: recognize(sql, "shop"),
  timestampMs: 1_700_000_000_000,
  end,
});

describe("transaction grouping", () => {
  it("groups MariaDB's GTID … XID into begin, changes, commit, with the GTID as id and seq as txId", () => {
    const g = grouper();
    const out = run(g, [
      { t: "gtid", gtid: "0-1-11", standalone: false, timestampMs: 1_700_000_000_000, end: 150 },
      { t: "rows", op: "c", target: table, rows: [{ id: 1, name: "a" }], timestampMs: 0, end: 200 },
      {
        t: "rows",
        op: "u",
        target: table,
        rows: [{ before: { id: 1, name: "a" }, after: { id: 1, name: "b" } }],
        timestampMs: 0,
        end: 260,
      },
      { t: "rows", op: "d", target: table, rows: [{ id: 1, name: "b" }], timestampMs: 0, end: 300 },
      { t: "xid", end: 331 },
    ]);
    expect(out.map((e) => e.kind)).toEqual(["schema", "begin", "change", "change", "change", "commit"]);
    expect(out[1]).toMatchObject({
      kind: "begin",
      id: "0-1-11",
      txId: 11n,
      commitMicros: 1_700_000_000_000_000n,
    });
    expect(out[2]).toMatchObject({ op: "c", before: null, after: { id: 1, name: "a" } });
    expect(out[3]).toMatchObject({ op: "u", before: { id: 1, name: "a" }, after: { id: 1, name: "b" } });
    expect(out[4]).toMatchObject({ op: "d", before: { id: 1, name: "b" }, after: null });
    expect(out[4]).toMatchObject({ position: { file: "bin.000001", pos: 300, gtid: "0-1-11" } });
    expect(out[5]).toEqual({
      kind: "commit",
      position: { file: "bin.000001", pos: 331, gtids: "0-1-11", gtid: "0-1-11" },
    });
    expect(g.position).toEqual({ file: "bin.000001", pos: 331, gtids: "0-1-11", gtid: "0-1-11" });
  });

  it("groups MySQL's GTID, BEGIN … XID, and anonymous transactions by file and position", () => {
    const uuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
    const g = grouper(`${uuid}:1-5`);
    const out = run(g, [
      { t: "gtid", gtid: `${uuid}:6`, standalone: true, timestampMs: 1000, end: 150 },
      q("BEGIN", 220),
      { t: "rows", op: "c", target: table, rows: [{ id: 1, name: "a" }], timestampMs: 0, end: 300 },
      { t: "xid", end: 331 },
      { t: "gtid", gtid: null, standalone: true, timestampMs: 2000, end: 400 },
      q("BEGIN", 470),
      { t: "rows", op: "c", target: table, rows: [{ id: 2, name: "b" }], timestampMs: 0, end: 520 },
      { t: "xid", end: 551 },
    ]);
    expect(out.filter((e) => e.kind === "begin")).toMatchObject([
      { id: `${uuid}:6`, txId: 6n },
      // No GTID: the file and position where the transaction starts (stable across replays).
      { id: "bin.000001:331", txId: null },
    ]);
    expect(out.filter((e) => e.kind === "commit").map((e) => e.position)).toEqual([
      { file: "bin.000001", pos: 331, gtids: `${uuid}:1-6`, gtid: `${uuid}:6` },
      { file: "bin.000001", pos: 551, gtids: `${uuid}:1-6`, gtid: null },
    ]);
  });

  it("turns transactions with nothing captured into one progress, and keeps positions at boundaries", () => {
    const g = grouper();
    const out = run(g, [
      { t: "gtid", gtid: "0-1-11", standalone: false, timestampMs: 0, end: 150 },
      { t: "xid", end: 200 },
      { t: "gtid", gtid: "0-1-12", standalone: true, timestampMs: 0, end: 250 },
      q("CREATE DATABASE other", 300),
      { t: "heartbeat", file: "bin.000001", pos: 300 },
    ]);
    expect(out).toEqual([
      { kind: "progress", position: { file: "bin.000001", pos: 300, gtids: "0-1-12", gtid: null } },
    ]);
    // A rotate moves to the next file; a transaction in flight is not a place to resume from.
    run(g, [
      { t: "rotate", file: "bin.000002", pos: 4 },
      { t: "gtid", gtid: "0-1-13", standalone: false, timestampMs: 0, end: 60 },
    ]);
    expect(g.inTransaction).toBe(true);
    expect(g.position.file).toBe("bin.000001");
    const hb = run(g, [{ t: "heartbeat", file: "bin.000002", pos: 60 }]);
    expect(hb).toEqual([]);
  });

  it("makes a captured TRUNCATE a transaction of its own, and a DDL a group without changes", () => {
    const g = grouper();
    const out = run(g, [
      { t: "gtid", gtid: "0-1-11", standalone: true, timestampMs: 0, end: 150 },
      q("TRUNCATE TABLE items", 220),
      { t: "gtid", gtid: "0-1-12", standalone: true, timestampMs: 0, end: 260 },
      q("ALTER TABLE items ADD COLUMN x INT", 330),
      { t: "schema", table: items.table },
    ]);
    expect(out.map((e) => e.kind)).toEqual(["schema", "begin", "truncate", "commit", "progress"]);
    expect(out[2]).toMatchObject({ kind: "truncate", tables: [items.table] });
    expect(out[4]).toMatchObject({ position: { pos: 330, gtids: "0-1-12" } });
  });

  it("reads this source's watermarks from the signal table and ignores other sources' rows", () => {
    const g = grouper();
    const signal = { kind: "signal" as const };
    const out = run(g, [
      { t: "gtid", gtid: "0-1-11", standalone: false, timestampMs: 0, end: 150 },
      {
        t: "rows",
        op: "c",
        target: signal,
        rows: [
          { id: "a", source: "src", chunk: "c1", edge: "low" },
          { id: "b", source: "other", chunk: "c9", edge: "low" },
        ],
        timestampMs: 0,
        end: 200,
      },
      { t: "xid", end: 231 },
      { t: "gtid", gtid: "0-1-12", standalone: false, timestampMs: 0, end: 280 },
      {
        t: "rows",
        op: "d",
        target: signal,
        rows: [{ id: "a", source: "src", chunk: "c1", edge: "low" }],
        timestampMs: 0,
        end: 300,
      },
      { t: "xid", end: 331 },
    ]);
    expect(out).toEqual([
      {
        kind: "watermark",
        chunk: "c1",
        edge: "low",
        position: { file: "bin.000001", pos: 231, gtids: "0-1-11", gtid: "0-1-11" },
      },
      { kind: "progress", position: { file: "bin.000001", pos: 331, gtids: "0-1-12", gtid: "0-1-12" } },
    ]);
  });

  it("announces a table version once, and again only when a change uses another", () => {
    const g = grouper();
    const wider = tableVersion(
      "src",
      "shop",
      "items",
      [col("id", "int"), col("name", "varchar"), col("x", "int")],
      ["id"],
    );
    const tx = (version: typeof items, end: number): BinlogItem[] => [
      { t: "gtid", gtid: `0-1-${end}`, standalone: false, timestampMs: 0, end },
      {
        t: "rows",
        op: "c",
        target: { kind: "table", version },
        rows: [{ id: end }],
        timestampMs: 0,
        end: end + 10,
      },
      { t: "xid", end: end + 20 },
    ];
    const out = run(g, [...tx(items, 100), ...tx(items, 200), ...tx(wider, 300), ...tx(items, 400)]);
    expect(
      out.filter((e) => e.kind === "schema").map((e) => (e as { table: typeof items.table }).table),
    ).toEqual([items.table, wider.table, items.table]);
  });
});
