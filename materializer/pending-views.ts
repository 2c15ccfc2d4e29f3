// Views declared before their tables have schemas (docs/views.md "Declaring a view at any time"). A source's
// table schemas reach the registry only when its connector first writes the table (its snapshot start), so
// a view declared right after the source was registered names tables the registry does not know yet. Such
// a view is accepted when each table it does not find is one of a registered source's tables (the caller
// says which: `expected`, topic names), kept as its SQL in state `waiting` naming those tables, and
// compiled and started (backfilling from the earliest offsets) once the registry holds all of them. A table
// that is neither in the registry nor a registered source's is refused at once, as the compiler refuses it.
// The SQL's other mistakes (a column the table lacks) can only be found once the schemas are in: the view
// then fails with the compiler's MESH_BAD_SQL in its status.
//
// Here: which tables a declaration waits for (pure), and the set of waiting views with the poll that
// promotes them (the engine persists and runs them).
import sqlParser from "node-sql-parser";
import { isMeshError, MeshError } from "../lib/errors.ts";
import type { Logger } from "../lib/logger.ts";
import { parseTableTopic } from "../protocol/topics.ts";
import type { ViewInfo, ViewStatus } from "./contract.ts";
import type { TableInfo } from "./sql/catalog.ts";

const parser = new sqlParser.Parser();

type Node = Record<string, unknown>;

/** A view waiting for schemas, as the engine persists it (catalog section "c", beside compiled plans). */
export interface WaitingRecord {
  name: string;
  sql: string;
  /** Tables of registered sources (topic names) when it was declared: what its unknown tables may be. */
  waiting: { expected: string[] };
}

export function isWaitingRecord(value: unknown): value is WaitingRecord {
  return typeof value === "object" && value !== null && "waiting" in value && !("relations" in value);
}

/** The view a statement list creates and the tables its FROM and JOINs name (dotted, as written). */
export function declaredTables(sql: string): { view: string | null; tables: string[] } {
  let ast: unknown;
  try {
    ast = parser.astify(sql, { database: "postgresql" });
  } catch {
    return { view: null, tables: [] }; // the compiler reports the syntax error with its position
  }
  let view: string | null = null;
  const tables: string[] = [];
  const walkSelect = (select: Node | undefined): void => {
    for (const from of (select?.from as Node[] | null | undefined) ?? []) {
      const sub = (from.expr as Node | undefined)?.ast as Node | undefined;
      if (sub) {
        walkSelect(sub);
        continue;
      }
      const parts = [from.db, from.schema, from.table].filter(
        (p): p is string => typeof p === "string" && p !== "",
      );
      if (parts.length > 0) tables.push(parts.join("."));
    }
  };
  for (const st of (Array.isArray(ast) ? ast : [ast]) as Node[]) {
    if (st.type !== "create" || st.keyword !== "view") continue;
    const name = (st.view as Node | undefined)?.view;
    if (typeof name === "string") view = name;
    walkSelect(st.select as Node | undefined);
  }
  return { view, tables };
}

interface Candidate {
  topic: string;
  source: string;
  schema: string;
  table: string;
}

/** How the compiler resolves a table name (materializer/sql/compile.ts resolveTable), over candidates. */
function matching(name: string, candidates: readonly Candidate[]): Candidate[] {
  const parts = name.split(".");
  if (parts.length >= 3) return candidates.filter((t) => t.topic === name);
  if (parts.length === 2)
    return candidates.filter((t) => `${t.schema}.${t.table}` === name || `${t.source}.${t.table}` === name);
  return candidates.filter((t) => t.table === name);
}

/**
 * The topics whose schemas a declaration waits for: tables it names that the registry does not hold but a
 * registered source captures (`expected`). Empty: compile it now (the compiler refuses unknown tables). A
 * name that matches several topics once the expected ones count is refused here, as the compiler would.
 * Names of existing views (`views`) are left to the compiler.
 */
export function waitingFor(
  sql: string,
  registered: readonly TableInfo[],
  expected: readonly string[],
  views: ReadonlySet<string> = new Set(),
): string[] {
  const known = new Set(registered.map((t) => t.topic));
  const pending: Candidate[] = [];
  for (const topic of expected) {
    const parsed = parseTableTopic(topic);
    if (parsed && !known.has(topic)) pending.push({ topic, ...parsed });
  }
  if (pending.length === 0) return [];
  const out: string[] = [];
  for (const name of declaredTables(sql).tables) {
    if (!name.includes(".") && views.has(name)) continue;
    const now = matching(name, registered);
    const later = matching(name, pending);
    if (later.length === 0) continue;
    if (now.length + later.length > 1)
      throw new MeshError(
        "MESH_BAD_SQL",
        `the table name ${name} is ambiguous among registered sources (${[...now, ...later].map((m) => m.topic).join(", ")}); write source.schema.table`,
        { construct: "table", table: name },
      );
    const topic = (later[0] as Candidate).topic;
    if (!out.includes(topic)) out.push(topic);
  }
  return out;
}

