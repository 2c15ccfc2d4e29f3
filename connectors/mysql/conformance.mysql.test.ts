// The MySQL backend against the connector conformance suite (connectors/core/conformance), on MariaDB.
import { registerConnectorTests } from "../core/conformance/index.ts";
import { mysqlTarget } from "./test-support/conformance-target.ts";

registerConnectorTests(mysqlTarget);
