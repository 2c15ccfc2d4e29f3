// Owns what a token means. Three kinds: the admin token (MESH_ADMIN_TOKEN, or the one `mesh up` generates),
// internal credentials (one datamesh process calling another: `mesh_internal_<role>_<HMAC-SHA256 of the
// role under the admin token>`, so only a holder of the admin token can make one and nothing trusts a
// header), and service tokens `mesh_<id>_<secret>` whose records (`token/<id>` in the catalog,
// protocol/catalog.ts) keep the SHA-256 of the secret, never the secret. Every comparison of a secret is
// constant-time; expiry is read from the clock passed in. The TokenTable is fed the catalog's token records
// (by the API's catalog, or by auth-follower.ts in the other roles). Pure apart from node:crypto.
// Every request is authenticated (no principal is cached, so a revocation holds from its next request), and
// a check costs one one-shot SHA-256 of what was presented: the admin token's digest and each role's internal
// MAC digest are computed once, not per request (two createHash objects per request were the largest cost of
// a registry lookup: registry/README.md, Speed).
import { createHmac, hash, randomBytes } from "node:crypto";
import type { Authenticator, Principal } from "./auth.ts";
import { SCOPES } from "./auth.ts";

/** A service token as the catalog keeps it (the fields the table needs; protocol's TokenRecord has them). */
export interface StoredToken {
  id: string;
  service: string;
  scopes: readonly string[];
  /** Hex SHA-256 of the secret part. */
  secretSha256: string;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
}

/** A stored token read from the catalog topic (any JSON), or null when it is not one for `id`. */
export function readStoredToken(id: string, value: unknown): StoredToken | null {
  const v = value as Partial<StoredToken> & { type?: unknown };
  if (!v || v.type !== "token" || v.id !== id) return null;
  if (typeof v.service !== "string" || typeof v.secretSha256 !== "string" || !Array.isArray(v.scopes))
    return null;
  return {
    id,
    service: v.service,
    scopes: v.scopes.filter((s): s is string => typeof s === "string"),
    secretSha256: v.secretSha256,
    createdAt: typeof v.createdAt === "string" ? v.createdAt : "",
    expiresAt: typeof v.expiresAt === "string" ? v.expiresAt : null,
    revokedAt: typeof v.revokedAt === "string" ? v.revokedAt : null,
  };
}

/** The catalog key prefix of token records (`token/<id>`). */
export const TOKEN_KEY_PREFIX = "token/";

const SERVICE_PREFIX = "mesh_";
const INTERNAL_PREFIX = "mesh_internal_";
/** Ids are 16 hex digits: never `admin` or `internal`, and never holding the `_` that ends them. */
const ID_PATTERN = /^[0-9a-f]{16}$/;
/** What an unknown token id's secret is compared with (so the comparison takes its usual time). */
const NO_DIGEST = "0".repeat(64);
/** How many roles' internal MAC digests an authenticator keeps (datamesh has a handful of roles). */
const MAX_REMEMBERED_ROLES = 64;
/** Shorter admin tokens are refused at start: they could be guessed. */
export const MIN_ADMIN_TOKEN_LENGTH = 16;

export function sha256Hex(text: string): string {
  return hash("sha256", text, "hex");
}

/**
 * Equal SHA-256 digests (64 hex digits), compared without an early exit. Comparing digests rather than the
 * secrets themselves is what makes it constant-time: lengths and contents of the secrets leak nothing. (Hex
 * strings: node's one-shot hash into a Buffer, plus timingSafeEqual, cost three times as much.)
 */
