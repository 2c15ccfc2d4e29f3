// Owns /config and /mode, global and per subject. GET answers `compatibilityLevel`, PUT takes `compatibility`
// (Confluent's asymmetry, kept because clients depend on it).
import type { FastifyInstance } from "fastify";
import type { RegistryBackend } from "../backend.ts";
import { RegistryError } from "../errors.ts";
import { effectiveLevel, effectiveMode, flag } from "../ops/common.ts";
import * as writes from "../ops/writes.ts";
import { sendWrite, type Query } from "./write-route.ts";

type P = { subject: string };

export function configRoutes(app: FastifyInstance, backend: RegistryBackend): void {
  app.get("/config", () => ({ compatibilityLevel: effectiveLevel(backend.state, null) }));
  app.put("/config", (req, reply) =>
    sendWrite(backend, req, reply, (s) => writes.putConfig(s, null, req.body)),
  );
  app.delete("/config", (req, reply) => sendWrite(backend, req, reply, (s) => writes.deleteConfig(s, null)));
  app.get<{ Params: P; Querystring: Query }>("/config/:subject", (req) => {
    const own = backend.state.configs.get(req.params.subject);
    if (own) return { compatibilityLevel: own };
    if (flag(req.query.defaultToGlobal)) return { compatibilityLevel: effectiveLevel(backend.state, null) };
    throw new RegistryError(
      "SUBJECT_COMPATIBILITY_NOT_CONFIGURED",
      `Subject '${req.params.subject}' does not have subject-level compatibility configured`,
    );
  });
  app.put<{ Params: P }>("/config/:subject", (req, reply) =>
    sendWrite(backend, req, reply, (s) => writes.putConfig(s, req.params.subject, req.body)),
  );
  app.delete<{ Params: P }>("/config/:subject", (req, reply) =>
    sendWrite(backend, req, reply, (s) => writes.deleteConfig(s, req.params.subject)),
  );

  app.get("/mode", () => ({ mode: effectiveMode(backend.state, null) }));
  app.put<{ Querystring: Query }>("/mode", (req, reply) =>
    sendWrite(backend, req, reply, (s) => writes.putMode(s, null, req.body, flag(req.query.force))),
  );
  app.get<{ Params: P; Querystring: Query }>("/mode/:subject", (req) => {
    const own = backend.state.modes.get(req.params.subject);
    if (own) return { mode: own };
    if (flag(req.query.defaultToGlobal)) return { mode: effectiveMode(backend.state, null) };
    throw new RegistryError(
      "SUBJECT_MODE_NOT_CONFIGURED",
      `Subject '${req.params.subject}' does not have subject-level mode configured`,
    );
  });
  app.put<{ Params: P; Querystring: Query }>("/mode/:subject", (req, reply) =>
    sendWrite(backend, req, reply, (s) =>
      writes.putMode(s, req.params.subject, req.body, flag(req.query.force)),
    ),
  );
  app.delete<{ Params: P }>("/mode/:subject", (req, reply) =>
    sendWrite(backend, req, reply, (s) => writes.deleteMode(s, req.params.subject)),
  );
}
