// Owns the /schemas and /compatibility routes.
import type { FastifyInstance } from "fastify";
import type { RegistryBackend } from "../backend.ts";
import type { StoredSchema } from "../store/state.ts";
import { RegistryError } from "../errors.ts";
import { flag } from "../ops/common.ts";
import * as reads from "../ops/reads.ts";
import { schemaByIdResponse } from "./response-schemas.ts";
import type { Query } from "./write-route.ts";

type P = { id: string; subject: string; version: string };

/**
 * The id path parameter as JAX-RS converts it to Confluent's `Integer id`: an int32 (sign allowed) is looked
 * up (40403 when absent); anything else fails the conversion, which Jersey answers with its plain 404.
 */
function parseId(v: string): number {
  const n = Number(v);
  if (!/^[+-]?[0-9]+$/.test(v) || n < -(2 ** 31) || n > 2 ** 31 - 1) {
    throw new RegistryError("ROUTE_NOT_FOUND", "HTTP 404 Not Found");
  }
  return n;
}

/**
 * The plain answer of `GET /schemas/ids/{id}` (no query), serialized once per stored schema: an id's text
 * never changes, and building the object and escaping the schema's JSON on every lookup was most of what a
 * lookup costs above the server's trivial route. Schemas with references take the serializer's path.
 */
const plainBodies = new WeakMap<StoredSchema, string>();

function plainBody(s: StoredSchema): string {
  let body = plainBodies.get(s);
  if (body === undefined) {
    body = JSON.stringify(
      s.schemaType === "AVRO" ? { schema: s.schema } : { schema: s.schema, schemaType: s.schemaType },
    );
    plainBodies.set(s, body);
  }
  return body;
}

export function schemaRoutes(app: FastifyInstance, backend: RegistryBackend): void {
  // Confluent lists its providers in this order.
  app.get("/schemas/types", () => ["JSON", "PROTOBUF", "AVRO"]);
  app.get<{ Querystring: Query }>("/schemas", (req) =>
    reads.listSchemas(
      backend.state,
      req.query.subjectPrefix,
      flag(req.query.deleted),
      flag(req.query.latestOnly),
    ),
  );
  app.get<{ Params: P; Querystring: Query }>(
    "/schemas/ids/:id",
    { schema: { response: schemaByIdResponse } },
    (req, reply) => {
      const id = parseId(req.params.id);
      const q = req.query;
      if (q.fetchMaxId === undefined && q.format === undefined) {
        const s = reads.schemaById(backend.state, id);
        // A string answer is sent as it is (the content type was negotiated on the request).
        if (s.references.length === 0) return reply.send(plainBody(s));
      }
      const body = reads.getSchemaById(backend.state, id);
      if (flag(req.query.fetchMaxId)) body.maxId = backend.state.maxId;
      if (req.query.format) body.schema = reads.schemaText(backend.state, id, req.query.format);
      return body;
    },
  );
  app.get<{ Params: P }>("/schemas/ids/:id/schema", (req, reply) => {
    const s = reads.schemaById(backend.state, parseId(req.params.id));
    return reply.type("application/vnd.schemaregistry.v1+json").send(s.schema);
  });
  app.get<{ Params: P; Querystring: Query }>("/schemas/ids/:id/subjects", (req) => [
    ...new Set(
      reads.idUses(backend.state, parseId(req.params.id), flag(req.query.deleted)).map((v) => v.subject),
    ),
  ]);
  app.get<{ Params: P; Querystring: Query }>("/schemas/ids/:id/versions", (req) =>
    reads
      .idUses(backend.state, parseId(req.params.id), flag(req.query.deleted))
      .map((v) => ({ subject: v.subject, version: v.version })),
  );
  app.post<{ Params: P; Querystring: Query }>("/compatibility/subjects/:subject/versions/:version", (req) =>
    reads.testCompatibility(
      backend.state,
      req.params.subject,
      req.params.version,
      req.body,
      flag(req.query.verbose),
    ),
  );
  app.post<{ Params: P; Querystring: Query }>("/compatibility/subjects/:subject/versions", (req) =>
    reads.testCompatibility(backend.state, req.params.subject, undefined, req.body, flag(req.query.verbose)),
  );
}
