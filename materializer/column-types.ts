// The column types a view shows (GET /v1/views/{name} `columnTypes`): Postgres' name for each column's type
// and its Avro type, for plain and computed columns alike (a computed column's type is derived by the
// compiler, sql/types.ts).
import type { ViewColumnType, ViewInfo } from "./contract.ts";
import { sqlTypeName } from "./sql/types.ts";

export function columnTypes(view: Pick<ViewInfo, "columns">): ViewColumnType[] {
  return view.columns.map((c) => ({ name: c.name, type: sqlTypeName(c.type), avro: c.type }));
}
