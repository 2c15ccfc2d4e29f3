// Avro logical types as datamesh decodes them: every value stays exact. `long` is a bigint; decimals,
// dates, times and timestamps decode to canonical strings (what the JSON API shows), and encode back from
// those strings. Pure functions; lib/avro.ts plugs them into avsc.
import avro from "avsc";

const MICROS_PER_DAY = 86_400_000_000n;

/** Two's-complement big-endian bytes ⇄ bigint (Avro's decimal representation). */
export function bytesToBigInt(buf: Buffer): bigint {
  if (buf.length === 0) return 0n;
  let n = 0n;
  for (const byte of buf) n = (n << 8n) | BigInt(byte);
  const bits = BigInt(buf.length * 8);
  return (buf[0] ?? 0) & 0x80 ? n - (1n << bits) : n;
}

export function bigIntToBytes(n: bigint): Buffer {
  const bytes: number[] = [];
  let v = n;
  for (;;) {
    const byte = Number(v & 0xffn);
    bytes.unshift(byte);
    v >>= 8n;
    const signDone = (v === 0n && (byte & 0x80) === 0) || (v === -1n && (byte & 0x80) !== 0);
    if (signDone) break;
  }
  return Buffer.from(bytes);
}

export function unscaledToDecimalString(unscaled: bigint, scale: number): string {
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString();
  if (scale <= 0) return `${negative ? "-" : ""}${digits}${"0".repeat(-scale)}`;
  const padded = digits.padStart(scale + 1, "0");
  const text = `${padded.slice(0, -scale)}.${padded.slice(-scale)}`;
  return negative ? `-${text}` : text;
}

/** Parses "12.50", "-3", "1e3" into an unscaled integer at `scale`; refuses anything that would round. */
export function decimalStringToUnscaled(text: string, scale: number): bigint {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (!match || (match[2] === "" && (match[3] ?? "") === ""))
    throw new TypeError(`not a decimal number: ${text}`);
  const [, sign, intPart = "", fracPart = "", expPart] = match;
  let digits = `${intPart}${fracPart}`;
  const exponent = -fracPart.length + (expPart ? Number.parseInt(expPart, 10) : 0);
  // Shift to the target scale: value = digits * 10^exponent = unscaled * 10^-scale.
  const shift = exponent + scale;
  if (shift >= 0) digits += "0".repeat(shift);
  else {
    const dropped = digits.slice(digits.length + shift);
    if (/[1-9]/.test(dropped)) throw new RangeError(`${text} has more than ${scale} decimal places`);
    digits = digits.slice(0, digits.length + shift);
  }
  const n = BigInt(digits === "" ? "0" : digits);
  return sign === "-" ? -n : n;
}

function pad(n: number | bigint, width: number): string {
  return n.toString().padStart(width, "0");
}

export function daysToDate(days: number): string {
  const d = new Date(days * 86_400_000);
  const year = d.getUTCFullYear();
  const y = year < 0 ? `-${pad(-year, 6)}` : year > 9999 ? `+${pad(year, 6)}` : pad(year, 4);
  return `${y}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}`;
}

export function dateToDays(text: string): number {
  const ms = Date.parse(`${text}T00:00:00Z`);
  if (Number.isNaN(ms)) throw new TypeError(`not a date: ${text}`);
  return Math.round(ms / 86_400_000);
}

export function microsToTime(micros: bigint): string {
  const s = micros / 1_000_000n;
  const frac = micros % 1_000_000n;
  return `${pad(s / 3600n, 2)}:${pad((s / 60n) % 60n, 2)}:${pad(s % 60n, 2)}.${pad(frac, 6)}`;
}

