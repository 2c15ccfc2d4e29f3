// The connector's write pipeline: `enqueue()` hands out sequence numbers 1, 2, ...; Kafka's acknowledgements
// advance `ackedSeq`, the largest N with every seq <= N acknowledged (ack-window.ts); memory is bounded by
// `waitForCapacity()`. A send that fails after the client's retries fails the producer for good: ackedSeq
// freezes, waiters reject, nothing more is sent.
//
// Several requests in flight, per-partition order kept. The client's idempotent producer allows one request
// in flight per connection, and its recovery from a failed request (a new producer id, then a resend) would
// put a request queued behind the failed one ahead of it: pipelining sends on one client producer is not
// safe. So the pipeline runs `lanes` client producers (each its own connection and producer id), each with
// exactly one request in flight, and gives every topic-partition to one lane (round robin as they appear):
// a partition's messages leave in enqueue order on one idempotent producer, and the lanes run in parallel.
import { MeshError } from "../errors.ts";
import { AckWindow, SlotQueue, type Slot } from "./ack-window.ts";
import type { KafkaConfig } from "./config.ts";
import { DEFAULT_OPERATION_TIMEOUT_MS, withinDeadline } from "./deadline.ts";
import { kafkaError } from "./errors.ts";
import type { OutMessage } from "./messages.ts";
import { PipelineSignals } from "./pipeline-signals.ts";
import { messageBytes, PartitionPlacer, toClientMessage, type AnyClientProducer } from "./placement.ts";
import { createClientProducer } from "./producer.ts";

export interface OrderedProducerOptions {
  /** Upper bound of one produce request (the broker refuses record batches over message.max.bytes, 1 MB). */
  maxBatchBytes?: number;
  /** Enqueued and unacknowledged bytes above which `waitForCapacity()` waits (until half of them are acknowledged). */
  maxBufferedBytes?: number;
  /** Client producers sending in parallel, one request in flight each (default 4). */
  lanes?: number;
  /**
   * Longest wait for one produce request (retries included) before the producer fails with
   * MESH_KAFKA_TIMEOUT (default 10 s; deadline.ts says why the client's own bounds are not enough).
   */
  operationTimeoutMs?: number;
}

export interface OrderedProducer {
  /** The message's sequence number (1, 2, ...). Throws the failure once the producer failed. */
  enqueue(message: OutMessage): number;
  /**
   * Everything enqueued so far forms whole units (source transactions): the exactly-once pipeline
   * (transactional-pipeline.ts) commits Kafka transactions only at boundaries and writes `record` (the
   * source position) in the transaction that ends there. Here, where each message is acknowledged on its
   * own, a no-op: the writer calls it the same way whatever the delivery mode.
   */
  boundary(record?: OutMessage): void;
  /** The seq of the last enqueued message (0 before any). */
  readonly lastSeq: number;
  /** Every seq <= this is acknowledged by Kafka (acks=all). */
  readonly ackedSeq: number;
  readonly error: Error | null;
  /** Resolves once every seq <= `seq` is acknowledged; rejects if the producer failed or closed first. */
  whenAcked(seq: number): Promise<void>;
  /** Backpressure: resolves at once below the bound, else when half the buffered bytes are acknowledged. */
  waitForCapacity(): Promise<void>;
  /** Resolves once everything enqueued so far is acknowledged. */
  flush(): Promise<void>;
  onAck(listener: (seq: number) => void): () => void;
  /** Called once, with the error that failed the producer. */
  onFailure(listener: (err: Error) => void): () => void;
  /** Stops sending, waits for the requests in flight, closes the clients. Does not flush: call flush() first. */
  close(): Promise<void>;
}

interface Pending {
  msg: OutMessage;
  partition: number;
}

interface Lane {
  index: number;
  client: AnyClientProducer | null;
  queue: SlotQueue<Pending>;
  busy: boolean;
}

