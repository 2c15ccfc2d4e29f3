// POST /v1/tokens/{id}/kafka-credentials: the SCRAM login of the token's service's Kafka principal
// (`svc-<service>`), made or re-keyed now and shown only in this answer. Its ACLs are the policies' (READ on
// the service's own topics and on those granted in full: api/governance/kafka-acls.ts); a masked grant reads
// through SSE instead. The admin, or the token itself, asks.
import { randomBytes } from "node:crypto";
import type { FastifyInstance } from "fastify";
import { MeshError } from "../../../lib/errors.ts";
import { principalOf } from "../../../lib/http/auth.ts";
import { errorResponses } from "../../../lib/http/error-responses.ts";
import { notFound } from "../../../lib/http/errors.ts";
import type { KafkaAclAccess, KafkaAclReconciler } from "../../governance/kafka-acls.ts";
import { kafkaUser } from "../../governance/kafka-grants.ts";
import type { ApiContext } from "../context.ts";

/** What the API needs to hand out Kafka logins. */
export interface KafkaLogins {
  access: KafkaAclAccess;
  reconciler: KafkaAclReconciler;
  /** What a client puts in bootstrap.servers. */
  bootstrapServers: string;
  mechanism: "SCRAM-SHA-256" | "SCRAM-SHA-512";
  /** SASL_PLAINTEXT on the local stack; SASL_SSL behind TLS. */
  securityProtocol: "SASL_PLAINTEXT" | "SASL_SSL";
}

export const kafkaCredentialsSchema = {
  $id: "KafkaCredentials",
  type: "object",
  required: [
    "user",
    "password",
    "mechanism",
    "securityProtocol",
    "bootstrapServers",
    "groupPrefix",
    "topics",
  ],
  properties: {
    user: { type: "string", description: "the SCRAM user name: svc-<service>" },
    password: { type: "string", description: "shown only in this answer; asking again sets a new one" },
    mechanism: { type: "string", enum: ["SCRAM-SHA-256", "SCRAM-SHA-512"] },
    securityProtocol: { type: "string", enum: ["SASL_PLAINTEXT", "SASL_SSL"] },
    bootstrapServers: { type: "string" },
    groupPrefix: { type: "string", description: "consumer groups must be named <groupPrefix><anything>" },
    topics: {
      type: "array",
      items: { type: "string" },
      description: "the topics the principal reads now (its own, and those granted in full)",
    },
  },
} as const;

export function kafkaCredentialRoutes(app: FastifyInstance, ctx: ApiContext, logins: KafkaLogins): void {
  app.post<{ Params: { id: string } }>(
    "/v1/tokens/:id/kafka-credentials",
    {
      schema: {
        tags: ["tokens"],
        operationId: "createKafkaCredentials",
        summary:
          "The Kafka (SASL/SCRAM) login of the token's service: made or re-keyed now, the password shown only in this answer",
        description:
          "The admin, or the token itself, asks. The principal reads exactly its service's own topics and the " +
          "topics granted to it in full (a policy without masks); a masked grant gives no Kafka access (read " +
          "it through GET /v1/topics/{topic}/events). Asking again replaces the password.",
        params: {
          type: "object",
          required: ["id"],
          additionalProperties: false,
          properties: { id: { type: "string", pattern: "^[0-9a-f]{16}$", description: "the token's id" } },
        },
        response: {
          201: { $ref: "KafkaCredentials#" },
          ...errorResponses("MESH_FORBIDDEN", "MESH_NOT_FOUND", "MESH_CONFLICT"),
        },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const id = request.params.id;
      if (!(principal.admin || principal.internal || principal.id === id))
        throw new MeshError(
          "MESH_FORBIDDEN",
          "only the admin, or the token itself, asks for a token's Kafka credentials",
          { scope: "admin", service: principal.service },
        );
      const token = ctx.catalog.token(id);
      if (!token) throw notFound("token", id);
      if (token.revokedAt !== null || (token.expiresAt !== null && Date.parse(token.expiresAt) <= Date.now()))
        throw new MeshError(
          "MESH_CONFLICT",
          `token ${id} is revoked or expired; create another (POST /v1/tokens) and ask for its credentials`,
          { token: id },
        );
      const user = kafkaUser(token.service);
      const password = randomBytes(24).toString("base64url");
      // The ACLs first, so the login works for what it may read from its first connection.
      await logins.reconciler.settled();
      await logins.access.ensureUser(user, password);
      const topics = logins.reconciler.desired().get(token.service) ?? [];
      return reply.status(201).send({
        user,
        password,
        mechanism: logins.mechanism,
        securityProtocol: logins.securityProtocol,
        bootstrapServers: logins.bootstrapServers,
        groupPrefix: `${user}.`,
        topics,
      });
    },
  );
}
