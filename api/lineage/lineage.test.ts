// The lineage graph from catalog records, statuses, consumer groups and readers (pure), the reader board's
// bookkeeping, and how a trace's key is matched.
import { describe, expect, it } from "vitest";
import type { SourceRecord, ViewRecord } from "../../protocol/catalog.ts";
import { buildLineage } from "./graph.ts";
import { ReaderBoard } from "./readers.ts";
import { keyMatcher } from "./trace.ts";

const source = (name: string, owner: string, tables: string[]): SourceRecord =>
  ({
    type: "source",
    id: name,
    name,
    owner,
    kind: "postgres",
    url: "postgres://h/db",
    tables,
    paused: false,
  }) as unknown as SourceRecord;
const view = (name: string, sql: string): ViewRecord => ({
  type: "view",
  id: name,
  name,
  sql,
  createdAt: "",
});

describe("lineage graph", () => {
  it("links source → table → topic → view → view, groups and readers, with owners and states", () => {
    let now = 1_000_000;
    const readers = new ReaderBoard(() => now);
    const endStream = readers.read(
      { kind: "topic", name: "shop.public.orders" },
      { address: "10.0.0.7", userAgent: "billing/1.0" },
      true,
    );
    readers.read({ kind: "view", name: "order_totals" }, { address: "10.0.0.8", userAgent: null }, false);
    const lineage = buildLineage({
      sources: [source("shop", "orders", ["public.orders", "public.lines"])],
      status: () => ({
        state: "streaming",
        error: null,
        progress: null,
        lagBytes: 10,
        lagSeconds: 0.5,
        offset: null,
        events: { "public.orders": 3 },
        tables: {},
      }),
      views: [
        view(
          "order_totals",
          "CREATE VIEW order_totals AS SELECT o.id FROM shop.public.orders o JOIN shop.public.lines l ON l.order_id = o.id",
        ),
        view("big_orders", "CREATE VIEW big_orders AS SELECT t.id FROM order_totals t"),
      ],
      info: (name) => ({
        name,
        key: ["id"],
        columns: ["id"],
        status: { state: "ready", progress: 1, rows: 2, lagMs: 0, parked: [], error: null },
      }),
      groups: new Map([
        [
          "shop.public.orders",
          [{ groupId: "billing", state: "Stable", internal: false, members: [], lag: 4 }],
        ],
      ]),
      readers: (t) => readers.readers(t),
    });
    const ids = lineage.nodes.map((n) => n.id);
    expect(ids).toEqual(
      expect.arrayContaining([
        "source:shop",
        "table:shop/public.orders",
        "topic:shop.public.orders",
        "view:order_totals",
        "view:big_orders",
        "group:billing",
      ]),
    );
    expect(lineage.nodes.find((n) => n.id === "table:shop/public.orders")).toMatchObject({
      owner: "orders",
      state: "streaming",
      details: { events: 3 },
    });
    expect(lineage.edges).toEqual(
      expect.arrayContaining([
        { from: "source:shop", to: "table:shop/public.orders", kind: "changes" },
        { from: "table:shop/public.orders", to: "topic:shop.public.orders", kind: "changes" },
        { from: "topic:shop.public.orders", to: "view:order_totals", kind: "changes" },
        { from: "topic:shop.public.lines", to: "view:order_totals", kind: "changes" },
        { from: "view:order_totals", to: "view:big_orders", kind: "changes" },
        { from: "topic:shop.public.orders", to: "group:billing", kind: "consumes" },
        { from: "topic:shop.public.orders", to: "client:10.0.0.7 billing/1.0", kind: "sse" },
        { from: "view:order_totals", to: "client:10.0.0.8", kind: "rows" },
      ]),
    );
    expect(lineage.nodes.find((n) => n.id === "client:10.0.0.7 billing/1.0")?.state).toBe("streaming");
    // The stream ends: the client is idle, then forgotten after 15 minutes without reads.
    endStream();
    expect(readers.readers({ kind: "topic", name: "shop.public.orders" })[0]).toMatchObject({
      streams: 0,
      requests: 1,
    });
    now += 16 * 60_000;
    expect(readers.readers({ kind: "topic", name: "shop.public.orders" })).toEqual([]);
  });
});

describe("trace key matching", () => {
  it("matches a one-column key by value and a composite one by its columns", () => {
    expect(keyMatcher("42")({ id: "42" })).toBe(true);
    expect(keyMatcher("42")({ id: 42 })).toBe(true);
    expect(keyMatcher("42")({ id: "43" })).toBe(false);
    expect(keyMatcher("42")({ tenant: 1, id: 42 })).toBe(false);
    expect(keyMatcher('{"tenant":1,"id":42}')({ tenant: "1", id: "42" })).toBe(true);
    expect(keyMatcher('{"tenant":1,"id":42}')({ tenant: "2", id: "42" })).toBe(false);
    expect(keyMatcher("abc")({ code: "abc" })).toBe(true);
  });
});