class KafkaOrderedProducer implements OrderedProducer {
  readonly #config: KafkaConfig;
  readonly #maxBatchBytes: number;
  readonly #maxBufferedBytes: number;
  readonly #operationTimeoutMs: number;
  readonly #window = new AckWindow<Pending>();
  readonly #placer = new PartitionPlacer();
  readonly #lanes: Lane[];
  /** topic -> partition -> its lane, fixed once chosen. */
  readonly #laneOf = new Map<string, Lane[]>();
  #nextLane = 0;
  /** Enqueued, not yet given to a lane (waiting for a topic's partition count). */
  #incoming: Slot<Pending>[] = [];
  #incomingHead = 0;
  #fetchingCounts = false;
  #dispatchQueued = false;
  readonly #dispatchLater = (): void => {
    this.#dispatchQueued = false;
    this.#dispatch();
  };
  #failure: MeshError | null = null;
  #closed = false;
  readonly #inflight = new Set<Promise<void>>();
  readonly #signals: PipelineSignals;

  constructor(config: KafkaConfig, options: OrderedProducerOptions) {
    this.#config = config;
    this.#signals = new PipelineSignals(config.logger, "ordered producer");
    this.#maxBatchBytes = options.maxBatchBytes ?? 900 * 1024;
    this.#maxBufferedBytes = options.maxBufferedBytes ?? 8 * 1024 * 1024;
    this.#operationTimeoutMs = options.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS;
    const lanes = Math.max(1, Math.floor(options.lanes ?? 4));
    this.#lanes = Array.from({ length: lanes }, (_, index) => ({
      index,
      client: null,
      queue: new SlotQueue<Pending>(),
      busy: false,
    }));
  }

  get lastSeq(): number {
    return this.#window.last;
  }

  get ackedSeq(): number {
    return this.#window.acked;
  }

  get error(): Error | null {
    return this.#failure;
  }

  onAck(listener: (seq: number) => void): () => void {
    return this.#signals.onAck(listener);
  }

  onFailure(listener: (err: Error) => void): () => void {
    return this.#signals.onFailure(listener);
  }

  enqueue(message: OutMessage): number {
    if (this.#failure) throw this.#failure;
    if (this.#closed) throw new MeshError("MESH_KAFKA_CLOSED", "Kafka: the ordered producer is closed");
    const slot = this.#window.add({ msg: message, partition: -1 }, messageBytes(message));
    this.#incoming.push(slot);
    // Dispatched once the caller's synchronous run of enqueues ends: a source transaction's events then
    // leave in one request per lane instead of the first one alone (an idle lane sends at once).
    if (!this.#dispatchQueued) {
      this.#dispatchQueued = true;
      queueMicrotask(this.#dispatchLater);
    }
    return slot.seq;
  }

  boundary(): void {
    // Nothing to do: see the interface.
  }

  whenAcked(seq: number): Promise<void> {
    if (seq <= this.#window.acked) return Promise.resolve();
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed) return Promise.reject(this.#closedError());
    return this.#signals.untilAcked(seq);
  }

  waitForCapacity(): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#window.pendingBytes <= this.#maxBufferedBytes) return Promise.resolve();
    if (this.#closed) return Promise.reject(this.#closedError());
    return this.#signals.untilCapacity();
  }

  flush(): Promise<void> {
    return this.whenAcked(this.lastSeq);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#inflight]);
    if (!this.#failure) this.#signals.rejectAll(this.#closedError());
    for (const lane of this.#lanes) await lane.client?.close(true).catch(() => undefined);
  }

  #closedError(): MeshError {
    return new MeshError(
      "MESH_KAFKA_CLOSED",
      "Kafka: the ordered producer closed before these messages were acknowledged",
    );
  }

  /** Gives incoming messages, in enqueue order, to the lane of their partition. */
  #dispatch(): void {
    while (this.#incomingHead < this.#incoming.length && !this.#failure) {
      const slot = this.#incoming[this.#incomingHead] as Slot<Pending>;
      const pending = slot.item as Pending;
      if (this.#placer.cached(pending.msg.topic) === undefined) {
        this.#fetchCounts();
        break;
      }
      try {
        pending.partition = this.#placer.place(pending.msg);
      } catch (err) {
        this.#fail(kafkaError(err, `placing a message for ${pending.msg.topic}`));
        return;
      }
      const lane = this.#laneFor(pending.msg.topic, pending.partition);
      lane.queue.push(slot);
      this.#incomingHead++;
      // A busy lane picks the slot up with its next batch; an idle one leaves now.
      this.#pump(lane);
    }
    if (this.#incomingHead === this.#incoming.length) {
      this.#incoming = [];
      this.#incomingHead = 0;
    }
  }

  #fetchCounts(): void {
    if (this.#fetchingCounts) return;
    this.#fetchingCounts = true;
    const topics = new Set<string>();
    for (let i = this.#incomingHead; i < this.#incoming.length; i++) {
      const topic = (this.#incoming[i]?.item as Pending).msg.topic;
      if (this.#placer.cached(topic) === undefined) topics.add(topic);
    }
    const lane = this.#lanes[0] as Lane;
    const what = `reading the partition counts of ${[...topics].join(", ")}`;
    withinDeadline(
      this.#placer.counts(this.#clientOf(lane), [...topics]),
      this.#operationTimeoutMs,
      what,
    ).then(
      () => {
        this.#fetchingCounts = false;
        this.#dispatch();
      },
      (err: unknown) => {
        this.#fetchingCounts = false;
        this.#fail(kafkaError(err, what));
      },
    );
  }

  #laneFor(topic: string, partition: number): Lane {
    let byPartition = this.#laneOf.get(topic);
    if (!byPartition) this.#laneOf.set(topic, (byPartition = []));
    const lane = byPartition[partition];
    if (lane) return lane;
    const chosen = this.#lanes[this.#nextLane++ % this.#lanes.length] as Lane;
    byPartition[partition] = chosen;
    return chosen;
  }

  #clientOf(lane: Lane): AnyClientProducer {
    lane.client ??= createClientProducer(this.#config, `ordered-${lane.index}`);
    return lane.client;
  }

  /** One request in flight per lane: the next batch leaves when the previous one is acknowledged. */
  #pump(lane: Lane): void {
    if (lane.busy || this.#failure || this.#closed || lane.queue.length === 0) return;
    lane.busy = true;
    const batch = lane.queue.takeBatch(this.#maxBatchBytes);
    const messages = batch.map((slot) => {
      const p = slot.item as Pending;
      return toClientMessage(p.msg, p.partition);
    });
    const topics = (): string => [...new Set(messages.map((m) => m.topic))].join(", ");
    const sent = this.#clientOf(lane).send({ messages });
    const sending = withinDeadline(sent, this.#operationTimeoutMs, () => `producing to ${topics()}`).then(
      () => {
        lane.busy = false;
        this.#completed(batch);
        this.#pump(lane);
      },
      (err: unknown) => {
        lane.busy = false;
        this.#fail(kafkaError(err, `producing to ${topics()}`, { fromSeq: batch[0]?.seq }));
      },
    );
    this.#inflight.add(sending);
    void sending.finally(() => this.#inflight.delete(sending));
  }

  #completed(batch: Slot<Pending>[]): void {
    const before = this.#window.acked;
    const acked = this.#window.complete(batch);
    if (acked > before) this.#signals.acked(acked);
    if (this.#signals.waitingForCapacity && this.#window.pendingBytes <= this.#maxBufferedBytes / 2)
      this.#signals.capacityFreed();
  }

  #fail(err: MeshError): void {
    if (this.#failure) return;
    this.#failure = err;
    this.#window.fail();
    this.#signals.failed(err);
  }
}

export function createOrderedProducer(
  config: KafkaConfig,
  options: OrderedProducerOptions = {},
): OrderedProducer {
  return new KafkaOrderedProducer(config, options);
}
