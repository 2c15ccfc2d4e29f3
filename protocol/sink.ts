// Owns what the protocol's writer (event-writer.ts) writes through: a sink that takes messages in order and
// numbers them. lib/kafka's OrderedProducer is one (it also acknowledges them in order); `MemorySink`
// keeps them in memory, for tests and for writers that hand the messages on themselves. Pure.
import type { OutMessage } from "../lib/kafka/messages.ts";

/** One message as the protocol writes it: always bytes (Avro wire format, or raw outbox payloads). */
export interface SinkMessage extends OutMessage {
  key: Buffer | null;
  /** null: a tombstone. */
  value: Buffer | null;
  /** Set by the writer wherever the partition matters (events, truncates, markers, heartbeats). */
  partition?: number;
  headers?: Record<string, string>;
}

export interface EventSink {
  /** Takes a message and returns its sequence number (1, 2, ...: enqueue order). */
  enqueue(message: SinkMessage): number;
  /** The sequence number of the last message taken (0 before any). */
  readonly lastSeq: number;
}

export class MemorySink implements EventSink {
  private readonly held: SinkMessage[] = [];
  private seq = 0;

  enqueue(message: SinkMessage): number {
    this.held.push(message);
    return ++this.seq;
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** Messages taken and not yet handed on. */
  get pending(): number {
    return this.held.length;
  }

  /** Hands on the messages taken since the last call, in enqueue order. */
  take(): SinkMessage[] {
    return this.held.splice(0);
  }
}
