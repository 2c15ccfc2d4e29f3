// MySQL/MariaDB column types → Avro types, and the converters from what the drivers hand us (the binlog
// decoder's values, and mysql2's binary-protocol values in the snapshot: numbers, exact strings, Buffers)
// to the Avro form the protocol encodes. Every value stays exact (docs/connector-mysql.md "Types"):
//
//   TINYINT..MEDIUMINT, INT, YEAR   int            INT UNSIGNED, BIGINT   long (bigint)
//   BIGINT UNSIGNED                 decimal(20,0)  DECIMAL(p,s)           decimal(p,s) (exact strings)
//   FLOAT / DOUBLE                  float / double BIT(1) boolean, BIT(n) bytes (big-endian, ceil(n/8))
//   DATE                            date           DATETIME(p)            local-timestamp-micros
//   TIMESTAMP(p)                    timestamp-micros (an instant, UTC)
//   TIME(p)                         long micros, may be negative or past 24 h ("connect.name" MicroTime)
//   CHAR/VARCHAR/TEXT/ENUM/SET      string (SET: members comma-separated; ENUM's error member '' is "")
//   JSON                            string, logicalType json     BINARY/VARBINARY/BLOB  bytes
//   zero dates ('0000-00-00', a zero month or day) → null: they are no date, and Avro has no place for them.
// Pure: the catalogue facts come in as `MysqlColumn` (information_schema.COLUMNS).
import type avro from "avsc";
import { civilToDays } from "../../protocol/avro-logical-text.ts";

/** One column as information_schema.COLUMNS describes it (names and types lower-cased). */
export interface MysqlColumn {
  name: string;
  /** DATA_TYPE: `int`, `varchar`, `decimal`, ... */
  dataType: string;
  /** COLUMN_TYPE: `int(10) unsigned`, `enum('a','b')`, `bit(9)`, ... */
  columnType: string;
  numericPrecision: number | null;
  numericScale: number | null;
  charset: string | null;
  collation: string | null;
  comment: string;
  /** A VIRTUAL or STORED generated column (in the binlog's full row image like any other). */
  generated: boolean;
}

export interface MysqlColumnType {
  avro: avro.Schema;
  /** A decoded value (binlog or snapshot), never null, → its Avro form (null for a zero date). */
  convert: (v: unknown) => unknown;
  /** What a column missing from a decoded row means (ENUM's error member decodes to nothing: ""). */
  missing: unknown;
  /** Key columns of this type travel in re-snapshot cursors as hex (binary) rather than text. */
  binary: boolean;
}

const MICROS_PER_DAY = 86_400_000_000n;

