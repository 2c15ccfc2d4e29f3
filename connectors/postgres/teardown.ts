// Removes what a Postgres source holds on its server: the replication slot (which keeps WAL forever if
// nobody drops it) and the publication. Called through the backend (core/change-source.ts teardownSource)
// once the source's connector is stopped; when it cannot, the error names the slot and gives the SQL.
import { MeshError } from "../../lib/errors.ts";
import type { SourceDefinition } from "../core/contract.ts";
import { connect, quoteIdent, quoteLiteral } from "./catalog.ts";
import { defaultPublicationName, defaultSlotName } from "./names.ts";

export async function teardownPostgres(def: SourceDefinition): Promise<void> {
  const slot = def.slot ?? defaultSlotName(def.name);
  const publication = def.publication ?? defaultPublicationName(def.name);
  try {
    await drop(def.url, slot, publication);
  } catch (err) {
    throw notDropped(slot, publication, err);
  }
}

async function drop(url: string, slot: string, publication: string): Promise<void> {
  const client = connect(url, { connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    // The walsender may take a moment to let go of the slot after the connector stopped.
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query(
          "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1",
          [slot],
        );
        break;
      } catch (err) {
        if ((err as { code?: string }).code !== "55006" || attempt >= 20) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    await client.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(publication)}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * A slot left behind keeps WAL on the source forever, so the error names it and gives the SQL to drop it by
 * hand. Coded by the cause: can't connect, can't log in, slot still in use, or refused by the server.
 */
function notDropped(slot: string, publication: string, err: unknown): MeshError {
  const sql = `SELECT pg_drop_replication_slot(${quoteLiteral(slot)}); DROP PUBLICATION IF EXISTS ${quoteIdent(publication)};`;
  const sqlState = (err as { code?: unknown }).code;
  const code =
    sqlState === "28P01" || sqlState === "28000"
      ? "MESH_SOURCE_AUTH"
      : sqlState === "55006"
        ? "MESH_CONFLICT"
        : typeof sqlState === "string" && /^[0-9A-Z]{5}$/.test(sqlState)
          ? "MESH_SOURCE_PREREQUISITE"
          : "MESH_SOURCE_UNREACHABLE";
  const reason = err instanceof Error ? err.message : String(err);
  return new MeshError(
    code,
    `its replication slot "${slot}" was not dropped (${reason}); it keeps WAL on the database until dropped: run ${sql}`,
    { slot, publication, sql },
    { cause: err },
  );
}
