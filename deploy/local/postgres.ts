// PostgreSQL for the local stack: a cluster made with initdb and run with pg_ctl, with logical WAL.
// As root, the server runs as the `postgres` user (postgres refuses root) on a folder that user owns.
import { chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { StackLayout } from "./layout.ts";
import {
  asUser,
  isRoot,
  livePid,
  portOpen,
  removePid,
  run,
  stopPid,
  tail,
  writePid,
  residentBytes,
} from "./processes.ts";
import { MissingPrerequisite, type LocalService, type ServiceStatus } from "./service.ts";
import { postgresBinDirs, which } from "./which.ts";

const settings = {
  listen_addresses: "'127.0.0.1'",
  wal_level: "logical",
  max_replication_slots: "64",
  max_wal_senders: "64",
  max_connections: "200",
  shared_buffers: "128MB",
  // Small segments keep "retained WAL" measurable in tests of slot heartbeats.
  wal_keep_size: "0",
  max_slot_wal_keep_size: "-1",
  logical_decoding_work_mem: "64MB",
  log_min_messages: "warning",
};

export class PostgresService implements LocalService {
  readonly name = "postgres";
  private readonly dataDir: string;
  private readonly socketDir: string;
  private readonly pidFile: string;
  private readonly logFile: string;

  private readonly layout: StackLayout["postgres"];

  constructor(layout: StackLayout["postgres"]) {
    this.layout = layout;
    this.dataDir = join(layout.dir, "data");
    this.socketDir = join(layout.dir, "run");
    this.pidFile = join(layout.dir, "postgres.pid");
    this.logFile = join(layout.dir, "postgres.log");
  }

  private bin(name: string): string {
    const found = which(name, postgresBinDirs());
    if (!found) {
      throw new MissingPrerequisite(name, "install the PostgreSQL 15+ server (apt-get install postgresql)");
    }
    return found;
  }

  checkPrerequisites(): void {
    this.bin("initdb");
    this.bin("pg_ctl");
  }

  async up(): Promise<"already-up" | "started"> {
    const pid = livePid(this.pidFile);
    if (pid !== null && (await this.healthy())) return "already-up";
    if (pid === null && (await portOpen(this.layout.port))) {
      throw new Error(
        `port ${this.layout.port} is taken by a process datamesh did not start; stop it or free the port`,
      );
    }
    this.checkPrerequisites();
    const owner = isRoot() ? "postgres" : userInfo().username;
    const fresh = !existsSync(join(this.dataDir, "PG_VERSION"));
    this.prepareDirs(owner);
    if (fresh) this.initdb();
    this.writeConfig();
    // A crashed postmaster leaves postmaster.pid behind; pg_ctl handles that, and `-w` waits for readiness.
    const [cmd, args] = asUser(owner, this.bin("pg_ctl"), [
      "-D",
      this.dataDir,
      "-l",
      this.logFile,
      "-w",
      "-t",
      "60",
      "start",
    ]);
    try {
      run(cmd, args);
    } catch (err) {
      throw new Error(`${(err as Error).message}\nlast lines of ${this.logFile}:\n${tail(this.logFile)}`, {
        cause: err,
      });
    }
    const postmasterPid = Number.parseInt(
      readFileSync(join(this.dataDir, "postmaster.pid"), "utf8").split("\n")[0] ?? "",
      10,
    );
    writePid(this.pidFile, postmasterPid);
    await this.ensureRole();
    return "started";
  }

  async down(): Promise<boolean> {
    const pid = livePid(this.pidFile);
    if (pid === null) return false;
    // SIGINT is Postgres's "fast" shutdown: roll back sessions, checkpoint, exit.
    await stopPid(pid, "SIGINT", 30_000);
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

  async healthy(): Promise<boolean> {
    if (!(await portOpen(this.layout.port))) return false;
    const client = new pg.Client({
      host: "127.0.0.1",
      port: this.layout.port,
      user: this.layout.user,
      password: this.layout.password,
      database: "postgres",
      connectionTimeoutMillis: 2_000,
    });
    try {
      await client.connect();
      const res = await client.query<{ wal_level: string }>("SHOW wal_level");
      return res.rows[0]?.wal_level === "logical";
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  private prepareDirs(owner: string): void {
    mkdirSync(this.layout.dir, { recursive: true });
    mkdirSync(this.socketDir, { recursive: true });
    if (!existsSync(this.dataDir)) mkdirSync(this.dataDir, { mode: 0o700 });
    if (isRoot()) {
      const ids = run("id", ["-u", owner]).trim();
      const gid = run("id", ["-g", owner]).trim();
      for (const dir of [this.layout.dir, this.socketDir, this.dataDir]) {
        chownSync(dir, Number(ids), Number(gid));
      }
      if (existsSync(this.logFile) && statSync(this.logFile).uid !== Number(ids))
        chownSync(this.logFile, Number(ids), Number(gid));
    }
  }

  private initdb(): void {
    const owner = isRoot() ? "postgres" : userInfo().username;
    const [cmd, args] = asUser(owner, this.bin("initdb"), [
      "-D",
      this.dataDir,
      "-U",
      "postgres",
      "--auth-local=trust",
      "--auth-host=scram-sha-256",
      "-E",
      "UTF8",
      "--locale=C",
      "--no-sync",
    ]);
    run(cmd, args);
  }

  private writeConfig(): void {
    const confFile = join(this.dataDir, "postgresql.conf");
    const include = "include_if_exists = 'mesh.conf'";
    const conf = readFileSync(confFile, "utf8");
    if (!conf.includes(include)) writeFileSync(confFile, `${conf}\n${include}\n`);
    const mesh = {
      ...settings,
      port: String(this.layout.port),
      unix_socket_directories: `'${this.socketDir}'`,
    };
    writeFileSync(
      join(this.dataDir, "mesh.conf"),
      Object.entries(mesh)
        .map(([k, v]) => `${k} = ${v}`)
        .join("\n") + "\n",
    );
    writeFileSync(
      join(this.dataDir, "pg_hba.conf"),
      [
        "local all all trust",
        "local replication all trust",
        "host all all 127.0.0.1/32 scram-sha-256",
        "host replication all 127.0.0.1/32 scram-sha-256",
      ].join("\n") + "\n",
    );
    if (isRoot()) {
      const uid = Number(run("id", ["-u", "postgres"]).trim());
      const gid = Number(run("id", ["-g", "postgres"]).trim());
      for (const f of ["postgresql.conf", "mesh.conf", "pg_hba.conf"])
        chownSync(join(this.dataDir, f), uid, gid);
    }
  }

  /** The `mesh` role (password auth over TCP) that tests and the demo use; created through the local socket. */
  private async ensureRole(): Promise<void> {
    const client = new pg.Client({
      host: this.socketDir,
      port: this.layout.port,
      user: "postgres",
      database: "postgres",
    });
    await client.connect();
    try {
      const { user, password } = this.layout;
      const exists = await client.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [user]);
      const verb = exists.rowCount ? "ALTER" : "CREATE";
      await client.query(`${verb} ROLE ${user} WITH LOGIN SUPERUSER REPLICATION PASSWORD '${password}'`);
    } finally {
      await client.end();
    }
  }
}
