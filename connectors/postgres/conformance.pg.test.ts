// The Postgres backend against the connector conformance suite (connectors/core/conformance).
import { registerConnectorTests } from "../core/conformance/index.ts";
import { postgresTarget } from "./test-support/conformance-target.ts";

registerConnectorTests(postgresTarget);
