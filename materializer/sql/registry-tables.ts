// The SQL catalog a view compiles against: one table per topic with both a `-key` and a `-value` subject in
// the schema registry (docs/contracts.md: `<topic>-key`, `<topic>-value`), from their latest schemas.
import type { RegistryClient } from "../../lib/registry-client.ts";
import { keySubject, parseSubject, parseTableTopic } from "../../protocol/topics.ts";
import { tableInfoFromSchemas, type AvroSchemaJson, type TableInfo } from "./catalog.ts";

export async function registryTables(
  registry: Pick<RegistryClient, "subjects" | "latest">,
): Promise<TableInfo[]> {
  const subjects = new Set(await registry.subjects());
  const out: TableInfo[] = [];
  for (const s of subjects) {
    const subject = parseSubject(s);
    if (subject?.part !== "value") continue;
    const { topic } = subject;
    if (!subjects.has(keySubject(topic)) || !parseTableTopic(topic)) continue;
    const [key, value] = await Promise.all([registry.latest(keySubject(topic)), registry.latest(s)]);
    if (!key || !value) continue;
    const info = tableInfoFromSchemas(topic, key.schema as AvroSchemaJson, value.schema as AvroSchemaJson);
    if (info.columns.length > 0) out.push(info);
  }
  return out;
}
