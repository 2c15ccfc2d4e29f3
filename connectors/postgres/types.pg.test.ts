// Every column type of the issue through the real path (Postgres → pgoutput → Avro → Kafka → decode),
// once by the initial snapshot and once by streaming: both must give the same exact values.
import { describe, expect, it } from "vitest";
import { createPgDatabase } from "../../test/support/stack.ts";
import { useConnectorHarness } from "../../test/support/pg.ts";
import { createConnector, readTopics, shortId, sourceDef, waitFor, withPg } from "./test-harness.ts";

const h = useConnectorHarness();

// column, SQL type, SQL literal, expected decoded value
const columns: [string, string, string, unknown][] = [
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
];

describe("postgres connector: lossless types", () => {
  it("keeps every type exact in snapshot and stream, and NULL in every column", async () => {
    const db = await createPgDatabase("pgtypes");
    const name = shortId("types");
    try {
      await withPg(db.url, async (c) => {
        await c.query("CREATE TYPE mood AS ENUM ('sad', 'happy')");
        await c.query(
          `CREATE TABLE public.t (id int PRIMARY KEY, ${columns.map(([n, t]) => `${n} ${t}`).join(", ")})`,
        );
        await c.query(`INSERT INTO public.t VALUES (1, ${columns.map(([, , v]) => v).join(", ")})`);
        await c.query("INSERT INTO public.t (id) VALUES (2)");
      });
      const connector = createConnector(sourceDef(name, db.url, ["public.t"]), h.deps());
      await connector.start();
      await waitFor(() => connector.status().state === "streaming", 60_000, "streaming");
      await withPg(db.url, async (c) => {
        await c.query(`INSERT INTO public.t VALUES (3, ${columns.map(([, , v]) => v).join(", ")})`);
        await c.query("INSERT INTO public.t (id) VALUES (4)");
      });
      const topic = `${name}.public.t`;
      const msgs = await readTopics(h.kafka, h.registryUrl, [topic], (m) => m.length >= 4);
      await connector.stop();
      const byId = new Map(
        msgs.map((m) => [
          (m.key as { id: number }).id,
          m.value as { op: string; after: Record<string, unknown> },
        ]),
      );
      expect(byId.get(1)?.op).toBe("r");
      expect(byId.get(3)?.op).toBe("c");
      for (const id of [1, 3]) {
        const after = byId.get(id)?.after ?? {};
        for (const [col, , , expected] of columns)
          expect({ col, v: after[col] }).toEqual({ col, v: expected });
      }
      for (const id of [2, 4]) {
        const after = byId.get(id)?.after ?? {};
        for (const [col] of columns) expect({ col, v: after[col] }).toEqual({ col, v: null });
      }
    } finally {
      await db.drop();
    }
  });
});
