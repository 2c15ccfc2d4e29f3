// Retrying parked domain events across API processes: done by the connector here when this process holds the
// source, else forwarded once to the holder (POST /v1/events/{topic}/parked/{action}, marked forwarded), never
// bounced back; no holder is 409.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import type { ParkedResolution } from "../../connectors/core/change-source.ts";
import { isMeshError } from "../../lib/errors.ts";
import { silentLogger } from "../../lib/logger.ts";
import { sourceRecord } from "../catalog/records-fixture.ts";
import type { LeaseChange } from "../control/source-leases.ts";
import { FakeSources } from "../testing/fakes.ts";
import { PlacedSources } from "./placed-sources.ts";

class Connectors extends FakeSources {
  readonly resolved: string[] = [];
  stop(): Promise<void> {
    return Promise.resolve();
  }
  resolveParked(name: string, t: { topic: string; key: string }, action: string): Promise<ParkedResolution> {
    this.resolved.push(`${name} ${t.topic} ${t.key} ${action}`);
    return Promise.resolve({ published: 1, skipped: 0, stillParked: 0, reason: null });
  }
}

class Leases {
  readonly changes = new Map<string, LeaseChange>();
  held = false;
  holder: string | undefined;
  has = (name: string): boolean => this.changes.has(name);
  join = (name: string, onChange: LeaseChange): Promise<void> => {
    this.changes.set(name, onChange);
    return Promise.resolve();
  };
  holds = (): boolean => this.held;
  holderUrl = (): Promise<string | undefined> => Promise.resolve(this.holder);
  leave = (): Promise<void> => Promise.resolve();
  stop = (): Promise<void> => Promise.resolve();
  settle(name: string, held: boolean): void {
    this.held = held;
    this.changes.get(name)?.(held);
  }
}

const board = { get: () => undefined, publish: () => Promise.resolve() };
const code = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => "ok",
    (e: unknown) => (isMeshError(e) ? e.code : String(e)),
  );

describe("parked domain events across API processes", () => {
  it("retries on the local connector when held here, else forwards once to the holder", async () => {
    const received: { url: string; forwarded: unknown; body: string }[] = [];
    const holder = http.createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        received.push({ url: req.url ?? "", forwarded: req.headers["x-mesh-forwarded"], body });
        res
          .writeHead(200, { "content-type": "application/json" })
          .end('{"source":"s","published":2,"skipped":1,"stillParked":0,"reason":null}');
      });
    });
    await new Promise<void>((r) => holder.listen(0, "127.0.0.1", r));
    const connectors = new Connectors();
    const leases = new Leases();
    const sources = new PlacedSources({
      connectors,
      leases,
      board,
      logger: silentLogger(),
      url: () => "http://127.0.0.1:1",
      firstSettleMs: 50,
      check: () => Promise.resolve([]),
    });
    try {
      const ensured = sources.ensure(sourceRecord("s", "o", ["public.t"]));
      leases.settle("s", false);
      await ensured;
      const target = { topic: "o.Order", key: "o-1" };
      expect(await code(sources.resolveParked("s", target, "retry"))).toBe("MESH_CONFLICT"); // nobody holds it
      leases.holder = `http://127.0.0.1:${(holder.address() as AddressInfo).port}`;
      expect(await sources.resolveParked("s", target, "skip")).toEqual({
        published: 2,
        skipped: 1,
        stillParked: 0,
        reason: null,
      });
      expect(received).toEqual([
        { url: "/v1/events/o.Order/parked/skip", forwarded: "1", body: '{"key":"o-1"}' },
      ]);
      // Received as a forward while not running here: refused, not bounced on.
      expect(await code(sources.resolveParked("s", target, "retry", { forwarded: true }))).toBe(
        "MESH_CONFLICT",
      );
      expect(received).toHaveLength(1);
      // Held here: the local connector does it.
      leases.settle("s", true);
      await new Promise((r) => setTimeout(r, 50));
      expect(await code(sources.resolveParked("s", target, "retry"))).toBe("ok");
      expect(connectors.resolved).toEqual(["s o.Order o-1 retry"]);
    } finally {
      holder.close();
      await sources.stop();
    }
  });
});
