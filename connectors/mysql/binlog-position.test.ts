import { describe, expect, it } from "vitest";
import {
  binlogIndex,
  comparePositions,
  lagBytes,
  mysqlPositions,
  parsePosition,
  positionOnServer,
  serializePosition,
  type MysqlPosition,
} from "./binlog-position.ts";

const at = (
  file: string,
  pos: number,
  gtids: string | null = null,
  gtid: string | null = null,
): MysqlPosition => ({
  file,
  pos,
  gtids,
  gtid,
});

describe("binlog positions", () => {
  it("orders by file number, then offset", () => {
    expect(binlogIndex("mariadb-bin.000012")).toBe(12);
    expect(comparePositions(at("b.000002", 4), at("b.000001", 9999))).toBeGreaterThan(0);
    expect(comparePositions(at("b.000001", 120), at("b.000001", 4711))).toBeLessThan(0);
    expect(comparePositions(at("b.000001", 120), at("b.000001", 120, "0-1-3"))).toBe(0);
    // A million files: the suffix grows a digit and still orders numerically.
    expect(comparePositions(at("b.1000000", 4), at("b.999999", 4))).toBeGreaterThan(0);
    expect(() => binlogIndex("no-suffix")).toThrow(/binlog file/);
  });

  it("round-trips through its stored text, with and without GTIDs", () => {
    const uuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
    for (const p of [
      at("mariadb-bin.000003", 4711),
      at("mariadb-bin.000003", 4711, "0-1-1234,1-2-5"),
      at("mysql-bin.000001", 157, `${uuid}:1-27`, `${uuid}:27`),
      at("mariadb-bin.000001", 4, "", null),
    ]) {
      const text = serializePosition(p);
      expect(parsePosition(text)).toEqual(p);
      expect(mysqlPositions.parse(mysqlPositions.serialize(p))).toEqual(p);
    }
    expect(serializePosition(at("mariadb-bin.000003", 4711, "0-1-1234", "0-1-1234"))).toBe(
      "mariadb-bin.000003:4711 gtids=0-1-1234 gtid=0-1-1234",
    );
    expect(() => parsePosition("0/16B3748")).toThrow(/binlog position/);
  });

  it("shows file, pos and gtid in the envelope, never an LSN", () => {
    expect(mysqlPositions.coordinates(at("mariadb-bin.000002", 900, "0-1-9", "0-1-9"))).toEqual({
      lsn: null,
      file: "mariadb-bin.000002",
      pos: 900n,
      gtid: "0-1-9",
    });
  });

  it("counts lag from the confirmed position to the end of the newest file", () => {
    const files = [
      { name: "b.000001", size: 1000 },
      { name: "b.000002", size: 5000 },
      { name: "b.000003", size: 300 },
    ];
    expect(lagBytes(files, at("b.000002", 4000))).toBe(1000 + 300);
    expect(lagBytes(files, at("b.000003", 300))).toBe(0);
    expect(lagBytes(files.slice(1), at("b.000001", 10))).toBeNull();
    expect(positionOnServer(files, at("b.000002", 5000))).toBe(true);
    expect(positionOnServer(files.slice(1), at("b.000001", 10))).toBe(false);
    expect(positionOnServer(files, at("b.000003", 301))).toBe(false);
  });
});
