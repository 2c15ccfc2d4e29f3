// The client's errors, as it builds them, map to the MESH_KAFKA_* code a caller decides retries by.
import {
  AuthenticationError,
  MultipleErrors,
  NetworkError,
  ProtocolError,
  ResponseError,
  TimeoutError,
  UserError,
} from "@platformatic/kafka";
import { describe, expect, it } from "vitest";
import { MeshError } from "../errors.ts";
import { kafkaError, kafkaErrorId } from "./errors.ts";

/** A response error as the client raises it for one failed partition (error code by Kafka's number). */
function response(kafkaCode: number): ResponseError {
  return new ResponseError(0, 9, { "/topics/0/partitions/0": [kafkaCode, null] }, {});
}

const cases: [string, Error, string, boolean][] = [
  ["PRODUCER_FENCED", response(90), "MESH_KAFKA_FENCED", false],
  ["INVALID_PRODUCER_EPOCH", response(47), "MESH_KAFKA_FENCED", false],
  ["SASL_AUTHENTICATION_FAILED", response(58), "MESH_KAFKA_AUTH", false],
  ["TOPIC_AUTHORIZATION_FAILED", response(29), "MESH_KAFKA_AUTH", false],
  ["authentication", new AuthenticationError("bad credentials"), "MESH_KAFKA_AUTH", false],
  ["UNKNOWN_TOPIC_OR_PARTITION", response(3), "MESH_KAFKA_TOPIC_MISSING", false],
  ["NOT_LEADER_OR_FOLLOWER after retries", response(6), "MESH_KAFKA_UNAVAILABLE", true],
  ["MESSAGE_TOO_LARGE", response(10), "MESH_KAFKA_REJECTED", false],
  ["a request timeout", new TimeoutError("Request timed out"), "MESH_KAFKA_TIMEOUT", true],
  ["connection refused", new NetworkError("Connection failed"), "MESH_KAFKA_UNAVAILABLE", true],
  ["a closed client", new NetworkError("Client is closed.", { closed: true }), "MESH_KAFKA_CLOSED", false],
  ["a misuse", new UserError("bad option"), "MESH_INTERNAL", true],
  [
    "several brokers, one fenced",
    new MultipleErrors("Producing messages failed.", [new NetworkError("x"), response(90)]),
    "MESH_KAFKA_FENCED",
    false,
  ],
];

describe("kafkaError", () => {
  it.each(cases)("%s → %s", (_, err, code, retryable) => {
    const mesh = kafkaError(err, "producing to t", { topic: "t" });
    expect(mesh.code).toBe(code);
    expect(mesh.retryable).toBe(retryable);
    expect(mesh.cause).toBe(err);
    expect(mesh.details.topic).toBe("t");
    expect(mesh.message).toMatch(/^Kafka: producing to t failed/);
  });

  it("names Kafka's error code, and leaves MeshErrors as they are", () => {
    const mesh = kafkaError(response(10), "producing");
    expect(mesh.details.kafkaCode).toBe("MESSAGE_TOO_LARGE");
    expect(kafkaErrorId(new ProtocolError("TOPIC_ALREADY_EXISTS"))).toBe("TOPIC_ALREADY_EXISTS");
    const already = new MeshError("MESH_KAFKA_FENCED", "x");
    expect(kafkaError(already, "y")).toBe(already);
  });
});