const dateRe = /^(\d{4})-(\d{2})-(\d{2})$/;
const dateTimeRe = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;
const timeRe = /^(-)?(\d{1,3}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

/** `YYYY-MM-DD` → the same text, or null for a zero date (a zero year, month or day). */
export function parseDate(text: string): string | null {
  const m = dateRe.exec(text);
  if (!m) throw new TypeError(`not a DATE: ${text}`);
  if (m[1] === "0000" || m[2] === "00" || m[3] === "00") return null;
  return text;
}

const digit = (text: string, i: number): number => text.charCodeAt(i) - 48;
const two = (text: string, i: number): number => digit(text, i) * 10 + digit(text, i + 1);

/** `YYYY-MM-DD HH:MM:SS[.ffffff]` → micros since the epoch (as if UTC), or null for a zero date. */
export function parseDateTimeMicros(text: string): bigint | null {
  // The decoders always give this fixed layout: read it by position (the hottest conversion when
  // catching up), and fall back to the pattern for anything else.
  const n = text.length;
  const c = (i: number): number => text.charCodeAt(i);
  const layout =
    (n === 19 || (n >= 21 && n <= 26 && c(19) === 46)) &&
    c(4) === 45 &&
    c(7) === 45 &&
    (c(10) === 32 || c(10) === 84) &&
    c(13) === 58 &&
    c(16) === 58;
  if (layout) {
    const y = two(text, 0) * 100 + two(text, 2);
    const mo = two(text, 5);
    const d = two(text, 8);
    const h = two(text, 11);
    const mi = two(text, 14);
    const sec = two(text, 17);
    let frac = 0;
    for (let i = 20; i < 26; i++) frac = frac * 10 + (i < n ? digit(text, i) : 0);
    if (y === 0 || mo === 0 || d === 0) return null;
    const seconds = civilToDays(y, mo, d) * 86_400 + h * 3600 + mi * 60 + sec;
    return BigInt(seconds) * 1_000_000n + BigInt(frac);
  }
  const m = dateTimeRe.exec(text);
  if (!m) throw new TypeError(`not a DATETIME: ${text}`);
  const [, y = "", mo = "", d = "", h = "", mi = "", s = "", f = ""] = m;
  if (y === "0000" || mo === "00" || d === "00") return null;
  const days = civilToDays(Number(y), Number(mo), Number(d));
  const seconds = Number(h) * 3600 + Number(mi) * 60 + Number(s);
  return BigInt(days) * MICROS_PER_DAY + BigInt(seconds) * 1_000_000n + BigInt(f.padEnd(6, "0"));
}

/** `[-]HHH:MM:SS[.ffffff]` (-838:59:59 .. 838:59:59) → signed micros. */
export function parseTimeMicros(text: string): bigint {
  const m = timeRe.exec(text);
  if (!m) throw new TypeError(`not a TIME: ${text}`);
  const [, neg, h = "", mi = "", s = "", f = ""] = m;
  const micros =
    BigInt(Number(h) * 3600 + Number(mi) * 60 + Number(s)) * 1_000_000n + BigInt(f.padEnd(6, "0"));
  return neg ? -micros : micros;
}

/** Signed micros → MySQL's TIME text with six fractional digits (for tests and cursors). */
export function formatTimeMicros(micros: bigint): string {
  const neg = micros < 0n;
  const abs = neg ? -micros : micros;
  const s = abs / 1_000_000n;
  const pad = (n: bigint, w: number): string => n.toString().padStart(w, "0");
  return `${neg ? "-" : ""}${pad(s / 3600n, 2)}:${pad((s / 60n) % 60n, 2)}:${pad(s % 60n, 2)}.${pad(abs % 1_000_000n, 6)}`;
}

const text = (v: unknown): string =>
  typeof v === "string" ? v : Buffer.isBuffer(v) ? v.toString("utf8") : String(v);
const toInt = (v: unknown): number => (typeof v === "number" ? v : Number(v));
const toLong = (v: unknown): bigint => (typeof v === "bigint" ? v : BigInt(v as string | number));
const toBuffer = (v: unknown): Buffer => (Buffer.isBuffer(v) ? v : Buffer.from(text(v), "utf8"));

function bitBytes(bits: number): (v: unknown) => Buffer {
  const width = Math.ceil(bits / 8);
  return (v) => {
    let buf: Buffer;
    if (Buffer.isBuffer(v)) buf = v;
    else {
      // A number or numeric text (never from our drivers, but cheap to accept): big-endian bytes.
      let n = BigInt(v as string | number);
      buf = Buffer.alloc(width);
      for (let i = width - 1; i >= 0; i--, n >>= 8n) buf[i] = Number(n & 0xffn);
    }
    if (buf.length === width) return buf;
    const out = Buffer.alloc(width);
    buf.copy(out, Math.max(0, width - buf.length), Math.max(0, buf.length - width));
    return out;
  };
}

/** `bit(9)` → 9 (MySQL's BIT defaults to one bit). */
function bitWidth(columnType: string): number {
  const m = /^bit\((\d+)\)/.exec(columnType);
  return m ? Number(m[1]) : 1;
}

export function columnType(col: MysqlColumn): MysqlColumnType {
  const unsigned = /\bunsigned\b/.test(col.columnType);
  const plain = (avroType: avro.Schema, convert: (v: unknown) => unknown): MysqlColumnType => ({
    avro: avroType,
    convert,
    missing: null,
    binary: false,
  });
  switch (col.dataType) {
    case "tinyint":
    case "smallint":
    case "mediumint":
      return plain("int", toInt);
    case "int":
    case "integer":
      return unsigned ? plain("long", toLong) : plain("int", toInt);
    case "bigint":
      return unsigned
        ? plain({ type: "bytes", logicalType: "decimal", precision: 20, scale: 0 }, text)
        : plain("long", toLong);
    case "year":
      // The binlog decoder reads YEAR 0000 as 1900 (a year YEAR cannot hold: 1901..2155 and 0).
      return plain("int", (v) => {
        const n = toInt(v);
        return n === 1900 ? 0 : n;
      });
    case "decimal":
    case "numeric": {
      const precision = col.numericPrecision ?? 10;
      const scale = col.numericScale ?? 0;
      return plain({ type: "bytes", logicalType: "decimal", precision, scale }, text);
    }
    case "float":
      return plain("float", toInt);
    case "double":
    case "real":
      return plain("double", toInt);
    case "bit": {
      const bits = bitWidth(col.columnType);
      if (bits === 1)
        return plain("boolean", (v) => (Buffer.isBuffer(v) ? v.some((b) => b !== 0) : toInt(v) !== 0));
      return { ...plain("bytes", bitBytes(bits)), binary: true };
    }
    case "date":
      return plain({ type: "int", logicalType: "date" }, (v) => parseDate(text(v)));
    case "datetime":
      return plain({ type: "long", logicalType: "local-timestamp-micros" }, (v) =>
        parseDateTimeMicros(text(v)),
      );
    case "timestamp":
      return plain({ type: "long", logicalType: "timestamp-micros" }, (v) => parseDateTimeMicros(text(v)));
    case "time":
      return plain({ type: "long", "connect.name": "io.debezium.time.MicroTime" }, (v) =>
        parseTimeMicros(text(v)),
      );
    case "enum":
      return { ...plain("string", text), missing: "" };
    case "json":
      return plain({ type: "string", logicalType: "json" }, text);
    case "binary":
    case "varbinary":
    case "tinyblob":
    case "blob":
    case "mediumblob":
    case "longblob":
      return { ...plain("bytes", toBuffer), binary: true };
    case "geometry":
    case "point":
    case "linestring":
    case "polygon":
    case "multipoint":
    case "multilinestring":
    case "multipolygon":
    case "geometrycollection":
      // Both drivers decode geometry to coordinates objects: kept as their JSON text.
      return plain({ type: "string", logicalType: "json" }, (v) =>
        typeof v === "string" ? v : JSON.stringify(v),
      );
    default:
      // char, varchar, *text, set, and MariaDB's uuid/inet4/inet6: the server's text is the value.
      return plain("string", text);
  }
}
