// Owns forwarding a write from a follower to the leader over HTTP (lib/http's internal client), relaying the
// leader's status and body.
import { HttpClient, type Answer } from "../../lib/http/client.ts";
import type { WriteRequest } from "../backend.ts";
import { RegistryError } from "../errors.ts";

export const OFFSET_HEADER = "x-registry-offset";
export const FORWARDED_HEADER = "x-registry-forwarded";

const leader = new HttpClient({
  headers: { "content-type": "application/vnd.schemaregistry.v1+json", [FORWARDED_HEADER]: "1" },
});

/**
 * `credential`: this process's internal credential (lib/http/auth-tokens.ts), which the leader checks
 * against its own admin token; the follower's caller is not trusted by the leader, the follower is.
 */
export async function forwardToLeader(
  leaderUrl: string,
  request: WriteRequest,
  timeoutMs = 30_000,
  credential?: string,
): Promise<{ status: number; body: unknown; offset?: number }> {
  let answer: Answer;
  try {
    answer = await leader.call(new URL(request.url, leaderUrl).href, {
      method: request.method,
      // Encoded here: a body that is a JSON string must stay one.
      ...(request.body === undefined || request.method === "GET"
        ? {}
        : { body: JSON.stringify(request.body) }),
      timeoutMs,
      ...(credential ? { headers: { authorization: `Bearer ${credential}` } } : {}),
    });
  } catch (e) {
    throw new RegistryError(
      "FORWARDING_ERROR",
      `Error while forwarding the request to the leader ${leaderUrl}: ${(e as Error).message}; retry`,
    );
  }
  // A body that is not JSON (e.g. a raw schema) is relayed as text.
  const body = answer.body;
  const offset = Number(answer.headers.get(OFFSET_HEADER) ?? "-1");
  return offset >= 0 ? { status: answer.status, body, offset } : { status: answer.status, body };
}
