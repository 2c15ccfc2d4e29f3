// Owns what both .proto readers share (parse.ts over protobufjs, fast-parse.ts for the common subset): facts
// recovered from the comment-free source text, option values as the element model keeps them, and reserved
// statements regrouped. Pure.
import type { FieldEl, Label, OptionEl, OptionValue, ReservedValue } from "./model.ts";

/** The source without comments (strings kept), so regular expressions can find statements. */
export function stripComments(src: string): string {
  if (!src.includes("/")) return src;
  return src.replace(
    /("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')|\/\/[^\n]*|\/\*[\s\S]*?\*\//g,
    (m, quoted: string | undefined) => quoted ?? (m.startsWith("//") ? "" : " "),
  );
}

export interface Hints {
  syntax: string | null;
  publicImports: Set<string>;
  /** Contents of every quoted string of the file: an option value found here was written quoted. */
  quoted: Set<string>;
}

export function hints(src: string): Hints {
  const clean = stripComments(src);
  const syntax = /(?:^|[;}\s])syntax\s*=\s*["'](proto[23])["']\s*;/.exec(clean)?.[1] ?? null;
  const publicImports = new Set<string>();
  for (const m of clean.matchAll(/\bimport\s+public\s+["']([^"']+)["']/g)) publicImports.add(m[1]!);
  const quoted = new Set<string>();
  for (const m of clean.matchAll(/"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'/g)) {
    quoted.add((m[1] ?? m[2] ?? "").replace(/\\(.)/g, "$1"));
  }
  return { syntax, publicImports, quoted };
}

export function optionValue(v: unknown, h: Hints): OptionValue {
  if (typeof v === "boolean") return { kind: "BOOLEAN", value: v };
  if (typeof v === "number") return { kind: "NUMBER", value: v };
  if (typeof v === "string")
    return h.quoted.has(v) ? { kind: "STRING", value: v } : { kind: "ENUM", value: v };
  if (Array.isArray(v)) return { kind: "MAP", value: { ...v } };
  return { kind: "MAP", value: markMap(v as Record<string, unknown>, h) };
}

/** Aggregate option values: identifiers that were never quoted are kept as enum markers. */
function markMap(v: Record<string, unknown>, h: Hints): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (typeof x === "string" && !h.quoted.has(x)) out[k] = { enum: x };
    else if (x !== null && typeof x === "object" && !Array.isArray(x))
      out[k] = markMap(x as Record<string, unknown>, h);
    else out[k] = x;
  }
  return out;
}

export function options(
  o: Record<string, unknown> | undefined,
  h: Hints,
  skip: readonly string[] = [],
): OptionEl[] {
  if (!o) return [];
  return Object.entries(o)
    .filter(([k]) => !skip.includes(k))
    .map(([name, v]) => ({ name, value: optionValue(v, h) }));
}

/** protobufjs flattens reserved statements; numbers and names are regrouped, each kind in one statement. */
export function reservedStatements(flat: (number[] | string)[]): ReservedValue[][] {
  const out: ReservedValue[][] = [];
  let current: ReservedValue[] | undefined;
  let kind: "n" | "s" | undefined;
  for (const r of flat) {
    const k = typeof r === "string" ? "s" : "n";
    if (k !== kind) out.push((current = []));
    kind = k;
    if (typeof r === "string") current!.push(r);
    else current!.push(r[0] === r[1] ? r[0]! : [r[0]!, r[1]!]);
  }
  return out;
}

/** A field element from its parts and raw options (`default` and `json_name` kept apart, as Wire does). */
export function fieldEl(
  name: string,
  tag: number,
  type: string,
  label: Label,
  o: Record<string, unknown>,
  h: Hints,
): FieldEl {
  const el: FieldEl = {
    name,
    tag,
    type,
    label,
    options: options(o, h, ["proto3_optional", "default", "json_name"]),
  };
  // Option values are constants (protobufjs' and fast-parse's alike): text, numbers, booleans.
  const value = o.default as string | number | boolean | undefined;
  if (value !== undefined) el.defaultValue = String(value);
  if (typeof o.json_name === "string") el.jsonName = o.json_name;
  return el;
}
