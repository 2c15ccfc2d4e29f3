// The materializer's view of the schema registry (Confluent REST API over HTTP): writer schemas by id,
// cached for the process lifetime (an id never changes meaning), and latest key/value schemas per topic
// for the SQL catalog. `fetch` is passed in so tests can count requests.
import type avro from "avsc";
import { avroType } from "../../lib/avro.ts";
import { MeshError } from "../../lib/errors.ts";
import { tableInfoFromSchemas, type AvroSchemaJson, type TableInfo } from "../sql/catalog.ts";

export interface RegistryClientOptions {
  url: string;
  fetch?: typeof fetch;
}

export class RegistryClient {
  private readonly url: string;
  private readonly fetchFn: typeof fetch;
  private readonly byId = new Map<number, Promise<avro.Type>>();
  /** HTTP requests made (tests check the cache). */
  requests = 0;

  constructor(options: RegistryClientOptions) {
    this.url = options.url.replace(/\/$/, "");
    this.fetchFn = options.fetch ?? fetch;
  }

  private async get<T>(path: string): Promise<T | null> {
    this.requests++;
    let res: Response;
    try {
      res = await this.fetchFn(`${this.url}${path}`, {
        headers: { accept: "application/vnd.schemaregistry.v1+json" },
      });
    } catch (err) {
      throw new MeshError(
        "MESH_REGISTRY_UNAVAILABLE",
        `the schema registry did not answer GET ${path}`,
        { path },
        { cause: err },
      );
    }
    if (res.status === 404) return null;
    if (!res.ok)
      throw new MeshError(
        "MESH_REGISTRY_UNAVAILABLE",
        `the schema registry answered ${res.status} to GET ${path}`,
        { path, status: res.status },
      );
    return (await res.json()) as T;
  }

  /** The codec of a writer schema id (`GET /schemas/ids/{id}`), built with lib/avro.ts; cached. */
  typeById(id: number): Promise<avro.Type> {
    let p = this.byId.get(id);
    if (!p) {
      p = this.get<{ schema: string }>(`/schemas/ids/${id}`).then((body) => {
        if (!body) throw new MeshError("MESH_NOT_FOUND", `schema id ${id} is not in the registry`, { id });
        return avroType(body.schema);
      });
      // A failed lookup (registry down, unknown id) is retried next time rather than cached.
      p.catch(() => this.byId.delete(id));
      this.byId.set(id, p);
    }
    return p;
  }

  async subjects(): Promise<string[]> {
    return (await this.get<string[]>("/subjects")) ?? [];
  }

  async latest(subject: string): Promise<AvroSchemaJson | null> {
    const body = await this.get<{ schema: string }>(
      `/subjects/${encodeURIComponent(subject)}/versions/latest`,
    );
    return body ? (JSON.parse(body.schema) as AvroSchemaJson) : null;
  }

  /** Table infos of every topic that has both a `-key` and a `-value` subject (the SQL catalog). */
  async tables(): Promise<TableInfo[]> {
    const subjects = new Set(await this.subjects());
    const out: TableInfo[] = [];
    for (const s of subjects) {
      if (!s.endsWith("-value")) continue;
      const topic = s.slice(0, -"-value".length);
      if (!subjects.has(`${topic}-key`) || topic.split(".").length < 3) continue;
      const [key, value] = await Promise.all([this.latest(`${topic}-key`), this.latest(s)]);
      if (!key || !value) continue;
      const info = tableInfoFromSchemas(topic, key, value);
      if (info.columns.length > 0) out.push(info);
    }
    return out;
  }
}
