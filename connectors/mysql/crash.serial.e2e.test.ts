// The SIGKILL crash test of the conformance suite (connectors/core/conformance/crash.ts) on MariaDB, in the
// default delivery mode.
import { registerCrashTest } from "../core/conformance/index.ts";
import { mysqlTarget } from "./test-support/conformance-target.ts";

registerCrashTest(mysqlTarget);
