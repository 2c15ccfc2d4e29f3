import { afterEach, describe, expect, it, vi } from "vitest";
import { run } from "./source.ts";

describe("mesh source add", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("refuses a source or owner name with a dot as a usage error, before calling the API", async () => {
    const errors: string[] = [];
    vi.spyOn(console, "error").mockImplementation((text: string) => void errors.push(text));
    // Nothing listens on port 1: reaching the API would fail differently (exit 1, a connection error).
    const add = ["add", "--api", "http://127.0.0.1:1", "--url", "postgres://x/y", "--table", "public.a"];
    expect(await run([...add, "--name", "orders.db", "--owner", "orders"])).toBe(2);
    expect(await run([...add, "--name", "orders-db", "--owner", "a.b"])).toBe(2);
    expect(errors[0]).toMatch(/^--name "orders\.db" is not a valid name: .*no dots/);
    expect(errors[1]).toMatch(/^--owner "a\.b" is not a valid name/);
  });
});
