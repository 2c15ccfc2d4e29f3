// Owns where a view's change stream starts, as a URL says it (GET /v1/views/{name}/changes on the API and
// on a materializer member): `from` is earliest, latest, a change id or an ISO-8601 time; a Last-Event-ID
// (a resuming client) wins over it. An id is a change sequence number, or for a split view read through
// `mesh api --materializer` one position per member (`<member url>=<seq>,...`: docs/api.md). Checked before
// the stream starts, so a bad one is a 400 rather than an error event after a 200.
import { MeshError } from "../errors.ts";

const compositeId = /^[^\s,=]+=\d+(,[^\s,=]+=\d+)*$/;

export function changesFrom(from: string | undefined, lastEventId: string | undefined): string {
  if (lastEventId !== undefined && lastEventId !== "") {
    if (!/^\d+$/.test(lastEventId) && !compositeId.test(lastEventId)) {
      throw new MeshError("MESH_BAD_REQUEST", `Last-Event-ID "${lastEventId}" is not a view change id`, {
        lastEventId,
      });
    }
    return lastEventId;
  }
  if (from === undefined || from === "latest" || from === "earliest" || /^\d+$/.test(from))
    return from ?? "latest";
  if (changeTime(from) !== null) return from;
  throw new MeshError(
    "MESH_BAD_REQUEST",
    `"from" must be earliest, latest, a change id or an ISO-8601 time (got "${from}")`,
    { param: "from" },
  );
}

/** `from=<ISO 8601 time>` in ms (null: not a time). */
export function changeTime(from: string): number | null {
  if (!/^\d{4}-\d{2}-\d{2}/.test(from)) return null;
  const ms = Date.parse(from);
  return Number.isNaN(ms) ? null : ms;
}
