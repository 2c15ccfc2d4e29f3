// Evaluates a compiled WHERE expression over a joined tuple with SQL's three-valued logic (NULL is
// unknown; only TRUE keeps a row): the engine's entry to eval.ts, which evaluates every expression form.
import { compareValues, truth, type Tuple } from "./eval.ts";
import type { Expr } from "./plan.ts";

export type { Tuple };
export { compareValues };

export function evaluate(expr: Expr, tuple: Tuple): boolean | null {
  return truth(expr, tuple);
}
