// Owns one registry process's place in the cluster: its state (replayed from `_schemas`), its role (leader or
// follower, from the election), and where a write goes: applied here and appended to Kafka when leader,
// forwarded over HTTP to the leader otherwise. A new leader first reads `_schemas` up to its high watermark, so
// the ids it issues are above every id already written. Every process, leader included, keeps applying what
// the topic holds: the leader skips only the read-back of its own writes (already applied when written).
import { LeaderElection, type KafkaClient } from "../lib/kafka/index.ts";
import type { Logger } from "../lib/logger.ts";
import { schemasLeaderTopic } from "../protocol/topics.ts";
import type { RegistryBackend, RegistryStatus, WriteOutcome, WriteRequest } from "./backend.ts";
import { forwardToLeader } from "./cluster/forward.ts";
import { RegistryError } from "./errors.ts";
import type { Write } from "./ops/writes.ts";
import { Batcher } from "./store/batcher.ts";
import { SchemasLog } from "./store/log.ts";
import { encodeRecord, type EncodedRecord, type LogRecord } from "./store/records.ts";
import { RegistryState } from "./store/state.ts";

export type Role = "starting" | "electing" | "catching-up" | "leader" | "follower";

export interface CoreOptions {
  kafka: KafkaClient;
  topic: string;
  /** Consumer group of the leader election. */
  groupId: string;
  url: string;
  logger: Logger;
  /** How long a write waits for an election to settle before answering 50004. */
  electionWaitMs?: number;
  /** This process's internal credential, sent with writes forwarded to the leader. */
  credential?: string;
}

export class RegistryCore implements RegistryBackend {
  state = new RegistryState();
  role: Role = "starting";
  private readonly options: CoreOptions;
  private log: SchemasLog;
  private readonly election: LeaderElection;
  private readonly batcher: Batcher<EncodedRecord>;
  private epoch = 0;
  /**
   * The leader's own records, applied when written, that the tail has not read back yet, oldest first, with
   * the bytes they were written as. They reach the topic in this order (one append at a time), so each record
   * read is either the oldest of them (the same bytes) or someone else's.
   */
  private unread: EncodedRecord[] = [];
  private roleWaiters: (() => void)[] = [];
  private rebuilding: Promise<void> | undefined;

  constructor(options: CoreOptions) {
    this.options = options;
    this.log = this.newLog(this.state);
    this.batcher = new Batcher<EncodedRecord>((records) => this.log.append(records));
    this.election = new LeaderElection({
      config: options.kafka.config,
      topic: schemasLeaderTopic(options.topic),
      groupId: options.groupId,
      url: options.url,
      logger: options.logger,
      onChange: (leader) => this.onElection(leader),
    });
  }

  private newLog(state: RegistryState): SchemasLog {
    const { kafka, topic, logger } = this.options;
    return new SchemasLog(
      { kafka, topic, logger },
      (record) => this.receive(state, record),
      (key, value) => this.readBack(state, key, value),
    );
  }

  /**
   * The read-back of a write of ours (the oldest not read back, byte for byte): the state holds it already
   * (applying it again now could undo a later write of ours to the same key until that one is read back too).
   * Known by its bytes, so the leader does not decode what it wrote.
   */
  private readBack(state: RegistryState, key: Buffer | null, value: Buffer | null): boolean {
    if (this.role !== "leader" || state !== this.state) return false;
    const own = this.unread[0];
    if (own === undefined || !sameBytes(own.key, key) || !sameBytes(own.value, value)) return false;
    this.unread.shift();
    return true;
  }

  private receive(state: RegistryState, record: LogRecord): void {
    if (this.role !== "leader" || state !== this.state) return state.apply(record);
    // Someone else's record. It lands before every write of ours not read back yet: those stay on top of it.
    state.apply(record);
    for (const r of this.unread) state.apply(r.record);
  }

  async start(): Promise<void> {
    const t0 = Date.now();
    await this.log.start();
    this.options.logger.info(
      { ms: Date.now() - t0, schemas: this.state.schemas.size, subjects: this.state.subjects.size },
      "replayed the schemas topic",
    );
    if (this.role === "starting") this.setRole("electing");
    await this.election.start();
  }

