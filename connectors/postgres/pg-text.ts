// Parsers of Postgres text output (with the session settings connections.ts sets: DateStyle ISO,
// TimeZone UTC, IntervalStyle iso_8601, extra_float_digits 3, bytea_output hex) into the exact values
// lib/avro.ts encodes. Pure.

/** `{1,2,NULL,"a \"b\""}` → ["1","2",null,"a \"b\""] (element text, unescaped). Nested arrays flatten. */
export function parseArrayLiteral(text: string): (string | null)[] {
  let s = text;
  // Arrays with non-default bounds print as `[0:2]={...}`.
  if (s.startsWith("[")) s = s.slice(s.indexOf("=") + 1);
  const out: (string | null)[] = [];
  let i = 0;
  const n = s.length;
  while (i < n) {
    const ch = s[i];
    if (ch === "{" || ch === "}" || ch === "," || ch === " ") {
      i++;
      continue;
    }
    if (ch === '"') {
      let value = "";
      i++;
      while (i < n && s[i] !== '"') {
        if (s[i] === "\\") i++;
        value += s[i] ?? "";
        i++;
      }
      i++; // closing quote
      out.push(value);
      continue;
    }
    let j = i;
    while (j < n && s[j] !== "," && s[j] !== "}") j++;
    const raw = s.slice(i, j).trim();
    out.push(raw === "NULL" ? null : raw);
    i = j;
  }
  return out;
}

export function parseBytea(text: string): Buffer {
  if (text.startsWith("\\x")) return Buffer.from(text.slice(2), "hex");
  // Escape format (bytea_output = escape), in case a DBA set it for the role.
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c && text[i + 1] === "\\") {
      bytes.push(0x5c);
      i++;
    } else if (c === 0x5c) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 4), 8));
      i += 3;
    } else bytes.push(c);
  }
  return Buffer.from(bytes);
}

export function parseFloat8(text: string): number {
  if (text === "NaN") return Number.NaN;
  if (text === "Infinity") return Number.POSITIVE_INFINITY;
  if (text === "-Infinity") return Number.NEGATIVE_INFINITY;
  return Number(text);
}

/** `2024-01-02 03:04:05.123456` → `2024-01-02T03:04:05.123456` (local, no zone). */
export function parseTimestamp(text: string): string {
  return text.replace(" ", "T");
}

/** `2024-01-02 03:04:05.123456+00` (or `+05:30`) → an ISO instant the timestamp-micros type encodes. */
export function parseTimestamptz(text: string): string {
  // The session's TimeZone is UTC, so the server writes `YYYY-MM-DD HH:MM:SS[.ffffff]+00`: the same result
  // as the general path below, without its regular expression (a few percent of a large transaction's CPU).
  const n = text.length;
  if (
    n >= 22 &&
    text.charCodeAt(10) === 32 &&
    text.charCodeAt(n - 3) === 43 &&
    text.charCodeAt(n - 2) === 48 &&
    text.charCodeAt(n - 1) === 48
  )
    return `${text.slice(0, 10)}T${text.slice(11, n - 3)}Z`;
  const m = /^(.*?)([+-])(\d{2})(?::?(\d{2}))?(?::?(\d{2}))?$/.exec(text.replace(" ", "T"));
  if (!m) return text;
  const [, local = "", sign, hh = "00", mm = "00", ss] = m;
  if (ss && ss !== "00") {
    // Historical zones with second offsets only appear when TimeZone is not UTC; fold the seconds in.
    const micros = BigInt(Date.parse(`${local}Z`)) * 1000n;
    const offset =
      (BigInt(hh) * 3600n + BigInt(mm) * 60n + BigInt(ss)) * 1_000_000n * (sign === "-" ? -1n : 1n);
    const frac = /\.(\d+)$/.exec(local)?.[1] ?? "";
    const date = new Date(Number((micros - offset) / 1000n)).toISOString().slice(0, 19);
    return `${date}.${frac.padEnd(6, "0")}Z`;
  }
  if (hh === "00" && mm === "00") return `${local}Z`;
  return `${local}${sign}${hh}:${mm}`;
}
