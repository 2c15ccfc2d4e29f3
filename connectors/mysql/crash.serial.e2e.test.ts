// The SIGKILL crash test of the conformance suite (connectors/core/conformance/crash.ts) on MariaDB, in the
// at-least-once delivery mode (crash-exactly-once.serial.e2e.test.ts runs the default, exactly-once).
import { registerCrashTest } from "../core/conformance/index.ts";
import { mysqlTarget } from "./test-support/conformance-target.ts";

registerCrashTest(mysqlTarget, { delivery: "at-least-once" });
