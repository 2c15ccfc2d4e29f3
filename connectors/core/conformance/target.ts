// What a backend's tests hand the conformance suite (registerConnectorTests): fresh databases with a SQL
// runner, the table of documented types with their expected values, the few statements that differ between
// databases, and how to make the server lose the source's position. The suite's own SQL keeps to what
// Postgres and MySQL/MariaDB both run: CREATE TABLE (int, bigint, text, numeric), multi-row INSERT, UPDATE
// and DELETE with literal values and IN lists, ALTER TABLE ADD/DROP COLUMN, TRUNCATE, BEGIN/COMMIT.
import type { SourceDefinition } from "../contract.ts";

export interface TestDatabase {
  name: string;
  /** The source's connection URL. */
  url: string;
  /** A table's name in a source definition (`public.t`, `<db>.t`); the SQL uses bare names. */
  qualified(table: string): string;
  /** Runs statements in order on one connection (BEGIN/COMMIT included as given). */
  exec(...statements: string[]): Promise<void>;
  /** Rows of a query, values as the driver returns them. */
  query<T = Record<string, unknown>>(sql: string): Promise<T[]>;
  drop(): Promise<void>;
}

export interface TypeCase {
  /** Column name. */
  column: string;
  /** Its SQL type. */
  type: string;
  /** A SQL literal of a value. */
  literal: string;
  /** The value as decoded from Kafka (snapshot and stream alike). */
  expected: unknown;
}

export interface ConformanceTarget {
  kind: SourceDefinition["kind"];
  /** A fresh database; the suite drops it after the test. */
  createDatabase(prefix: string): Promise<TestDatabase>;
  /**
   * Whether re-snapshot chunks come with their read's visibility (ChunkRead.visible): then a row changed
   * just before a chunk by a transaction the read saw is re-read, not dropped.
   */
  exactResnapshot: boolean;
  /** Every documented type. */
  types: TypeCase[];
  /** Statements run before the types table is created (e.g. CREATE TYPE). */
  typesSetup?: string[];
  /** `ALTER TABLE <table> ...` changing `column`'s type. */
  alterType(table: string, column: string, type: string): string;
  /** The SQL type of an outbox table's payload column (json, jsonb). */
  outboxPayloadType: string;
  /** A statement emitting an outbox event as a logical message, when the database has them. */
  outboxMessage?: (prefix: string, json: string) => string;
  /**
   * Makes the server lose the source's position behind the connector's back (Postgres: the walsender
   * ended and the slot dropped). Returns the name the error must mention (the slot).
   */
  losePosition(db: TestDatabase, def: SourceDefinition): Promise<string>;
  /** Bytes of log the server keeps for the source (Postgres: the slot's retained WAL), if it keeps any. */
  retainedBytes?(db: TestDatabase, def: SourceDefinition): Promise<number>;
  /** Writes about `mb` MB of log to a table the source does not capture. */
  writeElsewhere(db: TestDatabase, table: string, mb: number): Promise<void>;
  /** The log order of an event (Postgres: source.lsn), to sort events of one table across partitions. */
  logOrder(source: { lsn: bigint | null; file: string | null; pos: bigint | null }): bigint;
}
