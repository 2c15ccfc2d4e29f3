// The HTTP API as a fastify instance (not listening: main() listens, tests use inject()), made by lib/http
// (request ids, request log, the MESH error shape, 405 for methods a path does not take). Every route has JSON
// schemas, and they are both what the server validates with and what the OpenAPI document (/docs/json) is
// generated from: unknown fields are refused (ajv removeAdditional off, strict-input.ts), bodies are never
// coerced, query parameters, path parameters and headers are (they arrive as text: `limit=5` is the integer 5).
import type { FastifyInstance } from "fastify";
import { AjvCompiler } from "@fastify/ajv-compiler";
import swagger, { type SwaggerTransformObject } from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { Authenticator } from "../../lib/http/auth.ts";
import { errorSchema } from "../../lib/http/errors.ts";
import { indexPageSchema } from "../../lib/http/index-page.ts";
import { answerLocally } from "../../lib/http/member-answers.ts";
import { createServer } from "../../lib/http/server.ts";
import { streamErrorSchema } from "../../lib/http/sse.ts";
import type { Logger } from "../../lib/logger.ts";
import type { ApiContext } from "./context.ts";
import { completeOpenApi } from "./openapi.ts";
import { ReaderBoard } from "../lineage/readers.ts";
import { Access } from "../governance/access.ts";
import { auditRoutes, auditSchemas } from "./routes/audit.ts";
import { CONSOLE_PATH, consoleRoutes } from "./routes/console.ts";
import { eventRoutes, eventSchemas } from "./routes/events.ts";
import { healthRoutes } from "./routes/health.ts";
import { policyRoutes, policySchema } from "./routes/policies.ts";
import { kafkaCredentialRoutes, kafkaCredentialsSchema } from "./routes/kafka-credentials.ts";
import { homeRoutes } from "./routes/home.ts";
import { observeRoutes, observeSchemas } from "./routes/observe.ts";
import { sourceRoutes } from "./routes/sources.ts";
import { tokenRoutes, tokenSchemas } from "./routes/tokens.ts";
import { topicChangeSchema, topicRoutes, topicSchema } from "./routes/topics.ts";
import { viewRoutes } from "./routes/views.ts";
import { sourceSchemas } from "./source-shape.ts";
import { registerRateLimits, type RateLimits } from "./rate-limits.ts";
import { refuseUndeclaredInput } from "./strict-input.ts";
import { withViewKeys } from "./view-keys.ts";
import { viewSchemas } from "./view-shape.ts";

const ajvOptions = { removeAdditional: false, coerceTypes: false, allErrors: true, verbose: true } as const;
const ajvPool = AjvCompiler();

/** Bodies are JSON, validated as sent; the other parts are text, coerced to their schema's types. */
const buildValidator: typeof ajvPool = (externalSchemas, options) => {
  const withOptions = (custom: object): typeof options =>
    ({ ...options, customOptions: { ...ajvOptions, ...custom } }) as typeof options;
  // Defaults of a body are the handler's (a default inside oneOf is ignored by ajv, so none is applied).
  const strict = ajvPool(externalSchemas, withOptions({ useDefaults: false }));
  const coercing = ajvPool(externalSchemas, withOptions({ coerceTypes: true }));
  return (route) => (route.httpPart === "body" ? strict(route) : coercing(route));
};

export interface BuildApiOptions {
  logger?: Logger;
  /** Who a token is (lib/http/auth-tokens.ts; the API's table follows the catalog: routes/tokens.ts). */
  auth: Authenticator;
  /** Per-token limits of the query and stream routes (rate-limits.ts); none without. */
  rateLimits?: RateLimits;
}

