// The control-plane catalog: sources (with credentials, kept here only), table ownership and views.
// Writes go to the log and return only once this process has applied them in log order, so the answer a
// client gets is the state every process converges to. A write that lost a race (log order put another
// claim first) is refused, and its key is rewritten with the winner's value so compaction can never
// resurrect the loser.
import { MeshError } from "../../lib/errors.ts";
import {
  applyRecord,
  emptyState,
  eventsConflict,
  eventsKey,
  sourceConflict,
  sourceKey,
  viewConflict,
  viewKey,
  type ApplyResult,
  type CatalogChange,
  type CatalogRecord,
  type CatalogState,
  type EventTopicRecord,
  type SourceRecord,
  type ViewRecord,
} from "../../protocol/catalog.ts";
import { policyConflict, policyKey, type PolicyRecord } from "../../protocol/policies.ts";
import { tokenKey, type TokenRecord } from "../../protocol/tokens.ts";

/** The ordered log under the catalog: a compacted Kafka topic, or memory in unit tests. */
export interface CatalogLog {
  /** Delivers every record in order; resolves once the records present at start are delivered. */
  start(onRecord: (offset: bigint, key: string, value: CatalogRecord | null) => void): Promise<void>;
  /** Durably appends (Kafka: acks=all) and returns the record's offset. */
  append(key: string, value: CatalogRecord | null): Promise<bigint>;
  stop(): Promise<void>;
}

type Listener = (change: CatalogChange) => void;

const keptResults = 10_000;

export class Catalog {
  readonly #log: CatalogLog;
  readonly #state: CatalogState = emptyState();
  readonly #results = new Map<bigint, ApplyResult>();
  readonly #waiters: { offset: bigint; resolve: (r: ApplyResult) => void }[] = [];
  readonly #listeners = new Set<Listener>();
  #applied = -1n;
  #started = false;

  constructor(log: CatalogLog) {
    this.#log = log;
  }

  async start(): Promise<void> {
    await this.#log.start((offset, key, value) => this.#apply(offset, key, value));
    this.#started = true;
  }

  async stop(): Promise<void> {
    this.#started = false;
    await this.#log.stop();
  }

  get ready(): boolean {
    return this.#started;
  }

