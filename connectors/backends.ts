// The connector backends this build ships. Entry points (`mesh connect`, the API, tests and benchmarks that
// create connectors) call registerBuiltInBackends(); connectors/core dispatches to what was registered and
// never imports a backend itself, so core stays free of Postgres and MySQL code.
import { registerConnectorBackend } from "./core/change-source.ts";
import { mysqlBackend } from "./mysql/backend.ts";
import { postgresBackend } from "./postgres/backend.ts";

export function registerBuiltInBackends(): void {
  registerConnectorBackend("postgres", postgresBackend);
  registerConnectorBackend("mysql", mysqlBackend);
}