export function timeToMicros(text: string): bigint {
  const m = /^(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/.exec(text);
  if (!m) throw new TypeError(`not a time: ${text}`);
  const [, h = "0", mi = "0", s = "0", f = ""] = m;
  return (BigInt(h) * 3600n + BigInt(mi) * 60n + BigInt(s)) * 1_000_000n + BigInt(f.padEnd(6, "0"));
}

/** Micros since the epoch → ISO-8601 with six fractional digits; `zone` "Z" for instants, "" for local. */
export function microsToTimestamp(micros: bigint, zone: "Z" | ""): string {
  let days = micros / MICROS_PER_DAY;
  let rest = micros % MICROS_PER_DAY;
  if (rest < 0n) {
    rest += MICROS_PER_DAY;
    days -= 1n;
  }
  return `${daysToDate(Number(days))}T${microsToTime(rest)}${zone}`;
}

export function timestampToMicros(text: string): bigint {
  const m = /^([+-]?\d{4,6}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?)(Z|[+-]\d{2}:?\d{2})?$/.exec(
    text,
  );
  if (!m) throw new TypeError(`not a timestamp: ${text}`);
  const [, date = "", time = "", zone] = m;
  let micros = BigInt(dateToDays(date)) * MICROS_PER_DAY + timeToMicros(time);
  if (zone && zone !== "Z") {
    const sign = zone.startsWith("-") ? -1n : 1n;
    const digits = zone.slice(1).replace(":", "");
    const offset = (BigInt(digits.slice(0, 2)) * 60n + BigInt(digits.slice(2, 4))) * 60_000_000n;
    micros -= sign * offset;
  }
  return micros;
}

type Opts = Record<string, unknown>;

class DecimalType extends avro.types.LogicalType {
  private readonly scale: number;
  constructor(schema: Opts, opts?: Opts) {
    super(schema as unknown as avro.Schema, opts);
    this.scale = typeof schema.scale === "number" ? schema.scale : 0;
  }
  override _fromValue(buf: Buffer): string {
    return unscaledToDecimalString(bytesToBigInt(buf), this.scale);
  }
  override _toValue(value: unknown): Buffer | undefined {
    if (typeof value !== "string" && typeof value !== "number" && typeof value !== "bigint") return undefined;
    return bigIntToBytes(decimalStringToUnscaled(String(value), this.scale));
  }
  override _resolve(type: avro.Type): ((x: unknown) => unknown) | undefined {
    return avro.Type.isType(type, "logical:decimal") ? (x) => x : undefined;
  }
}

function stringLogical(
  from: (v: never) => string,
  to: (s: string) => unknown,
): typeof avro.types.LogicalType {
  return class extends avro.types.LogicalType {
    override _fromValue(v: never): string {
      return from(v);
    }
    override _toValue(value: unknown): unknown {
      return typeof value === "string" ? to(value) : value;
    }
  };
}

/** A string whose text is JSON (Postgres json/jsonb, MySQL JSON): the JSON API embeds it as JSON. */
class JsonStringType extends avro.types.LogicalType {
  override _fromValue(v: string): string {
    return v;
  }
  override _toValue(v: unknown): string | undefined {
    return typeof v === "string" ? v : undefined;
  }
}

/** A decimal of unbounded precision and scale (Postgres numeric without a declared scale), as text. */
class VariableDecimalType extends avro.types.LogicalType {
  override _fromValue(v: string): string {
    return v;
  }
  override _toValue(v: unknown): string | undefined {
    return typeof v === "string" || typeof v === "number" || typeof v === "bigint" ? String(v) : undefined;
  }
}

export const logicalTypes = {
  decimal: DecimalType,
  date: stringLogical((d: number) => daysToDate(d), dateToDays),
  "time-micros": stringLogical((m: bigint) => microsToTime(BigInt(m)), timeToMicros),
  "time-millis": stringLogical(
    (m: number) => microsToTime(BigInt(m) * 1000n),
    (s) => Number(timeToMicros(s) / 1000n),
  ),
  "timestamp-micros": stringLogical((m: bigint) => microsToTimestamp(BigInt(m), "Z"), timestampToMicros),
  "timestamp-millis": stringLogical(
    (m: bigint) => microsToTimestamp(BigInt(m) * 1000n, "Z"),
    (s) => timestampToMicros(s) / 1000n,
  ),
  "local-timestamp-micros": stringLogical((m: bigint) => microsToTimestamp(BigInt(m), ""), timestampToMicros),
  "local-timestamp-millis": stringLogical(
    (m: bigint) => microsToTimestamp(BigInt(m) * 1000n, ""),
    (s) => timestampToMicros(s) / 1000n,
  ),
  json: JsonStringType,
  "variable-decimal": VariableDecimalType,
} as unknown as Record<string, new (schema: Opts, opts?: Opts) => avro.types.LogicalType>;

export { JsonStringType, DecimalType, VariableDecimalType };
