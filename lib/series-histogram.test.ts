// A SeriesHistogram scrapes exactly as a prom-client Histogram fed the same observations: the same text (names,
// label order, bounds, +Inf, _sum, _count, series order) and the same JSON, through a reset too.
import client from "prom-client";
import { describe, expect, it } from "vitest";
import { SeriesHistogram } from "./series-histogram.ts";
import { mulberry32 } from "../test/support/random.ts";

const buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const labelNames = ["server", "method", "route", "status"] as const;
type Labels = Record<(typeof labelNames)[number], string>;

function pair(): {
  theirs: client.Histogram<(typeof labelNames)[number]>;
  ours: SeriesHistogram<(typeof labelNames)[number]>;
  theirRegistry: client.Registry;
  ourRegistry: client.Registry;
} {
  const theirRegistry = new client.Registry();
  const ourRegistry = new client.Registry();
  const name = "mesh_test_duration_seconds";
  const help = 'How long "it" took\\n, in seconds';
  return {
    theirs: new client.Histogram({ name, help, labelNames, buckets, registers: [theirRegistry] }),
    ours: new SeriesHistogram({ name, help, labelNames, buckets, registry: ourRegistry }),
    theirRegistry,
    ourRegistry,
  };
}

describe("SeriesHistogram", () => {
  it("scrapes as prom-client's Histogram does, bounds, overflow and resets included", async () => {
    const { theirs, ours, theirRegistry, ourRegistry } = pair();
    const sets: Labels[] = [
      { server: "registry", method: "POST", route: "/subjects/:subject/versions", status: "200" },
      { server: "registry", method: "GET", route: "/schemas/ids/:id", status: "200" },
      { server: "api", method: "GET", route: "unmatched", status: "404" },
      { server: "api", method: "GET", route: '/v1/"odd"\\route\n', status: "500" },
    ];
    const next = mulberry32(13);
    const observe = (labels: Labels, value: number): void => {
      theirs.observe(labels, value);
      // A fresh label object each time, as a caller holding no series would pass.
      ours.observe(ours.series({ ...labels }), value);
    };
    const same = async (): Promise<void> => {
      expect(await ourRegistry.metrics()).toBe(await theirRegistry.metrics());
      expect(await ourRegistry.getMetricsAsJSON()).toEqual(await theirRegistry.getMetricsAsJSON());
    };
    await same();
    for (let i = 0; i < 2000; i++) {
      const labels = sets[Math.floor(next() * 3)]!;
      observe(labels, next() < 0.05 ? 20 * next() : next() * next() * 0.3);
    }
    // Exactly on a bound, zero, above every bound.
    for (const value of [...buckets, 0, 10.5, 1e6]) observe(sets[3]!, value);
    await same();
    theirRegistry.resetMetrics();
    ourRegistry.resetMetrics();
    await same();
    const kept = ours.series(sets[1]!);
    theirs.observe(sets[1]!, 0.002);
    ours.observe(kept, 0.002);
    observe(sets[0]!, 0.3);
    await same();
  });
});
