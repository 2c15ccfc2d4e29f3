import { describe, expect, it } from "vitest";
import {
  incrementalKey,
  incrementalSource,
  offsetsKey,
  parseOffsetsKey,
  snapshotStateKey,
} from "./offsets.ts";

describe("_mesh_offsets keys", () => {
  it("round-trips <source>/<purpose>", () => {
    expect(snapshotStateKey("orders-db", "postgres")).toBe("orders-db/postgres");
    expect(incrementalKey("orders-db", "postgres")).toBe("orders-db/postgres-incremental");
    expect(parseOffsetsKey(offsetsKey("shop", "mysql-incremental"))).toEqual({
      source: "shop",
      purpose: "mysql-incremental",
    });
    for (const bad of ["shop", "/postgres", "shop/"]) expect(parseOffsetsKey(bad)).toBeNull();
  });

  it("names the source of a re-snapshot's progress only", () => {
    expect(incrementalSource(incrementalKey("orders-db", "postgres"))).toBe("orders-db");
    expect(incrementalSource(incrementalKey("shop", "mysql"))).toBe("shop");
    expect(incrementalSource(snapshotStateKey("shop", "postgres"))).toBeNull();
    expect(incrementalSource("shop/Postgres-incremental")).toBeNull();
  });
});
