// Owns write batching on the leader: records submitted while a send is in flight go out together in the next
// send, so registrations are not limited to one Kafka round trip each. Order of submission is kept.
import type { LogRecord } from "./records.ts";

/** Sends records in one batch, resolves with the offset of the first. */
export type SendBatch<R = LogRecord> = (records: readonly R[]) => Promise<number>;

interface Pending<R> {
  records: readonly R[];
  resolve: (lastOffset: number) => void;
  reject: (e: unknown) => void;
}

export class Batcher<R = LogRecord> {
  private readonly send: SendBatch<R>;
  private queue: Pending<R>[] = [];
  private flushing = false;

  constructor(send: SendBatch<R>) {
    this.send = send;
  }

  /** Resolves with the offset of the last of `records` once Kafka acknowledged them (-1 for none). */
  submit(records: readonly R[]): Promise<number> {
    if (records.length === 0) return Promise.resolve(-1);
    return new Promise((resolve, reject) => {
      this.queue.push({ records, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length > 0) {
      const batch = this.queue;
      this.queue = [];
      try {
        const base = await this.send(batch.flatMap((p) => p.records));
        let offset = base;
        for (const p of batch) {
          offset += p.records.length;
          p.resolve(offset - 1);
        }
      } catch (e) {
        for (const p of batch) p.reject(e);
      }
    }
    this.flushing = false;
  }
}
