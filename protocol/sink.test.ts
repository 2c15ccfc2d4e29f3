import { describe, expect, expectTypeOf, it } from "vitest";
import type { OrderedProducer } from "../lib/kafka/ordered-producer.ts";
import { MemorySink, type EventSink } from "./sink.ts";

describe("sinks", () => {
  it("lib/kafka's OrderedProducer is an EventSink as it is (the compiler checks this line)", () => {
    expectTypeOf<OrderedProducer>().toExtend<EventSink>();
  });

  it("MemorySink numbers messages in order and hands them on once", () => {
    const sink = new MemorySink();
    expect(sink.lastSeq).toBe(0);
    expect(sink.enqueue({ topic: "t", key: null, value: Buffer.from("a") })).toBe(1);
    expect(sink.enqueue({ topic: "t", key: null, value: null, partition: 2 })).toBe(2);
    expect(sink.take().map((m) => m.value?.toString() ?? null)).toEqual(["a", null]);
    expect(sink.take()).toEqual([]);
    expect(sink.enqueue({ topic: "t", key: null, value: null })).toBe(3);
    expect(sink.pending).toBe(1);
  });
});
