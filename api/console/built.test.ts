// The console's committed bundle is what its sources build to (run `npm run build:console` after changing
// api/console), and the pure parts of the page — the schema diff, the lineage layout — do what they say.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { bundle } from "./build.ts";
import { builtDir, consoleDir } from "./paths.ts";
import { diffLines } from "./src/diff.ts";
import { layout } from "./src/layout.ts";

describe("console bundle", () => {
  it("is committed as its sources build it (else: npm run build:console)", async () => {
    expect(await readFile(join(builtDir, "app.js"), "utf8")).toBe(await bundle());
    for (const [built, source] of [
      ["app.css", "styles.css"],
      ["index.html", "index.html"],
    ] as const) {
      expect(await readFile(join(builtDir, built), "utf8")).toBe(
        await readFile(join(consoleDir, source), "utf8"),
      );
    }
  });
});

describe("schema diff", () => {
  it("keeps common lines and marks added and removed ones in order", () => {
    expect(diffLines("a\nb\nc", "a\nc\nd")).toEqual([
      { op: " ", text: "a" },
      { op: "-", text: "b" },
      { op: " ", text: "c" },
      { op: "+", text: "d" },
    ]);
  });
});

describe("lineage layout", () => {
  it("puts each kind in its column, a view over a view right of it, consumers last", () => {
    const node = (id: string, kind: string) => ({
      id,
      kind,
      name: id,
      owner: null,
      state: null,
      details: {},
    });
    const { placed } = layout(
      [
        node("source:a", "source"),
        node("table:a/t", "table"),
        node("topic:a.t", "topic"),
        node("view:v", "view"),
        node("view:w", "view"),
        node("group:g", "consumer-group"),
      ],
      [
        { from: "source:a", to: "table:a/t", kind: "changes" },
        { from: "table:a/t", to: "topic:a.t", kind: "changes" },
        { from: "topic:a.t", to: "view:v", kind: "changes" },
        { from: "view:v", to: "view:w", kind: "changes" },
        { from: "topic:a.t", to: "group:g", kind: "consumes" },
      ],
    );
    const x = (id: string): number => placed.find((p) => p.id === id)!.x;
    expect(x("source:a")).toBeLessThan(x("table:a/t"));
    expect(x("table:a/t")).toBeLessThan(x("topic:a.t"));
    expect(x("topic:a.t")).toBeLessThan(x("view:v"));
    expect(x("view:v")).toBeLessThan(x("view:w"));
    expect(x("view:w")).toBeLessThan(x("group:g"));
  });
});
