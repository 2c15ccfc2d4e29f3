// Owns forwarding a write from a follower to the leader over HTTP, relaying the leader's status and body.
import type { WriteRequest } from "../backend.ts";
import { RegistryError } from "../errors.ts";

export const OFFSET_HEADER = "x-registry-offset";
export const FORWARDED_HEADER = "x-registry-forwarded";

export async function forwardToLeader(
  leaderUrl: string,
  request: WriteRequest,
  timeoutMs = 30_000,
): Promise<{ status: number; body: unknown; offset?: number }> {
  let res: Response;
  try {
    res = await fetch(new URL(request.url, leaderUrl), {
      method: request.method,
      headers: { "content-type": "application/vnd.schemaregistry.v1+json", [FORWARDED_HEADER]: "1" },
      ...(request.body === undefined || request.method === "GET"
        ? {}
        : { body: JSON.stringify(request.body) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    throw new RegistryError(
      "FORWARDING_ERROR",
      `Error while forwarding the request to the leader ${leaderUrl}: ${(e as Error).message}; retry`,
    );
  }
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // the leader answered text (e.g. a raw schema); relay it as is
  }
  const offset = Number(res.headers.get(OFFSET_HEADER) ?? "-1");
  return offset >= 0 ? { status: res.status, body, offset } : { status: res.status, body };
}
