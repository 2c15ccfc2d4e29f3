// Owns the calls every role makes to a Confluent-compatible schema registry (ours, registry/, or Confluent's):
// registering a schema under a subject (a connector, before any event uses it), a writer schema by id (every
// reader of the wire format; an id never changes meaning, so codecs are cached for the life of the process),
// a subject's latest schema and version, the list of subjects, and a readiness ping. One client for the
// connectors, the materializer, the API and tests; its calls go through lib/http's internal client.
// Failures: MESH_REGISTRY_UNAVAILABLE when the registry does not answer or fails (retryable), a refusal by
// the subject's compatibility rule MESH_SCHEMA_INCOMPATIBLE, an unknown schema id MESH_NOT_FOUND.
import type avro from "avsc";
import { avroType } from "./avro.ts";
import { MeshError } from "./errors.ts";
import { HttpClient, PeerUnreachable } from "./http/client.ts";

export const REGISTRY_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";

export interface RegistryClientOptions {
  url: string;
  /** Tests fake the registry or count calls. */
  fetch?: typeof fetch;
  /** Per call (default 10 s). */
  timeoutMs?: number;
  /**
   * Sent as `Authorization: Bearer`: a datamesh process's internal credential (lib/http/auth-tokens.ts), or
   * a service token; our registry answers nothing without one.
   */
  token?: string;
}

/** A reference from one schema to another subject's version (`name`: how the schema names it). */
export interface SchemaReference {
  name: string;
  subject: string;
  version: number;
}

/** Any schema type as the registry serves it: AVRO, JSON or PROTOBUF text with its references. */
export interface SchemaText {
  id: number;
  schemaType: "AVRO" | "JSON" | "PROTOBUF";
  schema: string;
  references: SchemaReference[];
}

/** A schema the registry holds under `id`, with its codec (protocol/wire.ts RegisteredSchema). */
export interface RegisteredSchema {
  id: number;
  type: avro.Type;
}

export class RegistryClient {
  readonly url: string;
  readonly #http: HttpClient;
  readonly #byId = new Map<number, Promise<avro.Type>>();
  readonly #registered = new Map<string, RegisteredSchema>();
  /** HTTP calls made (tests check the caches). */
  requests = 0;