  /** Called for every accepted change, including those written by other processes. */
  onChange(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  sources(): SourceRecord[] {
    return [...this.#state.sources.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  source(name: string): SourceRecord | undefined {
    return this.#state.sources.get(name);
  }

  views(): ViewRecord[] {
    return [...this.#state.views.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  view(name: string): ViewRecord | undefined {
    return this.#state.views.get(name);
  }

  /** Domain-event topics with declared event types, by topic. */
  eventTopics(): EventTopicRecord[] {
    return [...this.#state.events.values()].sort((a, b) => a.topic.localeCompare(b.topic));
  }

  eventTopic(topic: string): EventTopicRecord | undefined {
    return this.#state.events.get(topic);
  }

  checkEvents(record: EventTopicRecord): void {
    const rejection = eventsConflict(this.#state, record);
    if (rejection) throw new MeshError(rejection.code, rejection.message, rejection.details);
  }

  async putEvents(record: EventTopicRecord): Promise<EventTopicRecord> {
    this.checkEvents(record);
    await this.#write(eventsKey(record.topic), record);
    return record;
  }

  /** table identity → owner: the ownership map. */
  tables(): Map<string, { owner: string; source: string; table: string }> {
    return new Map(this.#state.tables);
  }

  /** Fails fast with the conflict the record would have now (the log order still has the last word). */
  checkSource(record: SourceRecord): void {
    const rejection = sourceConflict(this.#state, record);
    if (rejection) throw new MeshError(rejection.code, rejection.message, rejection.details);
  }

  checkView(record: ViewRecord): void {
    const rejection = viewConflict(this.#state, record);
    if (rejection) throw new MeshError(rejection.code, rejection.message, rejection.details);
  }

  async putSource(record: SourceRecord): Promise<SourceRecord> {
    this.checkSource(record);
    await this.#write(sourceKey(record.name), record);
    return record;
  }

  async deleteSource(name: string): Promise<void> {
    await this.#write(sourceKey(name), null);
  }

  async putView(record: ViewRecord): Promise<ViewRecord> {
    this.checkView(record);
    await this.#write(viewKey(record.name), record);
    return record;
  }

  async deleteView(name: string): Promise<void> {
    await this.#write(viewKey(name), null);
  }

  /** Policies (protocol/policies.ts), by id. */
  policies(): PolicyRecord[] {
    return [...this.#state.policies.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  policy(id: string): PolicyRecord | undefined {
    return this.#state.policies.get(id);
  }

  checkPolicy(record: PolicyRecord): void {
    const rejection = policyConflict(this.#state.policies, record);
    if (rejection) throw new MeshError(rejection.code, rejection.message, rejection.details);
  }

  async putPolicy(record: PolicyRecord): Promise<PolicyRecord> {
    this.checkPolicy(record);
    await this.#write(policyKey(record.id), record);
    return record;
  }

  async deletePolicy(id: string): Promise<void> {
    await this.#write(policyKey(id), null);
  }

  /** Service tokens (protocol/tokens.ts), revoked ones included, oldest first. */
  tokens(): TokenRecord[] {
    return [...this.#state.tokens.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }

  token(id: string): TokenRecord | undefined {
    return this.#state.tokens.get(id);
  }

  /** Creates or rewrites (revokes) a token record; returns once this process applied it. */
  async putToken(record: TokenRecord): Promise<TokenRecord> {
    await this.#write(tokenKey(record.id), record);
    return record;
  }

  async #write(key: string, value: CatalogRecord | null): Promise<void> {
    if (!this.#started)
      throw new MeshError("MESH_KAFKA_UNAVAILABLE", "the catalog is not loaded yet; retry shortly");
    const offset = await this.#log.append(key, value);
    const result = await this.#waitApplied(offset);
    if (result.accepted) return;
    // Lost a race: put the key back to what the log accepted, so compaction cannot keep our record alone.
    const slash = key.indexOf("/");
    const name = key.slice(slash + 1);
    const current = key.startsWith("source/")
      ? this.#state.sources.get(name)
      : key.startsWith("events/")
        ? this.#state.events.get(name)
        : key.startsWith("policy/")
          ? this.#state.policies.get(name)
          : this.#state.views.get(name);
    await this.#log.append(key, current ?? null);
    throw new MeshError(result.rejection.code, result.rejection.message, result.rejection.details);
  }

  #waitApplied(offset: bigint): Promise<ApplyResult> {
    const done = this.#results.get(offset);
    if (done) return Promise.resolve(done);
    return new Promise((resolve) => this.#waiters.push({ offset, resolve }));
  }

  #apply(offset: bigint, key: string, value: CatalogRecord | null): void {
    const result = applyRecord(this.#state, key, value);
    this.#applied = offset;
    this.#results.set(offset, result);
    if (this.#results.size > keptResults) {
      const oldest = this.#results.keys().next().value;
      if (oldest !== undefined) this.#results.delete(oldest);
    }
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      const waiter = this.#waiters[i];
      if (waiter && waiter.offset <= this.#applied) {
        this.#waiters.splice(i, 1);
        waiter.resolve(this.#results.get(waiter.offset) ?? result);
      }
    }
    if (result.accepted && result.change) {
      for (const listener of this.#listeners) listener(result.change);
    }
  }
}

type RecordHandler = (offset: bigint, key: string, value: CatalogRecord | null) => void;

/** An in-memory log for unit tests; `share()` gives a second handle on the same records (a second process). */
export class MemoryCatalogLog implements CatalogLog {
  readonly #store: {
    records: { key: string; value: CatalogRecord | null }[];
    subscribers: Set<RecordHandler>;
  };
  #subscriber: RecordHandler | null = null;

  constructor(store?: MemoryCatalogLog) {
    this.#store = store ? store.#store : { records: [], subscribers: new Set() };
  }

  get records(): readonly { key: string; value: CatalogRecord | null }[] {
    return this.#store.records;
  }

  share(): MemoryCatalogLog {
    return new MemoryCatalogLog(this);
  }

  start(onRecord: RecordHandler): Promise<void> {
    for (const [i, r] of this.#store.records.entries()) onRecord(BigInt(i), r.key, structuredClone(r.value));
    this.#subscriber = onRecord;
    this.#store.subscribers.add(onRecord);
    return Promise.resolve();
  }

  append(key: string, value: CatalogRecord | null): Promise<bigint> {
    const offset = BigInt(this.#store.records.length);
    this.#store.records.push({ key, value: structuredClone(value) });
    // Delivered asynchronously, as Kafka would, so writers really wait for the tail.
    setImmediate(() => {
      for (const s of this.#store.subscribers) s(offset, key, structuredClone(value));
    });
    return Promise.resolve(offset);
  }

  stop(): Promise<void> {
    if (this.#subscriber) this.#store.subscribers.delete(this.#subscriber);
    this.#subscriber = null;
    return Promise.resolve();
  }
}
