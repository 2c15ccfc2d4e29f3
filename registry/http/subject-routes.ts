// Owns the /subjects routes: list, lookup, versions, register, delete, referencedby.
import type { FastifyInstance } from "fastify";
import type { RegistryBackend } from "../backend.ts";
import { flag } from "../ops/common.ts";
import * as reads from "../ops/reads.ts";
import * as writes from "../ops/writes.ts";
import { versionResponse } from "./response-schemas.ts";
import { sendWrite, type Query } from "./write-route.ts";

type P = { subject: string; version: string };

export function subjectRoutes(app: FastifyInstance, backend: RegistryBackend): void {
  app.get<{ Querystring: Query }>("/subjects", (req) =>
    reads.listSubjects(backend.state, flag(req.query.deleted), req.query.subjectPrefix),
  );
  app.post<{ Params: P; Querystring: Query }>("/subjects/:subject", (req) =>
    reads.lookupSchema(
      backend.state,
      req.params.subject,
      req.body,
      flag(req.query.deleted),
      flag(req.query.normalize),
    ),
  );
  app.delete<{ Params: P; Querystring: Query }>("/subjects/:subject", (req, reply) =>
    sendWrite(backend, req, reply, (s) =>
      writes.deleteSubject(s, req.params.subject, flag(req.query.permanent)),
    ),
  );
  app.get<{ Params: P; Querystring: Query }>("/subjects/:subject/versions", (req) =>
    reads.listVersions(backend.state, req.params.subject, flag(req.query.deleted)),
  );
  app.post<{ Params: P; Querystring: Query }>("/subjects/:subject/versions", (req, reply) =>
    sendWrite(
      backend,
      req,
      reply,
      (s) => writes.register(s, req.params.subject, req.body, flag(req.query.normalize)),
      (r) => ({ id: r.id }),
    ),
  );
  app.get<{ Params: P; Querystring: Query }>(
    "/subjects/:subject/versions/:version",
    { schema: { response: versionResponse } },
    (req) => {
      const body = reads.getVersion(
        backend.state,
        req.params.subject,
        req.params.version,
        flag(req.query.deleted),
      );
      // `format=serialized`: a Protobuf schema as base64 of its FileDescriptorProto (what serdes parse).
      if (req.query.format)
        body.schema = reads.schemaText(backend.state, body.id as number, req.query.format);
      return body;
    },
  );
  app.get<{ Params: P; Querystring: Query }>("/subjects/:subject/versions/:version/schema", (req, reply) => {
    const v = reads.getVersion(
      backend.state,
      req.params.subject,
      req.params.version,
      flag(req.query.deleted),
    );
    return reply.type("application/vnd.schemaregistry.v1+json").send(v.schema);
  });
  app.get<{ Params: P }>("/subjects/:subject/versions/:version/referencedby", (req) =>
    reads.referencedBy(backend.state, req.params.subject, req.params.version),
  );
  app.delete<{ Params: P; Querystring: Query }>("/subjects/:subject/versions/:version", (req, reply) =>
    sendWrite(backend, req, reply, (s) =>
      writes.deleteVersion(s, req.params.subject, req.params.version, flag(req.query.permanent)),
    ),
  );
}