  constructor(options: RegistryClientOptions) {
    this.url = options.url.replace(/\/+$/, "");
    this.#http = new HttpClient({
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      headers: {
        accept: REGISTRY_CONTENT_TYPE,
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      },
    });
  }

  /** The codec of a writer schema id (`GET /schemas/ids/{id}`), built with lib/avro.ts; cached. */
  typeById(id: number): Promise<avro.Type> {
    let type = this.#byId.get(id);
    if (!type) {
      type = this.#get<{ schema: string }>(`/schemas/ids/${id}`).then((body) => {
        if (!body)
          throw new MeshError("MESH_NOT_FOUND", `schema id ${id} is not in the registry`, { schemaId: id });
        return avroType(body.schema);
      });
      // A failed lookup (registry down, unknown id) is retried next time rather than cached.
      type.catch(() => this.#byId.delete(id));
      this.#byId.set(id, type);
    }
    return type;
  }

  /**
   * Registers `schema` under `subject` (the same schema again gets the same id); cached, since a restarting
   * connector registers every table again.
   */
  async register(subject: string, schema: avro.Schema): Promise<RegisteredSchema> {
    const text = JSON.stringify(schema);
    const cacheKey = `${subject}\u0000${text}`;
    const hit = this.#registered.get(cacheKey);
    if (hit) return hit;
    const answer = await this.#call(`/subjects/${encodeURIComponent(subject)}/versions`, {
      method: "POST",
      body: { schema: text },
      headers: { "content-type": REGISTRY_CONTENT_TYPE },
    });
    const body = (answer.body ?? {}) as { id?: number; message?: string; error_code?: number };
    if (answer.status === 409) {
      throw new MeshError(
        "MESH_SCHEMA_INCOMPATIBLE",
        `the new schema of ${subject} is refused by the subject's compatibility rule: ${body.message ?? "incompatible"}; ` +
          "make the change compatible (e.g. add columns as nullable) or change the subject's compatibility, then restart the table",
        { subject, registry: body },
      );
    }
    if (answer.status >= 300 || typeof body.id !== "number") {
      throw new MeshError(
        answer.status >= 500 ? "MESH_REGISTRY_UNAVAILABLE" : "MESH_INTERNAL",
        `registering ${subject} failed with HTTP ${answer.status}: ${body.message ?? ""}`,
        { subject, registry: body },
      );
    }
    const registered = { id: body.id, type: avroType(schema) };
    this.#registered.set(cacheKey, registered);
    return registered;
  }

  async subjects(): Promise<string[]> {
    return (await this.#get<string[]>("/subjects")) ?? [];
  }

  /**
   * Registers a schema of any type with its references; the id. The subject's compatibility rule refusing it
   * is MESH_SCHEMA_INCOMPATIBLE, a schema the registry cannot parse (422) MESH_BAD_SCHEMA, with its message.
   */
  async registerSchema(
    subject: string,
    schema: { schemaType: SchemaText["schemaType"]; schema: string; references?: SchemaReference[] },
  ): Promise<number> {
    const answer = await this.#call(`/subjects/${encodeURIComponent(subject)}/versions`, {
      method: "POST",
      body: { schemaType: schema.schemaType, schema: schema.schema, references: schema.references ?? [] },
      headers: { "content-type": REGISTRY_CONTENT_TYPE },
    });
    const body = (answer.body ?? {}) as { id?: number; message?: string; error_code?: number };
    if (answer.status === 409)
      throw new MeshError(
        "MESH_SCHEMA_INCOMPATIBLE",
        `the schema is refused by ${subject}'s compatibility rule: ${body.message ?? "incompatible"}; make the change compatible (e.g. add fields with defaults)`,
        { subject, registry: body },
      );
    if (answer.status === 422 || answer.status === 400)
      throw new MeshError(
        "MESH_BAD_SCHEMA",
        `the registry refused the schema of ${subject}: ${body.message ?? ""}`,
        {
          subject,
          registry: body,
        },
      );
    if (answer.status >= 300 || typeof body.id !== "number")
      throw new MeshError(
        answer.status >= 500 ? "MESH_REGISTRY_UNAVAILABLE" : "MESH_INTERNAL",
        `registering ${subject} failed with HTTP ${answer.status}: ${body.message ?? ""}`,
        { subject, registry: body },
      );
    return body.id;
  }

  /** A subject's version (`latest`: the newest) with its type and references, or null when there is none. */
  async subjectVersion(
    subject: string,
    version: number | "latest",
  ): Promise<(SchemaText & { subject: string; version: number }) | null> {
    const body = await this.#get<{
      subject: string;
      version: number;
      id: number;
      schemaType?: SchemaText["schemaType"];
      schema: string;
      references?: SchemaReference[];
    }>(`/subjects/${encodeURIComponent(subject)}/versions/${version}`);
    if (!body) return null;
    return { ...body, schemaType: body.schemaType ?? "AVRO", references: body.references ?? [] };
  }

  /** The schema registered under `id` with its type and references, or null when there is none. */
  async schemaById(id: number): Promise<SchemaText | null> {
    const body = await this.#get<{
      schemaType?: SchemaText["schemaType"];
      schema: string;
      references?: SchemaReference[];
    }>(`/schemas/ids/${id}`);
    if (!body) return null;
    return {
      id,
      schema: body.schema,
      schemaType: body.schemaType ?? "AVRO",
      references: body.references ?? [],
    };
  }

  /** A subject's versions, oldest first (empty when the subject has none). */
  async versions(subject: string): Promise<number[]> {
    return (await this.#get<number[]>(`/subjects/${encodeURIComponent(subject)}/versions`)) ?? [];
  }

  /** A subject's latest version and schema (parsed), or null when the subject has none. */
  async latest(subject: string): Promise<{ version: number; schema: unknown } | null> {
    const body = await this.#get<{ version: number; schema: string }>(
      `/subjects/${encodeURIComponent(subject)}/versions/latest`,
    );
    return body ? { version: body.version, schema: JSON.parse(body.schema) as unknown } : null;
  }

  /** Latest version number of a subject, or null when the subject has no schema yet. */
  async latestVersion(subject: string): Promise<number | null> {
    return (await this.latest(subject))?.version ?? null;
  }

  /** Readiness: the registry answers. */
  async ping(): Promise<void> {
    await this.#get("/subjects");
  }

  /** GET: the body, or null on 404. */
  async #get<T>(path: string): Promise<T | null> {
    const answer = await this.#call(path, {});
    if (answer.status === 404) return null;
    if (answer.status >= 300)
      throw new MeshError(
        "MESH_REGISTRY_UNAVAILABLE",
        `the schema registry answered ${answer.status} to GET ${path}`,
        { registry: this.url, path, status: answer.status },
      );
    return answer.body as T;
  }

  async #call(
    path: string,
    options: Parameters<HttpClient["call"]>[1],
  ): Promise<{ status: number; body: unknown }> {
    this.requests++;
    try {
      return await this.#http.call(`${this.url}${path}`, options);
    } catch (err) {
      if (!(err instanceof PeerUnreachable)) throw err;
      throw new MeshError(
        "MESH_REGISTRY_UNAVAILABLE",
        `the schema registry at ${this.url} did not answer ${options?.method ?? "GET"} ${path}: ${err.message}`,
        { registry: this.url, path },
        { cause: err },
      );
    }
  }
}
