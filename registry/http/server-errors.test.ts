// The 500-class codes: where each comes from, and how the routes answer it.
import { describe, expect, it } from "vitest";
import pino from "pino";
import { KafkaClient } from "../../lib/kafka/index.ts";
import type { RegistryBackend } from "../backend.ts";
import { forwardToLeader } from "../cluster/forward.ts";
import { RegistryError, type ErrorName } from "../errors.ts";
import { SchemasLog } from "../store/log.ts";
import { RegistryState } from "../store/state.ts";
import { buildApp } from "./app.ts";
import { testAuthenticator, withToken } from "../../test/support/auth.ts";

function failingBackend(kind: ErrorName): RegistryBackend {
  return {
    state: new RegistryState(),
    status: () => Promise.resolve({ role: "follower", leaderUrl: null }),
    write: () => Promise.reject(new RegistryError(kind, `failed with ${kind}; retry`)),
  };
}

describe("server-side error codes", () => {
  it("forwarding to an unreachable leader is 50003", async () => {
    const err = await forwardToLeader("http://127.0.0.1:1", {
      method: "POST",
      url: "/config",
      body: {},
      forwarded: false,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).errorCode).toBe(50003);
  });

  it("waiting too long for the schemas topic is 50002", async () => {
    // Never started: the client connects to nothing.
    const kafka = new KafkaClient({ brokers: ["127.0.0.1:1"], clientId: "server-errors-test" });
    const log = new SchemasLog({ kafka, topic: "t", logger: pino({ level: "silent" }) }, () => undefined);
    const err = await log.waitFor(5, 10).catch((e: unknown) => e);
    expect((err as RegistryError).errorCode).toBe(50002);
  });

  for (const [kind, code] of [
    ["STORE_ERROR", 50001],
    ["OPERATION_TIMEOUT", 50002],
    ["FORWARDING_ERROR", 50003],
    ["UNKNOWN_LEADER", 50004],
  ] as const) {
    it(`a write failing with ${kind} answers 500 with error_code ${code}`, async () => {
      const app = withToken(buildApp({ backend: failingBackend(kind), auth: testAuthenticator() }));
      const res = await app.inject({
        method: "POST",
        url: "/subjects/s/versions",
        headers: { "content-type": "application/vnd.schemaregistry.v1+json" },
        payload: JSON.stringify({ schema: `"string"` }),
      });
      expect(res.statusCode).toBe(500);
      expect(res.json()).toEqual({ error_code: code, message: `failed with ${kind}; retry` });
    });
  }

  it("a body that is not JSON is 400 with a Confluent-shaped error", async () => {
    const app = withToken(buildApp({ backend: failingBackend("STORE_ERROR"), auth: testAuthenticator() }));
    const res = await app.inject({
      method: "POST",
      url: "/subjects/s/versions",
      headers: { "content-type": "application/vnd.schemaregistry.v1+json" },
      payload: "{nope",
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error_code).toBe(400);
  });
});
