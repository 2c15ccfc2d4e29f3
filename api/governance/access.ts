// Owns applying the access decision (decide.ts) to requests: the catalog as the source of ownership and
// grants, the views' plans traced once per view (compiled here with the same compiler the engine runs,
// against the registry's tables and the earlier views' plans, cached by view id), and the MESH_FORBIDDEN a
// refusal answers. Every data path (rows, lookups, view changes, topic SSE, the topic catalog) goes through
// one Access, so they all decide alike.
import { MeshError } from "../../lib/errors.ts";
import { compileViewSql } from "../../materializer/sql/compile.ts";
import type { ViewPlan } from "../../materializer/sql/plan.ts";
import type { TableInfo } from "../../materializer/sql/catalog.ts";
import type { ViewRecord } from "../../protocol/catalog.ts";
import type { PolicyRecord } from "../../protocol/policies.ts";
import { eventTopicOwner } from "../../protocol/catalog.ts";
import { parseTopic, qualifiedTableTopic } from "../../protocol/topics.ts";
import type { Catalog } from "../catalog/catalog.ts";
import {
  decideTopic,
  decideView,
  type Denial,
  type Grants,
  type Reader as Principal,
  type TopicDecision,
} from "./decide.ts";
import { viewLineage, type ViewLineage } from "./lineage.ts";
import { maskObject, NO_MASKS, type ColumnMasks } from "./masking.ts";

/** Where the tables views compile against come from (the registry's latest schemas). */
export type TableSource = () => Promise<TableInfo[]>;

/** The catalog as ownership and grants. */
export function catalogGrants(catalog: Catalog): Grants {
  const ownerOf = (topic: string): string | null => {
    const parsed = parseTopic(topic);
    if (parsed.kind === "internal") return null;
    if (parsed.kind === "transactions" || parsed.kind === "heartbeat")
      return catalog.source(parsed.source)?.owner ?? null;
    if (parsed.kind === "table") {
      const source = catalog.source(parsed.source);
      if (source?.tables.some((t) => qualifiedTableTopic(source.name, t) === topic)) return source.owner;
    }
    // A domain-event topic `<owner>.<aggregate>`: declared, or fed by an outbox of its owner's sources.
    const declared = catalog.eventTopic(topic);
    if (declared) return declared.owner;
    const prefix = topic.includes(".") ? eventTopicOwner(topic) : "";
    if (prefix && catalog.sources().some((s) => s.outbox && s.owner === prefix)) return prefix;
    return null;
  };
  return {
    ownerOf,
    policyFor: (topic, reader) => {
      const owner = ownerOf(topic);
      return catalog
        .policies()
        .find((p: PolicyRecord) => p.topic === topic && p.reader === reader && p.owner === owner);
    },
  };
}

/** A view a principal may read: the masks its columns are served under. */
export interface ViewGrant {
  masks: ColumnMasks;
  /** Whether anything is masked: rows and changes then go through `row()` / `change()`. */
  masked: boolean;
  row: (row: Readonly<Record<string, unknown>>) => Record<string, unknown>;
  /** A change's `data` ({op, key, before, after, ...}) with its rows masked; a notice as it is. */
  change: (data: unknown) => unknown;
}

const CLEAR: ViewGrant = { masks: NO_MASKS, masked: false, row: (r) => r, change: (d) => d };

function changeMasker(row: ViewGrant["row"]): ViewGrant["change"] {
  return (data) => {
    if (data === null || typeof data !== "object" || !("op" in data)) return data;
    const d = data as Record<string, unknown>;
    const masked = (r: unknown): unknown =>
      r !== null && typeof r === "object" ? row(r as Record<string, unknown>) : r;
    return { ...d, before: masked(d.before), after: masked(d.after) };
  };
}

/**
 * A masked column cannot be filtered or ordered by (a filter on its clear value would test it): 403 naming
 * the columns. The view's key is never masked (decide.ts), so cursors and lookups stay as they are.
 */
export function forbiddenFilters(
  view: string,
  grant: ViewGrant,
  query: { filters?: readonly { column: string }[]; order?: string },
): void {
  const used = [...(query.filters ?? []).map((f) => f.column), ...(query.order ? [query.order] : [])];
  const masked = [...new Set(used.filter((c) => grant.masks.has(c)))];
  if (masked.length === 0) return;
  throw new MeshError(
    "MESH_FORBIDDEN",
    `view ${view}: the columns ${masked.join(", ")} are masked for this token's service; they cannot be filtered or ordered by`,
    { policy: null, reason: "masked column filtered", view, columns: masked },
  );
}

export function forbidden(denial: Denial): MeshError {
  return new MeshError("MESH_FORBIDDEN", denial.message, denial.details);
}

const RETRY_PLAN_MS = 3000;

export class Access {
  readonly grants: Grants;
  readonly #catalog: Catalog;
  readonly #tables: TableSource | null;
  readonly #plans = new Map<string, { id: string; plan: ViewPlan }>();
  /** Lineages by view id (a view's plan never changes: a new declaration is a new id). */
  readonly #lineages = new Map<string, ViewLineage>();
  /** View id → when its plan last failed to compile here. */
  readonly #failed = new Map<string, number>();
  /** Brings what lies outside the API (Kafka ACLs: kafka-acls.ts) in line with the catalog's grants. */
  #sync: (() => Promise<void>) | null = null;

