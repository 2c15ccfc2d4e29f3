// Stored positions: "<offset>/<floor>", and values written before floors existed ("<offset>").
import { describe, expect, it } from "vitest";
import { formatStored, parseStored } from "./reading.ts";

describe("stored positions", () => {
  it("round-trips offset and marker floor", () => {
    expect(parseStored(formatStored({ offset: 42n, floor: 7n }), 0n)).toEqual({ offset: 42n, floor: 7n });
  });

  it("gives positions written before floors the source's stored marker position as floor", () => {
    expect(parseStored(Buffer.from("42"), 9n)).toEqual({ offset: 42n, floor: 9n });
  });
});
