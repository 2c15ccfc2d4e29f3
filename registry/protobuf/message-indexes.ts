// Owns the message indexes of Confluent's Protobuf wire format. A Protobuf payload is
//   0x00 | schema id (4 bytes, big-endian) | message indexes | message bytes
// where the indexes locate the message type in the schema: the position among the file's top-level messages,
// then among that message's nested messages, and so on (enums do not count). They are written as a zigzag
// varint count followed by each index as a zigzag varint; the common case [0] (the first message) is the single
// byte 0x00. The registry never sees payloads; serdes (and any decoder of ours) use this. Pure.
import type { MessageEl, ProtoFile, TypeEl } from "./model.ts";

function zigzag(n: number): number {
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

function unzigzag(n: number): number {
  return n % 2 === 0 ? n / 2 : -(n + 1) / 2;
}

function writeVarint(out: number[], n: number): void {
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

function readVarint(buf: Uint8Array, at: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = at; i < buf.length && i < at + 5; i++) {
    const b = buf[i]!;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return [value, i + 1 - at];
    scale *= 0x80;
  }
  throw new Error("message indexes: truncated or overlong varint");
}

export function encodeMessageIndexes(indexes: readonly number[]): Buffer {
  if (indexes.length === 1 && indexes[0] === 0) return Buffer.from([0]);
  const out: number[] = [];
  writeVarint(out, zigzag(indexes.length));
  for (const i of indexes) writeVarint(out, zigzag(i));
  return Buffer.from(out);
}

/** Reads the indexes at `offset` (after the 5-byte header); `bytes` is how many bytes they took. */
export function decodeMessageIndexes(buf: Uint8Array, offset = 0): { indexes: number[]; bytes: number } {
  const [rawCount, n] = readVarint(buf, offset);
  const count = unzigzag(rawCount);
  if (count === 0) return { indexes: [0], bytes: n };
  if (count < 0 || count > 100) throw new Error(`message indexes: invalid count ${count}`);
  const indexes: number[] = [];
  let at = offset + n;
  for (let i = 0; i < count; i++) {
    const [v, m] = readVarint(buf, at);
    indexes.push(unzigzag(v));
    at += m;
  }
  return { indexes, bytes: at - offset };
}

const messages = (types: readonly TypeEl[]) => types.filter((t): t is MessageEl => t.kind === "message");

/** The indexes of `name` (`Outer.Inner`, package optional) in `file`; undefined if it holds no such message. */
export function messageIndexesOf(file: ProtoFile, name: string): number[] | undefined {
  const pkg = file.packageName;
  const local = pkg && name.startsWith(`${pkg}.`) ? name.slice(pkg.length + 1) : name;
  const out: number[] = [];
  let level = messages(file.types);
  for (const part of local.split(".")) {
    const i = level.findIndex((m) => m.name === part);
    if (i < 0) return undefined;
    out.push(i);
    level = messages(level[i]!.nested);
  }
  return out;
}

/** The full name of the message at `indexes` in `file` (Confluent's toMessageName). */
export function messageNameOf(file: ProtoFile, indexes: readonly number[]): string | undefined {
  const parts: string[] = [];
  let level = messages(file.types);
  for (const i of indexes) {
    const m = level[i];
    if (!m) return undefined;
    parts.push(m.name);
    level = messages(m.nested);
  }
  return [file.packageName, parts.join(".")].filter(Boolean).join(".");
}
