// The SIGKILL crash test of the conformance suite (connectors/core/conformance/crash.ts) on Postgres.
import { registerCrashTest } from "../core/conformance/index.ts";
import { postgresTarget } from "./test-support/conformance-target.ts";

registerCrashTest(postgresTarget, { delivery: "at-least-once" });
registerCrashTest(postgresTarget, { delivery: "exactly-once" });
