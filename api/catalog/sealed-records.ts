// How catalog records look on the topic: a source's URL is stored without its credentials. The userinfo
// password is sealed in `passwordSealed`, and the values of credential query parameters (`?password=`,
// `sslpassword`, tokens: any name publicUrl() masks) in `querySecretsSealed` (secrets.ts), the stored URL
// keeping each such parameter with an empty value. Both are bound to the source name and registration id so a
// sealed value cannot be moved to another record. In memory (and for the connector) the record holds the
// whole URL, restored exactly. A record without the sealed fields is read as written (plain URLs from before
// encryption). A policy's HMAC key (protocol/policies.ts) is sealed in `keySealed` the same way, bound to the
// policy id, the stored `key` left empty.
import type { CatalogRecord, SourceRecord } from "../../protocol/catalog.ts";
import type { PolicyRecord } from "../../protocol/policies.ts";
import type { CredentialCipher } from "./secrets.ts";

type StoredPolicy = PolicyRecord & { keySealed?: string };

function policyAad(record: Pick<PolicyRecord, "id">): string {
  return `policy/${record.id}`;
}

function sealPolicy(record: PolicyRecord, cipher: CredentialCipher): StoredPolicy {
  if (record.key === "") return record;
  return { ...record, key: "", keySealed: cipher.seal(record.key, policyAad(record)) };
}

function openPolicy(stored: StoredPolicy, cipher: CredentialCipher): PolicyRecord {
  const { keySealed, ...record } = stored;
  if (keySealed === undefined) return record;
  return { ...record, key: cipher.open(keySealed, policyAad(record), `policy ${record.id}`) };
}

type StoredSource = SourceRecord & { passwordSealed?: string; querySecretsSealed?: string };

function aad(record: Pick<SourceRecord, "name" | "id">): string {
  return `source/${record.name}/${record.id}`;
}

/** The record as written to the topic (never a plain credential). */
export function sealRecord(record: CatalogRecord, cipher: CredentialCipher): CatalogRecord {
  if (record.type === "policy") return sealPolicy(record, cipher);
  if (record.type !== "source") return record;
  const url = parseUrl(record.url);
  if (!url) return record;
  // Sealed as they appear in the URL (percent-encoded), so the URL is restored exactly.
  const password = url.password;
  const query = takeQuerySecrets(url.search);
  if (!password && query.values.length === 0) return record;
  url.password = "";
  url.search = query.search;
  const stored: StoredSource = { ...record, url: url.toString() };
  if (password) stored.passwordSealed = cipher.seal(password, aad(record));
  if (query.values.length > 0)
    stored.querySecretsSealed = cipher.seal(JSON.stringify(query.values), aad(record));
  return stored;
}

/** The record as the catalog uses it (whole URL); throws MESH_SECRET_KEY when the key cannot open it. */
export function openRecord(stored: CatalogRecord, cipher: CredentialCipher): CatalogRecord {
  if (stored.type === "policy") return openPolicy(stored, cipher);
  if (stored.type !== "source") return stored;
  const { passwordSealed, querySecretsSealed, ...record } = stored as StoredSource;
  if (passwordSealed === undefined && querySecretsSealed === undefined) return record;
  const url = parseUrl(record.url);
  if (!url) return record;
  const what = `source "${record.name}"`;
  if (passwordSealed !== undefined) url.password = cipher.open(passwordSealed, aad(record), what);
  if (querySecretsSealed !== undefined) {
    const values = JSON.parse(cipher.open(querySecretsSealed, aad(record), what)) as string[];
    url.search = putQuerySecrets(url.search, values);
  }
  return { ...record, url: url.toString() };
}

/** Whether a stored record still holds a plain credential (written before encryption). */
export function holdsPlainPassword(stored: CatalogRecord): boolean {
  if (stored.type === "policy") return stored.key !== "" && (stored as StoredPolicy).keySealed === undefined;
  if (stored.type !== "source") return false;
  const s = stored as StoredSource;
  const url = parseUrl(stored.url);
  if (!url) return false;
  if (s.passwordSealed === undefined && url.password) return true;
  return s.querySecretsSealed === undefined && takeQuerySecrets(url.search).values.length > 0;
}

/** Parameter names holding credentials: the rule publicUrl() (table-identity.ts) masks by. */
function isSecretParam(rawName: string): boolean {
  let name = rawName;
  try {
    name = decodeURIComponent(rawName.replaceAll("+", " "));
  } catch {
    // Malformed escapes: judge the raw text.
  }
  return /pass|secret|token|key/i.test(name);
}

/** The query with every non-empty credential value emptied, and those values (raw text) in order. */
function takeQuerySecrets(search: string): { search: string; values: string[] } {
  const values: string[] = [];
  const parts = search.replace(/^\?/, "").split("&");
  const out = parts.map((part) => {
    const eq = part.indexOf("=");
    if (eq < 0 || eq === part.length - 1 || !isSecretParam(part.slice(0, eq))) return part;
    values.push(part.slice(eq + 1));
    return part.slice(0, eq + 1);
  });
  return { search: values.length > 0 ? `?${out.join("&")}` : search, values };
}

/** Puts the sealed values back, in order, into the emptied credential parameters. */
function putQuerySecrets(search: string, values: string[]): string {
  let next = 0;
  const parts = search.replace(/^\?/, "").split("&");
  const out = parts.map((part) => {
    const eq = part.indexOf("=");
    if (eq < 0 || eq !== part.length - 1 || !isSecretParam(part.slice(0, eq)) || next >= values.length)
      return part;
    return `${part}${values[next++]}`;
  });
  return `?${out.join("&")}`;
}

function parseUrl(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}
