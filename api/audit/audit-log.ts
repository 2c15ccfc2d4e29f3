// Owns reading `_mesh_audit` for GET /v1/audit: a page of entries matching a filter, newest first (desc) or
// oldest first (asc), with a cursor to the next page. Nothing is kept in memory between requests: each page
// reads the topic's one partition (protocol/audit.ts) from Kafka, starting near `since`/`until` by record
// time, and scans at most `scanLimit` records; a page may then hold fewer than `limit` entries with a `next`
// to go on from (a filter that matches little in a long log), and `next` is null once the log is exhausted.
// Cursors are `a<offset>` (asc: the next offset to read) and `d<offset>` (desc: read below it).
import { isMeshError, MeshError } from "../../lib/errors.ts";
import type { InRecord, KafkaClient, PartitionReader } from "../../lib/kafka/index.ts";
import {
  AUDIT_PARTITION,
  decodeAuditRecord,
  matchesAudit,
  type AuditFilter,
  type AuditRecord,
} from "../../protocol/audit.ts";

export type AuditOrder = "asc" | "desc";

export interface AuditQuery extends AuditFilter {
  limit: number;
  order?: AuditOrder;
  cursor?: string;
}

/** An entry as GET /v1/audit answers it: the record and its position in the log. */
export interface AuditEntry extends AuditRecord {
  /** The entry's offset in `_mesh_audit` (decimal). */
  id: string;
}

export interface AuditPage {
  entries: AuditEntry[];
  next: string | null;
}

/** What the route reads through (KafkaAuditLog; tests may pass their own). */
export interface AuditLogReader {
  page(query: AuditQuery): Promise<AuditPage>;
}

export const AUDIT_CURSOR_PATTERN = "^[ad][0-9]{1,19}$";
/** Record timestamps of several writers are not in offset order: `since`/`until` start this much wider. */
const CLOCK_MARGIN_MS = 60_000;

export interface KafkaAuditLogOptions {
  kafka: KafkaClient;
  topic: string;
  /** Records read at most per page (default 20,000). */
  scanLimit?: number;
  /** Records read per step backwards (desc; default 1,000). */
  chunk?: number;
}

export function parseAuditCursor(
  cursor: string,
  order: AuditOrder | undefined,
): { order: AuditOrder; at: bigint } {
  const m = /^([ad])([0-9]{1,19})$/.exec(cursor);
  const cursorOrder: AuditOrder | undefined = m?.[1] === "a" ? "asc" : m?.[1] === "d" ? "desc" : undefined;
  if (!m || !cursorOrder || (order !== undefined && order !== cursorOrder))
    throw new MeshError(
      "MESH_BAD_CURSOR",
      `the cursor "${cursor}" is not one GET /v1/audit returned${order ? ` for order=${order}` : ""}; repeat the query without it, or pass the previous page's next unchanged`,
      { cursor },
    );
  return { order: cursorOrder, at: BigInt(m[2]!) };
}

export class KafkaAuditLog implements AuditLogReader {
  readonly #options: KafkaAuditLogOptions;

  constructor(options: KafkaAuditLogOptions) {
    this.#options = options;
  }

  async page(query: AuditQuery): Promise<AuditPage> {
    const cursor = query.cursor !== undefined ? parseAuditCursor(query.cursor, query.order) : null;
    const order = cursor?.order ?? query.order ?? "desc";
    const bounds = await this.#bounds();
    if (!bounds) return { entries: [], next: null };
    const reader = this.#options.kafka.reader({ isolation: "read_uncommitted" });
    try {
      return order === "asc"
        ? await this.#forward(reader, query, bounds, cursor?.at)
        : await this.#backward(reader, query, bounds, cursor?.at);
    } finally {
      await reader.close();
    }
  }

