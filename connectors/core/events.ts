// From a backend's rows to protocol envelopes (protocol/envelope.ts): the key of a row, the envelope of a
// change with its source block, and the stable text of a key (to match streamed keys against re-snapshot
// rows). Pure.
import {
  CONNECTOR_VERSION,
  type Envelope,
  type Op,
  type SnapshotFlag,
  type SourceBlock,
} from "../../protocol/envelope.ts";
import type { Row, SourceCoordinates, SourceTable } from "./backend.ts";

/** What every event of one source shares. */
export interface SourceIdentity {
  /** The source's name. */
  name: string;
  connector: SourceBlock["connector"];
  db: string;
}

export interface EventContext {
  snapshot: SnapshotFlag;
  /** Micros since the epoch: the commit time (streaming) or the snapshot's start (snapshot). */
  tsMicros: bigint;
  txId: bigint | null;
  coordinates: SourceCoordinates;
  transaction: Envelope["transaction"];
}

/** The key record of a row (the shape's key fields), or null for a keyless table. */
export function keyOf(table: SourceTable, row: Row): Row | null {
  const fields = table.shape.key;
  if (fields.length === 0) return null;
  const key: Row = {};
  for (const f of fields) key[f] = row[f];
  return key;
}

/** Whether two rows have the same key. */
export function sameKey(table: SourceTable, a: Row, b: Row): boolean {
  for (const f of table.shape.key) {
    const x = a[f];
    const y = b[f];
    if (Buffer.isBuffer(x) && Buffer.isBuffer(y) ? !x.equals(y) : x !== y) return false;
  }
  return true;
}

/** A stable text of a key object (bigint and Buffer aware). */
export function keyText(key: Row | null): string {
  return JSON.stringify(key, (_k, v: unknown) =>
    typeof v === "bigint" ? `${v}n` : Buffer.isBuffer(v) ? v.toString("hex") : v,
  );
}

export function envelope(
  source: SourceIdentity,
  table: SourceTable,
  op: Op,
  before: Row | null,
  after: Row | null,
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
      connector: source.connector,
      name: source.name,
      ts_ms: tsMs,
      snapshot: ctx.snapshot,
      db: source.db,
      schema: table.schema,
      table: table.table,
      txId: ctx.txId,
      lsn: ctx.coordinates.lsn,
      file: ctx.coordinates.file,
      pos: ctx.coordinates.pos,
      gtid: ctx.coordinates.gtid,
    },
    transaction: ctx.transaction,
  };
}