  private setRole(role: Role): void {
    // Outside the leader role every record read is applied, own ones included.
    if (role !== "leader") this.unread = [];
    this.role = role;
    // A follower answers forwarded writes once its tail read them (read your writes): only the leader's waits.
    this.log.relaxTail(role === "leader");
    if (role === "leader" || role === "follower") {
      const waiters = this.roleWaiters;
      this.roleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private onElection(leader: boolean | undefined): void {
    const epoch = ++this.epoch;
    if (leader === undefined) return this.setRole("electing");
    if (!leader) return this.setRole("follower");
    this.setRole("catching-up");
    this.log
      .catchUp()
      .then(() => {
        if (epoch === this.epoch) {
          this.options.logger.info(
            { maxId: this.state.maxId },
            "caught up on the schemas topic; accepting writes",
          );
          this.setRole("leader");
        }
      })
      .catch((err: unknown) =>
        this.options.logger.error({ err }, "could not catch up on the schemas topic as leader"),
      );
  }

  private async settledRole(): Promise<Role> {
    if (this.role === "leader" || this.role === "follower") return this.role;
    const wait = this.options.electionWaitMs ?? 20_000;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, wait);
      this.roleWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return this.role;
  }

  async write<T>(request: WriteRequest, op: (state: RegistryState) => Write<T>): Promise<WriteOutcome<T>> {
    if (this.rebuilding) await this.rebuilding;
    const role = await this.settledRole();
    if (role === "follower") {
      if (request.forwarded) {
        throw new RegistryError(
          "FORWARDING_ERROR",
          "This registry is not the leader any more; retry the request",
        );
      }
      const url = await this.election.leaderUrl();
      if (!url) throw new RegistryError("UNKNOWN_LEADER", "No registry leader is known yet; retry shortly");
      const out = await forwardToLeader(url, request, undefined, this.options.credential);
      // Read your writes: answer once this process has read what the leader wrote.
      if (out.offset !== undefined) await this.log.waitFor(out.offset).catch(() => undefined);
      return { local: false, status: out.status, body: out.body };
    }
    if (role !== "leader")
      throw new RegistryError(
        "UNKNOWN_LEADER",
        "The registry leader election has not settled; retry shortly",
      );
    const state = this.state;
    const w = op(state);
    const encoded = w.records.map(encodeRecord);
    for (const r of w.records) state.apply(r);
    this.unread.push(...encoded);
    try {
      const offset = await this.batcher.submit(encoded);
      return { local: true, result: w.result, offset };
    } catch (err) {
      this.options.logger.error(
        { err },
        "write to the schemas topic failed; rebuilding state from the topic",
      );
      void this.rebuild();
      throw new RegistryError(
        "STORE_ERROR",
        `Error while writing to the schemas topic: ${(err as Error).message}; retry`,
      );
    }
  }

  /** After a failed append the optimistic state may hold records Kafka never took: read it all again. */
  private rebuild(): Promise<void> {
    this.rebuilding ??= (async () => {
      const fresh = new RegistryState();
      const old = this.log;
      await old.stop();
      // The fresh state is built from the topic alone: nothing of ours is waiting to be read back.
      this.unread = [];
      const log = this.newLog(fresh);
      await log.start();
      log.relaxTail(this.role === "leader");
      this.state = fresh;
      this.log = log;
    })()
      .catch((err: unknown) => this.options.logger.error({ err }, "rebuilding state failed"))
      .finally(() => {
        this.rebuilding = undefined;
      });
    return this.rebuilding;
  }

  async status(): Promise<RegistryStatus> {
    const leaderUrl =
      this.role === "follower" ? await this.election.leaderUrl().catch(() => undefined) : undefined;
    return { role: this.role, leaderUrl: this.role === "leader" ? this.options.url : (leaderUrl ?? null) };
  }

  async stop(): Promise<void> {
    await this.election.stop();
    await this.log.stop();
  }
}

function sameBytes(a: Buffer | null, b: Buffer | null): boolean {
  return a === null ? b === null : b !== null && a.equals(b);
}
