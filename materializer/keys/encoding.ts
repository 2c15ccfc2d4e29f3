// Order-preserving, prefix-free encoding of typed values and tuples into bytes (the LevelDB key layout of
// view rows, table rows and every index). Comparing two encodings with Buffer.compare gives the SQL order of
// the values; a tuple encodes as the concatenation of its parts, so a tuple prefix is a byte prefix (range
// scans by driving key, cursors). Numbers of every Avro kind (int, long as bigint, float/double, decimal
// strings) share one canonical form, so `5`, `5n` and the decimal "5.00" encode to the same bytes: that is
// how an int column joins a long or numeric column.
//
// Grammar (one part): tag byte, then
//   0x01 null                      (NULLs sort first)
//   0x02 false | 0x03 true
//   0x10 -Infinity | 0x11 negative number | 0x12 zero | 0x13 positive number | 0x14 +Infinity | 0x15 NaN
//        number body: 4-byte big-endian exponent E (xor 0x80000000) then the decimal digits of the
//        mantissa 0.d1d2..dn × 10^E (d1 ≠ 0, no trailing zeros) as ASCII, then 0x00; negative numbers
//        have every body byte inverted (so larger magnitudes sort first).
//   0x20 string (UTF-8) | 0x21 bytes: content with 0x00 escaped as 0x00 0xFF, terminated by 0x00.
// Strings order by UTF-8 bytes (code point order, Postgres' "C" collation).

export type KeyKind = "number" | "decimal" | "string" | "bytes" | "boolean" | "any";

const TAG_NULL = 0x01;
const TAG_FALSE = 0x02;
const TAG_TRUE = 0x03;
const TAG_NEG_INF = 0x10;
const TAG_NEG = 0x11;
const TAG_ZERO = 0x12;
const TAG_POS = 0x13;
const TAG_POS_INF = 0x14;
const TAG_NAN = 0x15;
const TAG_STRING = 0x20;
const TAG_BYTES = 0x21;

/** A decimal number in canonical form: sign, digits without leading/trailing zeros, exponent (0.digits × 10^exp). */
interface Canonical {
  negative: boolean;
  digits: string;
  exponent: number;
}

/** Parses decimal text ("-12.50", "1e3", "0.001") into canonical form; null for zero. */
export function canonicalDecimal(text: string): Canonical | null {
  const m = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!m || ((m[2] ?? "") === "" && (m[3] ?? "") === ""))
    throw new TypeError(`not a decimal number: ${text}`);
  const [, sign = "", intPart = "", fracPart = "", exp] = m;
  const all = intPart + fracPart;
  const lead = all.search(/[1-9]/);
  if (lead < 0) return null;
  const digits = all.slice(lead).replace(/0+$/, "");
  // value = 0.all × 10^(intPart.length) × 10^exp; dropping `lead` leading zeros lowers the exponent.
  const exponent = intPart.length - lead + (exp ? Number.parseInt(exp, 10) : 0);
  return { negative: sign === "-", digits, exponent };
}

function numberText(value: unknown): string | number {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") {
    // Non-finite handled by the caller; String() gives the shortest text that round-trips, whose order
    // matches the doubles' order.
    return Number.isFinite(value) ? String(value) : value;
  }
  if (typeof value === "string") return value;
  throw new TypeError(`not a number: ${String(value)}`);
}

// Parts are written into one growing scratch buffer (keys are built per row and per lookup: hot).
let scratch = Buffer.allocUnsafe(1024);
let at = 0;

function put(byte: number): void {
  if (at >= scratch.length) {
    const bigger = Buffer.allocUnsafe(scratch.length * 2);
    scratch.copy(bigger, 0, 0, at);
    scratch = bigger;
  }
  scratch[at++] = byte;
}

