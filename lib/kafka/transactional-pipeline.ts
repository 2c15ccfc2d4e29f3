// The exactly-once write pipeline: the same contract as the OrderedProducer (enqueue hands out sequence
// numbers, `ackedSeq` only moves forward, bounded memory, one failure fails it for good), but everything is
// written in Kafka transactions of one transactional producer, and a seq counts as acknowledged only once
// the transaction holding it committed. The writer marks `boundary()`s (the end of a whole source
// transaction, with the record that stores the source position, e.g. in `_mesh_offsets`); a Kafka
// transaction always ends at a boundary and carries that boundary's record, so a read_committed consumer
// sees every source transaction whole or not at all, and the stored position is exactly what committed.
//
// Flow: messages are sent as they come (one produce request in flight; the next batch is encoded meanwhile)
// into the open Kafka transaction; a commit happens at the latest boundary once everything up to it is sent
// and either nothing else is waiting (low latency when the source is quiet), the transaction is `lingerMs`
// old, or it holds `maxTransactionBytes` (few commits when catching up). Messages after that boundary wait
// for the next transaction. Memory is bounded by the unsent bytes: sent ones are dropped (a failed
// transaction is aborted and the writer resumes from the last committed position).
//
// Fencing: `init()` takes the transactional id (InitProducerId with no producer id): an older producer with
// the same id (a zombie of a killed process) is fenced and its open transaction aborted by the coordinator.
import { MeshError } from "../errors.ts";
import type { KafkaConfig } from "./config.ts";
import { DEFAULT_OPERATION_TIMEOUT_MS, withinDeadline } from "./deadline.ts";
import { kafkaError } from "./errors.ts";
import type { OutMessage } from "./messages.ts";
import type { OrderedProducer } from "./ordered-producer.ts";
import { PipelineSignals } from "./pipeline-signals.ts";
import { messageBytes, PartitionPlacer, toClientMessage, type AnyClientProducer } from "./placement.ts";
import { createClientProducer } from "./producer.ts";

export interface TransactionalPipelineOptions {
  /** One live producer per id: a newer one fences this one (derive it from the source name). */
  transactionalId: string;
  /** Upper bound of one produce request (default 900 KiB; the broker refuses record batches over 1 MB). */
  maxBatchBytes?: number;
  /** Unsent bytes above which `waitForCapacity()` waits (until half of them are sent); default 8 MiB. */
  maxBufferedBytes?: number;
  /** Commit at least this often while messages keep coming (default 100 ms). */
  lingerMs?: number;
  /** Commit at the next boundary once a transaction holds this much (default 64 MiB). */
  maxTransactionBytes?: number;
  /**
   * Kafka aborts a transaction open longer than this (default 300 s; the broker caps it at its
   * transaction.max.timeout.ms, 15 min by default): one source transaction must reach Kafka within it.
   */
  transactionTimeoutMs?: number;
  /**
   * Longest wait for one Kafka operation (a produce, a commit, taking the id) before the pipeline fails with
   * MESH_KAFKA_TIMEOUT (default 10 s; deadline.ts says why the client's own bounds are not enough).
   */
  operationTimeoutMs?: number;
}

/** The OrderedProducer contract, in Kafka transactions that end at boundaries. */
export interface TransactionalPipeline extends OrderedProducer {
  /** Takes the transactional id, fencing an older producer with it (and aborting its open transaction). */
  init(): Promise<void>;
}

interface Queued {
  seq: number;
  msg: OutMessage;
  bytes: number;
}

interface Boundary {
  seq: number;
  record: OutMessage | null;
}

type ClientTransaction = Awaited<ReturnType<AnyClientProducer["beginTransaction"]>>;

class KafkaTransactionalPipeline implements TransactionalPipeline {
  readonly #config: KafkaConfig;
  readonly #o: Required<TransactionalPipelineOptions>;
  readonly #placer = new PartitionPlacer();
  #client: AnyClientProducer | null = null;
  #tx: ClientTransaction | null = null;
  #initializing: Promise<void> | null = null;
  /** Unsent messages, from `#head` on. */
  #queue: Queued[] = [];
  #head = 0;
  #unsentBytes = 0;
  #lastSeq = 0;
  /** The last seq sent in the open transaction (or committed). */
  #sentSeq = 0;
  #committed = 0;
  #boundaries: Boundary[] = [];
  /** When the open transaction's first request left (0: nothing sent in it yet), and its bytes. */
  #txStartedAt = 0;
  #txBytes = 0;
  #flushRequested = false;
  /** The boundary whose record the open transaction already holds. */
  #recordWritten: Boundary | null = null;
  #running: Promise<void> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #failure: MeshError | null = null;
  #closed = false;
  readonly #signals: PipelineSignals;

