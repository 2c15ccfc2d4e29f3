// A MariaDB of our own for fault tests (deploy/local's service in its own folder, on other ports), so
// restarting it never disturbs the shared stack other tests run on.
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mysql from "mysql2/promise";
import { stackLayout, type StackLayout } from "../../../deploy/local/layout.ts";
import { MariaDbService } from "../../../deploy/local/mariadb.ts";

export interface PrivateMariaDb {
  service: MariaDbService;
  layout: StackLayout;
  /** The admin user's URL on `db`. */
  url(db: string): string;
  createDatabase(name: string): Promise<string>;
  /** Stops the server and removes its folder. */
  remove(): Promise<void>;
}

export async function privateMariaDb(portBase: number): Promise<PrivateMariaDb> {
  const dir = mkdtempSync(join(tmpdir(), "mesh-fault-"));
  // MariaDB runs as its own user (when we are root): it must get through to the data folder.
  chmodSync(dir, 0o755);
  const layout = stackLayout(dir, portBase);
  const service = new MariaDbService(layout.mysql);
  await service.up();
  const { port, user, password } = layout.mysql;
  const url = (db: string): string => `mysql://${user}:${password}@127.0.0.1:${port}/${db}`;
  return {
    service,
    layout,
    url,
    createDatabase: async (name) => {
      const c = await mysql.createConnection(url("mysql"));
      try {
        await c.query(`CREATE DATABASE \`${name}\``);
      } finally {
        await c.end();
      }
      return url(name);
    },
    remove: async () => {
      await service.down().catch(() => false);
      rmSync(dir, { recursive: true, force: true });
      rmSync(layout.mysql.dir, { recursive: true, force: true });
    },
  };
}
