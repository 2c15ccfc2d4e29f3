// The reading loop of one Reading (reading.ts): batches from a lib/kafka PartitionReader assigned the
// Reading's start positions (read_committed), each record decoded (data topics) or read as a transaction
// marker (`<source>.transactions`) and pushed into the Reading's assembler, then whatever the assembler
// releases handed to `apply` before the next batch is read (apply returns once the batch is queued, not
// written: view-apply.ts bounds how far reading runs ahead of the writes).
// A position moves past a record only once it is pushed, and past a batch's end (transaction markers,
// aborted or compacted records) once the batch is done, so a failure leaves every position at the first
// record not taken in. The loop ends when `current()` stops naming its Reading (a restart replaced it) or
// the signal aborts; it throws what it cannot get past (the caller decides: retryable codes restart the
// Reading from the stored positions, others fail the view).
import type { PartitionReader } from "../../lib/kafka/index.ts";
import type { RegistryClient } from "../../lib/registry-client.ts";
import { isTransactionsTopic, sourceOfTopic } from "../../protocol/topics.ts";
import type { TableInfo } from "../sql/catalog.ts";
import { tpKey, type Unit } from "./assembler.ts";
import { decodeEvent, decodeMarker } from "./decode.ts";
import type { Reading } from "./reading.ts";

export interface ReadInputs {
  reading: Reading;
  reader: PartitionReader;
  registry: RegistryClient;
  /** Input tables by topic. */
  tables: Map<string, TableInfo>;
  /** The Reading being read now: another one (or null) ends this loop, and nothing more is pushed. */
  current(): Reading | null;
  apply(reading: Reading, units: Unit[]): Promise<void>;
  /** After each batch taken in (and applied): readiness checks. */
  afterBatch(reading: Reading): void;
  signal: AbortSignal;
}

export async function readInputs(r: ReadInputs): Promise<void> {
  const { reading, registry, tables, signal } = r;
  const assembler = reading.assembler;
  const replaced = (): boolean => signal.aborted || r.current() !== reading;
  for await (const batch of r.reader.batches(signal)) {
    if (replaced()) return;
    const { topic, partition } = batch;
    const k = tpKey(topic, partition);
    if (!reading.tps.has(k)) continue; // not this Reading's (a partition of an earlier assignment)
    const markers = isTransactionsTopic(topic);
    const table = tables.get(topic) as TableInfo;
    for (const rec of batch.records) {
      if (rec.offset < (reading.position.get(k) ?? 0n)) continue; // already pushed or applied
      if (markers) {
        const marker = await decodeMarker(rec, sourceOfTopic(topic), registry);
        if (replaced()) return;
        if (marker) {
          assembler.pushMarker(marker);
          reading.markerRead(k, rec.offset);
        }
      } else {
        const e = await decodeEvent(rec, table, registry);
        if (replaced()) return;
        assembler.pushEvent(e);
      }
      reading.position.set(k, rec.offset + 1n);
    }
    reading.passed(k, batch.nextOffset);
    const units = assembler.drain();
    if (units.length > 0) await r.apply(reading, units);
    r.afterBatch(reading);
  }
}