export async function buildApi(ctx: ApiContext, options: BuildApiOptions): Promise<FastifyInstance> {
  const app = createServer({
    ...(options.logger ? { logger: options.logger } : {}),
    // GETs need the `read` scope, changes `write` (lib/http/auth.ts); routes ask for more (admin, owner).
    auth: options.auth,
    methodScopes: true,
    // The console's page and assets hold no data: they load without a token, then ask for one.
    openPaths: [CONSOLE_PATH, `${CONSOLE_PATH}/`],
    name: "api",
    // Every change (POST/PUT/PATCH/DELETE) and every denial is written to _mesh_audit (lib/http/audit.ts).
    ...(ctx.audit ? { audit: { sink: ctx.audit.sink, changes: true } } : {}),
    fastify: {
      // Default coercion would turn an unknown field into a silent no-op: refuse it instead.
      ajv: { customOptions: ajvOptions },
      schemaController: { compilersFactory: { buildValidator } },
    },
  });
  // The API speaks JSON only; a text body is refused with "send JSON" rather than parsed as a string.
  app.removeContentTypeParser("text/plain");
  // Before swagger and the routes: the limited routes get their hook and their 429 as they are declared.
  if (options.rateLimits) await registerRateLimits(app, options.rateLimits);
  for (const schema of [
    errorSchema,
    streamErrorSchema,
    indexPageSchema,
    topicSchema,
    topicChangeSchema,
    policySchema,
    ...(ctx.kafkaLogins ? [kafkaCredentialsSchema] : []),
    ...sourceSchemas,
    ...tokenSchemas,
    ...viewSchemas,
    ...observeSchemas,
    ...(ctx.events ? eventSchemas : []),
    ...(ctx.audit ? auditSchemas : []),
  ])
    app.addSchema(schema);
  await app.register(swagger, {
    transformObject: (document) => completeOpenApi(document) as ReturnType<SwaggerTransformObject>,
    // Shared schemas are components named by their $id (Source, View, RowPage...): the names generated
    // clients give their types.
    refResolver: {
      buildLocalReference: (json, _baseUri, _fragment, i) =>
        typeof json.$id === "string" ? json.$id : `Schema${i}`,
    },
    openapi: {
      info: {
        title: "datamesh API",
        version: "0.1.0",
        description:
          "Register source databases, subscribe to their change topics, declare and query join views. Errors are `{code, message, details}` with a MESH_* code.",
      },
      tags: [
        { name: "sources", description: "source databases and table ownership" },
        { name: "topics", description: "change topics and their events" },
        { name: "events", description: "domain-event topics: event types, schemas, parked events" },
        { name: "views", description: "materialized join views" },
        { name: "health", description: "liveness, readiness, status" },
        { name: "tokens", description: "service tokens (admin only)" },
        { name: "lineage", description: "what feeds what, and where one source row is now" },
        { name: "index", description: "links to the API's parts" },
        { name: "policies", description: "who reads which topic and views, with which columns masked" },
        { name: "audit", description: "the audit log: every change and every refused request (admins only)" },
      ],
    },
  });
  await app.register(swaggerUi, {
    routePrefix: "/docs",
    // Each view known here gets its own row-by-key path, its key typed (view-keys.ts): served per request.
    transformSpecificationClone: true,
    transformSpecification: (document) =>
      withViewKeys(
        document as Parameters<typeof withViewKeys>[0],
        ctx.catalog.views().flatMap((v) => ctx.views.info(v.name) ?? []),
      ),
  });
  refuseUndeclaredInput(app);
  // Query strings use fastify's default parser: `total[gte]=1` stays the key "total[gte]".
  homeRoutes(app);
  healthRoutes(app, ctx);
  // One access decision for every data path (api/governance).
  ctx.access ??= new Access(ctx.catalog, null);
  sourceRoutes(app, ctx);
  tokenRoutes(app, ctx);
  topicRoutes(app, ctx);
  policyRoutes(app, ctx, ctx.access);
  const logins = ctx.kafkaLogins;
  if (logins) {
    // A policy's answer waits until Kafka's ACLs follow it.
    ctx.access.onGrantsChanged(() => logins.reconciler.settled());
    kafkaCredentialRoutes(app, ctx, logins);
  }
  if (ctx.events) eventRoutes(app, ctx.events, ctx.access);
  // Before the view routes: POST /v1/views/check is a path of its own, not a view named "check".
  const readers = ctx.readers ?? new ReaderBoard();
  readers.register(app);
  observeRoutes(app, ctx, readers);
  viewRoutes(app, ctx);
  if (ctx.audit) auditRoutes(app, ctx.audit.log);
  consoleRoutes(app);
  // An embedded engine in a split view's group answers the other members' forwarded queries.
  const local = ctx.localAnswers;
  if (local) answerLocally(app, () => local);
  return app;
}
