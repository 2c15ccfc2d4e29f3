// A value a view expression cannot compute (division by zero, an integer out of its type's range, text that
// is no number). Postgres would fail the whole statement; a view cannot fail one row, so the expression's
// value is NULL (eval.ts), as docs/views.md says.
export class EvalError extends Error {
  override name = "EvalError";
}
