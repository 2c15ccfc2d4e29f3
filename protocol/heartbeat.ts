// Owns the heartbeats on `<source>.heartbeat` (1 partition, compacted): written while a source is idle so
// its position and liveness stay visible. Pure.
//
//   key    HeartbeatKey {source: string}
//   value  Heartbeat    {ts_ms: long, lsn: long|null}
import type avro from "avsc";
import { avroNamespace } from "./envelope.ts";

export interface HeartbeatKey {
  source: string;
}

export interface Heartbeat {
  ts_ms: bigint;
  lsn: bigint | null;
}

export function heartbeatKeySchema(source: string): avro.Schema {
  return {
    type: "record",
    name: "HeartbeatKey",
    namespace: avroNamespace(source),
    fields: [{ name: "source", type: "string" }],
  };
}

export function heartbeatValueSchema(source: string): avro.Schema {
  return {
    type: "record",
    name: "Heartbeat",
    namespace: avroNamespace(source),
    fields: [
      { name: "ts_ms", type: "long" },
      { name: "lsn", type: ["null", "long"], default: null },
    ],
  };
}
