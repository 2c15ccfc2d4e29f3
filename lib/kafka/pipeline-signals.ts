// The waiting side that both write pipelines (ordered-producer.ts, transactional-pipeline.ts) share: callers
// waiting for a seq to be acknowledged or for buffer space, and the ack and failure listeners. The pipelines
// decide when; this keeps the waiters and calls the listeners (a listener that throws is logged, never
// allowed to break the pipeline's bookkeeping).
import type { Logger } from "../logger.ts";

interface Waiter {
  seq: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class PipelineSignals {
  readonly #logger: Logger | undefined;
  readonly #what: string;
  #ackWaiters: Waiter[] = [];
  #capacityWaiters: Waiter[] = [];
  readonly #ackListeners = new Set<(seq: number) => void>();
  readonly #failureListeners = new Set<(err: Error) => void>();

  /** `what` names the pipeline in the log line of a listener that threw. */
  constructor(logger: Logger | undefined, what: string) {
    this.#logger = logger;
    this.#what = what;
  }

  onAck(listener: (seq: number) => void): () => void {
    this.#ackListeners.add(listener);
    return () => this.#ackListeners.delete(listener);
  }

  onFailure(listener: (err: Error) => void): () => void {
    this.#failureListeners.add(listener);
    return () => this.#failureListeners.delete(listener);
  }

  /** Settles when acked(n >= seq) is called, or rejects with the failure or close. */
  untilAcked(seq: number): Promise<void> {
    return new Promise((resolve, reject) => this.#ackWaiters.push({ seq, resolve, reject }));
  }

  /** Settles at the next capacityFreed(), or rejects with the failure or close. */
  untilCapacity(): Promise<void> {
    return new Promise((resolve, reject) => this.#capacityWaiters.push({ seq: 0, resolve, reject }));
  }

  get waitingForCapacity(): boolean {
    return this.#capacityWaiters.length > 0;
  }

  /** Every seq <= `seq` is acknowledged now. */
  acked(seq: number): void {
    if (this.#ackWaiters.length > 0) {
      const still: Waiter[] = [];
      for (const w of this.#ackWaiters) {
        if (w.seq <= seq) w.resolve();
        else still.push(w);
      }
      this.#ackWaiters = still;
    }
    for (const listener of this.#ackListeners) this.#notify(() => listener(seq));
  }

  capacityFreed(): void {
    const waiters = this.#capacityWaiters;
    this.#capacityWaiters = [];
    for (const w of waiters) w.resolve();
  }

  /** The pipeline failed for good: every waiter rejects with `err`, then the failure listeners hear it. */
  failed(err: Error): void {
    this.rejectAll(err);
    for (const listener of this.#failureListeners) this.#notify(() => listener(err));
  }

  rejectAll(err: Error): void {
    const waiters = [...this.#ackWaiters, ...this.#capacityWaiters];
    this.#ackWaiters = [];
    this.#capacityWaiters = [];
    for (const w of waiters) w.reject(err);
  }

  #notify(call: () => void): void {
    try {
      call();
    } catch (err) {
      this.#logger?.error({ err }, `${this.#what}: a listener threw`);
    }
  }
}
