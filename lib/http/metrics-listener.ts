// Owns the small listener a role without an HTTP server of its own (`mesh connect`) answers /metrics on: a
// server made by createServer (so it has what every server has), serving only /metrics and /healthz.
import type { AddressInfo } from "node:net";
import type { Logger } from "../logger.ts";
import type { Authenticator } from "./auth.ts";
import { createServer } from "./server.ts";

export interface ListenAddress {
  host: string;
  port: number;
}

/** `host:port` (an empty host is 127.0.0.1); throws with `flag` named when the text is not one. */
export function parseListenAddress(text: string, flag: string): ListenAddress {
  const m = /^(.*):(\d{1,5})$/.exec(text);
  if (!m || Number(m[2]) > 65535) throw new Error(`${flag} must be host:port (got ${text})`);
  return { host: m[1] || "127.0.0.1", port: Number(m[2]) };
}

export interface MetricsListener {
  /** Where it answers, e.g. http://127.0.0.1:9464 (the port chosen when 0 was asked). */
  url: string;
  close(): Promise<void>;
}

export async function listenMetrics(
  address: ListenAddress,
  options: { name: string; logger?: Logger; auth: Authenticator },
): Promise<MetricsListener> {
  const app = createServer({
    name: options.name,
    // GET /metrics needs the admin token or a token with the `metrics` scope; /healthz is open.
    auth: options.auth,
    logLevel: "debug",
    ...(options.logger ? { logger: options.logger } : {}),
  });
  app.get("/healthz", () => ({ status: "ok" }));
  await app.listen({ host: address.host, port: address.port });
  const port = (app.server.address() as AddressInfo).port;
  const host = ["0.0.0.0", "::", ""].includes(address.host) ? "127.0.0.1" : address.host;
  return { url: `http://${host}:${port}`, close: () => app.close() };
}
