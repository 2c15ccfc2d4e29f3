// Checks that a Postgres database is ready for CDC before anything is created, and says how to fix each
// problem (the SQL a DBA runs). Reads only the catalogue; creates nothing.
import type pg from "pg";
import type { Problem, SourceDefinition } from "../core/change-source.ts";
import { connect, resolveTables, splitQualified } from "./catalog.ts";
import { defaultSlotName } from "./names.ts";

export async function checkPostgresPrerequisites(def: SourceDefinition): Promise<Problem[]> {
  const client = connect(def.url, { connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "28P01" || code === "28000") {
      return [
        {
          code: "auth",
          message: `Postgres refused the credentials: ${(err as Error).message}`,
          fix: "Check the user and password in the source URL.",
        },
      ];
    }
    return [
      {
        code: "unreachable",
        message: `Postgres did not answer: ${(err as Error).message}`,
        fix: "Check host, port, database name and network.",
        transient: true,
      },
    ];
  }
  try {
    return await checkWith(client, def);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function checkWith(client: pg.Client, def: SourceDefinition): Promise<Problem[]> {
  const problems: Problem[] = [];
  const wal = await client.query<{ wal_level: string }>("SHOW wal_level");
  if (wal.rows[0]?.wal_level !== "logical") {
    problems.push({
      code: "wal_level",
      message: `wal_level is ${wal.rows[0]?.wal_level ?? "unknown"}; logical decoding needs "logical"`,
      fix: "ALTER SYSTEM SET wal_level = logical; then restart Postgres.",
    });
  }
  const role = await client.query<{ rolname: string; rolreplication: string; rolsuper: string }>(
    "SELECT rolname, rolreplication, rolsuper FROM pg_roles WHERE rolname = current_user",
  );
  const me = role.rows[0];
  // Every value is text on these connections (catalog.ts): booleans are "t"/"f".
  if (me && me.rolreplication !== "t" && me.rolsuper !== "t") {
    problems.push({
      code: "replication_role",
      message: `role ${me.rolname} may not replicate`,
      fix: `ALTER ROLE "${me.rolname}" WITH REPLICATION;`,
    });
  }
  const wanted = def.tables.map((t) => splitQualified(t));
  for (const [schema, table] of wanted) {
    if (table && table !== "*") continue;
    const res = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
    if (res.rowCount === 0)
      problems.push({
        code: "schema_missing",
        message: `schema ${schema} does not exist`,
        fix: `Create schema ${schema} or fix the table list.`,
      });
  }
  const tables = await resolveTables(client, def.tables);
  for (const { schema, table } of tables) {
    const res = await client.query<{ relreplident: string; has_pk: string }>(
      `SELECT c.relreplident, EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) AS has_pk
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
      [schema, table],
    );
    const t = res.rows[0];
    if (!t) {
      problems.push({
        code: "table_missing",
        message: `table ${schema}.${table} does not exist`,
        fix: `Create ${schema}.${table} or remove it from the source's tables.`,
      });
      continue;
    }
    if (t.has_pk !== "t" && t.relreplident !== "f" && t.relreplident !== "i") {
      problems.push({
        code: "no_primary_key",
        message: `table ${schema}.${table} has no primary key, so updates and deletes cannot be identified`,
        fix: `ALTER TABLE "${schema}"."${table}" ADD PRIMARY KEY (...); or ALTER TABLE "${schema}"."${table}" REPLICA IDENTITY FULL;`,
      });
    }
  }
  const slotName = def.slot ?? defaultSlotName(def.name);
  const slots = await client.query<{
    slot_name: string;
    active: string;
    plugin: string | null;
    database: string | null;
  }>("SELECT slot_name, active, plugin, database FROM pg_replication_slots");
  const mine = slots.rows.find((s) => s.slot_name === slotName);
  const db = await client.query<{ db: string }>("SELECT current_database() AS db");
  if (mine) {
    if (mine.plugin !== "pgoutput" || mine.database !== db.rows[0]?.db) {
      problems.push({
        code: "slot_foreign",
        message: `replication slot ${slotName} exists for plugin ${mine.plugin} on database ${mine.database}`,
        fix: `Choose another slot name, or SELECT pg_drop_replication_slot('${slotName}'); if it is unused.`,
      });
    } else if (mine.active === "t") {
      problems.push({
        code: "slot_in_use",
        message: `replication slot ${slotName} is in use by another process`,
        fix: "Stop the other connector of this source, or give this one another slot name.",
        // A killed predecessor's walsender lingers until the server notices: retried, not given up.
        transient: true,
      });
    }
  } else {
    const max = await client.query<{ max: string }>("SELECT current_setting('max_replication_slots') AS max");
    if (slots.rows.length >= Number(max.rows[0]?.max ?? 0)) {
      problems.push({
        code: "no_free_slot",
        message: `all ${max.rows[0]?.max} replication slots are taken`,
        fix: "Drop an unused slot (SELECT pg_drop_replication_slot(name)) or raise max_replication_slots and restart.",
      });
    }
  }
  return problems;
}
