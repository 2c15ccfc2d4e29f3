// The value codec of stored rows and change-feed entries: a small tagged binary format for the decoded
// representation (null, booleans, doubles, bigints, strings, Buffers, arrays, records). node:v8's
// serialize was the apply engine's top cost (a serializer object per call); this is several times faster.
//   0 null | 1 false | 2 true | 3 float64 | 4 int32 | 5 int64 (bigint) | 6 bigint as decimal text
//   7 string: u32 byte length + UTF-8 | 8 bytes: u32 length + raw | 9 array: u32 n + n values
//   10 record: u32 n + n × (string key, value)

let buf = Buffer.allocUnsafe(64 * 1024);
let pos = 0;

function ensure(n: number): void {
  if (pos + n <= buf.length) return;
  const bigger = Buffer.allocUnsafe(Math.max(buf.length * 2, pos + n));
  buf.copy(bigger, 0, 0, pos);
  buf = bigger;
}

function writeU32(n: number, at: number): void {
  buf[at] = n & 0xff;
  buf[at + 1] = (n >>> 8) & 0xff;
  buf[at + 2] = (n >>> 16) & 0xff;
  buf[at + 3] = n >>> 24;
}

function writeString(s: string): void {
  const max = s.length * 3;
  ensure(5 + max);
  buf[pos] = 7;
  // Short ASCII strings (most column values and every column name) are copied byte by byte: cheaper than
  // a call into the UTF-8 encoder.
  let n = -1;
  if (s.length <= 64) {
    n = s.length;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        n = -1;
        break;
      }
      buf[pos + 5 + i] = c;
    }
  }
  if (n < 0) n = buf.write(s, pos + 5, "utf8");
  writeU32(n, pos + 1);
  pos += 5 + n;
}

// int64 through a typed-array view: Buffer's writeBigInt64LE/readBigInt64LE were a visible per-row cost.
const i64 = new BigInt64Array(1);
const i64Bytes = new Uint8Array(i64.buffer);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function writeInt64(v: bigint, at: number): void {
  if (!littleEndian) {
    buf.writeBigInt64LE(v, at);
    return;
  }
  i64[0] = v;
  for (let i = 0; i < 8; i++) buf[at + i] = i64Bytes[i] as number;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function write(v: unknown): void {
  if (v === null || v === undefined) {
    ensure(1);
    buf[pos++] = 0;
  } else if (typeof v === "boolean") {
    ensure(1);
    buf[pos++] = v ? 2 : 1;
  } else if (typeof v === "number") {
    if (Number.isInteger(v) && v >= -0x80000000 && v <= 0x7fffffff && !Object.is(v, -0)) {
      ensure(5);
      buf[pos] = 4;
      writeU32(v >>> 0, pos + 1);
      pos += 5;
    } else {
      ensure(9);
      buf[pos] = 3;
      buf.writeDoubleLE(v, pos + 1);
      pos += 9;
    }
  } else if (typeof v === "bigint") {
    if (v >= INT64_MIN && v <= INT64_MAX) {
      ensure(9);
      buf[pos] = 5;
      writeInt64(v, pos + 1);
      pos += 9;
    } else {
      writeString(v.toString());
      buf[pos - 5 - Buffer.byteLength(v.toString())] = 6;
    }
  } else if (typeof v === "string") {
    writeString(v);
  } else if (v instanceof Uint8Array) {
    ensure(5 + v.length);
    buf[pos] = 8;
    buf.writeUInt32LE(v.length, pos + 1);
    buf.set(v, pos + 5);
    pos += 5 + v.length;
  } else if (Array.isArray(v)) {
    ensure(5);
    buf[pos] = 9;
    writeU32(v.length, pos + 1);
    pos += 5;
    for (let i = 0; i < v.length; i++) write(v[i]);
  } else if (typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>);
    ensure(5);
    buf[pos] = 10;
    buf.writeUInt32LE(entries.length, pos + 1);
    pos += 5;
    for (const [k, x] of entries) {
      writeString(k);
      write(x);
    }
  } else {
    throw new TypeError(`cannot store a ${typeof v}`);
  }
}

export function encodeValue(v: unknown): Buffer {
  pos = 0;
  write(v);
  // allocUnsafe slices Node's shared pool for small sizes: cheaper than Buffer.from(subarray).
  const out = Buffer.allocUnsafe(pos);
  buf.copy(out, 0, 0, pos);
  return out;
}

