// The SIGKILL crash test of the conformance suite (connectors/core/conformance/crash.ts) on MariaDB, in
// exactly-once delivery: no duplicate at all.
import { registerCrashTest } from "../core/conformance/index.ts";
import { mysqlTarget } from "./test-support/conformance-target.ts";

registerCrashTest(mysqlTarget, { delivery: "exactly-once" });
