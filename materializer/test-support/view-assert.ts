// Assertions for the materializer's integration tests: read a whole view through the query API and wait
// until it equals the naive oracle over the model tables.
import { expect } from "vitest";
import { waitFor } from "../../test/support/wait.ts";
import type { MaterializerEngine } from "../engine.ts";
import { compileViewSql } from "../sql/compile.ts";
import type { CdcWriter } from "./cdc-writer.ts";
import { naiveView, norm, type Row, type Tables } from "./naive-view.ts";

export async function allRows(engine: MaterializerEngine, name: string): Promise<Map<string, Row>> {
  const out = new Map<string, Row>();
  let cursor: string | undefined;
  do {
    const page = await engine.queryRows(name, { limit: 5000, stale: true, ...(cursor ? { cursor } : {}) });
    for (const r of page.rows) out.set(r.key.map(norm).join("|"), r.row);
    cursor = page.next ?? undefined;
  } while (cursor);
  return out;
}

/** The union of several engines' rows (split views: each answers for its own partitions). */
export async function unionRows(engines: MaterializerEngine[], name: string): Promise<Map<string, Row>> {
  const out = new Map<string, Row>();
  for (const e of engines) for (const [k, v] of await allRows(e, name)) out.set(k, v);
  return out;
}

/**
 * Polls until the view equals the oracle (or the deadline passes), then asserts equality row by row. Several
 * engines: their rows together must equal the oracle.
 */
export async function expectSettled(
  engine: MaterializerEngine | MaterializerEngine[],
  sql: string,
  writerTables: CdcWriter[],
  tables: Tables,
  timeoutMs = 30_000,
): Promise<number> {
  const plan = compileViewSql(sql, { tables: writerTables.flatMap((w) => w.tableInfos()) });
  const want = naiveView(plan, tables);
  const read = (): Promise<Map<string, Row>> =>
    Array.isArray(engine) ? unionRows(engine, plan.name) : allRows(engine, plan.name);
  let got = new Map<string, Row>();
  const same = (): boolean =>
    got.size === want.size &&
    [...want].every(([k, v]) => JSON.stringify(got.get(k), replacer) === JSON.stringify(v, replacer));
  // Out of time, the assertions below say what differs.
  await waitFor(async () => ((got = await read()), same()), { timeoutMs, intervalMs: 200 }).catch(
    () => undefined,
  );
  if (!same()) {
    // The first differences, readable, before the (long) key-list diff.
    const extra = [...got.keys()].filter((k) => !want.has(k)).slice(0, 5);
    const missing = [...want.keys()].filter((k) => !got.has(k)).slice(0, 5);
    console.log(plan.name, {
      extra: extra.map((k) => [k, got.get(k)]),
      missing: missing.map((k) => [k, want.get(k)]),
      got: got.size,
      want: want.size,
    });
  }
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [k, v] of want) expect(got.get(k), `row ${k}`).toEqual(v);
  return want.size;
}

const replacer = (_k: string, v: unknown): unknown => (typeof v === "bigint" ? `${v}n` : v);

/** The one polling helper (test/support/wait.ts), here for the materializer tests that import it from here. */
export { waitFor };
