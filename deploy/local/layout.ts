// Where the local stack keeps its state (all under `.mesh/` of the working directory) and which
// fixed, non-default loopback ports it uses, so it never collides with a developer's own servers.
// `portBase` moves every port together, so a second stack (tests of the stack itself) can run beside.
import { createHash } from "node:crypto";
import { statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { kafkaSuperUser } from "./kafka-sasl.ts";

export interface StackLayout {
  root: string;
  kafka: { dir: string; port: number; controllerPort: number; heapMb: number };
  postgres: { dir: string; port: number; user: string; password: string };
  mysql: { dir: string; port: number; user: string; password: string; cdcUser: string; cdcPassword: string };
}

export const DEFAULT_PORT_BASE = 19000;

/** True when every folder above `dir` lets other users through (Postgres and MariaDB run as their own users). */
function traversableByOthers(dir: string): boolean {
  for (let d = dir; ; d = dirname(d)) {
    try {
      if ((statSync(d).mode & 0o001) === 0) return false;
    } catch {
      // Not created yet: its parent decides.
    }
    if (dirname(d) === d) return true;
  }
}

export function stackLayout(workDir = process.cwd(), portBase = DEFAULT_PORT_BASE): StackLayout {
  const root = resolve(workDir, ".mesh");
  const offset = portBase - DEFAULT_PORT_BASE;
  // As root the database servers run as `postgres`/`mysql`; if they cannot reach .mesh/ (a checkout under a
  // private home folder), their data goes to a folder of its own under /var/tmp, one per checkout.
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  const dbRoot =
    isRoot && !traversableByOthers(root)
      ? join("/var/tmp", `datamesh-${createHash("sha256").update(root).digest("hex").slice(0, 12)}`)
      : root;
  return {
    root,
    kafka: { dir: join(root, "kafka"), port: 19092 + offset, controllerPort: 19093 + offset, heapMb: 512 },
    postgres: { dir: join(dbRoot, "postgres"), port: 15432 + offset, user: "mesh", password: "mesh" },
    mysql: {
      dir: join(dbRoot, "mariadb"),
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
  /** The super user's SASL login (kafka-sasl.ts); absent for a Kafka named by the environment without SASL. */
  MESH_KAFKA_SASL_MECHANISM?: string;
  MESH_KAFKA_SASL_USERNAME?: string;
  MESH_KAFKA_SASL_PASSWORD?: string;
  MESH_PG_URL: string;
  MESH_MYSQL_URL: string;
  MESH_MYSQL_CDC_URL: string;
}

export function stackEnv(layout: StackLayout): StackEnv {
  const pg = layout.postgres;
  const my = layout.mysql;
  const sasl = kafkaSuperUser(layout.kafka.dir);
  return {
    MESH_KAFKA_BROKERS: `127.0.0.1:${layout.kafka.port}`,
    MESH_KAFKA_SASL_MECHANISM: sasl.mechanism,
    MESH_KAFKA_SASL_USERNAME: sasl.username,
    MESH_KAFKA_SASL_PASSWORD: sasl.password,
    MESH_PG_URL: `postgres://${pg.user}:${pg.password}@127.0.0.1:${pg.port}/postgres`,
    MESH_MYSQL_URL: `mysql://${my.user}:${my.password}@127.0.0.1:${my.port}/mysql`,
    MESH_MYSQL_CDC_URL: `mysql://${my.cdcUser}:${my.cdcPassword}@127.0.0.1:${my.port}/mysql`,
  };
}
