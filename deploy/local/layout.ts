// Where the local stack keeps its state (all under `.mesh/` of the working directory) and which
// fixed, non-default loopback ports it uses, so it never collides with a developer's own servers.
// `portBase` moves every port together, so a second stack (tests of the stack itself) can run beside.
import { join, resolve } from "node:path";

export interface StackLayout {
  root: string;
  kafka: { dir: string; port: number; controllerPort: number; heapMb: number };
  postgres: { dir: string; port: number; user: string; password: string };
  mysql: { dir: string; port: number; user: string; password: string; cdcUser: string; cdcPassword: string };
}

export const DEFAULT_PORT_BASE = 19000;

export function stackLayout(workDir = process.cwd(), portBase = DEFAULT_PORT_BASE): StackLayout {
  const root = resolve(workDir, ".mesh");
  const offset = portBase - DEFAULT_PORT_BASE;
  return {
    root,
    kafka: { dir: join(root, "kafka"), port: 19092 + offset, controllerPort: 19093 + offset, heapMb: 512 },
    postgres: { dir: join(root, "postgres"), port: 15432 + offset, user: "mesh", password: "mesh" },
    mysql: {
      dir: join(root, "mariadb"),
      port: 13306 + offset,
      user: "mesh",
      password: "mesh",
      cdcUser: "cdc",
      cdcPassword: "cdc",
    },
  };
}

export interface StackEnv {
  MESH_KAFKA_BROKERS: string;
  MESH_PG_URL: string;
  MESH_MYSQL_URL: string;
  MESH_MYSQL_CDC_URL: string;
}

export function stackEnv(layout: StackLayout): StackEnv {
  const pg = layout.postgres;
  const my = layout.mysql;
  return {
    MESH_KAFKA_BROKERS: `127.0.0.1:${layout.kafka.port}`,
    MESH_PG_URL: `postgres://${pg.user}:${pg.password}@127.0.0.1:${pg.port}/postgres`,
    MESH_MYSQL_URL: `mysql://${my.user}:${my.password}@127.0.0.1:${my.port}/mysql`,
    MESH_MYSQL_CDC_URL: `mysql://${my.cdcUser}:${my.cdcPassword}@127.0.0.1:${my.port}/mysql`,
  };
}