function pushNumber(value: unknown): void {
  if (typeof value === "number" && Number.isSafeInteger(value) && value !== 0 && !Object.is(value, -0)) {
    // Fast path for the common case (int columns): the digits of the integer, exponent = digit count.
    const negative = value < 0;
    const digits = String(negative ? -value : value);
    writeDigits(negative, stripZeros(digits), digits.length);
    return;
  }
  if (typeof value === "bigint") {
    if (value === 0n) {
      put(TAG_ZERO);
      return;
    }
    const digits = (value < 0n ? -value : value).toString();
    writeDigits(value < 0n, stripZeros(digits), digits.length);
    return;
  }
  const text = numberText(value);
  if (typeof text === "number") {
    put(Number.isNaN(text) ? TAG_NAN : text > 0 ? TAG_POS_INF : TAG_NEG_INF);
    return;
  }
  const c = canonicalDecimal(text);
  if (!c) {
    put(TAG_ZERO);
    return;
  }
  writeCanonical(c);
}

/** Digits without trailing zeros (a loop: the regex was a visible cost on the per-key hot path). */
function stripZeros(digits: string): string {
  let end = digits.length;
  while (end > 0 && digits.charCodeAt(end - 1) === 48) end--;
  return end === digits.length ? digits : digits.slice(0, end);
}

function writeCanonical(c: Canonical): void {
  writeDigits(c.negative, c.digits, c.exponent);
}

function writeDigits(negative: boolean, digits: string, exponent: number): void {
  // Room for the whole part up front, so the bytes are stored without a bounds check each.
  if (at + digits.length + 6 > scratch.length) {
    const bigger = Buffer.allocUnsafe(Math.max(scratch.length * 2, at + digits.length + 6));
    scratch.copy(bigger, 0, 0, at);
    scratch = bigger;
  }
  const flip = negative ? 0xff : 0x00;
  scratch[at++] = negative ? TAG_NEG : TAG_POS;
  const e = (exponent ^ 0x80000000) >>> 0;
  scratch[at++] = ((e >>> 24) & 0xff) ^ flip;
  scratch[at++] = ((e >>> 16) & 0xff) ^ flip;
  scratch[at++] = ((e >>> 8) & 0xff) ^ flip;
  scratch[at++] = (e & 0xff) ^ flip;
  for (let i = 0; i < digits.length; i++) scratch[at++] = digits.charCodeAt(i) ^ flip;
  scratch[at++] = flip;
}

function pushEscaped(tag: number, bytes: Uint8Array): void {
  put(tag);
  for (const b of bytes) {
    put(b);
    if (b === 0x00) put(0xff);
  }
  put(0x00);
}

/** Appends one value's encoding; `kind` says how to read a JS string (a decimal column's strings are numbers). */
function pushPart(value: unknown, kind: KeyKind): void {
  if (value === null || value === undefined) {
    put(TAG_NULL);
    return;
  }
  if (typeof value === "boolean") {
    put(value ? TAG_TRUE : TAG_FALSE);
    return;
  }
  if (
    typeof value === "number" ||
    typeof value === "bigint" ||
    (kind === "decimal" && typeof value === "string")
  ) {
    pushNumber(value);
    return;
  }
  if (typeof value === "string") {
    pushEscaped(TAG_STRING, Buffer.from(value, "utf8"));
    return;
  }
  if (value instanceof Uint8Array) {
    pushEscaped(TAG_BYTES, value);
    return;
  }
  throw new TypeError(`cannot encode a ${typeof value} as a key part`);
}

/** Encodes a tuple (composite key); kinds[i] applies to values[i] (default "any"). */
export function encodeKey(values: readonly unknown[], kinds?: readonly KeyKind[]): Buffer {
  at = 0;
  for (let i = 0; i < values.length; i++) pushPart(values[i], kinds?.[i] ?? "any");
  // allocUnsafe slices Node's shared pool for small sizes: cheaper than Buffer.from(subarray).
  const out = Buffer.allocUnsafe(at);
  scratch.copy(out, 0, 0, at);
  return out;
}

/** The smallest key greater than every key starting with `prefix` (for `lt` bounds of prefix scans). */
export function prefixEnd(prefix: Buffer): Buffer {
  return Buffer.concat([prefix, Buffer.from([0xff, 0xff])]);
}
