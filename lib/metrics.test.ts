// The metric catalogue follows its conventions and is documented: every mesh_ metric is in docs/metrics.md,
// counters end in _total, histograms measure seconds; and the Grafana dashboard and the Prometheus config in
// deploy/ only name metrics and roles that exist.
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { metricsRegistry } from "./metrics.ts";

const ours = async (): Promise<{ name: string; type: string }[]> =>
  (await metricsRegistry.getMetricsAsJSON())
    .filter((m) => m.name.startsWith("mesh_"))
    .map((m) => ({ name: m.name, type: String(m.type) }));

describe("metric catalogue", () => {
  it("names every metric by the conventions and documents it in docs/metrics.md", async () => {
    const doc = await readFile("docs/metrics.md", "utf8");
    const metrics = await ours();
    expect(metrics.length).toBeGreaterThan(15);
    for (const m of metrics) {
      expect(doc, `${m.name} in docs/metrics.md`).toContain(`\`${m.name}\``);
      if (m.type === "counter") expect(m.name).toMatch(/_total$/);
      if (m.type === "histogram") expect(m.name).toMatch(/_seconds$/);
      if (m.type === "gauge") expect(m.name).not.toMatch(/_total$/);
    }
    // And nothing documented that does not exist.
    const documented = [...doc.matchAll(/^\| `(mesh_[a-z_]+)`/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(metrics.map((m) => m.name).sort());
  });

  it("deploy/: the dashboard queries only metrics that exist, the scrape config every role", async () => {
    const names = new Set((await ours()).map((m) => m.name));
    const dashboard = JSON.parse(await readFile("deploy/grafana/datamesh.json", "utf8")) as {
      panels: { targets?: { expr: string }[] }[];
    };
    const exprs = dashboard.panels.flatMap((p) => p.targets ?? []).map((t) => t.expr);
    expect(exprs.length).toBeGreaterThan(15);
    for (const expr of exprs) {
      for (const [used] of expr.matchAll(/\bmesh_[a-z_]+/g)) {
        expect(names, `${used} in ${expr}`).toContain(used.replace(/_(bucket|count|sum)$/, ""));
      }
    }
    const scrape = await readFile("deploy/prometheus.yml", "utf8");
    for (const role of ["api", "registry", "connect", "materializer"])
      expect(scrape).toContain(`role: ${role}`);
  });
});
