// The conformance suite every connector backend passes against its real database (issue 11): a backend's
// `*.pg.test.ts` / `*.mysql.test.ts` calls registerConnectorTests(target) with its ConformanceTarget
// (target.ts), and its `*.serial.e2e.test.ts` calls registerCrashTest(target, {delivery}) per delivery mode.
//
//   stream.ts            every change kind, tombstones, truncate, markers with per-partition counts; the
//                        snapshot/stream seam under concurrent writes (no gap, no duplicate)
//   types-ddl.ts         every documented type lossless; DDL evolution and the incompatible-change stop
//   resnapshot.ts        re-snapshot while writing (exact when the backend knows visibility), resume after a
//                        restart, stop mid-snapshot, pause/resume
//   outbox-heartbeat.ts  outbox routing; heartbeats keep the position moving and retained log small
//   outbox-typed.ts      typed domain events: wire format, parked misfits in aggregate order, retry
//   position-lost.ts     a stored position the server no longer has: clear error, or re-snapshot (when_needed)
//   crash.ts             SIGKILLs of the connector process under a seeded workload
import { useSuite } from "./context.ts";
import { outboxAndHeartbeatTests } from "./outbox-heartbeat.ts";
import { typedOutboxTests } from "./outbox-typed.ts";
import { positionLostTests } from "./position-lost.ts";
import { resnapshotTests } from "./resnapshot.ts";
import { streamTests } from "./stream.ts";
import type { ConformanceTarget } from "./target.ts";
import { typesAndDdlTests } from "./types-ddl.ts";

export type { ConformanceTarget, TestDatabase, TypeCase } from "./target.ts";
export { registerCrashTest, type CrashTestOptions } from "./crash.ts";

/** Registers the whole suite (except the crash test) in the calling test file. */
export function registerConnectorTests(target: ConformanceTarget): void {
  const suite = useSuite(target);
  streamTests(suite);
  typesAndDdlTests(suite);
  resnapshotTests(suite);
  outboxAndHeartbeatTests(suite);
  typedOutboxTests(suite);
  positionLostTests(suite);
}
