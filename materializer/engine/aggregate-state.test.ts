// One group's aggregate state against the multiset of values it holds (seeded random adds and removes,
// removes often taking the current MIN or MAX): after every step, stored and read back, each aggregate
// equals the value computed from the multiset; a leaving extreme is reported exactly when the extreme may
// have changed, and the caller's rescan (here: the multiset) restores it.
import { describe, expect, it } from "vitest";
import { addDec, decOfInt, divDec, formatDec, parseDec, type Dec } from "../sql/decimal.ts";
import { compareValues } from "../sql/eval.ts";
import type { AggregateSpec } from "../sql/plan.ts";
import { rng } from "../test-support/shop-workload.ts";
import { encodeValue, decodeValue } from "./codec.ts";
import { aggregateValue, emptyGroup, moveAggregate, packGroup, unpackGroup } from "./aggregate-state.ts";

const SPECS: AggregateSpec[] = [
  { fn: "count", arg: null, t: "long", kind: "number" },
  { fn: "count", arg: "x0", t: "decimal", kind: "decimal" },
  { fn: "sum", arg: "x0", t: "decimal", kind: "decimal" },
  { fn: "avg", arg: "x0", t: "decimal", kind: "decimal" },
  { fn: "min", arg: "x0", t: "decimal", kind: "decimal" },
  { fn: "max", arg: "x0", t: "decimal", kind: "decimal" },
  { fn: "sum", arg: "x1", t: "int", kind: "number" },
  { fn: "avg", arg: "x1", t: "int", kind: "number" },
  { fn: "sum", arg: "x2", t: "long", kind: "number" },
  { fn: "min", arg: "x3", t: "string", kind: "string" },
  { fn: "max", arg: "x3", t: "string", kind: "string" },
];

type Row = Record<string, unknown>;

function expected(spec: AggregateSpec, rows: Row[]): unknown {
  if (spec.arg === null) return BigInt(rows.length);
  const values = rows.map((r) => r[spec.arg as string] ?? null).filter((v) => v !== null);
  if (spec.fn === "count") return BigInt(values.length);
  if (values.length === 0) return null;
  if (spec.fn === "min" || spec.fn === "max") {
    const sorted = [...values].sort((a, b) => compareValues(a, spec.kind, b, spec.kind));
    return spec.fn === "min" ? sorted[0] : sorted.at(-1);
  }
  let sum: Dec = { u: 0n, s: 0 };
  for (const v of values)
    sum = addDec(sum, typeof v === "string" ? parseDec(v) : decOfInt(v as number | bigint));
  if (spec.fn === "avg") return formatDec(divDec(sum, decOfInt(values.length)));
  return spec.t === "int" ? sum.u : formatDec(sum);
}

describe("aggregate state", () => {
  it("equals a recompute over the group's multiset after every move, MIN/MAX included (seeded)", () => {
    for (const seed of [1, 2, 3, 4]) {
      const r = rng(seed);
      const rows: Row[] = [];
      let state = emptyGroup(SPECS);
      let rescans = 0;
      let checked = 0;
      const randomRow = (): Row => ({
        // Variable scales: the sum shows the largest scale present, which changes as values leave.
        x0:
          r() < 0.15
            ? null
            : `${Math.floor(r() * 20) - 5}${r() < 0.5 ? "" : `.${"5".repeat(1 + Math.floor(r() * 3))}`}`,
        x1: r() < 0.15 ? null : Math.floor(r() * 100) - 30,
        x2: r() < 0.15 ? null : BigInt(Math.floor(r() * 1e6)) * 10_000_000_000n,
        x3: r() < 0.15 ? null : ["b", "a", "é", "aa", "B"][Math.floor(r() * 5)],
      });
      for (let step = 0; step < 800; step++) {
        const leaving = rows.length > 0 && (rows.length > 30 || r() < 0.45);
        let row: Row;
        if (leaving) {
          // Prefer rows holding an extreme: that is where MIN/MAX must look further.
          const current = SPECS.map((s, j) =>
            s.fn === "min" || s.fn === "max" ? aggregateValue(s, state, state.aggs[j] ?? null) : undefined,
          );
          const extremes = rows.filter((x) =>
            SPECS.some((s, j) => current[j] !== undefined && x[s.arg as string] === current[j]),
          );
          const pool = extremes.length > 0 && r() < 0.7 ? extremes : rows;
          row = pool[Math.floor(r() * pool.length)] as Row;
          rows.splice(rows.indexOf(row), 1);
        } else {
          row = randomRow();
          rows.push(row);
        }
        const sign = leaving ? -1 : 1;
        state.count += sign;
        SPECS.forEach((spec, j) => {
          if (spec.arg === null) return;
          const agg = state.aggs[j] ?? null;
          const dirty = moveAggregate(spec, agg, row[spec.arg] ?? null, sign);
          if (dirty && agg && "v" in agg) {
            rescans++;
            agg.v = expected(spec, rows); // what aggregate-apply.ts reads from the group's N entries
          }
        });
        // Stored and read back, as a batch does.
        state = unpackGroup(SPECS, decodeValue(encodeValue(packGroup(state))) as unknown[]);
        const got = [
          state.count,
          ...SPECS.map((spec, j) => aggregateValue(spec, state, state.aggs[j] ?? null)),
        ];
        const want = [rows.length, ...SPECS.map((spec) => expected(spec, rows))];
        // One comparison per step (vitest's expect costs more than the whole step).
        if (!got.every((v, i) => v === want[i])) expect(got, `seed ${seed} step ${step}`).toEqual(want);
        checked++;
      }
      expect(rescans).toBeGreaterThan(50);
      expect(checked).toBe(800);
    }
  });
});
