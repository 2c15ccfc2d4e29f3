// The text of the logical types the encoder writes (avro-encoder.ts) turned into their Avro numbers: fast
// paths for the text databases usually give (`2024-01-02`, `03:04:05.123456`, `2024-01-02 03:04:05+00`),
// lib/avro-logical.ts's exact parsers for anything else, so the result is always theirs. Pure.
import { dateToDays, timestampToMicros, timeToMicros } from "../lib/avro-logical.ts";

const ZERO = 48;

/** Digits of `s` from `i` to `j` (exclusive) as a number, or -1 when one is not a digit. */
export function digits(s: string, i: number, j: number): number {
  let n = 0;
  for (let k = i; k < j; k++) {
    const d = s.charCodeAt(k) - ZERO;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days since 1970-01-01 of a valid proleptic Gregorian date (Howard Hinnant's days_from_civil). */
export function civilToDays(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** `YYYY-MM-DD` at `s[0..10)` (years 1000-9999) → days, or NaN (the caller falls back). */
function fastDays(s: string): number {
  if (s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return Number.NaN;
  const y = digits(s, 0, 4);
  const m = digits(s, 5, 7);
  const d = digits(s, 8, 10);
  if (y < 1000 || m < 1 || m > 12 || d < 1) return Number.NaN;
  const leap = m === 2 && y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (d > (DAYS_IN_MONTH[m - 1] as number) + (leap ? 1 : 0)) return Number.NaN;
  return civilToDays(y, m, d);
}

/** `HH:MM:SS[.f{1,6}]` at `s[i..end)` → micros, or -1. */
function fastTimeMicros(s: string, i: number, end: number): number {
  if (end - i < 8 || s.charCodeAt(i + 2) !== 58 || s.charCodeAt(i + 5) !== 58) return -1;
  const h = digits(s, i, i + 2);
  const mi = digits(s, i + 3, i + 5);
  const sec = digits(s, i + 6, i + 8);
  if (h < 0 || mi < 0 || sec < 0) return -1;
  let frac = 0;
  if (end > i + 8) {
    const fl = end - i - 9;
    if (s.charCodeAt(i + 8) !== 46 || fl < 1 || fl > 6) return -1;
    frac = digits(s, i + 9, end);
    if (frac < 0) return -1;
    for (let k = fl; k < 6; k++) frac *= 10;
  }
  return (h * 3600 + mi * 60 + sec) * 1_000_000 + frac;
}

export function dateDays(v: string): number {
  if (v.length === 10) {
    const days = fastDays(v);
    if (!Number.isNaN(days)) return days;
  }
  return dateToDays(v);
}

export function timeMicros(v: string): number {
  const micros = fastTimeMicros(v, 0, v.length);
  return micros >= 0 ? micros : Number(timeToMicros(v));
}

/** `YYYY-MM-DD[T ]HH:MM:SS[.ffffff][Z|±HH:MM|±HHMM]` → micros since the epoch (exact: < 2^53 for these years). */
export function timestampMicros(v: string): number | bigint {
  const n = v.length;
  const sep = v.charCodeAt(10);
  if (n >= 19 && (sep === 84 || sep === 32)) {
    const days = fastDays(v);
    // Micros stay exact as a number within about ±285 years of 1970.
    if (days > -98_000 && days < 84_000) {
      let end = n;
      let offset = 0;
      const last = v.charCodeAt(n - 1);
      if (last === 90 /* Z */) end = n - 1;
      else {
        // A zone ±HH:MM or ±HHMM (never a fraction's digits: the time part is at most 15 characters).
        const z5 = v.charCodeAt(n - 5);
        const z6 = v.charCodeAt(n - 6);
        let at = -1;
        if ((z6 === 43 || z6 === 45) && v.charCodeAt(n - 3) === 58 && n - 6 >= 19) at = n - 6;
        else if ((z5 === 43 || z5 === 45) && n - 5 >= 19) at = n - 5;
        if (at >= 0) {
          const hh = digits(v, at + 1, at + 3);
          const mm = digits(v, n - 2, n);
          if (hh < 0 || mm < 0) return timestampToMicros(v);
          offset = (hh * 60 + mm) * 60_000_000 * (v.charCodeAt(at) === 45 ? -1 : 1);
          end = at;
        }
      }
      const micros = fastTimeMicros(v, 11, end);
      if (micros >= 0) return days * 86_400_000_000 + micros - offset;
    }
  }
  return timestampToMicros(v);
}
