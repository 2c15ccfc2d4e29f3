// Placement logic with fakes for the lease groups and the status board (the real ones are exercised by
// api/e2e/placement.e2e.test.ts): the connector runs only while the lease is held, statuses of sources held
// elsewhere come from the board, re-snapshots are forwarded to the holder once and never bounced back.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../lib/clock.ts";
import { isMeshError } from "../../lib/errors.ts";
import { silentLogger } from "../../lib/logger.ts";
import { sourceRecord } from "../catalog/records-fixture.ts";
import type { LeaseChange } from "../control/source-leases.ts";
import type { StatusReport } from "../control/status-board.ts";
import { FakeSources } from "../testing/fakes.ts";
import { waitFor } from "../../test/support/wait.ts";
import { PlacedSources, type PlacedSourcesOptions } from "./placed-sources.ts";

class FakeConnectors extends FakeSources {
  stop(): Promise<void> {
    return Promise.resolve();
  }
}

class FakeLeases {
  readonly changes = new Map<string, LeaseChange>();
  readonly held = new Set<string>();
  holder: string | undefined;
  failJoins = 0;
  has(name: string): boolean {
    return this.changes.has(name);
  }
  join(name: string, onChange: LeaseChange): Promise<void> {
    if (this.failJoins > 0) {
      this.failJoins--;
      return Promise.reject(new Error("Kafka is down"));
    }
    this.changes.set(name, onChange);
    return Promise.resolve();
  }
  holds(name: string): boolean {
    return this.held.has(name);
  }
  holderUrl(): Promise<string | undefined> {
    return Promise.resolve(this.holder);
  }
  leave(name: string): Promise<void> {
    this.changes.delete(name);
    this.held.delete(name);
    return Promise.resolve();
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
  /** The group settles: this process holds the lease or not. */
  settle(name: string, held: boolean): void {
    if (held) this.held.add(name);
    else this.held.delete(name);
    this.changes.get(name)?.(held);
  }
}

class FakeBoard {
  readonly reports = new Map<string, StatusReport>();
  get(name: string, id: string): StatusReport | undefined {
    const r = this.reports.get(name);
    return r?.id === id ? r : undefined;
  }
  publish(name: string, report: StatusReport | null): Promise<void> {
    if (report) this.reports.set(name, report);
    else this.reports.delete(name);
    return Promise.resolve();
  }
}

const open: PlacedSources[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((p) => p.stop()));
});

function placed(overrides: Partial<PlacedSourcesOptions> = {}): {
  sources: PlacedSources;
  connectors: FakeConnectors;
  leases: FakeLeases;
  board: FakeBoard;
} {
  const connectors = new FakeConnectors();
  const leases = new FakeLeases();
  const board = new FakeBoard();
  const sources = new PlacedSources({
    connectors,
    leases,
    board,
    logger: silentLogger(),
    url: () => "http://127.0.0.1:1",
    firstSettleMs: 50,
    joinRetryMs: 20,
    check: () => Promise.resolve([]),
    ...overrides,
  });
  open.push(sources);
  return { sources, connectors, leases, board };
}

