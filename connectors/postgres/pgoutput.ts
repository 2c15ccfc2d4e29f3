// A pure decoder of pgoutput (protocol versions 1 and 2, non-streamed transactions) over bytes.
// Grammar: https://www.postgresql.org/docs/15/protocol-logicalrep-message-formats.html
// Unlike pg-logical-replication's parser it keeps column values as the server's text (the lossless form
// every type has; pg-types would turn timestamps into millisecond Dates and numerics into floats) and keeps
// "unchanged TOAST" as a marker instead of undefined, so the caller decides what to emit.
import { readLsn } from "./lsn.ts";

export const UNCHANGED_TOAST: unique symbol = Symbol("unchanged-toast");
/** A tuple by column position: text value, null, raw bytes (binary mode, unused) or the TOAST marker. */
export type TupleValue = string | null | typeof UNCHANGED_TOAST;
export type Tuple = TupleValue[];

export interface RelationColumn {
  /** Bit 0: part of the replica identity (the key). */
  flags: number;
  name: string;
  typeOid: number;
  typeMod: number;
}

export interface Relation {
  oid: number;
  schema: string;
  name: string;
  replicaIdentity: "default" | "nothing" | "full" | "index";
  columns: RelationColumn[];
}

export type PgMessage =
  | { tag: "begin"; finalLsn: bigint; commitTime: bigint; xid: number }
  | { tag: "commit"; commitLsn: bigint; endLsn: bigint; commitTime: bigint }
  | { tag: "relation"; relation: Relation }
  | { tag: "type"; oid: number; schema: string; name: string }
  | { tag: "origin"; lsn: bigint; name: string }
  | { tag: "insert"; relation: Relation; after: Tuple }
  | { tag: "update"; relation: Relation; before: Tuple | null; beforeIsKey: boolean; after: Tuple }
  | { tag: "delete"; relation: Relation; before: Tuple; beforeIsKey: boolean }
  | { tag: "truncate"; relations: Relation[]; cascade: boolean; restartIdentity: boolean }
  | { tag: "message"; transactional: boolean; lsn: bigint; prefix: string; content: Buffer };

/** Microseconds between the Unix and the Postgres (2000-01-01) epochs. */
const PG_EPOCH_MICROS = 946_684_800_000_000n;

