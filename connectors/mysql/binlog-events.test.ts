// The two server flavours on the wire: binlog events built byte by byte (MySQL 8's GTID event, BEGIN,
// a TABLE_MAP with binlog_row_metadata=FULL optional metadata, WRITE_ROWS v2, XID; MariaDB's GTID event and a
// TABLE_MAP without metadata) go through the decoder's own event parsers, then through this backend's code
// (binlog-items, the FULL-metadata table version or the catalogue one, transaction grouping), and come out
// as the same kind of source transactions.
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import type { AnyBinlogEvent, TableMapEvent } from "@vlasky/zongji";
import type { StreamEvent } from "../core/backend.ts";
import { versionFromFullMetadata } from "./binlog-columns.ts";
import { itemOf, tableMapFacts, type Target } from "./binlog-items.ts";
import type { MysqlPosition } from "./binlog-position.ts";
import { recognize } from "./ddl.ts";
import type { MysqlColumn } from "./mysql-types.ts";
import { tableVersion, versionForTableMap, type TableVersion } from "./table-version.ts";
import { TransactionGrouper } from "./transactions.ts";

// The decoder's parsers, by file: the package exports only its entry point.
const require = createRequire(import.meta.url);
const zongjiLib = require.resolve("@vlasky/zongji").replace(/index\.js$/, "lib/");
const { Parser } = require(`${zongjiLib}reader.js`) as { Parser: new () => { append(b: Buffer): void } };
const initPacket = (require(`${zongjiLib}packet/binlog.js`) as { default: (z: unknown) => new () => Packet })
  .default;
interface Packet {
  parse(parser: unknown): void;
  getEvent(): AnyBinlogEvent;
}

// ---- byte builders (little-endian, as the binlog is) ----
const u8 = (...n: number[]): Buffer => Buffer.from(n);
const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const u48 = (n: number): Buffer => Buffer.concat([u32(n), u16(0)]);
const u64 = (n: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
};
const lenenc = (n: number): Buffer => (n < 251 ? u8(n) : Buffer.concat([u8(0xfc), u16(n)]));
const lstr = (s: string | Buffer): Buffer => {
  const b = typeof s === "string" ? Buffer.from(s, "utf8") : s;
  return Buffer.concat([lenenc(b.length), b]);
};
const tlv = (type: number, value: Buffer): Buffer => Buffer.concat([u8(type), lenenc(value.length), value]);

/** An event as the dump connection delivers it: OK marker, 19-byte header, body (no checksum). */
function event(type: number, body: Buffer, nextPos: number, serverId = 1, timestamp = 1_700_000_000): Buffer {
  const header = Buffer.concat([
    u32(timestamp),
    u8(type),
    u32(serverId),
    u32(19 + body.length),
    u32(nextPos),
    u16(0),
  ]);
  return Buffer.concat([u8(0), header, body]);
}

const T = { QUERY: 2, XID: 16, TABLE_MAP: 19, WRITE_ROWS_V2: 30, GTID: 33, MARIADB_GTID: 162 };

const query = (sql: string, schema: string, nextPos: number): Buffer =>
  event(
    T.QUERY,
    Buffer.concat([
      u32(7),
      u32(0),
      u8(schema.length),
      u16(0),
      u16(0),
      Buffer.from(schema),
      u8(0),
      Buffer.from(sql),
    ]),
    nextPos,
  );
const xid = (n: bigint, nextPos: number): Buffer => event(T.XID, u64(n), nextPos);
const tableMapBody = (
  tableId: number,
  db: string,
  table: string,
  types: number[],
  meta: Buffer,
  optional: Buffer,
): Buffer =>
  Buffer.concat([
    u48(tableId),
    u16(1),
    u8(db.length),
    Buffer.from(db),
    u8(0),
    u8(table.length),
    Buffer.from(table),
    u8(0),
    lenenc(types.length),
    u8(...types),
    lenenc(meta.length),
    meta,
    u8(0), // nullability bitmap
    optional,
  ]);

/** A fake of the decoder's instance, as its event classes read it. */
function decoderState(mariadb: boolean) {
  return {
    useChecksum: false,
    isMariaDb: mariadb,
    tableMap: {} as Record<number, unknown>,
    connection: { config: { dateStrings: true, timezone: "Z", jsonStrings: true } },
    _skipSchema: () => false,
    _warnUnsupportedEvent: () => undefined,
    emit: () => true,
  };
}

/**
 * Parses events as the decoder does, resolving each TABLE_MAP as binlog-stream.ts does: from the event's
 * FULL metadata when present, else from the catalogue's version (`known`).
 */
