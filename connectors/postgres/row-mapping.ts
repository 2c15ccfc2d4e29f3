// From pgoutput's relations and tuples to datamesh's shapes, rows and envelopes. Pure: the catalogue facts
// (type infos, the real primary key) are passed in, so every mapping is unit-tested without a database.
import {
  avroName,
  CONNECTOR_VERSION,
  type ColumnSpec,
  type Envelope,
  type Op,
  type SnapshotFlag,
  type TableShape,
} from "../../protocol/envelope.ts";
import { tableTopic } from "../../protocol/topics.ts";
import { UNCHANGED_TOAST, type Relation, type Tuple } from "./pgoutput.ts";
import { columnType, type ColumnType, type PgTypeInfo } from "./pg-types.ts";

export interface TableMapping {
  schema: string;
  table: string;
  /** `<schema>.<table>` as configured. */
  qualified: string;
  shape: TableShape;
  /** Source column names by position (as the table has them). */
  columnNames: string[];
  /** Avro field names by position. */
  fields: string[];
  types: ColumnType[];
  /** Positions of the key columns, in key order. */
  keyIndexes: number[];
  replicaIdentity: Relation["replicaIdentity"];
}

/**
 * `primaryKey` is the table's real primary key from the catalogue (column names); with REPLICA IDENTITY
 * FULL every column carries pgoutput's key flag, so the flags alone cannot tell the key.
 */
export function tableMapping(
  source: string,
  relation: Relation,
  typeInfo: (oid: number) => PgTypeInfo,
  primaryKey: string[] | null,
): TableMapping {
  const columnNames = relation.columns.map((c) => c.name);
  const fields = columnNames.map(avroName);
  const types = relation.columns.map((c) => columnType(typeInfo(c.typeOid), c.typeMod));
  const keyNames =
    primaryKey && primaryKey.length > 0
      ? primaryKey
      : relation.replicaIdentity === "full"
        ? []
        : relation.columns.filter((c) => (c.flags & 1) !== 0).map((c) => c.name);
  const keyIndexes = keyNames.map((k) => columnNames.indexOf(k)).filter((i) => i >= 0);
  const columns: ColumnSpec[] = fields.map((name, i) => ({ name, type: (types[i] as ColumnType).avro }));
  return {
    schema: relation.schema,
    table: relation.name,
    qualified: `${relation.schema}.${relation.name}`,
    shape: {
      topic: tableTopic(source, relation.schema, relation.name),
      columns,
      key: keyIndexes.map((i) => fields[i] as string),
    },
    columnNames,
    fields,
    types,
    keyIndexes,
    replicaIdentity: relation.replicaIdentity,
  };
}

/** The mapping's schema identity: two relations with the same fingerprint produce the same Avro schemas. */
export function shapeFingerprint(m: TableMapping): string {
  return JSON.stringify(m.shape);
}

export interface RowResult {
  row: Record<string, unknown>;
  /** Column positions whose value was an unchanged TOAST datum with no fallback (the caller fetches them). */
  missing: number[];
}

type RowReader = (tuple: Tuple) => Record<string, unknown> | null;
const readers = new WeakMap<TableMapping, RowReader>();

/**
 * The row of a tuple that has every column and no unchanged TOAST datum (the usual case), or null (then
 * `tupleToRow` says what is missing). Compiled once per table version: one object literal of a fixed shape
 * and one call site per column converter, which V8 keeps monomorphic (a loop over the columns made every
 * converter call and property store megamorphic).
 */
export function rowOfTuple(m: TableMapping, tuple: Tuple): Record<string, unknown> | null {
  let read = readers.get(m);
  if (!read) readers.set(m, (read = compileRowReader(m)));
  return read(tuple);
}

