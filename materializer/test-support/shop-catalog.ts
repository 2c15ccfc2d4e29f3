// The shop schema the materializer's tests use (customers, orders, order_items, products), as a Catalog:
// what the registry would hold for a Postgres source `shop` with schema `public`.
import type { Catalog, ColumnInfo, TableInfo } from "../sql/catalog.ts";

const n = (type: unknown): ColumnInfo["type"] => ["null", type] as ColumnInfo["type"];
const decimal = { type: "bytes", logicalType: "decimal", precision: 12, scale: 2 };

function table(source: string, name: string, key: string[], columns: [string, unknown][]): TableInfo {
  return {
    topic: `${source}.public.${name}`,
    source,
    schema: "public",
    table: name,
    key,
    columns: columns.map(([c, t]) => ({ name: c, type: n(t) })),
  };
}

export function shopTables(source = "shop"): TableInfo[] {
  return [
    table(
      source,
      "customers",
      ["id"],
      [
        ["id", "int"],
        ["name", "string"],
        ["region", "string"],
      ],
    ),
    table(
      source,
      "orders",
      ["id"],
      [
        ["id", "long"],
        ["customer_id", "long"],
        ["status", "string"],
        ["total", decimal],
      ],
    ),
    table(
      source,
      "order_items",
      ["order_id", "line"],
      [
        ["order_id", "long"],
        ["line", "int"],
        ["product_id", "int"],
        ["qty", "int"],
        ["price", decimal],
      ],
    ),
    table(
      source,
      "products",
      ["id"],
      [
        ["id", "int"],
        ["name", "string"],
        ["category", "string"],
      ],
    ),
  ];
}

export function shopCatalog(): Catalog {
  return { tables: shopTables() };
}
