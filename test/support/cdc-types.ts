// A CDC topic with every column type of the Postgres type test, written by the real Postgres connector into
// the real Kafka with schemas in our registry: what the stock-client tests (test/go, test/java) read with
// other languages' libraries. Rows 1 and 3 hold a value in every column (1 from the snapshot, 3 streamed),
// rows 2 and 4 NULL in every column. `expected` gives each column's value in the normalized form the
// readers print: longs as decimal strings, bytes as hex, decimals as plain strings, times as ISO text.
import { afterAll, beforeAll, expect } from "vitest";
import { useConnectorHarness } from "./pg.ts";
import { createPgDatabase, stackEnv } from "./stack.ts";
import {
  createConnector,
  readTopics,
  shortId,
  sourceDef,
  waitFor,
  withPg,
} from "../../connectors/postgres/test-harness.ts";

/** column, SQL type, SQL literal, normalized value (connectors/postgres/types.pg.test.ts has the same types). */
export const CDC_COLUMNS: readonly [string, string, string, unknown][] = [
  ["c_smallint", "smallint", "-32768", -32768],
  ["c_int", "int", "2147483647", 2147483647],
  ["c_bigint", "bigint", "9007199254740993", "9007199254740993"],
  ["c_numeric_ps", "numeric(38,10)", "123456789012345678.0123456789", "123456789012345678.0123456789"],
  ["c_numeric_s0", "numeric(5,0)", "-99999", "-99999"],
  ["c_numeric", "numeric", "0.000000000000000000000000000001", "0.000000000000000000000000000001"],
  ["c_real", "real", "3.4028235e38", 3.4028234663852886e38],
  ["c_double", "double precision", "2.2250738585072014e-308", 2.2250738585072014e-308],
  ["c_bool", "boolean", "true", true],
  ["c_text", "text", "'naïve ☃ 日本語 🎉 ''q'''", "naïve ☃ 日本語 🎉 'q'"],
  ["c_varchar", "varchar(20)", "'ünïcödé'", "ünïcödé"],
  ["c_char", "char(4)", "'ab'", "ab  "],
  ["c_bytea", "bytea", "'\\x00ff7f80'", "00ff7f80"],
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
];

export interface CdcTopic {
  topic: string;
  registryUrl: string;
  brokers: string;
  /** Messages on the topic (four rows). */
  count: number;
}

/** What a reader printed for one message: key and value, normalized. */
export interface ReadRecord {
  key: { id: number };
  value: { op: string; after: Record<string, unknown> | null };
}

/**
 * Registers vitest hooks: before the file's tests, a fresh database with the four rows, a connector that
 * snapshots and then streams them, and its topic read back once (so every message is there); after, clean-up.
 */
export function useCdcTypesTopic(): () => CdcTopic {
  const h = useConnectorHarness();
  let out: CdcTopic | undefined;
  let drop: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    const db = await createPgDatabase("cdctypes");
    drop = db.drop;
    const name = shortId("cdc");
    const values = CDC_COLUMNS.map(([, , v]) => v).join(", ");
    await withPg(db.url, async (c) => {
      await c.query("CREATE TYPE mood AS ENUM ('sad', 'happy')");
      const cols = CDC_COLUMNS.map(([n, t]) => `${n} ${t}`).join(", ");
      await c.query(`CREATE TABLE public.t (id int PRIMARY KEY, ${cols})`);
      await c.query(`INSERT INTO public.t VALUES (1, ${values})`);
      await c.query("INSERT INTO public.t (id) VALUES (2)");
    });
    const connector = createConnector(sourceDef(name, db.url, ["public.t"]), h.deps());
    await connector.start();
    try {
      await waitFor(() => connector.status().state === "streaming", 60_000, "streaming");
      await withPg(db.url, async (c) => {
        await c.query(`INSERT INTO public.t VALUES (3, ${values})`);
        await c.query("INSERT INTO public.t (id) VALUES (4)");
      });
      const topic = `${name}.public.t`;
      const msgs = await readTopics(h.kafka, h.registryUrl, [topic], (m) => m.length >= 4);
      if (msgs.length < 4) throw new Error(`the connector wrote ${msgs.length} of 4 messages to ${topic}`);
      out = { topic, registryUrl: h.registryUrl, brokers: stackEnv().MESH_KAFKA_BROKERS, count: 4 };
    } finally {
      await connector.stop();
    }
  });
  afterAll(async () => {
    await drop?.();
  });
  return () => {
    if (!out) throw new Error("the CDC topic is made before the tests: use it inside them");
    return out;
  };
}

/** Checks what a reader printed: every column of rows 1 and 3 exact, of rows 2 and 4 null. */
export function expectAllTypes(records: readonly ReadRecord[]): void {
  const byId = new Map(records.map((r) => [r.key.id, r.value]));
  expect([...byId.keys()].sort()).toEqual([1, 2, 3, 4]);
  expect(byId.get(1)?.op).toBe("r");
  expect(byId.get(3)?.op).toBe("c");
  for (const id of [1, 3]) {
    const after = byId.get(id)?.after ?? {};
    for (const [col, , , value] of CDC_COLUMNS)
      expect({ id, col, v: after[col] }).toEqual({ id, col, v: value });
  }
  for (const id of [2, 4]) {
    const after = byId.get(id)?.after ?? {};
    for (const [col] of CDC_COLUMNS) expect({ id, col, v: after[col] }).toEqual({ id, col, v: null });
  }
}
