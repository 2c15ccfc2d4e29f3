// One fetch round to one broker, as plain data: the request for the partitions it leads, the batches of its
// response, and the out-of-range failure. Pure (no client instance, no clock); reader-fetch-loop.ts sends the
// request. The response is matched back by what was asked: a partition lingering in the broker's fetch
// session that this request did not carry is ignored (its data would be stale).
import type { fetchV17 } from "@platformatic/kafka";
import { MeshError } from "../errors.ts";
import { toRecordBatch } from "./fetched-records.ts";
import type { Isolation, RecordBatch } from "./messages.ts";

type FetchRequestTopic = fetchV17.FetchRequestTopic;
type FetchResponse = fetchV17.FetchResponse;

const OFFSET_OUT_OF_RANGE = 1;

export const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/** One partition to fetch from `fetchOffset`; `owner` is the caller's token for it (e.g. its position). */
export interface PartitionRequest<T> {
  topic: string;
  partition: number;
  fetchOffset: bigint;
  owner: T;
}

export interface FetchPlan<T> {
  topics: FetchRequestTopic[];
  /** topic id → name */
  names: Map<string, string>;
  byKey: Map<string, PartitionRequest<T>>;
}

export function planFetch<T>(
  requests: PartitionRequest<T>[],
  topicId: (topic: string) => string,
  partitionMaxBytes: number,
): FetchPlan<T> {
  const names = new Map<string, string>();
  const topics = new Map<string, FetchRequestTopic>();
  const byKey = new Map<string, PartitionRequest<T>>();
  for (const r of requests) {
    const id = topicId(r.topic);
    names.set(id, r.topic);
    byKey.set(partitionKey(r.topic, r.partition), r);
    let topic = topics.get(id);
    if (!topic) topics.set(id, (topic = { topicId: id, partitions: [] }));
    topic.partitions.push({
      partition: r.partition,
      fetchOffset: r.fetchOffset,
      // -1: no leader-epoch fencing; leader moves surface as NOT_LEADER_OR_FOLLOWER, which the client retries.
      currentLeaderEpoch: -1,
      lastFetchedEpoch: -1,
      partitionMaxBytes,
    });
  }
  return { topics: [...topics.values()], names, byKey };
}

/** The batches of a response, each with the request it answers. */
export function batchesOf<T>(
  plan: FetchPlan<T>,
  response: FetchResponse,
  isolation: Isolation,
): { batch: RecordBatch; from: PartitionRequest<T> }[] {
  const out: { batch: RecordBatch; from: PartitionRequest<T> }[] = [];
  for (const topic of response.responses) {
    const name = plan.names.get(topic.topicId);
    if (name === undefined) continue;
    for (const partition of topic.partitions) {
      const from = plan.byKey.get(partitionKey(name, partition.partitionIndex));
      if (!from) continue;
      const batch = toRecordBatch(name, partition.partitionIndex, from.fetchOffset, partition, isolation);
      if (batch) out.push({ batch, from });
    }
  }
  return out;
}

/** A non-retryable error naming the partition whose offset the broker does not hold, if that is what failed. */
export function outOfRangeError<T>(plan: FetchPlan<T>, err: unknown): MeshError | undefined {
  const response = findResponse(err);
  for (const topic of response?.responses ?? []) {
    for (const p of topic.partitions) {
      if (p.errorCode !== OFFSET_OUT_OF_RANGE) continue;
      const name = plan.names.get(topic.topicId) ?? topic.topicId;
      const offset = plan.byKey.get(partitionKey(name, p.partitionIndex))?.fetchOffset;
      return new MeshError(
        "MESH_KAFKA_OFFSET_OUT_OF_RANGE",
        `Kafka: offset ${offset} of ${name} partition ${p.partitionIndex} is out of range` +
          (p.logStartOffset >= 0n ? ` (the partition holds ${p.logStartOffset}..${p.highWatermark})` : ""),
        {
          topic: name,
          partition: p.partitionIndex,
          offset: offset?.toString(),
          logStartOffset: p.logStartOffset.toString(),
          highWatermark: p.highWatermark.toString(),
        },
        { cause: err },
      );
    }
  }
  return undefined;
}

/** The Fetch response a client error carries (ResponseError.response), wherever it is nested. */
function findResponse(err: unknown, depth = 0): FetchResponse | undefined {
  if (!err || typeof err !== "object" || depth > 8) return undefined;
  const e = err as { response?: unknown; errors?: unknown; cause?: unknown };
  const response = e.response as Partial<FetchResponse> | undefined;
  if (response && Array.isArray(response.responses)) return response as FetchResponse;
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const found = findResponse(inner, depth + 1);
      if (found) return found;
    }
  }
  return findResponse(e.cause, depth + 1);
}
