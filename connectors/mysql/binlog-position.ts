// Binlog positions: where the connector is in the server's binary log, how positions order, how they are
// stored (`_mesh_offsets`, `status().offset`) and what an event's envelope shows of them. Pure.
//
//   text   "<file>:<pos>[ gtids=<executed GTID state>][ gtid=<transaction GTID>]"
//          e.g. "mariadb-bin.000003:4711 gtids=0-1-1234"
//
// A position is the end of an event in a binlog file; the connector resumes from file/pos (valid on the
// server that wrote it), and keeps the executed GTID state beside it (MariaDB position or MySQL set) for
// the envelope and for operators. Files are ordered by their numeric suffix (`<basename>.NNNNNN`).
import type { PositionCodec, SourceCoordinates } from "../core/backend.ts";

export interface MysqlPosition {
  file: string;
  /** Byte offset in `file`: the end of the last event read (where the next one starts). */
  pos: number;
  /** The executed GTID state up to here (MariaDB `D-S-N,...` or a MySQL set), when known. */
  gtids: string | null;
  /** The GTID of the transaction an event belongs to (the envelope's `source.gtid`), if any. */
  gtid: string | null;
}

/** The numeric suffix of a binlog file name (`mariadb-bin.000012` → 12). */
export function binlogIndex(file: string): number {
  const m = /\.(\d+)$/.exec(file);
  if (!m) throw new TypeError(`not a binlog file name (<basename>.<number>): ${file}`);
  return Number(m[1]);
}

export function comparePositions(a: MysqlPosition, b: MysqlPosition): number {
  if (a.file !== b.file) {
    const d = binlogIndex(a.file) - binlogIndex(b.file);
    if (d !== 0) return d;
    return a.file < b.file ? -1 : 1;
  }
  return a.pos - b.pos;
}

export function serializePosition(p: MysqlPosition): string {
  let text = `${p.file}:${p.pos}`;
  if (p.gtids !== null) text += ` gtids=${p.gtids}`;
  if (p.gtid !== null) text += ` gtid=${p.gtid}`;
  return text;
}

export function parsePosition(text: string): MysqlPosition {
  const m = /^(\S+):(\d+)(?: gtids=(\S*))?(?: gtid=(\S+))?$/.exec(text.trim());
  if (!m) throw new TypeError(`not a binlog position (<file>:<pos> [gtids=...]): ${text}`);
  return { file: m[1] as string, pos: Number(m[2]), gtids: m[3] ?? null, gtid: m[4] ?? null };
}

export const mysqlPositions: PositionCodec<MysqlPosition> = {
  compare: comparePositions,
  serialize: serializePosition,
  parse: parsePosition,
  coordinates: (p: MysqlPosition): SourceCoordinates => ({
    lsn: null,
    file: p.file,
    pos: BigInt(p.pos),
    gtid: p.gtid,
  }),
};

/** One row of `SHOW BINARY LOGS`. */
export interface BinlogFile {
  name: string;
  size: number;
}

/**
 * Bytes of binlog from `confirmed` to the end of the newest file (`SHOW BINARY LOGS`), or null when
 * `confirmed`'s file is no longer on the server. Files older than `confirmed`'s do not count.
 */
export function lagBytes(files: readonly BinlogFile[], confirmed: MysqlPosition): number | null {
  const at = binlogIndex(confirmed.file);
  let found = false;
  let bytes = 0;
  for (const f of files) {
    const i = binlogIndex(f.name);
    if (i < at) continue;
    if (i === at) {
      found = true;
      bytes += Math.max(0, f.size - confirmed.pos);
    } else bytes += f.size;
  }
  return found ? bytes : null;
}

/** Whether the server still has `p`'s file (else the binlog was purged past it). */
export function positionOnServer(files: readonly BinlogFile[], p: MysqlPosition): boolean {
  return files.some((f) => f.name === p.file && f.size >= p.pos);
}