  /** Without `tables` no view's plan is known here: a masked grant then makes views over it unreadable. */
  constructor(catalog: Catalog, tables: TableSource | null) {
    this.#catalog = catalog;
    this.#tables = tables;
    this.grants = catalogGrants(catalog);
    catalog.onChange((change) => {
      if (change.type !== "token") this.#version++;
    });
  }

  #version = 0;

  /**
   * Changes with every catalog change that can change a decision (policies, sources, event topics, views):
   * open streams decide again when it moved, so a revoked grant stops them at their next event.
   */
  get version(): number {
    return this.#version;
  }

  /** What settled() waits for after a grant changes (the Kafka ACL reconciliation). */
  onGrantsChanged(sync: () => Promise<void>): void {
    this.#sync = sync;
  }

  /** Resolves once what the grants imply outside the API (Kafka ACLs) holds. */
  async settled(): Promise<void> {
    if (this.#sync) await this.#sync();
  }

  topic(principal: Principal, topic: string): TopicDecision {
    return decideTopic(principal, topic, this.grants);
  }

  /** The topic's masks for the principal; 403 MESH_FORBIDDEN when it may not read it. */
  requireTopic(principal: Principal, topic: string): ColumnMasks {
    const d = this.topic(principal, topic);
    if (!d.allowed) throw forbidden(d);
    return d.masks;
  }

  /** How the principal reads the view; 403 MESH_FORBIDDEN when it may not. */
  async requireView(principal: Principal, view: ViewRecord): Promise<ViewGrant> {
    if (principal.admin || principal.internal) return CLEAR;
    const lineage = await this.lineage(view);
    if (!lineage)
      throw new MeshError(
        "MESH_VIEW_NOT_READY",
        `the inputs of view ${view.name} are not known here yet (their schemas are not registered); retry shortly`,
        { view: view.name },
      );
    const d = decideView(principal, view.name, { lineage }, this.grants);
    if (!d.allowed) throw forbidden(d);
    if (d.masks.size === 0) return CLEAR;
    const masks = d.masks;
    // A column the trace does not know (a plan compiled since from newer schemas) is never served in clear.
    const row = (r: Readonly<Record<string, unknown>>): Record<string, unknown> => {
      const out = maskObject(masks, r);
      for (const c of Object.keys(out)) if (!lineage.outputs.has(c)) out[c] = null;
      return out;
    };
    return { masks, masked: true, row, change: changeMasker(row) };
  }

  /**
   * A view its owner declares must be one the owner may read (403 otherwise); while its inputs' schemas are
   * not registered here the check waits for the reads, which are checked all the same.
   */
  async checkDeclaration(owner: Principal, view: ViewRecord): Promise<void> {
    if (owner.admin || owner.internal) return;
    const lineage = await this.lineage(view);
    if (!lineage) return;
    const d = decideView(owner, view.name, { lineage }, this.grants);
    if (!d.allowed) throw forbidden(d);
  }

  /** The view's lineage, from its plan (null while its inputs' schemas are not registered). */
  async lineage(view: ViewRecord): Promise<ViewLineage | null> {
    const known = this.#lineages.get(view.id);
    if (known) return known;
    const plan = await this.#plan(view);
    if (!plan) return null;
    const lineage = viewLineage(plan);
    if (this.#catalog.view(view.name)?.id === view.id) {
      if (this.#lineages.size > 10_000) this.#lineages.clear();
      this.#lineages.set(view.id, lineage);
    }
    return lineage;
  }

  /** A table topic's columns as the registry has them now (key and row); null when not registered yet. */
  async columnsOf(topic: string): Promise<string[] | null> {
    if (!this.#tables) return null;
    const table = (await this.#tables()).find((t) => t.topic === topic);
    return table ? [...new Set([...table.key, ...table.columns.map((c) => c.name)])] : null;
  }

  async #plan(view: ViewRecord): Promise<ViewPlan | null> {
    const cached = this.#plans.get(view.name);
    if (cached?.id === view.id) return cached.plan;
    if (!this.#tables) return null;
    // A view whose inputs are not registered yet is compiled again at most every few seconds, not per read.
    const failed = this.#failed.get(view.id);
    if (failed !== undefined && Date.now() - failed < RETRY_PLAN_MS) return null;
    const tables = await this.#tables();
    // A view reads only views declared before it: compile those first, in declaration order (the view itself
    // may not be in the catalog yet: POST /v1/views asks before writing it).
    const order = [
      ...this.#catalog
        .views()
        .filter((v) => v.createdAt < view.createdAt && v.name !== view.name)
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt)),
      view,
    ];
    const plans: ViewPlan[] = [];
    for (const v of order) {
      const known = this.#plans.get(v.name);
      if (known?.id === v.id) {
        plans.push(known.plan);
        continue;
      }
      try {
        const plan = compileViewSql(v.sql, { tables, views: plans });
        this.#plans.set(v.name, { id: v.id, plan });
        plans.push(plan);
      } catch {
        // Not compilable here yet (schemas missing): left out; asked again next time.
      }
    }
    const found = this.#plans.get(view.name);
    if (found?.id === view.id) return found.plan;
    if (this.#failed.size > 10_000) this.#failed.clear();
    this.#failed.set(view.id, Date.now());
    return null;
  }
}
