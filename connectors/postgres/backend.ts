// The Postgres backend (core/backend.ts `SourceBackend<bigint>`): pgoutput logical replication from a slot,
// positions are LSNs. The runtime in connectors/core does everything else.
import type { PositionCodec, SourceBackend } from "../core/backend.ts";
import { formatLsn, parseLsn } from "./lsn.ts";
import { openPostgresSession } from "./pg-session.ts";
import { checkPostgresPrerequisites } from "./prerequisites.ts";
import { teardownPostgres } from "./teardown.ts";

export const lsnPositions: PositionCodec<bigint> = {
  compare: (a, b) => (a < b ? -1 : a > b ? 1 : 0),
  serialize: formatLsn,
  parse: parseLsn,
  coordinates: (lsn) => ({ lsn, file: null, pos: null, gtid: null }),
};

export const postgresBackend: SourceBackend<bigint> = {
  kind: "postgres",
  connector: "postgresql",
  positions: lsnPositions,
  checkPrerequisites: checkPostgresPrerequisites,
  open: openPostgresSession,
  teardown: teardownPostgres,
};
