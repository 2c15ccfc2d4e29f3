// Postgres log sequence numbers: "XXXXXXXX/XXXXXXXX" text ⇄ bigint (the form the envelope's `source.lsn`
// and all comparisons use). Pure.
export function parseLsn(text: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  if (!m) throw new TypeError(`not an LSN: ${text}`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

export function readLsn(buf: Buffer, offset: number): bigint {
  return buf.readBigUInt64BE(offset);
}
