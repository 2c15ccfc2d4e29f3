// Brings the local stack up once per test run, or uses the services named in the environment.
// A missing service is a loud failure, never a skip.
import type { TestProject } from "vitest/node";
import { LocalStack } from "../../deploy/local/stack.ts";
import type { StackEnv } from "../../deploy/local/layout.ts";

declare module "vitest" {
  export interface ProvidedContext {
    stackEnv: StackEnv;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  const fromEnv = process.env;
  if (fromEnv.MESH_KAFKA_BROKERS && fromEnv.MESH_PG_URL && fromEnv.MESH_MYSQL_URL) {
    project.provide("stackEnv", {
      MESH_KAFKA_BROKERS: fromEnv.MESH_KAFKA_BROKERS,
      MESH_PG_URL: fromEnv.MESH_PG_URL,
      MESH_MYSQL_URL: fromEnv.MESH_MYSQL_URL,
      MESH_MYSQL_CDC_URL: fromEnv.MESH_MYSQL_CDC_URL ?? fromEnv.MESH_MYSQL_URL,
      // A Kafka with SASL (as the local stack runs it): the super user's login, as `mesh stack env` prints it.
      ...(fromEnv.MESH_KAFKA_SASL_MECHANISM
        ? { MESH_KAFKA_SASL_MECHANISM: fromEnv.MESH_KAFKA_SASL_MECHANISM }
        : {}),
      ...(fromEnv.MESH_KAFKA_SASL_USERNAME
        ? { MESH_KAFKA_SASL_USERNAME: fromEnv.MESH_KAFKA_SASL_USERNAME }
        : {}),
      ...(fromEnv.MESH_KAFKA_SASL_PASSWORD
        ? { MESH_KAFKA_SASL_PASSWORD: fromEnv.MESH_KAFKA_SASL_PASSWORD }
        : {}),
    });
    return;
  }
  // MESH_STACK_PORT_BASE moves the whole stack to other ports (e.g. a CI rehearsal beside a running stack).
  const portBase = fromEnv.MESH_STACK_PORT_BASE ? Number(fromEnv.MESH_STACK_PORT_BASE) : undefined;
  const stack = new LocalStack(process.cwd(), portBase === undefined ? {} : { portBase });
  await stack.up();
  project.provide("stackEnv", stack.env());
}
