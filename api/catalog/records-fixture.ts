// Builders of catalog records for tests (not a test file itself, so tests may import it).
import { randomUUID } from "node:crypto";
import type { SourceRecord, ViewRecord } from "../../protocol/catalog.ts";

export function sourceRecord(name: string, owner: string, tables: string[], db = name): SourceRecord {
  const now = new Date().toISOString();
  return {
    type: "source",
    id: randomUUID(),
    name,
    owner,
    kind: "postgres",
    url: `postgres://u:secret@127.0.0.1:5432/${db}`,
    tables,
    tableIds: tables.map((t) => `postgres://127.0.0.1:5432/${db}/${t}`),
    snapshot: "initial",
    partitions: 3,
    paused: false,
    createdAt: now,
    updatedAt: now,
  };
}

export function viewRecord(name: string, sql = `CREATE VIEW ${name} AS SELECT * FROM t`): ViewRecord {
  return { type: "view", id: randomUUID(), name, sql, createdAt: new Date().toISOString() };
}
