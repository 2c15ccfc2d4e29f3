// Chooses the binlog decoder the MySQL connector uses. Both candidates stream MariaDB's row events;
// only @vlasky/zongji keeps DECIMAL exact (a string), so it is the one we use (see README).
import { createRequire } from "node:module";
import mysql from "mysql2/promise";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMysqlDatabase, stackEnv } from "../../test/support/stack.ts";

const require = createRequire(import.meta.url);

interface BinlogEvent {
  getEventName(): string;
  rows?: Record<string, unknown>[];
}
interface Decoder {
  on(event: "binlog", cb: (e: BinlogEvent) => void): void;
  on(event: "ready", cb: () => void): void;
  on(event: "error", cb: (e: Error) => void): void;
  start(options: Record<string, unknown>): void;
  stop(): void;
}

const exact = {
  id: "9007199254740993",
  price: "12345678901234567890.0123456789",
  amount: "1.25",
  name: "héllo ✓",
  at: "2024-01-02 03:04:05.123456",
};

async function readOneInsert(pkg: string, db: string, id: string): Promise<Record<string, unknown>> {
  const mod = require(pkg) as { default?: unknown };
  const ZongJi = (mod.default ?? mod) as new (config: Record<string, unknown>) => Decoder;
  const cdc = new URL(stackEnv().MESH_MYSQL_CDC_URL);
  const decoder = new ZongJi({
    host: cdc.hostname,
    port: Number(cdc.port),
    user: decodeURIComponent(cdc.username),
    password: decodeURIComponent(cdc.password),
    dateStrings: true,
  });
  try {
    const row = new Promise<Record<string, unknown>>((resolve, reject) => {
      decoder.on("binlog", (evt) => {
        if (evt.getEventName() === "writerows" && evt.rows?.[0]) resolve(evt.rows[0]);
      });
      decoder.on("error", reject);
    });
    const ready = new Promise<void>((resolve) => decoder.on("ready", resolve));
    decoder.start({
      startAtEnd: true,
      serverId: 10_000 + Math.floor(Math.random() * 50_000),
      includeEvents: ["tablemap", "writerows"],
      includeSchema: { [db]: true },
    });
    await ready;
    const conn = await mysql.createConnection(stackEnv().MESH_MYSQL_URL);
    await conn.query(`INSERT INTO ${db}.t VALUES (?, ?, ?, ?, ?)`, [
      id,
      exact.price,
      exact.amount,
      exact.name,
      exact.at,
    ]);
    await conn.end();
    return await row;
  } finally {
    decoder.stop();
  }
}

describe("binlog decoders on MariaDB", () => {
  let db: Awaited<ReturnType<typeof createMysqlDatabase>>;

  beforeAll(async () => {
    db = await createMysqlDatabase("binlog");
    const conn = await mysql.createConnection(stackEnv().MESH_MYSQL_URL);
    await conn.query(
      `CREATE TABLE ${db.name}.t (id BIGINT PRIMARY KEY, price DECIMAL(30,10), amount DECIMAL(10,2), name VARCHAR(20), at DATETIME(6))`,
    );
    await conn.end();
  });
  afterAll(() => db.drop());

  it("@vlasky/zongji (chosen) returns DECIMAL, BIGINT and DATETIME(6) exactly", async () => {
    const row = await readOneInsert("@vlasky/zongji", db.name, exact.id);
    expect(row).toEqual(exact);
  });

  it("@powersync/mysql-zongji streams the row too, but DECIMAL arrives as a lossy JS number", async () => {
    const row = await readOneInsert("@powersync/mysql-zongji", db.name, "2");
    expect(row.name).toBe(exact.name);
    expect(typeof row.price).toBe("number");
    expect(String(row.price)).not.toBe(exact.price);
  });
});
