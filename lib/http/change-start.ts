// Owns where a view's change stream starts, as a URL says it (GET /v1/views/{name}/changes on the API and
// on a materializer member): `from` is earliest, latest, a change id or an ISO-8601 time; a Last-Event-ID
// (a resuming client) wins over it. An id is a change sequence number, or for a split view read through
// `mesh api --materializer` one position per member (`<member url>=<seq>,...`: docs/api.md). Checked before
// the stream starts, so a bad one is a 400 rather than an error event after a 200.
import { MeshError } from "../errors.ts";

const compositeId = /^[^\s,=]+=\d+(,[^\s,=]+=\d+)*$/;

/**
 * An ISO-8601 time as `from` takes it (every string it matches is a time Date.parse reads): a date, or a date
 * and time to the minute, second or fraction, with `Z` or an offset (none: the server's local time).
 */
export const ISO_TIME_PATTERN =
  "[0-9]{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])" +
  "(?:T(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9](?:\\.[0-9]{1,9})?)?(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])?)?";

/** `from` of a change stream: earliest, latest, a position (a change id, a topic offset) or an ISO-8601 time. */
export const STREAM_FROM_PATTERN = `^(?:earliest|latest|[0-9]{1,18}|${ISO_TIME_PATTERN})$`;

/** A view change stream's Last-Event-ID: a change id, or one position per member of a split view. */
export const VIEW_CHANGE_ID_PATTERN =
  "^(?:[0-9]{1,15}|[\\x21-\\x2b\\x2d-\\x3c\\x3e-\\x7e]+=[0-9]{1,18}(?:,[\\x21-\\x2b\\x2d-\\x3c\\x3e-\\x7e]+=[0-9]{1,18})*)$";

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
