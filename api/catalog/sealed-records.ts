// How catalog records look on the topic: a source's URL is stored without its password, and the password
// sealed in `passwordSealed` (secrets.ts), bound to the source name and registration id so a sealed value
// cannot be moved to another record. In memory (and for the connector) the record holds the whole URL.
// A record without `passwordSealed` is read as written (plain URLs from before encryption).
import type { CatalogRecord, SourceRecord } from "./records.ts";
import type { CredentialCipher } from "./secrets.ts";

type StoredSource = SourceRecord & { passwordSealed?: string };

function aad(record: Pick<SourceRecord, "name" | "id">): string {
  return `source/${record.name}/${record.id}`;
}

/** The record as written to the topic (never a plain password). */
export function sealRecord(record: CatalogRecord, cipher: CredentialCipher): CatalogRecord {
  if (record.type !== "source") return record;
  const url = parseUrl(record.url);
  if (!url?.password) return record;
  // Sealed as it appears in the URL (percent-encoded), so the URL is restored exactly.
  const password = url.password;
  url.password = "";
  const stored: StoredSource = {
    ...record,
    url: url.toString(),
    passwordSealed: cipher.seal(password, aad(record)),
  };
  return stored;
}

/** The record as the catalog uses it (whole URL); throws MESH_SECRET_KEY when the key cannot open it. */
export function openRecord(stored: CatalogRecord, cipher: CredentialCipher): CatalogRecord {
  if (stored.type !== "source") return stored;
  const { passwordSealed, ...record } = stored as StoredSource;
  if (passwordSealed === undefined) return record;
  const url = parseUrl(record.url);
  if (!url) return record;
  url.password = cipher.open(passwordSealed, aad(record), `source "${record.name}"`);
  return { ...record, url: url.toString() };
}

/** Whether a stored record still holds a plain password (written before encryption). */
export function holdsPlainPassword(stored: CatalogRecord): boolean {
  if (stored.type !== "source" || (stored as StoredSource).passwordSealed !== undefined) return false;
  return Boolean(parseUrl(stored.url)?.password);
}

function parseUrl(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}
