// Hands a backend's change stream to the change writer, batch by batch, in log order. A handler that has to
// wait (a schema to register) is awaited before the next event; the producer's capacity is awaited once per
// batch, and the stream is not read on meanwhile, so memory stays bounded by the backend's queue plus the
// producer's buffer. halt() stops handing on at once and resolves when the event in hand is handled; events
// not handled were not confirmed, so the server sends them again to the next session.
import type { OrderedProducer } from "../../lib/kafka/index.ts";
import type { ChangeStream, StreamEvent } from "./backend.ts";

export interface StreamPumpOptions<P> {
  stream: ChangeStream<P>;
  handle: (ev: StreamEvent<P>) => Promise<void> | undefined;
  sink: Pick<OrderedProducer, "waitForCapacity">;
  /** The stream ended or failed, or an event failed (not called after halt()). */
  onFailure: (err: Error) => void;
}

export class StreamPump<P> {
  readonly #o: StreamPumpOptions<P>;
  #halted = false;
  /** The batch being handled, if any. */
  #busy: Promise<void> | null = null;

  constructor(options: StreamPumpOptions<P>) {
    this.#o = options;
  }

  /** Starts pumping (returns at once). */
  start(): void {
    void this.#run().catch((err: unknown) => {
      if (!this.#halted) this.#o.onFailure(err instanceof Error ? err : new Error(String(err)));
    });
  }

  halt(): Promise<void> {
    this.#halted = true;
    return this.#busy ?? Promise.resolve();
  }

  async #run(): Promise<void> {
    const it = this.#o.stream[Symbol.asyncIterator]();
    while (!this.#halted) {
      const next = await it.next();
      if (next.done) {
        if (!this.#halted) this.#o.onFailure(new Error("the change stream ended"));
        return;
      }
      if (this.#halted) return;
      const batch = this.#handle(next.value);
      this.#busy = batch;
      await batch;
      this.#busy = null;
    }
  }

  async #handle(batch: readonly StreamEvent<P>[]): Promise<void> {
    for (const ev of batch) {
      if (this.#halted) return;
      const waiting = this.#o.handle(ev);
      if (waiting) await waiting;
    }
    await this.#o.sink.waitForCapacity();
  }
}
