// The write pipelines' deadline against a broker that holds connections open and never answers (a frozen or
// partitioned-away broker): a local socket that accepts and stays silent. Without the deadline the
// transactional pipeline waits out its client's request timeout (the 300 s transaction timeout) and the
// ordered producer its retries of 5 s connection timeouts; with it both fail, retryable, within the bound.
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isMeshError } from "../errors.ts";
import { KafkaClient } from "./client.ts";
import { withinDeadline } from "./deadline.ts";

let silent: Server;
const sockets = new Set<Socket>();
let brokers: string[];
beforeAll(async () => {
  silent = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  const address = silent.address();
  if (!address || typeof address === "string") throw new Error("no port");
  brokers = [`127.0.0.1:${address.port}`];
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((resolve) => silent.close(resolve));
});

async function failureOf(work: Promise<unknown>): Promise<{ err: unknown; ms: number }> {
  const started = Date.now();
  try {
    await work;
  } catch (err) {
    return { err, ms: Date.now() - started };
  }
  throw new Error("expected a failure");
}

describe("withinDeadline", () => {
  it("passes an outcome within the bound through, and names what did not answer past it", async () => {
    await expect(withinDeadline(Promise.resolve(7), 1000, "x")).resolves.toBe(7);
    await expect(withinDeadline(Promise.reject(new Error("refused")), 1000, "x")).rejects.toThrow("refused");
    const { err } = await failureOf(withinDeadline(new Promise(() => undefined), 20, () => "committing t"));
    expect(isMeshError(err) && err.code).toBe("MESH_KAFKA_TIMEOUT");
    expect(isMeshError(err) && err.retryable).toBe(true);
    expect((err as Error).message).toContain("while committing t");
  });
});

describe("a broker that never answers", () => {
  it("fails the transactional pipeline's init within its operation timeout", async () => {
    const kafka = new KafkaClient({ brokers, clientId: "deadline-test" });
    const pipeline = kafka.transactionalPipeline({
      transactionalId: "deadline-test",
      operationTimeoutMs: 300,
    });
    try {
      const { err, ms } = await failureOf(pipeline.init());
      expect(isMeshError(err) && err.code).toBe("MESH_KAFKA_TIMEOUT");
      expect((err as Error).message).toContain("taking the transactional id");
      // Well under the client's own first bound (a 5 s connection timeout).
      expect(ms).toBeLessThan(3000);
      expect(pipeline.error).toBe(err);
    } finally {
      await kafka.close();
    }
  });

  it("fails the ordered producer (its waiters and its failure listener) within its operation timeout", async () => {
    const kafka = new KafkaClient({ brokers, clientId: "deadline-test" });
    const producer = kafka.orderedProducer({ lanes: 1, operationTimeoutMs: 300 });
    const failed = new Promise<Error>((resolve) => producer.onFailure(resolve));
    try {
      const seq = producer.enqueue({ topic: "t", key: Buffer.from("k"), value: Buffer.from("v") });
      const { err, ms } = await failureOf(producer.whenAcked(seq));
      expect(isMeshError(err) && err.code).toBe("MESH_KAFKA_TIMEOUT");
      expect(await failed).toBe(err);
      expect(ms).toBeLessThan(3000);
      // Closing does not wait for the abandoned request either.
      const closing = Date.now();
      await producer.close();
      expect(Date.now() - closing).toBeLessThan(3000);
    } finally {
      await kafka.close();
    }
  });
});
