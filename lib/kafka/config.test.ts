import { describe, expect, it } from "vitest";
import { isMeshError } from "../errors.ts";
import { kafkaSaslFromEnv } from "./config.ts";

describe("kafkaSaslFromEnv", () => {
  it("reads the three variables together, or none", () => {
    expect(kafkaSaslFromEnv({})).toBeUndefined();
    expect(
      kafkaSaslFromEnv({
        MESH_KAFKA_SASL_MECHANISM: "SCRAM-SHA-512",
        MESH_KAFKA_SASL_USERNAME: "mesh",
        MESH_KAFKA_SASL_PASSWORD: "s3cret-value",
      }),
    ).toEqual({ mechanism: "SCRAM-SHA-512", username: "mesh", password: "s3cret-value" });
  });

  it("names what is missing or wrong, never the password", () => {
    const partial = (() => {
      try {
        return kafkaSaslFromEnv({
          MESH_KAFKA_SASL_USERNAME: "mesh",
          MESH_KAFKA_SASL_PASSWORD: "s3cret-value",
        });
      } catch (err) {
        return err;
      }
    })();
    expect(isMeshError(partial) && partial.code).toBe("MESH_BAD_REQUEST");
    expect((partial as Error).message).toContain("MESH_KAFKA_SASL_MECHANISM");
    expect(JSON.stringify(partial) + (partial as Error).message).not.toContain("s3cret-value");
    expect(() =>
      kafkaSaslFromEnv({
        MESH_KAFKA_SASL_MECHANISM: "GSSAPI",
        MESH_KAFKA_SASL_USERNAME: "mesh",
        MESH_KAFKA_SASL_PASSWORD: "s3cret-value",
      }),
    ).toThrow(/must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 \(got "GSSAPI"\)/);
  });
});
