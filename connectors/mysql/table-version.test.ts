import { describe, expect, it } from "vitest";
import type { MysqlColumn } from "./mysql-types.ts";
import {
  convertRow,
  convertValues,
  cursorParams,
  keyCursor,
  sameShape,
  tableVersion,
  typesMatch,
  versionForTableMap,
} from "./table-version.ts";

const col = (name: string, dataType: string, columnType = dataType): MysqlColumn => ({
  name,
  dataType,
  columnType,
  numericPrecision: dataType === "decimal" ? 10 : null,
  numericScale: dataType === "decimal" ? 2 : null,
  charset: null,
  collation: null,
  comment: "",
  generated: false,
});

const columns = [
  col("id", "bigint", "bigint(20)"),
  col("sku", "varbinary", "varbinary(16)"),
  col("price", "decimal", "decimal(10,2)"),
  col("state", "enum", "enum('new','paid')"),
  col("my-col", "int", "int(11)"),
];
const v = tableVersion("shop-db", "shop", "orders", columns, ["id", "sku"]);

describe("table versions", () => {
  it("name the topic <source>.<db>.<table> and key the primary-key columns in key order", () => {
    expect(v.table.qualified).toBe("shop.orders");
    expect(v.table.shape.topic).toBe("shop-db.shop.orders");
    expect(v.table.shape.key).toEqual(["id", "sku"]);
    expect(v.table.shape.columns.map((c) => c.name)).toEqual(["id", "sku", "price", "state", "my_col"]);
    expect(v.decoderColumns[3]).toEqual({
      COLUMN_NAME: "state",
      COLLATION_NAME: null,
      CHARACTER_SET_NAME: null,
      COLUMN_COMMENT: "",
      COLUMN_TYPE: "enum('new','paid')",
    });
    expect(tableVersion("s", "shop", "log", columns, []).table.shape.key).toEqual([]);
  });

  it("convert binlog rows by name and snapshot rows by position, the same", () => {
    const raw = { id: "9007199254740993", sku: Buffer.from([1, 2]), price: "12.50", "my-col": null };
    const expected = {
      id: 9007199254740993n,
      sku: Buffer.from([1, 2]),
      price: "12.50",
      state: "",
      my_col: null,
    };
    expect(convertRow(v, raw)).toEqual(expected);
    expect(convertValues(v, ["9007199254740993", Buffer.from([1, 2]), "12.50", "", null])).toEqual(expected);
  });

  it("carry binary keys through re-snapshot cursors as hex", () => {
    const cursor = keyCursor(v, [42, Buffer.from([0, 255]), "1.00", "new", 7]);
    expect(cursor).toEqual(["42", "00ff"]);
    expect(cursorParams(v, cursor)).toEqual(["42", Buffer.from([0, 255])]);
  });
});

describe("TABLE_MAP checks", () => {
  // LONGLONG, VARCHAR, NEWDECIMAL, STRING (enum in the metadata), LONG
  const current = [8, 15, 246, 254, 3];

  it("accept the version the binlog was written under", () => {
    expect(typesMatch(v, current)).toBe(true);
    expect(versionForTableMap("shop-db", v, current, null)).toBe(v);
    expect(
      versionForTableMap("shop-db", v, [8, 15, 246, 247, 3], ["id", "sku", "price", "state", "my-col"]),
    ).toBe(v);
  });

  it("decode rows from before an ADD COLUMN with the first columns, as an older shape", () => {
    const older = versionForTableMap("shop-db", v, [8, 15, 246], null);
    expect(older?.table.shape.columns.map((c) => c.name)).toEqual(["id", "sku", "price"]);
    expect(older?.table.shape.key).toEqual(["id", "sku"]);
    expect(older && sameShape(older, v)).toBe(false);
  });

  it("refuse what the connector cannot decode exactly", () => {
    // A changed type, a dropped column, a renamed one (FULL metadata names it), a dropped key column.
    expect(versionForTableMap("shop-db", v, [8, 15, 5, 254, 3], null)).toBeNull();
    expect(versionForTableMap("shop-db", v, [8, 15, 246, 254, 3, 3], null)).toBeNull();
    expect(versionForTableMap("shop-db", v, current, ["id", "sku", "price", "status", "my-col"])).toBeNull();
    expect(versionForTableMap("shop-db", v, [8], null)).toBeNull();
  });
});
