// Test stand-ins for the runtime's write path without Kafka: a sink that numbers messages as the
// OrderedProducer does and acknowledges exactly where the test says, and an in-memory schema registrar.
import type avro from "avsc";
import { avroType } from "../../../lib/avro.ts";
import { MeshError } from "../../../lib/errors.ts";
import type { OrderedProducer, OutMessage } from "../../../lib/kafka/index.ts";
import { MemorySink, type SinkMessage } from "../../../protocol/sink.ts";
import type { SchemaRegistrar } from "../../../protocol/wire.ts";

export class HeldSink extends MemorySink {
  ackedSeq = 0;
  readonly #listeners: ((seq: number) => void)[] = [];
  readonly messages: SinkMessage[] = [];
  /** Where the writer marked whole units (OrderedProducer.boundary), with the record it gave. */
  readonly boundaries: { seq: number; record: OutMessage | null }[] = [];

  override enqueue(message: SinkMessage): number {
    this.messages.push(message);
    return super.enqueue(message);
  }

  onAck(listener: (seq: number) => void): () => void {
    this.#listeners.push(listener);
    return () => undefined;
  }

  /** Kafka acknowledged every seq up to `seq`. */
  ack(seq: number = this.lastSeq): void {
    this.ackedSeq = seq;
    for (const l of this.#listeners) l(seq);
  }

  boundary(record?: OutMessage): void {
    this.boundaries.push({ seq: this.lastSeq, record: record ?? null });
  }

  waitForCapacity(): Promise<void> {
    return Promise.resolve();
  }

  flush(): Promise<void> {
    this.ack();
    return Promise.resolve();
  }

  asProducer(): OrderedProducer {
    return this as unknown as OrderedProducer;
  }
}

export function memoryRegistry(refuse: (subject: string) => boolean = () => false): {
  registrar: SchemaRegistrar;
  lookup: (id: number) => Promise<avro.Type>;
} {
  const byId = new Map<number, avro.Type>();
  const registrar: SchemaRegistrar = {
    register: (subject, schema) => {
      if (refuse(subject))
        return Promise.reject(new MeshError("MESH_SCHEMA_INCOMPATIBLE", `${subject} refused`));
      const id = byId.size + 1;
      byId.set(id, avroType(schema));
      return Promise.resolve({ id, type: byId.get(id)! });
    },
  };
  return { registrar, lookup: (id) => Promise.resolve(byId.get(id)!) };
}
