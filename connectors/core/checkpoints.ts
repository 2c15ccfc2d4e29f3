// The checkpoint rule: a source position is confirmed only once Kafka acknowledged every message written
// before it. Each source transaction (and each lone message the runtime writes outside one, e.g. a
// re-snapshot chunk) leaves a checkpoint: the seq of its last message and the position to resume from after
// it. The producer acknowledges a prefix of seqs (lib/kafka's OrderedProducer), so the confirmed position is
// that of the last checkpoint whose seq is acknowledged. Nothing is confirmed while a table is stopped
// (`frozen`): its unwritten changes must stay on the server for a restart.
import type { PositionCodec } from "./backend.ts";

interface Checkpoint<P> {
  seq: number;
  position: P;
  /** Commit time of a source transaction (0 for the runtime's own writes). */
  commitMicros: bigint;
  events: number;
}

export interface CheckpointOptions<P> {
  positions: PositionCodec<P>;
  /** The confirmed position moved (only forwards). */
  confirm: (position: P) => void;
  /** True while nothing may be confirmed. */
  frozen: () => boolean;
  /** A source transaction's events are all acknowledged (metrics, benchmarks). */
  onTransactionAcked?: ((commitMicros: bigint, events: number) => void) | undefined;
}

export class Checkpoints<P> {
  readonly #o: CheckpointOptions<P>;
  /** Waiting for their seq to be acknowledged, from `#head` on (an index: no shift() per transaction). */
  #queue: Checkpoint<P>[] = [];
  #head = 0;
  #confirmed: P | null = null;

  constructor(options: CheckpointOptions<P>, confirmed: P | null = null) {
    this.#o = options;
    this.#confirmed = confirmed;
  }

  /** The last confirmed position (null before the first). */
  get confirmed(): P | null {
    return this.#confirmed;
  }

  /** Nothing waits for an acknowledgement. */
  get empty(): boolean {
    return this.#head === this.#queue.length;
  }

  /** Commit time of the oldest source transaction not yet all acknowledged (null when none). */
  get oldestPendingCommitMicros(): bigint | null {
    for (let i = this.#head; i < this.#queue.length; i++) {
      const micros = (this.#queue[i] as Checkpoint<P>).commitMicros;
      if (micros > 0n) return micros;
    }
    return null;
  }

  /** Everything up to `seq` written: resume at `position` once it is acknowledged. */
  add(seq: number, position: P, commitMicros: bigint, events: number, ackedSeq: number): void {
    this.#queue.push({ seq, position, commitMicros, events });
    this.acked(ackedSeq);
  }

  /** Moves the confirmed position to `position` if it is ahead (callers know nothing is pending). */
  advance(position: P): void {
    if (this.#o.frozen()) return;
    if (this.#confirmed !== null && this.#o.positions.compare(position, this.#confirmed) <= 0) return;
    this.#confirmed = position;
    this.#o.confirm(position);
  }

  /** The producer acknowledged every seq up to `seq`. */
  acked(seq: number): void {
    const q = this.#queue;
    let advanced: P | null = null;
    while (this.#head < q.length && (q[this.#head] as Checkpoint<P>).seq <= seq) {
      const cp = q[this.#head++] as Checkpoint<P>;
      if (
        !this.#o.frozen() &&
        (this.#confirmed === null || this.#o.positions.compare(cp.position, this.#confirmed) > 0)
      ) {
        this.#confirmed = cp.position;
        advanced = cp.position;
      }
      if (cp.commitMicros > 0n) this.#o.onTransactionAcked?.(cp.commitMicros, cp.events);
    }
    if (this.#head > 0 && this.#head === q.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 4096 && this.#head * 2 > q.length) {
      this.#queue = q.slice(this.#head);
      this.#head = 0;
    }
    if (advanced !== null) this.#o.confirm(advanced);
  }
}
