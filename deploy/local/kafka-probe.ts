// Whether a starting broker processes requests yet, asked over a plain socket: an ApiVersions v0 request,
// which Kafka answers before any SASL exchange. The health probe logs in only once this answers, because a
// client whose SASL handshake meets a broker still starting (accepting connections, not yet processing them)
// can have @platformatic/kafka emit a connection error with no listener left: an uncaught exception in
// whatever process probed (seen in the stack test's restart after SIGKILL).
import { createConnection } from "node:net";

const API_VERSIONS = 18;
const CORRELATION_ID = 0x6d657368; // "mesh"

/** True when the broker at `port` answers an ApiVersions request within `timeoutMs`. */
export function answersApiVersions(port: number, timeoutMs = 2_000, host = "127.0.0.1"): Promise<boolean> {
  const clientId = Buffer.from("mesh-stack-probe");
  // Request header v1 (api key, version, correlation id, client id) with an empty v0 body.
  const request = Buffer.alloc(4 + 2 + 2 + 4 + 2 + clientId.length);
  request.writeInt32BE(request.length - 4, 0);
  request.writeInt16BE(API_VERSIONS, 4);
  request.writeInt16BE(0, 6);
  request.writeInt32BE(CORRELATION_ID, 8);
  request.writeInt16BE(clientId.length, 12);
  clientId.copy(request, 14);
  return new Promise((resolve) => {
    const socket = createConnection({ port, host });
    let received = Buffer.alloc(0);
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("error", () => done(false));
    socket.once("close", () => done(false));
    socket.once("connect", () => socket.write(request));
    socket.on("data", (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      // Size, correlation id, error code: enough to know the broker processed the request.
      if (received.length < 10) return;
      done(received.readInt32BE(4) === CORRELATION_ID && received.readInt16BE(8) === 0);
    });
  });
}
