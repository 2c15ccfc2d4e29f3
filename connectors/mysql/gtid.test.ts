import { describe, expect, it } from "vitest";
import {
  advanceGtidState,
  gtidSequence,
  MariadbGtidPosition,
  MysqlGtidSet,
  parseGtidState,
  parseMariadbGtid,
  parseMysqlGtid,
} from "./gtid.ts";

const A = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
const B = "4f22ab58-82db-22f2-af44-d91bb0530673";

describe("MariaDB GTID positions", () => {
  it("parses, advances per domain and formats sorted by domain", () => {
    const pos = MariadbGtidPosition.parse("1-2-5, 0-1-13");
    expect(pos.toString()).toBe("0-1-13,1-2-5");
    pos.advance(parseMariadbGtid("0-1-14"));
    pos.advance(parseMariadbGtid("2-1-1"));
    expect(pos.toString()).toBe("0-1-14,1-2-5,2-1-1");
    expect(MariadbGtidPosition.parse("").toString()).toBe("");
  });

  it("keeps sequence numbers above 2^53 exact", () => {
    const pos = MariadbGtidPosition.parse("0-1-18446744073709551615");
    expect(pos.toString()).toBe("0-1-18446744073709551615");
    expect(pos.covers(parseMariadbGtid("0-1-18446744073709551614"))).toBe(true);
    expect(pos.covers(parseMariadbGtid("0-2-1"))).toBe(false);
    expect(pos.covers(parseMariadbGtid("1-1-1"))).toBe(false);
  });

  it("refuses what is not a GTID", () => {
    expect(() => parseMariadbGtid("0-1")).toThrow(/domain-server-sequence/);
  });
});

describe("MySQL GTID sets", () => {
  it("merges adjacent and overlapping intervals, sorts by uuid", () => {
    const set = MysqlGtidSet.parse(`${B}:1-3,${A.toUpperCase()}:1-5:7-9`);
    expect(set.toString()).toBe(`${A}:1-5:7-9,${B}:1-3`);
    set.add(parseMysqlGtid(`${A}:6`));
    expect(set.toString()).toBe(`${A}:1-9,${B}:1-3`);
    set.add(parseMysqlGtid(`${A}:12`));
    set.add(parseMysqlGtid(`${A}:10`));
    set.add(parseMysqlGtid(`${A}:11`));
    expect(set.toString()).toBe(`${A}:1-12,${B}:1-3`);
    expect(set.contains(parseMysqlGtid(`${B}:3`))).toBe(true);
    expect(set.contains(parseMysqlGtid(`${B}:4`))).toBe(false);
  });

  it("grows by the next GNO of a stream and keeps GNOs up to 2^63-1", () => {
    const set = MysqlGtidSet.parse(`${A}:1-9223372036854775806`);
    set.add(parseMysqlGtid(`${A}:9223372036854775807`));
    expect(set.toString()).toBe(`${A}:1-9223372036854775807`);
  });

  it("keeps tagged GTIDs (MySQL 8.3+) after the untagged intervals of their uuid", () => {
    const set = MysqlGtidSet.parse(`${A}:1-5:tag_b:1:tag_a:1-2`);
    set.add(parseMysqlGtid(`${A}:tag_a:3`));
    expect(set.toString()).toBe(`${A}:1-5:tag_a:1-3:tag_b:1`);
    expect(set.contains(parseMysqlGtid(`${A}:tag_b:1`))).toBe(true);
    expect(set.contains(parseMysqlGtid(`${A}:1`))).toBe(true);
    expect(set.contains(parseMysqlGtid(`${A}:tag_b:2`))).toBe(false);
  });

  it("refuses malformed sets", () => {
    expect(() => MysqlGtidSet.parse("nope:1-2")).toThrow();
    expect(() => MysqlGtidSet.parse(`${A}:5-3`)).toThrow(/empty/);
  });
});

describe("either flavour", () => {
  it("tells the flavours apart and advances each", () => {
    const maria = parseGtidState("0-1-13");
    advanceGtidState(maria, "0-1-14");
    expect(maria.flavor).toBe("mariadb");
    expect(maria.toString()).toBe("0-1-14");
    const mysql = parseGtidState(`${A}:1-13`);
    advanceGtidState(mysql, `${A}:14`);
    expect(mysql.flavor).toBe("mysql");
    expect(mysql.toString()).toBe(`${A}:1-14`);
  });

  it("gives the sequence number of a GTID of either flavour", () => {
    expect(gtidSequence("0-1-17")).toBe(17n);
    expect(gtidSequence(`${A}:9223372036854775807`)).toBe(9223372036854775807n);
    expect(gtidSequence(`${A}:tag_a:3`)).toBe(3n);
  });
});