  /** The partition's first and end offsets; null when the topic does not exist yet (nothing audited). */
  async #bounds(): Promise<{ low: bigint; high: bigint } | null> {
    try {
      const offsets = await this.#options.kafka.admin().offsets(this.#options.topic);
      const p = offsets.get(AUDIT_PARTITION);
      return p ? { low: p.low, high: p.high } : null;
    } catch (err) {
      if (isMeshError(err) && err.code === "MESH_KAFKA_TOPIC_MISSING") return null;
      throw err;
    }
  }

  async #timeOffset(ms: number): Promise<bigint | undefined> {
    // Kafka reads a negative time as a special position (-1 latest, -2 earliest): a time before 1970 is
    // before every record.
    if (ms <= 0) return 0n;
    return (await this.#options.kafka.admin().offsetsForTime(this.#options.topic, ms)).get(AUDIT_PARTITION);
  }

  async #forward(
    reader: PartitionReader,
    query: AuditQuery,
    { low, high }: { low: bigint; high: bigint },
    from: bigint | undefined,
  ): Promise<AuditPage> {
    let start =
      from ?? (query.since !== undefined ? await this.#timeOffset(query.since - CLOCK_MARGIN_MS) : low);
    start = max(start ?? low, low);
    const end = min(high, start + BigInt(this.#options.scanLimit ?? 20_000));
    const entries: AuditEntry[] = [];
    let next = start;
    for (const record of await this.#read(reader, start, end)) {
      next = record.offset + 1n;
      const entry = entryOf(record);
      if (entry && matchesAudit(entry, query)) entries.push(entry);
      if (entries.length >= query.limit) break;
      if (query.until !== undefined && record.timestamp >= query.until + CLOCK_MARGIN_MS) {
        return { entries, next: null };
      }
    }
    if (entries.length < query.limit) next = end;
    return { entries, next: next >= high ? null : `a${next}` };
  }

  async #backward(
    reader: PartitionReader,
    query: AuditQuery,
    { low, high }: { low: bigint; high: bigint },
    below: bigint | undefined,
  ): Promise<AuditPage> {
    let top =
      below ?? (query.until !== undefined ? await this.#timeOffset(query.until + CLOCK_MARGIN_MS) : high);
    top = min(top ?? high, high);
    const chunk = BigInt(this.#options.chunk ?? 1000);
    let budget = BigInt(this.#options.scanLimit ?? 20_000);
    const entries: AuditEntry[] = [];
    while (top > low && budget > 0n) {
      const bottom = max(low, top - min(chunk, budget));
      const records = await this.#read(reader, bottom, top);
      for (const record of records.reverse()) {
        const entry = entryOf(record);
        if (entry && matchesAudit(entry, query)) entries.push(entry);
        if (entries.length >= query.limit) return { entries, next: `d${record.offset}` };
      }
      budget -= top - bottom;
      top = bottom;
      // Everything below is older than `since` (with the writers' clock margin): nothing more can match.
      if (query.since !== undefined && records.every((r) => r.timestamp < query.since! - CLOCK_MARGIN_MS))
        return { entries, next: null };
    }
    return { entries, next: top > low ? `d${top}` : null };
  }

  /** The records of [from, to), in offset order. */
  async #read(reader: PartitionReader, from: bigint, to: bigint): Promise<InRecord[]> {
    const out: InRecord[] = [];
    if (from >= to) return out;
    const topic = this.#options.topic;
    await reader.assign([{ topic, partition: AUDIT_PARTITION, offset: from }]);
    let reached = from;
    for await (const batch of reader.batches(AbortSignal.timeout(30_000))) {
      for (const record of batch.records) if (record.offset >= from && record.offset < to) out.push(record);
      reached = batch.nextOffset;
      if (reached >= to) break;
    }
    if (reached < to)
      throw new MeshError(
        "MESH_KAFKA_UNAVAILABLE",
        `Kafka did not return ${topic} up to offset ${to} in time; retry`,
        {
          topic,
        },
      );
    return out;
  }
}

function entryOf(record: InRecord): AuditEntry | null {
  const decoded = decodeAuditRecord(record.value);
  return decoded ? { ...decoded, id: String(record.offset) } : null;
}

const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);
