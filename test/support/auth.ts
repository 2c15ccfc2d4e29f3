// What tests need to pass datamesh's auth: the admin token every test server and role is started with,
// headers carrying it, an Authenticator for servers built in the test process (inject() tests), and ways to
// mint service tokens: straight into a TokenTable (unit tests), or through POST /v1/tokens (socket tests).
import {
  bearer,
  internalCredential,
  newServiceToken,
  TokenAuthenticator,
  TokenTable,
} from "../../lib/http/auth-tokens.ts";
import type { FastifyInstance, InjectOptions } from "fastify";
import type { Scope } from "../../lib/http/auth.ts";

/** The admin token of every server and role a test starts (MESH_ADMIN_TOKEN). Not a real secret. */
export const TEST_ADMIN_TOKEN = "mesh_admin_test-only-admin-token-0123456789";

/** The environment a spawned role or CLI needs: the admin token for roles, MESH_TOKEN for the CLI. */
export const TEST_AUTH_ENV: Record<string, string> = {
  MESH_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
  MESH_TOKEN: TEST_ADMIN_TOKEN,
};

/** `Authorization` with the admin token (or `token`), to spread into a request's headers. */
export function authHeaders(token: string = TEST_ADMIN_TOKEN): { authorization: string } {
  return { authorization: bearer(token) };
}

/** `Authorization: Basic` with the token as the password, as Confluent registry clients send it. */
export function basicAuthHeaders(token: string = TEST_ADMIN_TOKEN, user = "any"): { authorization: string } {
  return { authorization: `Basic ${Buffer.from(`${user}:${token}`).toString("base64")}` };
}

/** An internal credential (another datamesh process's) under the test admin token. */
export function testInternalCredential(role = "test"): string {
  return internalCredential(TEST_ADMIN_TOKEN, role);
}

/** The Authenticator for servers built in the test process; its table takes minted service tokens. */
export function testAuthenticator(now?: () => number): TokenAuthenticator {
  return new TokenAuthenticator({
    adminToken: TEST_ADMIN_TOKEN,
    tokens: new TokenTable(),
    ...(now ? { now } : {}),
  });
}

export interface MintOptions {
  service: string;
  scopes: readonly Scope[];
  expiresAt?: string | null;
  revokedAt?: string | null;
}

/** Puts a new service token into `table` (as the catalog would) and returns the token and its id. */
export function mintServiceToken(table: TokenTable, options: MintOptions): { id: string; token: string } {
  const minted = newServiceToken();
  table.apply(minted.id, {
    id: minted.id,
    service: options.service,
    scopes: [...options.scopes],
    secretSha256: minted.secretSha256,
    createdAt: new Date().toISOString(),
    expiresAt: options.expiresAt ?? null,
    revokedAt: options.revokedAt ?? null,
  });
  return { id: minted.id, token: minted.token };
}

/** Creates a service token through a running API's POST /v1/tokens (admin token); returns the token. */
export async function createServiceToken(
  apiUrl: string,
  options: { service: string; scopes: readonly Scope[]; expiresAt?: string },
): Promise<{ id: string; token: string }> {
  const res = await fetch(`${apiUrl}/v1/tokens`, {
    method: "POST",
    headers: { ...authHeaders(), "content-type": "application/json" },
    body: JSON.stringify(options),
  });
  const body = (await res.json()) as { id?: string; token?: string };
  if (res.status !== 201 || !body.id || !body.token)
    throw new Error(`POST /v1/tokens answered ${res.status}: ${JSON.stringify(body)}`);
  return { id: body.id, token: body.token };
}

/**
 * Makes `app.inject(...)` send `Authorization: Bearer <token>` (the admin token by default) unless the call
 * gives its own `authorization` header (`authorization: undefined` sends none: the no-token case). Returns
 * `app`, for `app = withToken(await buildApi(ctx, { auth }))`.
 */
export function withToken<T extends FastifyInstance>(app: T, token: string = TEST_ADMIN_TOKEN): T {
  const inject = app.inject.bind(app) as unknown as (options: InjectOptions) => Promise<unknown>;
  const authorized = (options: InjectOptions | string): Promise<unknown> => {
    const o: InjectOptions = typeof options === "string" ? { url: options } : options;
    const headers = { ...(o.headers ?? {}) } as Record<string, string | undefined>;
    if (!Object.keys(headers).some((h) => h.toLowerCase() === "authorization"))
      headers.authorization = bearer(token);
    else if (headers.authorization === undefined) delete headers.authorization;
    return inject({ ...o, headers });
  };
  (app as { inject: unknown }).inject = authorized;
  return app;
}
