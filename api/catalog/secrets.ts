// Owns the encryption of source credentials at rest in `_mesh_catalog`: the password of a source URL is sealed
// with AES-256-GCM before the record is written, bound to the record (additional data: source name and
// registration id), and opened again when the record is read. The key comes from MESH_SECRET_KEY (base64 of
// 32 bytes) or, without it, from a key file generated once (mode 0600) under the data dir. Records written
// before encryption existed (plain URLs) are read as they are.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { MeshError } from "../../lib/errors.ts";

const VERSION = "v1";
const fixHint =
  "set MESH_SECRET_KEY to the base64 key the catalog was written with, or restore the key file; docs/api.md, Credentials at rest";

export interface SecretKeyOptions {
  /** MESH_SECRET_KEY as given (base64 of 32 bytes), if set. */
  envKey?: string | undefined;
  /** Used when envKey is not set: read if present, generated on the first write otherwise. */
  keyFile: string;
}

export class CredentialCipher {
  readonly #options: SecretKeyOptions;
  #key: Buffer | null = null;

  constructor(options: SecretKeyOptions) {
    this.#options = options;
    // A malformed key is refused at start, not at the first write.
    if (options.envKey !== undefined) this.#key = parseKey(options.envKey, "MESH_SECRET_KEY");
  }

  /** Where the key comes from, for messages (never the key). */
  get origin(): string {
    return this.#options.envKey !== undefined ? "MESH_SECRET_KEY" : `the key file ${this.#options.keyFile}`;
  }

  seal(plain: string, aad: string): string {
    const key = this.#keyFor("write");
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", key, iv);
    cipher.setAAD(Buffer.from(aad, "utf8"));
    const data = Buffer.concat([cipher.update(plain, "utf8"), cipher.final()]);
    return [VERSION, iv, data, cipher.getAuthTag()]
      .map((p) => (typeof p === "string" ? p : b64(p)))
      .join(".");
  }

  open(sealed: string, aad: string, subject: string): string {
    const [version, iv, data, tag] = sealed.split(".");
    if (version !== VERSION || !iv || data === undefined || !tag) {
      throw new MeshError(
        "MESH_SECRET_KEY",
        `the credentials of ${subject} are sealed in an unknown format`,
        {},
      );
    }
    const key = this.#keyFor("read", subject);
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
      decipher.setAAD(Buffer.from(aad, "utf8"));
      decipher.setAuthTag(Buffer.from(tag, "base64url"));
      return Buffer.concat([decipher.update(Buffer.from(data, "base64url")), decipher.final()]).toString(
        "utf8",
      );
    } catch {
      throw new MeshError(
        "MESH_SECRET_KEY",
        `cannot decrypt the credentials of ${subject} with ${this.origin}: it is not the key they were written with; ${fixHint}`,
        { keyOrigin: this.origin },
      );
    }
  }

  #keyFor(use: "read" | "write", subject?: string): Buffer {
    if (this.#key) return this.#key;
    const file = this.#options.keyFile;
    if (existsSync(file)) {
      this.#key = parseKey(readFileSync(file, "utf8").trim(), file);
      return this.#key;
    }
    if (use === "read") {
      throw new MeshError(
        "MESH_SECRET_KEY",
        `the credentials of ${subject ?? "a source"} are encrypted, but no key is configured (MESH_SECRET_KEY is not set and ${file} does not exist); ${fixHint}`,
        { keyFile: file },
      );
    }
    this.#key = createKeyFile(file);
    return this.#key;
  }
}

function b64(buf: Buffer): string {
  return buf.toString("base64url");
}

function parseKey(text: string, from: string): Buffer {
  const key = Buffer.from(text, "base64");
  if (key.length !== 32 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) {
    throw new MeshError(
      "MESH_SECRET_KEY",
      `${from} must hold a base64 AES-256 key (32 bytes, e.g. \`openssl rand -base64 32\`); it holds ${key.length} bytes`,
      { keyOrigin: from },
    );
  }
  return key;
}

/** Writes a new key atomically (complete or absent, never half written); another process may win the race. */
function createKeyFile(file: string): Buffer {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  writeFileSync(tmp, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600, flag: "wx" });
  try {
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  } finally {
    unlinkSync(tmp);
  }
  return parseKey(readFileSync(file, "utf8").trim(), file);
}
