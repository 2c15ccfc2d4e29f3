// The MySQL/MariaDB backend of the connector runtime (connectors/core/backend.ts): binlog positions,
// prerequisites, and sessions (session.ts). Registered as kind "mysql" by connectors/backends.ts.
import type { SourceBackend } from "../core/backend.ts";
import { mysqlPositions, type MysqlPosition } from "./binlog-position.ts";
import { checkMysqlPrerequisites } from "./prerequisites.ts";
import { openMysqlSession } from "./session.ts";

export const mysqlBackend: SourceBackend<MysqlPosition> = {
  kind: "mysql",
  connector: "mysql",
  positions: mysqlPositions,
  checkPrerequisites: checkMysqlPrerequisites,
  open: openMysqlSession,
  // The server holds nothing for a source (no slot): its position is in `_mesh_offsets`, which the
  // runtime's teardown clears.
  teardown: () => Promise.resolve(),
};