class Reader {
  private pos: number;
  private readonly buf: Buffer;
  constructor(buf: Buffer, start: number) {
    this.buf = buf;
    this.pos = start;
  }
  u8(): number {
    return this.buf.readUInt8(this.pos++);
  }
  i16(): number {
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }
  i32(): number {
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  lsn(): bigint {
    const v = readLsn(this.buf, this.pos);
    this.pos += 8;
    return v;
  }
  /** Micros since the Unix epoch. */
  time(): bigint {
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v + PG_EPOCH_MICROS;
  }
  cstring(): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) throw new RangeError("pgoutput: unterminated string");
    const s = this.buf.toString("utf8", this.pos, end);
    this.pos = end + 1;
    return s;
  }
  /** `n` bytes as UTF-8 text, read in place (no Buffer view per value: one fewer object per column). */
  text(n: number): string {
    if (n < 0 || this.pos + n > this.buf.length)
      throw new RangeError("pgoutput: message shorter than announced");
    const s = this.buf.toString("utf8", this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
  bytes(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw new RangeError("pgoutput: message shorter than announced");
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

const IDENTITY = { d: "default", n: "nothing", f: "full", i: "index" } as const;

export class PgoutputDecoder {
  private readonly relations = new Map<number, Relation>();

  relation(oid: number): Relation | undefined {
    return this.relations.get(oid);
  }

  /** The message at `buf[start..]` (the replication stream passes its copy-data chunk and the header length). */
  decode(buf: Buffer, start = 0): PgMessage {
    const r = new Reader(buf, start);
    const tag = r.u8();
    switch (tag) {
      case 0x42 /* B */:
        return { tag: "begin", finalLsn: r.lsn(), commitTime: r.time(), xid: r.i32() >>> 0 };
      case 0x43 /* C */: {
        r.u8(); // flags, unused
        return { tag: "commit", commitLsn: r.lsn(), endLsn: r.lsn(), commitTime: r.time() };
      }
      case 0x4f /* O */:
        return { tag: "origin", lsn: r.lsn(), name: r.cstring() };
      case 0x59 /* Y */:
        return { tag: "type", oid: r.i32() >>> 0, schema: r.cstring(), name: r.cstring() };
      case 0x52 /* R */: {
        const oid = r.i32() >>> 0;
        const schema = r.cstring();
        const name = r.cstring();
        const ident = String.fromCharCode(r.u8()) as keyof typeof IDENTITY;
        const n = r.i16();
        const columns: RelationColumn[] = [];
        for (let i = 0; i < n; i++) {
          columns.push({ flags: r.u8(), name: r.cstring(), typeOid: r.i32() >>> 0, typeMod: r.i32() });
        }
        const relation: Relation = {
          oid,
          schema,
          name,
          replicaIdentity: IDENTITY[ident] ?? "default",
          columns,
        };
        this.relations.set(oid, relation);
        return { tag: "relation", relation };
      }
      case 0x49 /* I */: {
        const relation = this.known(r.i32() >>> 0);
        r.u8(); // 'N'
        return { tag: "insert", relation, after: readTuple(r) };
      }
      case 0x55 /* U */: {
        const relation = this.known(r.i32() >>> 0);
        let kind = String.fromCharCode(r.u8());
        let before: Tuple | null = null;
        const beforeIsKey = kind === "K";
        if (kind === "K" || kind === "O") {
          before = readTuple(r);
          kind = String.fromCharCode(r.u8());
        }
        if (kind !== "N") throw new RangeError(`pgoutput: unexpected update part ${kind}`);
        return { tag: "update", relation, before, beforeIsKey, after: readTuple(r) };
      }
      case 0x44 /* D */: {
        const relation = this.known(r.i32() >>> 0);
        const kind = String.fromCharCode(r.u8());
        return { tag: "delete", relation, beforeIsKey: kind === "K", before: readTuple(r) };
      }
      case 0x54 /* T */: {
        const n = r.i32();
        const flags = r.u8();
        const relations: Relation[] = [];
        for (let i = 0; i < n; i++) relations.push(this.known(r.i32() >>> 0));
        return { tag: "truncate", relations, cascade: (flags & 1) !== 0, restartIdentity: (flags & 2) !== 0 };
      }
      case 0x4d /* M */: {
        const flags = r.u8();
        const lsn = r.lsn();
        const prefix = r.cstring();
        const content = Buffer.from(r.bytes(r.i32()));
        return { tag: "message", transactional: (flags & 1) !== 0, lsn, prefix, content };
      }
      default:
        throw new RangeError(
          `pgoutput: unknown message ${JSON.stringify(String.fromCharCode(tag))} (streamed transactions are not requested)`,
        );
    }
  }

  private known(oid: number): Relation {
    const rel = this.relations.get(oid);
    // pgoutput sends a Relation before a table's first change on every connection, so this is a protocol error.
    if (!rel) throw new RangeError(`pgoutput: change for relation ${oid} before its Relation message`);
    return rel;
  }
}

function readTuple(r: Reader): Tuple {
  const n = r.i16();
  const out: Tuple = new Array<TupleValue>(n);
  for (let i = 0; i < n; i++) {
    const kind = r.u8();
    if (kind === 0x6e /* n */) out[i] = null;
    else if (kind === 0x75 /* u */) out[i] = UNCHANGED_TOAST;
    else if (kind === 0x74 /* t */ || kind === 0x62 /* b */) out[i] = r.text(r.i32());
    else throw new RangeError(`pgoutput: unknown tuple value kind ${kind}`);
  }
  return out;
}
