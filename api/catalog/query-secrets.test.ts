// Credentials in a source URL's query (`?password=`, `sslpassword=`, tokens) are sealed like the userinfo
// password (issue #6 audit item 16b: they were stored in plain text): the stored URL keeps each parameter
// with an empty value, the record opens to the exact URL given, and a plain one still counts as plain.
import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { sourceRecord } from "./records-fixture.ts";
import { holdsPlainPassword, openRecord, sealRecord } from "./sealed-records.ts";
import { CredentialCipher } from "./secrets.ts";

const cipher = (): CredentialCipher =>
  new CredentialCipher({ envKey: randomBytes(32).toString("base64"), keyFile: "unused" });

describe("credentials in the URL query", () => {
  it("seals every credential parameter, keeps the rest, and restores the URL exactly", () => {
    const c = cipher();
    const url =
      "postgres://u:top%2Fsecret@h:5432/db?sslmode=require&password=p%26w%3Dd&application_name=x&sslpassword=k3y&password=second";
    const record = { ...sourceRecord("orders", "orders", ["public.orders"]), url };
    const stored = sealRecord(record, c) as unknown as { url: string; querySecretsSealed: string };
    const text = JSON.stringify(stored);
    for (const secret of ["top%2Fsecret", "p%26w%3Dd", "k3y", "second"]) expect(text).not.toContain(secret);
    expect(stored.url).toBe(
      "postgres://u@h:5432/db?sslmode=require&password=&application_name=x&sslpassword=&password=",
    );
    expect(stored.querySecretsSealed).toMatch(/^v1\./);
    expect(holdsPlainPassword(stored as never)).toBe(false);
    expect(openRecord(stored as never, c)).toEqual(record);
  });

  it("seals a query password with no userinfo password, and counts an unsealed one as plain", () => {
    const c = cipher();
    const record = { ...sourceRecord("s", "o", ["public.t"]), url: "postgres://u@h/db?password=only" };
    const stored = sealRecord(record, c) as unknown as { url: string; passwordSealed?: string };
    expect(stored.url).toBe("postgres://u@h/db?password=");
    expect(stored.passwordSealed).toBeUndefined();
    expect(openRecord(stored as never, c)).toEqual(record);
    expect(holdsPlainPassword(record)).toBe(true);
    const noSecret = { ...record, url: "postgres://u@h/db?sslmode=disable&password=" };
    expect(sealRecord(noSecret, c)).toEqual(noSecret);
    expect(holdsPlainPassword(noSecret)).toBe(false);
  });

  it("binds the sealed query values to their record", () => {
    const c = cipher();
    const a = sealRecord(
      { ...sourceRecord("a", "o", ["public.t"]), url: "postgres://u@h/db?password=pa" },
      c,
    ) as unknown as { querySecretsSealed: string };
    const b = {
      ...(sealRecord(
        { ...sourceRecord("b", "o", ["public.u"]), url: "postgres://u@h/db?password=pb" },
        c,
      ) as object),
      querySecretsSealed: a.querySecretsSealed,
    };
    expect(() => openRecord(b as never, c)).toThrow(expect.objectContaining({ code: "MESH_SECRET_KEY" }));
  });
});
