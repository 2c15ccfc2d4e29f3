// COPY text rows as bytes → the columns' text: NULLs, every escape Postgres writes, multi-byte UTF-8, and
// the framing errors. (snapshot-copy.pg.test.ts checks against the server that COPY and SELECT agree.)
import { describe, expect, it } from "vitest";
import { parseCopyTextRow } from "./snapshot-copy.ts";

const row = (text: string): Buffer => Buffer.from(`${text}\n`, "utf8");

describe("COPY text rows", () => {
  it("split on tabs, with or without the newline", () => {
    expect(parseCopyTextRow(row("1\t42\trow 1\t0.01\t2026-12-07 10:00:00.123456+00"), 5)).toEqual([
      "1",
      "42",
      "row 1",
      "0.01",
      "2026-12-07 10:00:00.123456+00",
    ]);
    expect(parseCopyTextRow(Buffer.from("a\tb"), 2)).toEqual(["a", "b"]);
  });

  it("read \\N as NULL and an empty field as the empty string", () => {
    expect(parseCopyTextRow(row("\\N\t\t\\N"), 3)).toEqual([null, "", null]);
  });

  it("unescape backslash, tab, newline, CR, backspace, form feed and vertical tab", () => {
    expect(parseCopyTextRow(row("a\\\\b\tc\\td\\ne\\rf"), 2)).toEqual(["a\\b", "c\td\ne\rf"]);
    expect(parseCopyTextRow(row("\\b\\f\\v\t\\\\N"), 2)).toEqual(["\b\f\v", "\\N"]);
    expect(parseCopyTextRow(row("x\\\\\t\\\\"), 2)).toEqual(["x\\", "\\"]);
  });

  it("decode UTF-8 (multi-byte characters, emoji)", () => {
    expect(parseCopyTextRow(row("ünïcødé\t日本\t🙂\\t🙂"), 3)).toEqual(["ünïcødé", "日本", "🙂\t🙂"]);
  });

  it("refuse a row whose column count is not the query's", () => {
    expect(() => parseCopyTextRow(row("1\t2"), 3)).toThrow(/2 columns, expected 3/);
    expect(parseCopyTextRow(row(""), 0)).toEqual([]);
    expect(parseCopyTextRow(row(""), 1)).toEqual([""]);
  });
});