  constructor(config: KafkaConfig, options: TransactionalPipelineOptions) {
    this.#config = config;
    this.#signals = new PipelineSignals(config.logger, "transactional pipeline");
    this.#o = {
      transactionalId: options.transactionalId,
      maxBatchBytes: options.maxBatchBytes ?? 900 * 1024,
      maxBufferedBytes: options.maxBufferedBytes ?? 8 * 1024 * 1024,
      lingerMs: options.lingerMs ?? 100,
      maxTransactionBytes: options.maxTransactionBytes ?? 64 * 1024 * 1024,
      transactionTimeoutMs: options.transactionTimeoutMs ?? 300_000,
      operationTimeoutMs: options.operationTimeoutMs ?? DEFAULT_OPERATION_TIMEOUT_MS,
    };
  }

  get lastSeq(): number {
    return this.#lastSeq;
  }

  get ackedSeq(): number {
    return this.#committed;
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

  init(): Promise<void> {
    this.#initializing ??= this.#begin().catch((err: unknown) => {
      const mesh = kafkaError(err, `taking transactional id ${this.#o.transactionalId}`);
      this.#fail(mesh);
      throw mesh;
    });
    return this.#initializing;
  }

  enqueue(message: OutMessage): number {
    if (this.#failure) throw this.#failure;
    if (this.#closed) throw new MeshError("MESH_KAFKA_CLOSED", "Kafka: the transactional pipeline is closed");
    const bytes = messageBytes(message);
    const seq = ++this.#lastSeq;
    this.#queue.push({ seq, msg: message, bytes });
    this.#unsentBytes += bytes;
    this.#wake();
    return seq;
  }

  boundary(record?: OutMessage): void {
    if (this.#failure) throw this.#failure;
    if (this.#closed) return;
    const last = this.#boundaries[this.#boundaries.length - 1];
    // A later boundary at the same seq (e.g. a commit followed by a heartbeat position) supersedes the earlier.
    if (last && last.seq === this.#lastSeq) last.record = record ?? last.record;
    else if (this.#lastSeq > this.#committed || record)
      this.#boundaries.push({ seq: this.#lastSeq, record: record ?? null });
    this.#wake();
  }

  whenAcked(seq: number): Promise<void> {
    if (seq <= this.#committed) return Promise.resolve();
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed) return Promise.reject(this.#closedError());
    return this.#signals.untilAcked(seq);
  }

  waitForCapacity(): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#unsentBytes <= this.#o.maxBufferedBytes) return Promise.resolve();
    if (this.#closed) return Promise.reject(this.#closedError());
    return this.#signals.untilCapacity();
  }

  /** Commits up to the last boundary now; resolves once it committed (messages after it stay pending). */
  flush(): Promise<void> {
    const last = this.#boundaries[this.#boundaries.length - 1];
    if (!last) return this.#failure ? Promise.reject(this.#failure) : Promise.resolve();
    this.#flushRequested = true;
    this.#wake();
    return this.whenAcked(last.seq);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running?.catch(() => undefined);
    await this.#initializing?.catch(() => undefined);
    // What the open transaction holds is not committed: abort it now rather than leave read_committed
    // consumers waiting for the coordinator's timeout.
    if (this.#tx && !this.#failure && this.#txStartedAt > 0)
      await this.#bounded(this.#tx.abort(), "aborting the open transaction").catch(() => undefined);
    if (!this.#failure) this.#signals.rejectAll(this.#closedError());
    await this.#client?.close(true).catch(() => undefined);
  }

  #closedError(): MeshError {
    return new MeshError(
      "MESH_KAFKA_CLOSED",
      "Kafka: the transactional pipeline closed before these messages were committed",
    );
  }

  #clientOf(): AnyClientProducer {
    this.#client ??= createClientProducer(this.#config, "transactional", this.#o.transactionalId, {
      // The client sends its request timeout as the transaction timeout of InitProducerId.
      timeout: this.#o.transactionTimeoutMs,
      // The next transaction's first request often meets the last one still completing on the coordinator
      // (CONCURRENT_TRANSACTIONS, retried; the coordinator finishes writing its markers within a few ms):
      // short first retries keep a busy source's commit cadence and a quiet source's latency low. About the
      // same 2.5 s in all as the other clients before a failure is reported.
      retryDelay: (_client: unknown, _operation: string, attempt: number) =>
        attempt <= 5 ? 2 * attempt : 25,
      retries: 100,
    });
    return this.#client;
  }

  async #begin(): Promise<void> {
    this.#tx = await this.#bounded(this.#clientOf().beginTransaction(), "taking the transactional id");
  }

  /** `work` within the operation timeout; `what` (built only if it passes) names it in the error. */
  #bounded<T>(work: Promise<T>, what: string | (() => string)): Promise<T> {
    return withinDeadline(work, this.#o.operationTimeoutMs, () => {
      const text = typeof what === "string" ? what : what();
      return `${text} (${this.#o.transactionalId})`;
    });
  }

  #wake(): void {
    if (this.#running || this.#failure || this.#closed) return;
    if (this.#timer) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    this.#running = this.#run().finally(() => {
      this.#running = null;
      // Work that came while the loop was returning (its wake found it still running) starts now.
      if (this.#head < this.#queue.length || this.#commitTarget(Date.now()) !== null) this.#wake();
    });
  }

  /**
   * The boundary to commit at now, if any: the latest one, provided nothing beyond it was sent yet (else
   * only a later boundary can close the transaction) and a commit is due.
   */
  #commitTarget(now: number): Boundary | null {
    const target = this.#boundaries[this.#boundaries.length - 1];
    if (!target || target.seq < this.#sentSeq) return null;
    const quiet = target.seq === this.#lastSeq;
    const due =
      quiet ||
      this.#flushRequested ||
      (this.#txStartedAt > 0 && now - this.#txStartedAt >= this.#o.lingerMs) ||
      this.#txBytes >= this.#o.maxTransactionBytes;
    return due ? target : null;
  }

  async #run(): Promise<void> {
    try {
      await this.init();
      for (;;) {
        if (this.#failure || this.#closed) return;
        const target = this.#commitTarget(Date.now());
        if (target && this.#sentSeq >= target.seq) {
          // The boundary's record goes with its last batch; if that batch left before the commit was due,
          // it goes on its own now.
          if (this.#recordWritten !== target) await this.#send([], target);
          await this.#commit(target);
          continue;
        }
        if (this.#head < this.#queue.length) {
          await this.#sendBatch(target);
          continue;
        }
        // Nothing to send; a boundary not yet due is committed when the open transaction is old enough.
        const open = this.#boundaries[this.#boundaries.length - 1];
        if (open && open.seq >= this.#sentSeq && this.#txStartedAt > 0) {
          const wait = Math.max(1, this.#txStartedAt + this.#o.lingerMs - Date.now());
          this.#timer = setTimeout(() => {
            this.#timer = null;
            this.#wake();
          }, wait);
        }
        return;
      }
    } catch (err) {
      this.#fail(kafkaError(err, `writing transaction ${this.#o.transactionalId}`));
    }
  }

  /** Sends the next request: up to `maxBatchBytes`, never past `target`; the target's record goes with its end. */
  async #sendBatch(target: Boundary | null): Promise<void> {
    const batch: OutMessage[] = [];
    let bytes = 0;
    const limit = target ? target.seq : Number.POSITIVE_INFINITY;
    while (this.#head < this.#queue.length) {
      const q = this.#queue[this.#head] as Queued;
      if (q.seq > limit || (batch.length > 0 && bytes + q.bytes > this.#o.maxBatchBytes)) break;
      batch.push(q.msg);
      bytes += q.bytes;
      this.#sentSeq = q.seq;
      this.#head++;
    }
    this.#unsentBytes -= bytes;
    if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    } else if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    }
    this.#releaseCapacity();
    await this.#send(batch, target && this.#sentSeq >= target.seq ? target : null, bytes);
  }

  /** One produce request in the open transaction (begun if needed), with `closing`'s record if given. */
  async #send(batch: OutMessage[], closing: Boundary | null, bytes = 0): Promise<void> {
    if (closing) {
      // Superseded records of earlier boundaries are dropped: the latest position is what commits.
      const record = this.#latestRecord(closing.seq);
      if (record) batch.push(record);
      this.#recordWritten = closing;
    }
    if (batch.length === 0) return;
    const client = this.#clientOf();
    this.#tx ??= await this.#bounded(client.beginTransaction(), "beginning a transaction");
    if (this.#txStartedAt === 0) this.#txStartedAt = Date.now();
    this.#txBytes += bytes;
    const topics = [...new Set(batch.map((m) => m.topic))];
    await this.#bounded(this.#placer.counts(client, topics), "reading partition counts");
    const messages = batch.map((m) => toClientMessage(m, this.#placer.place(m)));
    await this.#bounded(this.#tx.send({ messages }), () => `producing to ${topics.join(", ")}`);
  }

  #latestRecord(upTo: number): OutMessage | null {
    for (let i = this.#boundaries.length - 1; i >= 0; i--) {
      const b = this.#boundaries[i] as Boundary;
      if (b.seq <= upTo && b.record) return b.record;
    }
    return null;
  }

  async #commit(target: Boundary): Promise<void> {
    if (this.#txStartedAt > 0 && this.#tx) {
      await this.#bounded(this.#tx.commit(), "committing a transaction");
      this.#tx = null;
    }
    this.#txStartedAt = 0;
    this.#txBytes = 0;
    this.#recordWritten = null;
    this.#boundaries = this.#boundaries.filter((b) => b.seq > target.seq);
    if (this.#boundaries.length === 0) this.#flushRequested = false;
    if (target.seq <= this.#committed) return;
    this.#committed = target.seq;
    this.#signals.acked(target.seq);
  }

  #releaseCapacity(): void {
    if (this.#signals.waitingForCapacity && this.#unsentBytes <= this.#o.maxBufferedBytes / 2)
      this.#signals.capacityFreed();
  }

  #fail(err: MeshError): void {
    if (this.#failure) return;
    this.#failure = err;
    if (this.#timer) clearTimeout(this.#timer);
    // Best effort: the next producer with this id aborts it anyway.
    if (this.#tx && this.#txStartedAt > 0) void this.#tx.abort().catch(() => undefined);
    this.#signals.failed(err);
  }
}

export function createTransactionalPipeline(
  config: KafkaConfig,
  options: TransactionalPipelineOptions,
): TransactionalPipeline {
  return new KafkaTransactionalPipeline(config, options);
}
