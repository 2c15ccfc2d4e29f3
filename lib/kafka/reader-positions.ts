// Owns what a PartitionReader reads: each assigned partition's position (the next offset to fetch, and
// whether a fetch for it is in flight), the claims by which the latest assign()/unassign() of a partition
// wins over an older assign() that resolves late, and turning start offsets ("earliest", "latest", or an
// offset) into offsets after checking the partitions exist. No client: metadata and offset listing are passed
// in.
import type { ClusterMetadata } from "@platformatic/kafka";
import { MeshError } from "../errors.ts";
import { partitionKey } from "./fetch-round.ts";

export type StartOffset = bigint | "earliest" | "latest";

export interface StartPosition {
  topic: string;
  partition: number;
  offset: StartOffset;
}

export interface Position {
  topic: string;
  partition: number;
  offset: bigint;
  inflight: boolean;
}

export class ReaderPositions {
  readonly #positions = new Map<string, Position>();
  /** The latest assign/unassign call that touched each partition: an older assign resolving late loses. */
  readonly #claims = new Map<string, number>();
  #claimSeq = 0;

  /**
   * Claims the partitions, resolves their offsets and sets the positions it still holds the claim for; false
   * (nothing set) when `closing` aborted meanwhile.
   */
  async assign(
    positions: StartPosition[],
    resolve: (positions: StartPosition[]) => Promise<bigint[]>,
    closing: AbortSignal,
  ): Promise<boolean> {
    const claim = ++this.#claimSeq;
    const keys = positions.map((p) => partitionKey(p.topic, p.partition));
    for (const key of keys) this.#claims.set(key, claim);
    try {
      const offsets = await resolve(positions);
      if (closing.aborted) return false;
      positions.forEach((p, i) => {
        if (this.#claims.get(keys[i]!) !== claim) return;
        // A fresh object: a fetch in flight for the old position is recognised as stale by identity.
        this.#positions.set(keys[i]!, {
          topic: p.topic,
          partition: p.partition,
          offset: offsets[i]!,
          inflight: false,
        });
      });
      return true;
    } finally {
      for (const key of keys) if (this.#claims.get(key) === claim) this.#claims.delete(key);
    }
  }

  unassign(partitions: { topic: string; partition: number }[]): void {
    for (const p of partitions) {
      const key = partitionKey(p.topic, p.partition);
      // An assign still resolving for this partition no longer holds the claim: it will not apply.
      this.#claims.delete(key);
      this.#positions.delete(key);
    }
  }

  /** The position now assigned to the partition (a different object once it was moved). */
  current(topic: string, partition: number): Position | undefined {
    return this.#positions.get(partitionKey(topic, partition));
  }

  /** Positions without a fetch in flight. */
  idle(): Position[] {
    return [...this.#positions.values()].filter((p) => !p.inflight);
  }

  topics(): Set<string> {
    return new Set([...this.#positions.values()].map((p) => p.topic));
  }
}

/** Checks the partitions exist and turns "earliest"/"latest" into offsets, in the order given. */
export async function resolveStartOffsets(
  positions: StartPosition[],
  metadata: (topics: string[]) => Promise<ClusterMetadata>,
  listOffsets: (
    topic: string,
    which: "earliest" | "latest",
    options: { partitions: number[] },
  ) => Promise<Map<number, bigint>>,
): Promise<bigint[]> {
  const cluster = await metadata([...new Set(positions.map((p) => p.topic))]);
  for (const p of positions) {
    const count = cluster.topics.get(p.topic)?.partitionsCount ?? 0;
    if (!Number.isInteger(p.partition) || p.partition < 0 || p.partition >= count) {
      throw new MeshError(
        "MESH_KAFKA_TOPIC_MISCONFIGURED",
        `Kafka: topic ${p.topic} has ${count} partitions; partition ${p.partition} cannot be read`,
        { topic: p.topic, partition: p.partition, partitions: count },
      );
    }
    if (typeof p.offset === "bigint" && p.offset < 0n) {
      const where = { topic: p.topic, partition: p.partition };
      throw new MeshError(
        "MESH_BAD_REQUEST",
        `Kafka: offset ${p.offset} of ${p.topic}/${p.partition} is negative`,
        where,
      );
    }
  }
  const resolved = new Map<string, bigint>();
  for (const which of ["earliest", "latest"] as const) {
    const byTopic = new Map<string, number[]>();
    for (const p of positions) {
      if (p.offset === which) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
    }
    for (const [topic, partitions] of byTopic) {
      const offsets = await listOffsets(topic, which, { partitions });
      for (const [partition, offset] of offsets)
        resolved.set(`${which}\u0000${partitionKey(topic, partition)}`, offset);
    }
  }
  return positions.map((p) =>
    typeof p.offset === "bigint"
      ? p.offset
      : resolved.get(`${p.offset}\u0000${partitionKey(p.topic, p.partition)}`)!,
  );
}
