// Owns answering a write: run it through the backend (here or on the leader) and send the outcome.
import type { FastifyReply, FastifyRequest } from "fastify";
import type { RegistryBackend } from "../backend.ts";
import { FORWARDED_HEADER, OFFSET_HEADER } from "../cluster/forward.ts";
import type { Write } from "../ops/writes.ts";
import type { RegistryState } from "../store/state.ts";

export async function sendWrite<T>(
  backend: RegistryBackend,
  req: FastifyRequest,
  reply: FastifyReply,
  op: (state: RegistryState) => Write<T>,
  shape: (result: T) => unknown = (r) => r,
): Promise<FastifyReply> {
  const out = await backend.write(
    { method: req.method, url: req.url, body: req.body, forwarded: req.headers[FORWARDED_HEADER] === "1" },
    op,
  );
  if (out.local) {
    if (out.offset >= 0) reply.header(OFFSET_HEADER, String(out.offset));
    return reply.send(shape(out.result));
  }
  return reply.code(out.status).send(out.body);
}

export type Query = Record<string, string | undefined>;