function decode(
  buffers: Buffer[],
  mariadb: boolean,
  known: TableVersion | undefined,
): StreamEvent<MysqlPosition>[] {
  const z = decoderState(mariadb);
  const Packet = initPacket(z);
  const targets = new Map<number, Target>();
  const grouper = new TransactionGrouper({
    start: {
      file: "bin.000001",
      pos: 4,
      gtids: mariadb ? "0-7-1233" : "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-41",
      gtid: null,
    },
    truncated: () => [],
    source: "src",
  });
  const out: StreamEvent<MysqlPosition>[] = [];
  for (const buf of buffers) {
    const parser = new Parser();
    parser.append(buf);
    const packet = new Packet();
    packet.parse(parser);
    const ev = packet.getEvent();
    const name = ev.getEventName();
    if (name === "tablemap") {
      const tm = ev as TableMapEvent;
      const facts = tableMapFacts(tm);
      const version = facts.binlogColumns
        ? versionFromFullMetadata(
            "src",
            facts.db,
            facts.table,
            facts.binlogColumns,
            facts.types,
            facts.primaryKey,
            known,
            [],
          )
        : versionForTableMap("src", known as TableVersion, facts.types, null);
      if (!version) throw new Error("no version fits");
      z.tableMap[tm.tableId] = {
        columnSchemas: facts.binlogColumns ?? version.decoderColumns,
        parentSchema: tm.schemaName,
        tableName: tm.tableName,
      };
      tm.updateColumnInfo();
      targets.set(tm.tableId, { kind: "table", version });
    } else if (name === "query") {
      const q = ev as AnyBinlogEvent & { query: string; schema: string };
      grouper.handle(
        {
          t: "query",
          statement: recognize(q.query, q.schema),
          timestampMs: ev.timestamp,
          end: ev.nextPosition,
        },
        out,
      );
    } else {
      const item = itemOf(ev, "bin.000001", (id) => targets.get(id));
      if (item) grouper.handle(item, out);
    }
  }
  return out;
}

const col = (
  name: string,
  dataType: string,
  columnType = dataType,
  charset: string | null = null,
): MysqlColumn => ({
  name,
  dataType,
  columnType,
  numericPrecision: dataType === "decimal" ? 10 : null,
  numericScale: dataType === "decimal" ? 2 : null,
  charset,
  collation: null,
  comment: "",
  generated: false,
});

