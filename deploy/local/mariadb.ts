// MariaDB (or MySQL) for the local stack: mariadb-install-db + mariadbd with a ROW binlog and a CDC user
// holding REPLICATION SLAVE, REPLICATION CLIENT and SELECT. The fresh install's anonymous users would shadow
// `user@localhost`, so they are dropped and every user is created for '%', 'localhost' and '127.0.0.1'.
import { chownSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import mysql from "mysql2/promise";
import type { StackLayout } from "./layout.ts";
import {
  isRoot,
  livePid,
  portOpen,
  removePid,
  run,
  spawnDetached,
  stopPid,
  tail,
  waitFor,
  writePid,
  residentBytes,
} from "./processes.ts";
import { MissingPrerequisite, type LocalService, type ServiceStatus } from "./service.ts";
import { which } from "./which.ts";

const hosts = ["%", "localhost", "127.0.0.1"];

export class MariaDbService implements LocalService {
  readonly name = "mariadb";
  private readonly dataDir: string;
  private readonly socket: string;
  private readonly pidFile: string;
  private readonly logFile: string;

  private readonly layout: StackLayout["mysql"];

  constructor(layout: StackLayout["mysql"]) {
    this.layout = layout;
    this.dataDir = join(layout.dir, "data");
    this.socket = join(layout.dir, "mysqld.sock");
    this.pidFile = join(layout.dir, "mariadb.pid");
    this.logFile = join(layout.dir, "mariadb.log");
  }

  private server(): string {
    const found = which("mariadbd") ?? which("mysqld");
    if (!found) throw new MissingPrerequisite("mariadbd", "install MariaDB (apt-get install mariadb-server)");
    return found;
  }

  checkPrerequisites(): void {
    this.server();
    if (!which("mariadb-install-db") && !which("mysql_install_db")) {
      throw new MissingPrerequisite("mariadb-install-db", "install MariaDB (apt-get install mariadb-server)");
    }
  }

  async up(): Promise<"already-up" | "started"> {
    const pid = livePid(this.pidFile);
    if (pid !== null && (await this.healthy())) return "already-up";
    if (pid !== null) await stopPid(pid, "SIGKILL", 5_000);
    else if (await portOpen(this.layout.port)) {
      throw new Error(
        `port ${this.layout.port} is taken by a process datamesh did not start; stop it or free the port`,
      );
    }
    this.checkPrerequisites();
    mkdirSync(join(this.layout.dir, "binlog"), { recursive: true });
    const fresh = !existsSync(join(this.dataDir, "mysql"));
    if (isRoot()) this.chownToMysql();
    if (fresh) this.installDb();
    const args = [
      "--no-defaults",
      `--datadir=${this.dataDir}`,
      `--port=${this.layout.port}`,
      "--bind-address=127.0.0.1",
      `--socket=${this.socket}`,
      `--pid-file=${join(this.layout.dir, "mariadbd.pid")}`,
      `--log-error=${this.logFile}`,
      `--log-bin=${join(this.layout.dir, "binlog", "mariadb-bin")}`,
      "--binlog-format=ROW",
      "--binlog-row-image=FULL",
      "--server-id=1",
      "--innodb-buffer-pool-size=128M",
      "--innodb-log-file-size=64M",
      "--max-connections=200",
      "--performance-schema=OFF",
      "--character-set-server=utf8mb4",
      "--collation-server=utf8mb4_unicode_ci",
    ];
    if (isRoot()) args.unshift("--user=mysql");
    // --no-defaults must come first on mariadbd's command line.
    const ordered = ["--no-defaults", ...args.filter((a) => a !== "--no-defaults")];
    const started = spawnDetached(this.server(), ordered, join(this.layout.dir, "mariadbd.out"));
    writePid(this.pidFile, started);
    try {
      await waitFor(
        "mariadb",
        () => this.rootReachable(),
        60_000,
        () => livePid(this.pidFile) !== null,
      );
      await this.ensureUsers();
    } catch (err) {
      throw new Error(`${(err as Error).message}\nlast lines of ${this.logFile}:\n${tail(this.logFile)}`, {
        cause: err,
      });
    }
    return "started";
  }

  async down(): Promise<boolean> {
    const pid = livePid(this.pidFile);
    if (pid === null) return false;
    await stopPid(pid, "SIGTERM", 30_000);
    removePid(this.pidFile);
    return true;
  }

  async status(): Promise<ServiceStatus> {
    const pid = livePid(this.pidFile);
    return {
      name: this.name,
      port: this.layout.port,
      pid,
      managed: pid !== null,
      healthy: await this.healthy(),
      rssBytes: pid === null ? 0 : residentBytes(pid),
    };
  }

  /** Healthy: the CDC user logs in over TCP and the binlog is ROW with full row images. */
  async healthy(): Promise<boolean> {
    if (!(await portOpen(this.layout.port))) return false;
    let conn: mysql.Connection | undefined;
    try {
      conn = await mysql.createConnection({
        host: "127.0.0.1",
        port: this.layout.port,
        user: this.layout.cdcUser,
        password: this.layout.cdcPassword,
        connectTimeout: 2_000,
      });
      const [rows] = await conn.query<mysql.RowDataPacket[]>(
        "SELECT @@log_bin AS logBin, @@binlog_format AS format, @@binlog_row_image AS image",
      );
      const row = rows[0];
      return row?.logBin === 1 && row.format === "ROW" && row.image === "FULL";
    } catch {
      return false;
    } finally {
      await conn?.end().catch(() => undefined);
    }
  }

  private async rootReachable(): Promise<boolean> {
    if (!existsSync(this.socket)) return false;
    const conn = await mysql.createConnection({
      socketPath: this.socket,
      user: "root",
      connectTimeout: 2_000,
    });
    await conn.end();
    return true;
  }

  private async ensureUsers(): Promise<void> {
    const conn = await mysql.createConnection({
      socketPath: this.socket,
      user: "root",
      multipleStatements: true,
    });
    try {
      const [anonymous] = await conn.query<mysql.RowDataPacket[]>(
        "SELECT Host FROM mysql.user WHERE User = ''",
      );
      for (const row of anonymous) await conn.query("DROP USER ''@?", [row.Host]);
      const { user, password, cdcUser, cdcPassword } = this.layout;
      for (const host of hosts) {
        await conn.query("CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?", [user, host, password]);
        await conn.query("GRANT ALL PRIVILEGES ON *.* TO ?@? WITH GRANT OPTION", [user, host]);
        await conn.query("CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?", [cdcUser, host, cdcPassword]);
        await conn.query("GRANT REPLICATION SLAVE, REPLICATION CLIENT, SELECT ON *.* TO ?@?", [
          cdcUser,
          host,
        ]);
      }
      await conn.query("FLUSH PRIVILEGES");
    } finally {
      await conn.end();
    }
  }

  private installDb(): void {
    const installer = which("mariadb-install-db") ?? which("mysql_install_db");
    if (!installer)
      throw new MissingPrerequisite("mariadb-install-db", "install MariaDB (apt-get install mariadb-server)");
    const args = [
      "--no-defaults",
      `--datadir=${this.dataDir}`,
      "--auth-root-authentication-method=normal",
      "--skip-test-db",
      "--skip-name-resolve",
    ];
    if (isRoot()) args.push("--user=mysql");
    run(installer, args);
    writeFileSync(join(this.layout.dir, "installed"), new Date().toISOString() + "\n");
  }

  private chownToMysql(): void {
    const uid = Number(run("id", ["-u", "mysql"]).trim());
    const gid = Number(run("id", ["-g", "mysql"]).trim());
    for (const dir of [this.layout.dir, join(this.layout.dir, "binlog")]) {
      mkdirSync(dir, { recursive: true });
      chownSync(dir, uid, gid);
    }
    if (existsSync(this.dataDir)) run("chown", ["-R", `${uid}:${gid}`, this.dataDir]);
  }
}
