// Literals meeting a type, and CAST targets (compile-expr.ts). A quoted literal has no type until it meets
// one: compared with or added to a number it is read as that number (refused when it is no number), with a
// boolean as a boolean, with text as text; dates and timestamps compare with it as their ISO text (the
// stored form, docs/contracts.md). Casts go between the types computed exactly: integer, bigint, numeric
// [(p[,s])], text/varchar[(n)] and boolean, as Postgres allows them between those.
import { formatDec, parseDec } from "./decimal.ts";
import { textOf, type ExprContext, type Node, type Typed } from "./expr-context.ts";
import { bad, type Position } from "./sql-error.ts";
import { kindOfType, type SqlType, type T } from "./types.ts";

const INTEGER = /^\s*[+-]?\d+\s*$/;

function boolOf(text: string): boolean | null {
  const s = text.trim().toLowerCase();
  if (s === "") return null;
  const prefix = (w: string): boolean => w.startsWith(s) && (s.length > 1 || (w !== "on" && w !== "off"));
  if (["true", "yes", "on", "1"].some(prefix)) return true;
  if (["false", "no", "off", "0"].some(prefix)) return false;
  return null;
}

/** `v` converted to type `to` when it is a quoted literal (else as it is: values convert when evaluated). */
export function convertLiteral(ctx: ExprContext, v: Typed, to: SqlType, n: Node): Typed {
  if (v.type.t !== "unknown" || "op" in v.e || !("lit" in v.e)) return v;
  const text = String(v.e.lit);
  const where = (n.loc as { start?: Position } | undefined)?.start ?? null;
  const refuse = (what: string): never => {
    throw bad(ctx.text, `the text '${text}' where ${what} is expected`, where);
  };
  switch (to.t) {
    case "int":
    case "long": {
      if (!INTEGER.test(text)) refuse(to.t === "int" ? "an integer" : "a bigint");
      const big = BigInt(text.trim());
      const fits =
        to.t === "int" ? big >= -(2n ** 31n) && big < 2n ** 31n : big >= -(2n ** 63n) && big < 2n ** 63n;
      if (!fits) refuse(`a value in the ${to.t === "int" ? "integer" : "bigint"} range`);
      const lit = to.t === "int" ? Number(big) : big;
      return { e: { lit, kind: "number", t: to.t }, type: { t: to.t } };
    }
    case "decimal":
    case "double": {
      let canonical = "";
      try {
        canonical = formatDec(parseDec(text));
      } catch {
        refuse("a number");
      }
      return to.t === "double"
        ? { e: { lit: Number(canonical), kind: "number", t: "double" }, type: { t: "double" } }
        : { e: { lit: canonical, kind: "decimal", t: "decimal" }, type: { t: "decimal" } };
    }
    case "boolean": {
      const b = boolOf(text);
      if (b === null) refuse("a boolean");
      return { e: { lit: b, kind: "boolean", t: "boolean" }, type: { t: "boolean" } };
    }
    case "string":
    case "unknown":
    case "null":
      return { e: { lit: text, kind: "string", t: "string" }, type: { t: "string" } };
    case "other":
      return { e: { lit: text, kind: kindOfType(to), t: "other" }, type: to };
    default:
      return refuse(`a ${to.t} value`);
  }
}

export interface CastTarget {
  type: SqlType;
  precision?: number;
  scale?: number;
  length?: number;
}

const TARGETS: Record<string, T> = {
  INT: "int",
  INTEGER: "int",
  INT4: "int",
  SMALLINT: "int",
  INT2: "int",
  BIGINT: "long",
  INT8: "long",
  NUMERIC: "decimal",
  DECIMAL: "decimal",
  TEXT: "string",
  VARCHAR: "string",
  "CHARACTER VARYING": "string",
  BOOLEAN: "boolean",
  BOOL: "boolean",
};

export function castTarget(ctx: ExprContext, target: Node, where: Position | null): CastTarget {
  const name = (textOf(target.dataType) || "?").toUpperCase();
  const t = TARGETS[name];
  if (!t)
    throw bad(
      ctx.text,
      `a cast to ${name} (casts go between integer, bigint, numeric, text, varchar and boolean)`,
      where,
    );
  const length = typeof target.length === "number" ? target.length : undefined;
  if (t === "decimal" && length !== undefined) {
    const scale = typeof target.scale === "number" ? target.scale : 0;
    if (length < 1 || length > 1000 || scale < 0 || scale > length)
      throw bad(ctx.text, `NUMERIC(${length}, ${scale}) (precision 1-1000, scale 0-precision)`, where);
    const avro = { type: "bytes", logicalType: "decimal", precision: length, scale };
    return { type: { t, avro }, precision: length, scale };
  }
  if (t === "string" && length !== undefined) return { type: { t }, length };
  return { type: { t } };
}

const CASTS: Partial<Record<T, readonly T[]>> = {
  int: ["int", "long", "decimal", "string", "boolean"],
  long: ["int", "long", "decimal", "string"],
  decimal: ["int", "long", "decimal", "string"],
  string: ["int", "long", "decimal", "string", "boolean"],
  unknown: ["int", "long", "decimal", "string", "boolean"],
  null: ["int", "long", "decimal", "string", "boolean"],
  boolean: ["int", "string", "boolean"],
};

export function castAllowed(from: T, to: T): boolean {
  return CASTS[from]?.includes(to) ?? false;
}
