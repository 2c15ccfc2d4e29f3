// The streaming loop of a session: items from the replication socket are queued in stream order and handed
// to the stream processor one at a time (its handling may await: a TOAST fetch, a new table's schemas,
// producer backpressure). The socket is paused while too many items wait and resumed once the queue is
// short again, so memory stays bounded however fast the server sends.
import { ReplicationStream, type StreamItem } from "./replication-stream.ts";

const QUEUE_HIGH = 20_000;
const QUEUE_LOW = 2_000;

export interface StreamLoopOptions {
  url: string;
  slot: string;
  publication: string;
  /** Handles one item; a rejection fails the loop. */
  handle: (item: StreamItem) => Promise<void>;
  /** The stream closed or an item failed (not called after halt()). */
  onFailure: (err: Error) => void;
}

export class StreamLoop {
  readonly #options: StreamLoopOptions;
  readonly #stream: ReplicationStream;
  #queue: StreamItem[] = [];
  #head = 0;
  #pumping: Promise<void> | null = null;
  #halted = false;
  #socketPaused = false;

  constructor(options: StreamLoopOptions) {
    this.#options = options;
    this.#stream = new ReplicationStream({
      url: options.url,
      slot: options.slot,
      publication: options.publication,
      onItem: (item) => {
        this.#queue.push(item);
        if (!this.#socketPaused && this.#queue.length - this.#head > QUEUE_HIGH) {
          this.#socketPaused = true;
          this.#stream.pause();
        }
        // .finally runs after the assignment, also when the pump ends at once.
        this.#pumping ??= this.#pump().finally(() => (this.#pumping = null));
      },
      onClose: (err) => this.#fail(err ?? new Error("replication stream closed")),
    });
  }

  /** Starts streaming from the slot's confirmed position; resolves once the server started sending. */
  start(): Promise<void> {
    return this.#stream.start();
  }

  /** Tells the server everything before `lsn` is handled (see ReplicationStream.confirm). */
  confirm(lsn: bigint): Promise<void> {
    return this.#stream.confirm(lsn);
  }

  /**
   * Stops handing items on; resolves once the item in hand is handled. Items not yet handled are dropped:
   * they were not confirmed, so the slot sends them again to the next session.
   */
  halt(): Promise<void> {
    this.#halted = true;
    return this.#pumping ?? Promise.resolve();
  }

  /** Closes the replication connection. */
  stop(): Promise<void> {
    this.#halted = true;
    return this.#stream.stop();
  }

  #fail(err: Error): void {
    if (this.#halted) return;
    this.#options.onFailure(err);
  }

  async #pump(): Promise<void> {
    try {
      while (this.#head < this.#queue.length && !this.#halted) {
        const item = this.#queue[this.#head++] as StreamItem;
        await this.#options.handle(item);
        // While changes keep arriving the loop may never see an empty queue: drop handled items now and
        // then, or a long busy stream (one huge transaction) would keep every decoded change alive.
        if (this.#head >= 4096 && this.#head * 2 >= this.#queue.length) {
          this.#queue.splice(0, this.#head);
          this.#head = 0;
        }
        if (this.#socketPaused && this.#queue.length - this.#head < QUEUE_LOW) {
          this.#socketPaused = false;
          this.#stream.resume();
        }
      }
      this.#queue.splice(0, this.#head);
      this.#head = 0;
    } catch (err) {
      this.#fail(err instanceof Error ? err : new Error(String(err)));
    }
  }
}
