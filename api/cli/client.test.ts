import { describe, expect, it } from "vitest";
import { CliExit, parseArgs } from "./client.ts";
import { readSse } from "./sse-reader.ts";

describe("mesh CLI helpers", () => {
  it("parses flags, repeated flags, --flag=value and booleans", () => {
    const p = parseArgs(["add", "--name", "a", "--table", "t1", "--table=t2", "--json", "x"], ["json"]);
    expect(p.positional).toEqual(["add", "x"]);
    expect(p.flags.get("table")).toEqual(["t1", "t2"]);
    expect(p.flags.get("json")).toEqual(["true"]);
    expect(() => parseArgs(["--name"])).toThrow(CliExit);
  });

  it("refuses options the command does not take, as a usage error naming them", () => {
    const parse = (args: string[]) => parseArgs(args, ["json"], ["limit"]);
    expect(parse(["q", "--limit", "5", "--json"]).flags.get("limit")).toEqual(["5"]);
    for (const args of [
      ["q", "--bogus", "1"],
      ["q", "--jsn"],
      ["q", "--bogus=1"],
    ]) {
      let caught: unknown;
      try {
        parse(args);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(CliExit);
      expect((caught as CliExit).code).toBe(2);
      expect((caught as CliExit).message).toMatch(
        /^unknown option --(bogus|jsn); this command takes --limit, --json$/,
      );
    }
  });

  it("reads server-sent events split across chunks, skipping comments", async () => {
    const chunks = [
      ": connected\n\nid: 0:1\nevent: ch",
      'ange\ndata: {"a":1}\n\n',
      "id: 0:2\ndata: x\ndata: y\n\n",
    ];
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const chunk of chunks) c.enqueue(new TextEncoder().encode(chunk));
        c.close();
      },
    });
    const got = [];
    for await (const m of readSse(body)) got.push(m);
    expect(got).toEqual([
      { id: "0:1", event: "change", data: '{"a":1}' },
      { id: "0:2", event: "message", data: "x\ny" },
    ]);
  });
});