export interface PendingViewsOptions {
  /** The registry's tables now (sql/registry-tables.ts). */
  tables: () => Promise<TableInfo[]>;
  /** Compiles, persists and starts a view whose tables are all registered; throws what the compiler says. */
  promote: (record: WaitingRecord, tables: TableInfo[]) => Promise<void>;
  logger: Logger;
  /** How often the registry is asked while a view waits (default 1 s). */
  intervalMs?: number;
}

interface Waiting {
  record: WaitingRecord;
  missing: string[];
  error: ViewStatus["error"];
  info?: ViewInfo;
}

/** The waiting views of one engine, and the poll that starts each once the registry holds its tables. */
export class PendingViews {
  readonly #o: PendingViewsOptions;
  readonly #views = new Map<string, Waiting>();
  #timer: NodeJS.Timeout | null = null;
  #checking: Promise<void> = Promise.resolve();

  constructor(options: PendingViewsOptions) {
    this.#o = options;
  }

  has(name: string): boolean {
    return this.#views.has(name);
  }

  names(): string[] {
    return [...this.#views.keys()];
  }

  add(record: WaitingRecord, missing: string[]): void {
    this.#views.set(record.name, { record, missing, error: null });
    this.#o.logger.info({ view: record.name, waitingFor: missing }, "view waiting for table schemas");
    this.#timer ??= setInterval(() => void this.check(), this.#o.intervalMs ?? 1000);
    this.#timer.unref();
  }

  /** Forgets a view (dropped); waits for a promotion in progress, which then leaves it alone. */
  async remove(name: string): Promise<void> {
    this.#views.delete(name);
    await this.#checking;
    if (this.#views.size === 0) this.#stopTimer();
  }

  info(name: string): ViewInfo | undefined {
    const w = this.#views.get(name);
    if (!w) return undefined;
    if (w.info) return w.info;
    const status = (): ViewStatus => ({
      state: w.error ? "failed" : "waiting",
      progress: 0,
      rows: 0,
      lagMs: 0,
      parked: [],
      error: w.error,
      ...(w.error ? {} : { waitingFor: { schemas: [...w.missing], topics: [] } }),
    });
    w.info = {
      name: w.record.name,
      sql: w.record.sql,
      key: [],
      keyColumns: [],
      columns: [],
      indexes: [],
      topics: [...w.missing],
      get status() {
        return status();
      },
    };
    return w.info;
  }

  /** One poll: the views whose tables are all registered now are promoted (one after another). */
  check(): Promise<void> {
    this.#checking = this.#checking
      .then(() => this.#check())
      .catch((err: unknown) => {
        this.#o.logger.warn({ err }, "checking waiting views failed; retrying");
      });
    return this.#checking;
  }

  async #check(): Promise<void> {
    const open = [...this.#views.values()].filter((w) => w.error === null);
    if (open.length === 0) return;
    const tables = await this.#o.tables();
    const known = new Set(tables.map((t) => t.topic));
    for (const w of open) {
      w.missing = w.missing.filter((topic) => !known.has(topic));
      if (w.missing.length > 0 || this.#views.get(w.record.name) !== w) continue;
      try {
        await this.#o.promote(w.record, tables);
        this.#views.delete(w.record.name);
        this.#o.logger.info({ view: w.record.name }, "view's table schemas registered: backfilling");
      } catch (err) {
        // Registry or Kafka trouble is retried next poll; what the compiler refuses fails the view.
        if (isMeshError(err) && err.retryable) throw err;
        w.error = { code: isMeshError(err) ? err.code : "MESH_INTERNAL", message: (err as Error).message };
        this.#o.logger.error({ err, view: w.record.name }, "waiting view could not be started");
      }
    }
    if (this.#views.size === 0) this.#stopTimer();
  }

  #stopTimer(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  async stop(): Promise<void> {
    this.#stopTimer();
    await this.#checking;
    this.#views.clear();
  }
}
