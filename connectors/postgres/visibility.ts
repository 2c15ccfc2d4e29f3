// Which transactions a Postgres snapshot sees, from `pg_current_snapshot()` ("xmin:xmax:xip,..." of 64-bit
// xids, epoch included): a transaction is visible when it ended before xmin, or is below xmax and was not
// in progress (xip). pgoutput gives 32-bit xids: they are placed in the epoch nearest the snapshot's xmax
// (a running transaction's xid is always within 2^31 of it). Aborted transactions never reach the stream,
// so "not in progress" means committed here. Pure.

export interface PgSnapshot {
  xmin: bigint;
  xmax: bigint;
  xip: ReadonlySet<bigint>;
}

export function parseSnapshot(text: string): PgSnapshot {
  const m = /^(\d+):(\d+):([\d,]*)$/.exec(text.trim());
  if (!m) throw new TypeError(`not a pg_snapshot: ${text}`);
  const xip = new Set(
    (m[3] ?? "")
      .split(",")
      .filter((x) => x !== "")
      .map((x) => BigInt(x)),
  );
  return { xmin: BigInt(m[1] ?? "0"), xmax: BigInt(m[2] ?? "0"), xip };
}

const EPOCH = 1n << 32n;
const HALF = 1n << 31n;

/** The 64-bit xid of a 32-bit one, in the epoch that puts it nearest `reference`. */
export function fullXid(xid: bigint, reference: bigint): bigint {
  let full = (reference & ~(EPOCH - 1n)) | (xid & (EPOCH - 1n));
  if (full > reference + HALF) full -= EPOCH;
  else if (full < reference - HALF) full += EPOCH;
  return full;
}

/** Whether the transaction with this 32-bit xid is visible to the snapshot. */
export function isVisible(s: PgSnapshot, xid: bigint): boolean {
  const full = fullXid(xid, s.xmax);
  if (full < s.xmin) return true;
  return full < s.xmax && !s.xip.has(full);
}