function compileRowReader(m: TableMapping): RowReader {
  const n = m.fields.length;
  const vars = m.fields.map((_, i) => `v${i}`);
  const loads = vars.map((v, i) => `const ${v} = t[${i}];`).join("\n");
  const toast = vars.map((v) => `${v} === TOAST`).join(" || ");
  // A computed key for `__proto__` (a valid Avro name): a literal one would set the prototype instead.
  const props = m.fields
    .map((f, i) => {
      const key = f === "__proto__" ? `[${JSON.stringify(f)}]` : JSON.stringify(f);
      return `${key}: v${i} === null || v${i} === undefined ? null : c${i}(v${i})`;
    })
    .join(",\n");
  const converters = m.types.map((_, i) => `c${i}`);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- built from column indexes and JSON-quoted names only
  const make = new Function(
    "TOAST",
    ...converters,
    `return function readRow(t) {\nif (t.length !== ${n}) return null;\n${loads}\n${n > 0 ? `if (${toast}) return null;` : ""}\nreturn {${props}};\n};`,
  ) as (toast: symbol, ...c: ((text: string) => unknown)[]) => RowReader;
  return make(UNCHANGED_TOAST, ...m.types.map((t) => t.fromText));
}

/**
 * Converts a tuple into a row keyed by Avro field names. An unchanged TOAST datum takes the value at the
 * same position of `fallback` (the old tuple of a REPLICA IDENTITY FULL update); without one it is
 * reported in `missing`, never emitted as a placeholder.
 */
export function tupleToRow(m: TableMapping, tuple: Tuple, fallback: Tuple | null = null): RowResult {
  const whole = rowOfTuple(m, tuple);
  if (whole) return { row: whole, missing: [] };
  const row: Record<string, unknown> = {};
  const missing: number[] = [];
  for (let i = 0; i < m.fields.length; i++) {
    const field = m.fields[i] as string;
    let v = i < tuple.length ? tuple[i] : null;
    if (v === UNCHANGED_TOAST) {
      const f = fallback?.[i];
      if (f === undefined || f === UNCHANGED_TOAST) {
        missing.push(i);
        row[field] = null;
        continue;
      }
      v = f;
    }
    row[field] = v === null || v === undefined ? null : (m.types[i] as ColumnType).fromText(v);
  }
  return { row, missing };
}

/** Rows read by the snapshot query (text values by position; no TOAST markers there). */
export function textRowToRow(m: TableMapping, values: (string | null)[]): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  for (let i = 0; i < m.fields.length; i++) {
    const v = values[i];
    row[m.fields[i] as string] =
      v === null || v === undefined ? null : (m.types[i] as ColumnType).fromText(v);
  }
  return row;
}

export function keyOf(m: TableMapping, row: Record<string, unknown>): Record<string, unknown> | null {
  if (m.keyIndexes.length === 0) return null;
  const key: Record<string, unknown> = {};
  for (const i of m.keyIndexes) {
    const f = m.fields[i] as string;
    key[f] = row[f];
  }
  return key;
}

export interface EventContext {
  source: string;
  db: string;
  snapshot: SnapshotFlag;
  /** Micros since the epoch: the commit time (streaming) or the snapshot's start (snapshot). */
  tsMicros: bigint;
  xid: number | null;
  lsn: bigint | null;
  transaction: Envelope["transaction"];
}

export function envelope(
  m: TableMapping,
  op: Op,
  before: Envelope["before"],
  after: Envelope["after"],
  ctx: EventContext,
): Envelope {
  // ts_ms is the source's time, not the connector's clock, so a replay after a crash is byte-identical.
  const tsMs = ctx.tsMicros / 1000n;
  return {
    before,
    after,
    op,
    ts_ms: tsMs,
    source: {
      version: CONNECTOR_VERSION,
      connector: "postgresql",
      name: ctx.source,
      ts_ms: tsMs,
      snapshot: ctx.snapshot,
      db: ctx.db,
      schema: m.schema,
      table: m.table,
      txId: ctx.xid === null ? null : BigInt(ctx.xid),
      lsn: ctx.lsn,
      file: null,
      pos: null,
      gtid: null,
    },
    transaction: ctx.transaction,
  };
}

export function transactionId(xid: number, commitLsn: bigint): string {
  return `${xid}:${commitLsn.toString()}`;
}
