// The Postgres backend as the conformance suite sees it (core/conformance/target.ts): fresh databases on the
// stack's server, its documented types with their exact decoded values, and the slot dropped behind the
// connector's back.
import pg from "pg";
import type { ConformanceTarget, TestDatabase, TypeCase } from "../../core/conformance/index.ts";
import { createPgDatabase, stackEnv } from "../../../test/support/stack.ts";
import { defaultSlotName } from "../names.ts";

// column, SQL type, SQL literal, expected decoded value (docs/connector-postgres.md "Types")
const types: TypeCase[] = (
  [
    ["c_smallint", "smallint", "-32768", -32768],
    ["c_int", "int", "2147483647", 2147483647],
    ["c_bigint", "bigint", "9007199254740993", 9007199254740993n],
    ["c_numeric_ps", "numeric(38,10)", "123456789012345678.0123456789", "123456789012345678.0123456789"],
    ["c_numeric_s0", "numeric(5,0)", "-99999", "-99999"],
    ["c_numeric", "numeric", "0.000000000000000000000000000001", "0.000000000000000000000000000001"],
    ["c_real", "real", "3.4028235e38", 3.4028234663852886e38],
    ["c_double", "double precision", "2.2250738585072014e-308", 2.2250738585072014e-308],
    ["c_bool", "boolean", "true", true],
    ["c_text", "text", "'naïve ☃ 日本語 🎉 ''q'''", "naïve ☃ 日本語 🎉 'q'"],
    ["c_varchar", "varchar(20)", "'ünïcödé'", "ünïcödé"],
    ["c_char", "char(4)", "'ab'", "ab  "],
    ["c_bytea", "bytea", "'\\x00ff7f80'", Buffer.from([0, 255, 127, 128])],
    ["c_date", "date", "'1999-12-31'", "1999-12-31"],
    ["c_time", "time", "'23:59:59.123456'", "23:59:59.123456"],
    ["c_timetz", "timetz", "'12:00:00.5+05:30'", "12:00:00.5+05:30"],
    ["c_timestamp", "timestamp", "'2024-02-29 13:14:15.000001'", "2024-02-29T13:14:15.000001"],
    ["c_timestamptz", "timestamptz", "'2024-02-29 13:14:15.654321+02'", "2024-02-29T11:14:15.654321Z"],
    ["c_interval", "interval", "'1 year 2 months 3 days 04:05:06.5'", "P1Y2M3DT4H5M6.5S"],
    ["c_uuid", "uuid", "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"],
    ["c_json", "json", `'{"b": 1, "a": [1.50, "x"]}'`, '{"b": 1, "a": [1.50, "x"]}'],
    ["c_jsonb", "jsonb", `'{"b": 1, "a": [1.50, "x"]}'`, '{"a": [1.50, "x"], "b": 1}'],
    ["c_int_arr", "int[]", "'{1,NULL,-3}'", [1, null, -3]],
    ["c_text_arr", "text[]", `'{"a,b","c\\"d",NULL}'`, ["a,b", 'c"d', null]],
    ["c_num_arr", "numeric(6,2)[]", "'{1.5,-2.25}'", ["1.50", "-2.25"]],
    ["c_enum", "mood", "'happy'", "happy"],
  ] as const
).map(([column, type, literal, expected]) => ({ column, type, literal, expected }));

async function createDatabase(prefix: string): Promise<TestDatabase> {
  const db = await createPgDatabase(prefix);
  // A pool: statements of one exec() share a connection (a transaction stays whole), concurrent ones do not.
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  pool.on("error", () => undefined);
  return {
    name: db.name,
    url: db.url,
    qualified: (table) => `public.${table}`,
    exec: async (...statements) => {
      const c = await pool.connect();
      try {
        for (const sql of statements) await c.query(sql);
      } catch (err) {
        await c.query("ROLLBACK").catch(() => undefined);
        throw err;
      } finally {
        c.release();
      }
    },
    query: async <T>(sql: string) => (await pool.query(sql)).rows as T[],
    drop: async () => {
      await pool.end().catch(() => undefined);
      await db.drop();
    },
  };
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: stackEnv().MESH_PG_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export const postgresTarget: ConformanceTarget = {
  kind: "postgres",
  createDatabase,
  exactResnapshot: true,
  types,
  typesSetup: ["CREATE TYPE mood AS ENUM ('sad', 'happy')"],
  alterType: (table, column, type) => `ALTER TABLE ${table} ALTER COLUMN ${column} TYPE ${type}`,
  outboxPayloadType: "jsonb",
  outboxMessage: (prefix, json) =>
    `SELECT pg_logical_emit_message(true, '${prefix.replaceAll("'", "''")}', '${json.replaceAll("'", "''")}')`,
  losePosition: async (_db, def) => {
    const slot = def.slot ?? defaultSlotName(def.name);
    await admin(async (c) => {
      // The walsender holds the slot: end it, then drop the slot before the connector takes it again.
      for (let attempt = 0; ; attempt++) {
        await c.query(
          "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL",
          [slot],
        );
        try {
          await c.query(
            "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1",
            [slot],
          );
          return;
        } catch (err) {
          if ((err as { code?: string }).code !== "55006" || attempt > 50) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    });
    return slot;
  },
  retainedBytes: (_db, def) =>
    admin(async (c) => {
      const r = await c.query<{ restart: string; confirmed: string }>(
        `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint AS restart,
                pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint AS confirmed
           FROM pg_replication_slots WHERE slot_name = $1`,
        [def.slot ?? defaultSlotName(def.name)],
      );
      return Math.max(Number(r.rows[0]?.restart), Number(r.rows[0]?.confirmed));
    }),
  writeElsewhere: async (db, table, mb) => {
    // About 10 MB of WAL per 100,000 of these rows.
    for (let i = 0; i < Math.ceil(mb / 10); i++)
      await db.exec(`INSERT INTO ${table} SELECT g, repeat('x', 80) FROM generate_series(1, 100000) g`);
  },
  logOrder: (source) => source.lsn ?? 0n,
};