describe("MySQL 8 events", () => {
  const uuid = Buffer.from("3e11fa4771ca11e19e33c80aa9429562", "hex");
  const gtid = event(T.GTID, Buffer.concat([u8(1), uuid, u64(42n), u8(2), u64(0n), u64(1n)]), 200);
  // id BIGINT UNSIGNED PK, name VARCHAR(20) utf8mb4, price DECIMAL(10,2), at DATETIME(6), state ENUM, doc JSON
  const types = [8, 15, 246, 18, 254, 245];
  const meta = Buffer.concat([u16(80), u8(10, 2), u8(6), u8(247, 1), u8(4)]);
  const optional = Buffer.concat([
    tlv(1, u8(0b10000000)), // SIGNEDNESS over the numeric columns (id, price): id unsigned
    tlv(2, Buffer.from([0xfc, 0xff, 0x00])), // DEFAULT_CHARSET utf8mb4_0900_ai_ci (255)
    tlv(4, Buffer.concat(["id", "name", "price", "at", "state", "doc"].map((n) => lstr(n)))), // COLUMN_NAME
    tlv(6, Buffer.concat([lenenc(2), lstr("new"), lstr("paid")])), // ENUM_STR_VALUE
    tlv(10, Buffer.from([0xfc, 0xff, 0x00])), // ENUM_AND_SET_DEFAULT_CHARSET
    tlv(8, lenenc(0)), // SIMPLE_PRIMARY_KEY: column 0
  ]);
  const tableMap = event(T.TABLE_MAP, tableMapBody(77, "shop", "items", types, meta, optional), 400);
  // DATETIME2(6) 2024-01-02 03:04:05.123456: ((y*13+m) << 22 | d << 17 | h << 12 | mi << 6 | s) + 2^39, 5 bytes BE.
  const packed = ((((2024n * 13n + 1n) << 5n) | 2n) << 17n) | (3n << 12n) | (4n << 6n) | 5n;
  const dt = Buffer.alloc(8);
  dt.writeBigUInt64BE((packed + (1n << 39n)) << 24n);
  dt.writeUIntBE(123456, 5, 3);
  const name = Buffer.from("😀é", "utf8");
  const row = Buffer.concat([
    u8(0), // null bitmap
    Buffer.alloc(8, 0xff), // id 2^64-1
    u8(name.length),
    name,
    Buffer.from([0x80, 0x00, 0x00, 0x0c, 0x32]), // 12.50
    dt,
    u8(2), // 'paid'
    u32(2),
    u8(0x04, 0x01), // JSON literal true
  ]);
  const rows = event(
    T.WRITE_ROWS_V2,
    Buffer.concat([u48(77), u16(1), u16(2), lenenc(6), u8(0x3f), row]),
    600,
  );

  it("groups GTID + BEGIN + rows + XID into one transaction named by its GTID", () => {
    const out = decode([gtid, query("BEGIN", "shop", 300), tableMap, rows, xid(9n, 631)], false, undefined);
    expect(out.map((e) => e.kind)).toEqual(["schema", "begin", "change", "commit"]);
    const id = "3e11fa47-71ca-11e1-9e33-c80aa9429562:42";
    expect(out[1]).toMatchObject({ id, txId: 42n, commitMicros: 1_700_000_000_000_000n });
    expect(out[3]).toEqual({
      kind: "commit",
      position: {
        file: "bin.000001",
        pos: 631,
        gtids: "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-42",
        gtid: id,
      },
    });
  });

  it("names, types and keys the table from FULL metadata, and decodes every value exactly", () => {
    const out = decode([gtid, query("BEGIN", "shop", 300), tableMap, rows, xid(9n, 631)], false, undefined);
    const schema = out[0] as Extract<StreamEvent<MysqlPosition>, { kind: "schema" }>;
    expect(schema.table.shape.key).toEqual(["id"]);
    expect(schema.table.shape.columns).toEqual([
      { name: "id", type: { type: "bytes", logicalType: "decimal", precision: 20, scale: 0 } },
      { name: "name", type: "string" },
      { name: "price", type: { type: "bytes", logicalType: "decimal", precision: 10, scale: 2 } },
      { name: "at", type: { type: "long", logicalType: "local-timestamp-micros" } },
      { name: "state", type: "string" },
      { name: "doc", type: { type: "string", logicalType: "json" } },
    ]);
    expect(out[2]).toMatchObject({
      kind: "change",
      op: "c",
      after: {
        id: "18446744073709551615",
        name: "😀é",
        price: "12.50",
        at: 1704164645123456n,
        state: "paid",
        doc: "true",
      },
    });
  });

  it("keeps the catalogue's version when the FULL metadata describes the same shape", () => {
    const known = tableVersion(
      "src",
      "shop",
      "items",
      [
        col("id", "bigint", "bigint(20) unsigned"),
        col("name", "varchar", "varchar(20)", "utf8mb4"),
        col("price", "decimal", "decimal(10,2)"),
        col("at", "datetime", "datetime(6)"),
        col("state", "enum", "enum('new','paid')"),
        col("doc", "json"),
      ],
      ["id"],
    );
    const out = decode([gtid, query("BEGIN", "shop", 300), tableMap, rows, xid(9n, 631)], false, known);
    expect((out[0] as { table: unknown }).table).toBe(known.table);
  });
});

describe("MariaDB events", () => {
  it("groups MariaDB's GTID event (domain-server-sequence, server from the header) … XID, decoded by the catalogue's columns", () => {
    // seq 1234, domain 0, flags2 FL_TRANSACTIONAL: an ordinary transaction (not standalone).
    const gtid = event(T.MARIADB_GTID, Buffer.concat([u64(1234n), u32(0), u8(4), Buffer.alloc(6)]), 300, 7);
    const known = tableVersion(
      "src",
      "shop",
      "t",
      [col("id", "int"), col("v", "varchar", "varchar(10)", "utf8mb4")],
      ["id"],
    );
    const tableMap = event(T.TABLE_MAP, tableMapBody(5, "shop", "t", [3, 15], u16(40), Buffer.alloc(0)), 350);
    const row = Buffer.concat([u8(0), u32(-5 >>> 0), u8(2), Buffer.from("hi")]);
    const rows = event(
      T.WRITE_ROWS_V2,
      Buffer.concat([u48(5), u16(1), u16(2), lenenc(2), u8(0x03), row]),
      400,
    );
    const out = decode([gtid, tableMap, rows, xid(3n, 431)], true, known);
    expect(out.map((e) => e.kind)).toEqual(["schema", "begin", "change", "commit"]);
    expect(out[1]).toMatchObject({ id: "0-7-1234", txId: 1234n });
    expect(out[2]).toMatchObject({ after: { id: -5, v: "hi" }, position: { pos: 400, gtid: "0-7-1234" } });
    expect(out[3]).toMatchObject({ position: { pos: 431, gtids: "0-7-1234" } });
  });
});
