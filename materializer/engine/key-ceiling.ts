// The largest key stored in one section of a view (a relation's input rows T, or a single-table view's rows
// R), kept in memory so an apply batch can tell, without a read, that a row cannot be stored yet: a key that
// sorts above every stored key. Inserts with ascending keys (sequences, timestamps: most inserts in
// practice) then cost no stored-row read. This is a fact about LevelDB's state, not about the source's op:
// a Debezium `c` can be re-delivered (connector restarts replay events) or follow a delete in the same
// batch, so `c` alone never proves a key absent; a key above the ceiling always does. The ceiling is exact
// or too high (deletes and truncates never lower it), never too low, because the view's ViewState is the
// only writer of its keys and raises the ceiling with every key its batches write.
import type { Db } from "./reader.ts";

export class KeyCeiling {
  private readonly db: Db;
  private readonly prefix: Buffer;
  /** undefined: not read yet; null: the section was empty when read. */
  private max: Buffer | null | undefined = undefined;

  /** `prefix`: the section's key prefix (every key of the section starts with it). */
  constructor(db: Db, prefix: Buffer) {
    this.db = db;
    this.prefix = prefix;
  }

  /** Reads the section's last key once (later calls return at once). */
  async load(): Promise<void> {
    if (this.max !== undefined) return;
    const keys = await this.db
      .keys({ gte: this.prefix, lt: prefixEnd(this.prefix), reverse: true, limit: 1 })
      .all();
    const last = keys[0];
    this.max = last ? Buffer.from(last.subarray(this.prefix.length)) : null;
  }

  /** True when no key at or above `pk` is stored: the row of `pk` is certainly absent. */
  above(pk: Buffer): boolean {
    if (this.max === undefined) return false;
    return this.max === null || Buffer.compare(pk, this.max) > 0;
  }

  /** Records that a batch wrote `pk` (call for every key a batch puts, before or after the commit). */
  raise(pk: Buffer): void {
    if (this.max === undefined) return;
    if (this.max === null || Buffer.compare(pk, this.max) > 0) this.max = pk;
  }
}

/** The smallest key above every key that starts with `prefix`. */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] !== 0xff) {
      end[i] = (end[i] as number) + 1;
      return end.subarray(0, i + 1);
    }
  }
  throw new RangeError("a key prefix of only 0xff bytes has no upper bound");
}
