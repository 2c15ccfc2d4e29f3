// Owns the service-token records of the control-plane catalog (`token/<id>`, docs/contracts.md
// "Control-plane catalog"): who a token belongs to, its scopes, the SHA-256 of its secret (never the
// secret: lib/http/auth-tokens.ts makes and checks tokens, and reads these records in the roles that follow
// the topic without the catalog: auth-follower.ts), when it was made, when it expires and when it was
// revoked. A revocation rewrites the record with `revokedAt` (kept, so listings show it), never a tombstone.
// Pure.
import { readStoredToken, TOKEN_KEY_PREFIX, type StoredToken } from "../lib/http/auth-tokens.ts";

export interface TokenRecord extends StoredToken {
  type: "token";
}

export function tokenKey(id: string): string {
  return `${TOKEN_KEY_PREFIX}${id}`;
}

/** A token record read from the topic, or null when the value is not one for `id` (ignored). */
export function asTokenRecord(id: string, value: unknown): TokenRecord | null {
  const stored = readStoredToken(id, value);
  return stored ? { type: "token", ...stored } : null;
}

/** What a listing shows of a token: everything but the hash of its secret. */
export function publicToken(record: StoredToken): Omit<StoredToken, "secretSha256"> {
  return {
    id: record.id,
    service: record.service,
    scopes: [...record.scopes],
    createdAt: record.createdAt,
    expiresAt: record.expiresAt,
    revokedAt: record.revokedAt,
  };
}
