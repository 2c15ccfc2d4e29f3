import { describe, expect, it } from "vitest";
import { clusterId } from "./kafka.ts";

describe("KRaft cluster id", () => {
  it("is 22 URL-safe base64 characters and never starts with '-' (kafka-storage would read it as an option)", () => {
    // 1 draw in 64 of plain base64url starts with "-": 5000 draws would all but surely hit one without the redraw.
    for (let i = 0; i < 5000; i++) {
      const id = clusterId();
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    }
  });
});