describe("connector placement", () => {
  it("runs the connector only while this process holds the lease, and publishes its status", async () => {
    const { sources, connectors, leases, board } = placed();
    const record = sourceRecord("orders", "orders", ["public.orders"]);
    const ensured = sources.ensure(record);
    leases.settle("orders", true);
    await ensured;
    expect(sources.runningHere()).toEqual(["orders"]);
    expect(connectors.running.has("orders")).toBe(true);
    expect(sources.status("orders")).toMatchObject({
      state: "streaming",
      holder: { url: "http://127.0.0.1:1", stale: false },
    });
    expect(board.reports.get("orders")).toMatchObject({ id: record.id, holder: "http://127.0.0.1:1" });

    // A pause from the catalog reaches the running connector.
    await sources.ensure({ ...record, paused: true });
    expect(sources.status("orders")?.state).toBe("paused");

    // Lease lost (another process took it): the connector stops here; the status comes from the board.
    leases.settle("orders", false);
    await waitFor(() => connectors.removed.length > 0, 2000, "the connector removed");
    expect(sources.runningHere()).toEqual([]);
    expect(connectors.removed).toEqual([{ name: "orders", dropSlot: false }]);
    expect(sources.status("orders")?.holder?.url).toBe("http://127.0.0.1:1");
  });

  it("shows a status held elsewhere from the board: stale when old, never another registration's", async () => {
    const { sources, leases, board } = placed({ reportEveryMs: 1000 });
    const record = sourceRecord("s", "o", ["public.t"]);
    const ensured = sources.ensure(record);
    leases.settle("s", false);
    await ensured;
    expect(sources.status("s")).toBeUndefined();
    const status = new FakeSources();
    await status.ensure(record);
    const report = (reportedAt: string, id = record.id): StatusReport => ({
      id,
      holder: "http://other:8080",
      status: status.status("s")!,
      reportedAt,
    });
    await board.publish("s", report(new Date().toISOString()));
    expect(sources.status("s")).toMatchObject({
      state: "streaming",
      holder: { url: "http://other:8080", stale: false },
    });
    await board.publish("s", report(new Date(Date.now() - 60_000).toISOString()));
    expect(sources.status("s")?.holder?.stale).toBe(true);
    await board.publish("s", report(new Date().toISOString(), "an-older-registration"));
    expect(sources.status("s")).toBeUndefined();
  });

  it("a holder's report turns stale once the clock passes five report periods", async () => {
    const clock = new ManualClock();
    const { sources, leases, board } = placed({ reportEveryMs: 1000, clock });
    const record = sourceRecord("s", "o", ["public.t"]);
    const ensured = sources.ensure(record);
    leases.settle("s", false);
    await ensured;
    const status = new FakeSources();
    await status.ensure(record);
    await board.publish("s", {
      id: record.id,
      holder: "http://other:8080",
      status: status.status("s")!,
      reportedAt: new Date(clock.now()).toISOString(),
    });
    clock.advance(5000);
    expect(sources.status("s")?.holder).toMatchObject({ url: "http://other:8080", stale: false });
    clock.advance(1);
    expect(sources.status("s")?.holder?.stale).toBe(true);
  });

  it("forwards a re-snapshot to the holder once; no holder or a forwarded request is 409", async () => {
    const received: { url: string; forwarded: string | undefined; body: string }[] = [];
    const holder = http.createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        received.push({ url: req.url ?? "", forwarded: req.headers["x-mesh-forwarded"] as string, body });
        res.writeHead(202, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((r) => holder.listen(0, "127.0.0.1", r));
    try {
      const { sources, leases } = placed();
      const record = sourceRecord("s", "o", ["public.t"]);
      const ensured = sources.ensure(record);
      leases.settle("s", false);
      await ensured;
      const code = async (p: Promise<unknown>): Promise<string> =>
        p.then(
          () => "ok",
          (e: unknown) => (isMeshError(e) ? e.code : String(e)),
        );
      expect(await code(sources.snapshot("s", ["public.t"]))).toBe("MESH_CONFLICT"); // nobody holds it
      leases.holder = `http://127.0.0.1:${(holder.address() as AddressInfo).port}`;
      expect(await code(sources.snapshot("s", ["public.t"]))).toBe("ok");
      expect(received).toEqual([
        { url: "/v1/sources/s/snapshot", forwarded: "1", body: '{"tables":["public.t"]}' },
      ]);
      // Received as a forward while not running here (leases changing hands): refused, not bounced on.
      expect(await code(sources.snapshot("s", ["public.t"], { forwarded: true }))).toBe("MESH_CONFLICT");
      expect(received).toHaveLength(1);
    } finally {
      holder.close();
    }
  });

  it("joins the lease group again after a failed attempt (Kafka unreachable)", async () => {
    const { sources, leases } = placed();
    leases.failJoins = 2;
    await sources.ensure(sourceRecord("r", "o", ["public.t"]));
    expect(leases.has("r")).toBe(false);
    await waitFor(() => leases.has("r"), 2000, "the lease group joined");
    leases.settle("r", true);
    await waitFor(() => sources.runningHere().includes("r"), 2000, "the connector running");
    expect(sources.runningHere()).toEqual(["r"]);
  });
});