function sameDigest(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** Equal strings, compared in constant time (over their SHA-256, so lengths leak nothing either). */
export function sameSecret(a: string, b: string): boolean {
  return sameDigest(sha256Hex(a), sha256Hex(b));
}

/** A new service token: its id, the whole token (shown once) and the hash the catalog keeps. */
export function newServiceToken(): { id: string; token: string; secretSha256: string } {
  const id = randomBytes(8).toString("hex");
  const secret = randomBytes(32).toString("base64url");
  return { id, token: `${SERVICE_PREFIX}${id}_${secret}`, secretSha256: sha256Hex(secret) };
}

/** A new admin token (what `mesh up` generates without MESH_ADMIN_TOKEN). */
export function newAdminToken(): string {
  return `mesh_admin_${randomBytes(32).toString("base64url")}`;
}

/** `mesh_<id>_<secret>` taken apart; null when the text is not one. */
export function parseServiceToken(token: string): { id: string; secret: string } | null {
  if (!token.startsWith(SERVICE_PREFIX)) return null;
  const rest = token.slice(SERVICE_PREFIX.length);
  const sep = rest.indexOf("_");
  if (sep < 0) return null;
  const id = rest.slice(0, sep);
  const secret = rest.slice(sep + 1);
  return ID_PATTERN.test(id) && secret !== "" ? { id, secret } : null;
}

/** The id of a service token, for logs and audit (never the secret); null when it is not one. */
export function tokenId(token: string): string | null {
  return parseServiceToken(token)?.id ?? null;
}

function internalMac(adminToken: string, role: string): string {
  return createHmac("sha256", adminToken).update(`datamesh internal credential:${role}`).digest("base64url");
}

/**
 * The credential a process of `role` (api, registry, materializer, connect...) presents to the others. Only
 * the admin token's holder can derive it; the receiving process checks it against its own admin token.
 */
export function internalCredential(adminToken: string, role: string): string {
  if (!/^[a-z][a-z0-9-]*$/.test(role))
    throw new Error(`a role name is lowercase letters and digits: ${role}`);
  return `${INTERNAL_PREFIX}${role}_${internalMac(adminToken, role)}`;
}

/** `Authorization` header value carrying `token`. */
export function bearer(token: string): string {
  return `Bearer ${token}`;
}

/** The service tokens known to this process, by id (fed from the catalog in log order). */
export class TokenTable {
  readonly #tokens = new Map<string, StoredToken>();

  /** A token record (or null: the key `token/<id>` was deleted). */
  apply(id: string, record: StoredToken | null): void {
    if (record === null) this.#tokens.delete(id);
    else this.#tokens.set(id, record);
  }

  get(id: string): StoredToken | undefined {
    return this.#tokens.get(id);
  }

  list(): StoredToken[] {
    return [...this.#tokens.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  get size(): number {
    return this.#tokens.size;
  }
}

export interface TokenAuthenticatorOptions {
  /** The admin token; required: auth is never off. */
  adminToken: string;
  /** Service tokens (empty: only the admin token and internal credentials are known). */
  tokens?: TokenTable;
  now?: () => number;
}

/** The Authenticator every role uses: admin token, internal credentials, service tokens. */
export class TokenAuthenticator implements Authenticator {
  readonly #admin: string;
  readonly #adminDigest: string;
  /** role → SHA-256 of its internal MAC: a pure function of the admin token and the role. */
  readonly #internalDigests = new Map<string, string>();
  readonly #tokens: TokenTable;
  readonly #now: () => number;

  constructor(options: TokenAuthenticatorOptions) {
    checkAdminToken(options.adminToken);
    this.#admin = options.adminToken;
    this.#adminDigest = sha256Hex(options.adminToken);
    this.#tokens = options.tokens ?? new TokenTable();
    this.#now = options.now ?? Date.now;
  }

  get tokens(): TokenTable {
    return this.#tokens;
  }

  authenticate(token: string): Principal | null {
    if (token.startsWith(INTERNAL_PREFIX)) return this.#internal(token.slice(INTERNAL_PREFIX.length));
    const parsed = parseServiceToken(token);
    if (parsed) return this.#service(parsed.id, parsed.secret);
    if (sameDigest(sha256Hex(token), this.#adminDigest))
      return { id: "admin", service: null, admin: true, internal: false, scopes: SCOPES };
    return null;
  }

  #internal(rest: string): Principal | null {
    const sep = rest.indexOf("_");
    if (sep < 0) return null;
    const role = rest.slice(0, sep);
    if (!sameDigest(sha256Hex(rest.slice(sep + 1)), this.#internalDigest(role))) return null;
    return { id: `internal:${role}`, service: null, admin: false, internal: true, scopes: SCOPES };
  }

  #internalDigest(role: string): string {
    let digest = this.#internalDigests.get(role);
    if (digest === undefined) {
      digest = sha256Hex(internalMac(this.#admin, role));
      // Anyone may present any role name: only a bounded number of them are remembered.
      if (this.#internalDigests.size < MAX_REMEMBERED_ROLES) this.#internalDigests.set(role, digest);
    }
    return digest;
  }

  #service(id: string, secret: string): Principal | null {
    const record = this.#tokens.get(id);
    // Hash the presented secret even for an unknown id: the time taken says nothing about which ids exist.
    const presented = sha256Hex(secret);
    const matches = sameDigest(presented, (record?.secretSha256 ?? NO_DIGEST).toLowerCase());
    if (!record || !matches || record.revokedAt !== null) return null;
    if (record.expiresAt !== null && Date.parse(record.expiresAt) <= this.#now()) return null;
    return { id, service: record.service, admin: false, internal: false, scopes: record.scopes };
  }
}

/** Throws when an admin token is missing or too short to be one (the role refuses to start). */
export function checkAdminToken(token: string | undefined): asserts token is string {
  if (!token || token.length < MIN_ADMIN_TOKEN_LENGTH)
    throw new Error(
      `MESH_ADMIN_TOKEN must be set to a secret of at least ${MIN_ADMIN_TOKEN_LENGTH} characters (every server needs tokens; \`mesh up\` generates one into .mesh/admin-token)`,
    );
}