// Where the last encodeArray's first head item ended and its values began (byte offsets in its result):
// a change-feed entry copies a view row's key and values from the row's bytes instead of encoding them again.
let firstEnd = 0;
let valuesStart = 0;

/** [...head, ...values] encoded as one array, without building the joined array (row-format.ts). */
export function encodeArray(head: readonly unknown[], values: readonly unknown[]): Buffer {
  pos = 0;
  ensure(5);
  buf[pos] = 9;
  writeU32(head.length + values.length, pos + 1);
  pos += 5;
  for (let i = 0; i < head.length; i++) {
    write(head[i]);
    if (i === 0) firstEnd = pos;
  }
  valuesStart = pos;
  for (let i = 0; i < values.length; i++) write(values[i]);
  const out = Buffer.allocUnsafe(pos);
  buf.copy(out, 0, 0, pos);
  return out;
}

/** Byte offsets of the last encodeArray result: where its first head item ends, where its values start. */
export function lastArrayMarks(): { firstEnd: number; valuesStart: number } {
  return { firstEnd, valuesStart };
}

/**
 * encodeValue([a, b, first, before, values]) where `first` and `values` are taken, already encoded, from an
 * encodeArray result (`from`, with its marks): bytes 5..firstEnd are its first head item, and the `count`
 * values from valuesStart on become one array. The result equals encoding the decoded values again.
 */
export function encodeSpliced(
  a: unknown,
  b: unknown,
  from: Buffer,
  marks: { firstEnd: number; valuesStart: number },
  count: number,
  before: readonly unknown[] | null,
): Buffer {
  pos = 0;
  ensure(5);
  buf[pos] = 9;
  writeU32(5, pos + 1);
  pos += 5;
  write(a);
  write(b);
  const first = marks.firstEnd - 5;
  ensure(first);
  from.copy(buf, pos, 5, marks.firstEnd);
  pos += first;
  write(before);
  const rest = from.length - marks.valuesStart;
  ensure(5 + rest);
  buf[pos] = 9;
  writeU32(count, pos + 1);
  pos += 5;
  from.copy(buf, pos, marks.valuesStart);
  pos += rest;
  const out = Buffer.allocUnsafe(pos);
  buf.copy(out, 0, 0, pos);
  return out;
}

export function decodeValue(data: Uint8Array): unknown {
  const b = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  let p = 0;
  const read = (): unknown => {
    const tag = b[p++];
    switch (tag) {
      case 0:
        return null;
      case 1:
        return false;
      case 2:
        return true;
      case 3:
        p += 8;
        return b.readDoubleLE(p - 8);
      case 4:
        p += 4;
        return b.readInt32LE(p - 4);
      case 5: {
        p += 8;
        if (!littleEndian) return b.readBigInt64LE(p - 8);
        for (let i = 0; i < 8; i++) i64Bytes[i] = b[p - 8 + i] as number;
        return i64[0];
      }
      case 6:
      case 7: {
        const n = b.readUInt32LE(p);
        const s = b.toString("utf8", p + 4, p + 4 + n);
        p += 4 + n;
        return tag === 6 ? BigInt(s) : s;
      }
      case 8: {
        const n = b.readUInt32LE(p);
        const out = Buffer.from(b.subarray(p + 4, p + 4 + n));
        p += 4 + n;
        return out;
      }
      case 9: {
        const n = b.readUInt32LE(p);
        p += 4;
        const out: unknown[] = [];
        for (let i = 0; i < n; i++) out.push(read());
        return out;
      }
      case 10: {
        const n = b.readUInt32LE(p);
        p += 4;
        const out: Record<string, unknown> = {};
        for (let i = 0; i < n; i++) {
          const k = read() as string;
          out[k] = read();
        }
        return out;
      }
      default:
        throw new TypeError(`corrupt stored value (tag ${String(tag)} at ${p - 1})`);
    }
  };
  return read();
}

/** Equality of two stored values as the codec sees them (a changed row is one whose encoding differs). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (a instanceof Uint8Array && b instanceof Uint8Array) return Buffer.compare(a, b) === 0;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => sameValue(x, b[i]));
  if (Array.isArray(a) || Array.isArray(b) || a instanceof Uint8Array || b instanceof Uint8Array)
    return false;
  const ka = Object.keys(a);
  const rb = b as Record<string, unknown>;
  const ra = a as Record<string, unknown>;
  return ka.length === Object.keys(b).length && ka.every((k) => k in rb && sameValue(ra[k], rb[k]));
}
