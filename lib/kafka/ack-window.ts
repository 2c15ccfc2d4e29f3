// The sequence-number bookkeeping of the OrderedProducer, pure (no Kafka, no clock): sequence numbers are
// handed out 1, 2, ... in enqueue order; sends complete them in any order (several lanes are in flight);
// `acked` is the largest N such that every seq <= N completed, so it only ever moves forward and never
// past a seq that has not completed. `fail()` freezes it for good. Also the batching of one lane's queue.

export interface Slot<T> {
  readonly seq: number;
  readonly bytes: number;
  /** Released (null) once completed: the window keeps only the slot's bookkeeping afterwards. */
  item: T | null;
  done: boolean;
}

export class AckWindow<T> {
  #slots: Slot<T>[] = [];
  #head = 0;
  #next = 1;
  #acked = 0;
  #pendingBytes = 0;
  #failed = false;

  /** The seq of the last added item (0 before any). */
  get last(): number {
    return this.#next - 1;
  }

  /** Every seq <= this completed. */
  get acked(): number {
    return this.#acked;
  }

  /** Bytes of the items added and not yet completed (completed ones are released, even out of order). */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  get failed(): boolean {
    return this.#failed;
  }

  add(item: T, bytes: number): Slot<T> {
    const slot: Slot<T> = { seq: this.#next++, bytes, item, done: false };
    this.#slots.push(slot);
    this.#pendingBytes += bytes;
    return slot;
  }

  /** Marks the slots completed; returns the new `acked` (unchanged when a gap remains, or after fail()). */
  complete(slots: Iterable<Slot<T>>): number {
    for (const slot of slots) {
      if (slot.done) continue;
      slot.done = true;
      slot.item = null;
      this.#pendingBytes -= slot.bytes;
    }
    if (this.#failed) return this.#acked;
    let head = this.#head;
    while (head < this.#slots.length && (this.#slots[head] as Slot<T>).done) head++;
    if (head > this.#head) {
      this.#acked = (this.#slots[head - 1] as Slot<T>).seq;
      this.#head = head;
      // Compact now and then instead of shifting per slot.
      if (head > 4096 && head * 2 > this.#slots.length) {
        this.#slots = this.#slots.slice(head);
        this.#head = 0;
      }
    }
    return this.#acked;
  }

  /** From now on `acked` stays where it is, whatever completes later. */
  fail(): void {
    this.#failed = true;
  }
}

/** A FIFO of slots with a head index (no per-item shift). */
export class SlotQueue<T> {
  #items: Slot<T>[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(slot: Slot<T>): void {
    this.#items.push(slot);
  }

  /** Takes slots from the front while their bytes fit in `maxBytes` (always at least one). */
  takeBatch(maxBytes: number): Slot<T>[] {
    const batch: Slot<T>[] = [];
    let bytes = 0;
    while (this.#head < this.#items.length) {
      const slot = this.#items[this.#head] as Slot<T>;
      if (batch.length > 0 && bytes + slot.bytes > maxBytes) break;
      batch.push(slot);
      bytes += slot.bytes;
      this.#head++;
    }
    if (this.#head > 4096 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return batch;
  }
}
