// A bound on how long the write pipelines wait for one client operation. The client's own bounds do not
// make one: its retries nest (a transactional produce or commit looks the coordinator up again on a network
// error, and that lookup has retries of its own, as does the metadata request under it), so with the broker
// gone a commit can keep retrying for minutes; and a broker that holds a connection open without answering
// (frozen, partitioned away) is only noticed after the request timeout, which the transactional client
// sets to the transaction timeout (300 s). A pipeline that waits that long shows nothing wrong meanwhile.
// Past the deadline the pipeline fails (MESH_KAFKA_TIMEOUT, retryable) and its owner starts over from what
// Kafka acknowledged, which loses nothing.
import { MeshError } from "../errors.ts";
import { withinTime } from "../time-limit.ts";

/** How long a write pipeline waits for one Kafka operation by default (see OrderedProducerOptions). */
export const DEFAULT_OPERATION_TIMEOUT_MS = 10_000;

/**
 * `work`'s outcome, or MESH_KAFKA_TIMEOUT naming `what` if it has not settled within `ms` (`what` may be a
 * function: built only if the deadline passes).
 */
export function withinDeadline<T>(work: Promise<T>, ms: number, what: string | (() => string)): Promise<T> {
  return withinTime(
    work,
    ms,
    () =>
      new MeshError(
        "MESH_KAFKA_TIMEOUT",
        `Kafka did not answer within ${ms} ms while ${typeof what === "string" ? what : what()}; check that the brokers are up and reachable`,
      ),
  );
}
