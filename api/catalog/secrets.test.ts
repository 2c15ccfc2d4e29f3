// Credentials at rest: sealing and opening a source's password (AES-256-GCM), the key from MESH_SECRET_KEY or
// a key file generated once with mode 0600, and the errors for a wrong, missing or malformed key.
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { isMeshError } from "../../lib/errors.ts";
import { sourceRecord, viewRecord } from "./records-fixture.ts";
import { holdsPlainPassword, openRecord, sealRecord } from "./sealed-records.ts";
import { CredentialCipher } from "./secrets.ts";

const dir = mkdtempSync(join(tmpdir(), "mesh-secrets-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const key = (): string => randomBytes(32).toString("base64");

function thrown(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (err) {
    if (isMeshError(err)) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error("expected an error");
}

describe("credentials at rest", () => {
  it("stores a source URL without its password and restores it exactly", () => {
    const cipher = new CredentialCipher({ envKey: key(), keyFile: join(dir, "unused.key") });
    const record = {
      ...sourceRecord("orders", "orders", ["public.orders"]),
      url: "postgres://u:p%40ss!w0rd@h:5432/db",
    };
    const stored = sealRecord(record, cipher);
    expect(JSON.stringify(stored)).not.toContain("p%40ss!w0rd");
    expect(JSON.stringify(stored)).not.toContain("p@ss!w0rd");
    expect(stored).toMatchObject({
      url: "postgres://u@h:5432/db",
      passwordSealed: expect.stringMatching(/^v1\./),
    });
    expect(holdsPlainPassword(stored)).toBe(false);
    expect(openRecord(stored, cipher)).toEqual(record);
    // Two seals of one password differ (random IV); views and password-less URLs pass through.
    expect(sealRecord(record, cipher)).not.toEqual(stored);
    const view = viewRecord("v");
    expect(sealRecord(view, cipher)).toBe(view);
    const noPassword = { ...record, url: "postgres://u@h/db" };
    expect(sealRecord(noPassword, cipher)).toEqual(noPassword);
  });

  it("reads records written before encryption (plain URLs) as they are", () => {
    const cipher = new CredentialCipher({ envKey: key(), keyFile: join(dir, "unused.key") });
    const legacy = sourceRecord("old", "old", ["public.t"]);
    expect(holdsPlainPassword(legacy)).toBe(true);
    expect(openRecord(legacy, cipher)).toEqual(legacy);
  });

  it("binds a sealed password to its record: moved to another source it does not open", () => {
    const cipher = new CredentialCipher({ envKey: key(), keyFile: join(dir, "unused.key") });
    const a = sealRecord(sourceRecord("a", "o", ["public.t"]), cipher) as unknown as {
      passwordSealed: string;
    };
    const b = {
      ...(sealRecord(sourceRecord("b", "o", ["public.u"]), cipher) as object),
      passwordSealed: a.passwordSealed,
    };
    expect(thrown(() => openRecord(b as never, cipher)).code).toBe("MESH_SECRET_KEY");
  });

  it("generates the key file once (mode 0600) and reads it back after a restart", () => {
    const keyFile = join(dir, "gen", "secret.key");
    const first = new CredentialCipher({ keyFile });
    const stored = sealRecord(sourceRecord("s", "o", ["public.t"]), first);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(keyFile, "utf8").trim(), "base64")).toHaveLength(32);
    const restarted = new CredentialCipher({ keyFile });
    expect((openRecord(stored, restarted) as { url: string }).url).toContain(":secret@");
  });

  it("a wrong, missing or malformed key is a MESH_SECRET_KEY error that says what to do", () => {
    const stored = sealRecord(
      sourceRecord("s", "o", ["public.t"]),
      new CredentialCipher({ envKey: key(), keyFile: "x" }),
    );
    const wrong = thrown(() => openRecord(stored, new CredentialCipher({ envKey: key(), keyFile: "x" })));
    expect(wrong.code).toBe("MESH_SECRET_KEY");
    expect(wrong.message).toMatch(/not the key they were written with.*MESH_SECRET_KEY/);
    const missing = thrown(() =>
      openRecord(stored, new CredentialCipher({ keyFile: join(dir, "absent.key") })),
    );
    expect(missing.code).toBe("MESH_SECRET_KEY");
    expect(missing.message).toMatch(/no key is configured.*MESH_SECRET_KEY is not set/);
    const short = thrown(() => new CredentialCipher({ envKey: "c2hvcnQ=", keyFile: "x" }));
    expect(short).toMatchObject({ code: "MESH_SECRET_KEY" });
    expect(short.message).toMatch(/32 bytes.*openssl rand -base64 32/);
    // The messages never carry the key or the password.
    for (const m of [wrong.message, missing.message, short.message]) expect(m).not.toContain("secret@");
  });
});
