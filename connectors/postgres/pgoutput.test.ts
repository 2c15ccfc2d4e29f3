import { describe, expect, it } from "vitest";
import { formatLsn, parseLsn } from "./lsn.ts";
import { PgoutputDecoder, UNCHANGED_TOAST } from "./pgoutput.ts";

// Builders of pgoutput bytes, following the grammar in the protocol documentation.
const u8 = (n: number): Buffer => Buffer.from([n]);
const i16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};
const i32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const i64 = (n: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(n);
  return b;
};
const str = (s: string): Buffer => Buffer.concat([Buffer.from(s, "utf8"), u8(0)]);
const ch = (c: string): Buffer => u8(c.charCodeAt(0));
const text = (s: string): Buffer => {
  const b = Buffer.from(s, "utf8");
  return Buffer.concat([ch("t"), i32(b.length), b]);
};
const tuple = (...cols: Buffer[]): Buffer => Buffer.concat([i16(cols.length), ...cols]);

const relation = Buffer.concat([
  ch("R"),
  i32(16384),
  str("public"),
  str("items"),
  ch("d"),
  i16(3),
  Buffer.concat([u8(1), str("id"), i32(20), i32(-1)]),
  Buffer.concat([u8(0), str("name"), i32(25), i32(-1)]),
  Buffer.concat([u8(0), str("doc"), i32(25), i32(-1)]),
]);

describe("pgoutput decoder", () => {
  it("round-trips LSN text", () => {
    expect(parseLsn("16/B374D848")).toBe(0x16b374d848n);
    expect(formatLsn(0x16b374d848n)).toBe("16/B374D848");
  });

  it("decodes a message at an offset (the copy-data chunk with its 25-byte XLogData header)", () => {
    const d = new PgoutputDecoder();
    const body = Buffer.concat([ch("B"), i64(0x100n), i64(1_000_000n), i32(7)]);
    const chunk = Buffer.concat([Buffer.alloc(25, 0xee), body]);
    expect(d.decode(chunk, 25)).toEqual(d.decode(body));
  });

  it("decodes begin and commit with micros since the Unix epoch", () => {
    const d = new PgoutputDecoder();
    const begin = d.decode(Buffer.concat([ch("B"), i64(0x100n), i64(1_000_000n), i32(-5)]));
    expect(begin).toEqual({
      tag: "begin",
      finalLsn: 0x100n,
      commitTime: 946_684_801_000_000n,
      xid: 4294967291,
    });
    const commit = d.decode(Buffer.concat([ch("C"), u8(0), i64(0x100n), i64(0x180n), i64(0n)]));
    expect(commit).toEqual({
      tag: "commit",
      commitLsn: 0x100n,
      endLsn: 0x180n,
      commitTime: 946_684_800_000_000n,
    });
  });

  it("decodes relation, insert, update with old tuple, key-only delete, truncate, message", () => {
    const d = new PgoutputDecoder();
    const rel = d.decode(relation);
    expect(rel.tag === "relation" && rel.relation.columns.map((c) => c.name)).toEqual(["id", "name", "doc"]);
    const ins = d.decode(
      Buffer.concat([ch("I"), i32(16384), ch("N"), tuple(text("1"), text("héllo"), ch("n"))]),
    );
    expect(ins).toMatchObject({ tag: "insert", after: ["1", "héllo", null] });
    const upd = d.decode(
      Buffer.concat([
        ch("U"),
        i32(16384),
        ch("O"),
        tuple(text("1"), text("a"), text("big")),
        ch("N"),
        tuple(text("1"), text("b"), ch("u")),
      ]),
    );
    expect(upd).toMatchObject({
      tag: "update",
      before: ["1", "a", "big"],
      beforeIsKey: false,
      after: ["1", "b", UNCHANGED_TOAST],
    });
    const del = d.decode(Buffer.concat([ch("D"), i32(16384), ch("K"), tuple(text("1"), ch("n"), ch("n"))]));
    expect(del).toMatchObject({ tag: "delete", before: ["1", null, null], beforeIsKey: true });
    const tr = d.decode(Buffer.concat([ch("T"), i32(1), u8(2), i32(16384)]));
    expect(tr).toMatchObject({ tag: "truncate", restartIdentity: true, cascade: false });
    const msg = d.decode(
      Buffer.concat([ch("M"), u8(1), i64(0x200n), str("outbox"), i32(2), Buffer.from("{}")]),
    );
    expect(msg).toMatchObject({ tag: "message", transactional: true, lsn: 0x200n, prefix: "outbox" });
  });

  it("refuses a change for an unknown relation and truncated input", () => {
    const d = new PgoutputDecoder();
    expect(() => d.decode(Buffer.concat([ch("I"), i32(1), ch("N"), tuple()]))).toThrow(/before its Relation/);
    d.decode(relation);
    expect(() =>
      d.decode(Buffer.concat([ch("I"), i32(16384), ch("N"), i16(1), ch("t"), i32(10), Buffer.from("ab")])),
    ).toThrow();
  });
});
