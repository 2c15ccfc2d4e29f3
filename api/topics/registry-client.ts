// The few Confluent Schema Registry calls the API makes: a schema by id (to decode events; ids never
// change meaning, so they are cached for the life of the process) and a subject's latest version.
import type avro from "avsc";
import { avroType } from "../../lib/avro.ts";
import { MeshError } from "../../lib/errors.ts";

export class RegistryClient {
  readonly url: string;
  readonly #timeoutMs: number;
  readonly #types = new Map<number, Promise<avro.Type>>();

  constructor(url: string, options: { timeoutMs?: number } = {}) {
    this.url = url.replace(/\/+$/, "");
    this.#timeoutMs = options.timeoutMs ?? 5_000;
  }

  /** The codec for a wire schema id (lib/avro.ts, so longs are bigints and logical types exact strings). */
  typeForId(id: number): Promise<avro.Type> {
    let type = this.#types.get(id);
    if (!type) {
      type = this.#get(`/schemas/ids/${id}`).then((body) => {
        if (!body)
          throw new MeshError("MESH_NOT_FOUND", `schema id ${id} is not in the registry`, { schemaId: id });
        return avroType((body as { schema: string }).schema);
      });
      type.catch(() => this.#types.delete(id));
      this.#types.set(id, type);
    }
    return type;
  }

  /** Latest version number of a subject, or null when the subject has no schema yet. */
  async latestVersion(subject: string): Promise<number | null> {
    const body = await this.#get(`/subjects/${encodeURIComponent(subject)}/versions/latest`);
    return body ? (body as { version: number }).version : null;
  }

  async ping(): Promise<void> {
    await this.#get("/subjects");
  }

  async #get(path: string): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${this.url}${path}`, { signal: AbortSignal.timeout(this.#timeoutMs) });
    } catch (err) {
      throw new MeshError(
        "MESH_REGISTRY_UNAVAILABLE",
        `the schema registry at ${this.url} did not answer: ${(err as Error).message}`,
        {
          registry: this.url,
        },
      );
    }
    if (res.status === 404) return null;
    if (!res.ok) {
      throw new MeshError(
        "MESH_REGISTRY_UNAVAILABLE",
        `the schema registry answered ${res.status} to GET ${path}`,
        {
          registry: this.url,
          status: res.status,
        },
      );
    }
    return res.json();
  }
}
