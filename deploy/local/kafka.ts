// Apache Kafka as a single KRaft node (broker + controller in one JVM). Jars come from Maven Central
// through deploy/local/kafka-pom.xml into ~/.m2; the classpath is resolved once and cached per pom. Clients
// log in with SASL/SCRAM and ACLs are enforced (kafka-sasl.ts): the stack's super user is `mesh`.
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  KafkaClient,
  scramCredential,
  storageFormatScramArg,
  type KafkaSasl,
} from "../../lib/kafka/index.ts";
import { HEALTH_TOPIC } from "../../protocol/topics.ts";
import {
  credentialMarker,
  credentialMarkerFile,
  formattedClusterId,
  KAFKA_SASL_MECHANISM,
  KAFKA_SUPER_USER,
  kafkaPassword,
  kafkaSuperUser,
  openListenerLines,
  securedListenerLines,
} from "./kafka-sasl.ts";
import { answersApiVersions } from "./kafka-probe.ts";
import type { StackLayout } from "./layout.ts";
import {
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

const pomPath = fileURLToPath(new URL("./kafka-pom.xml", import.meta.url));
const HEALTH_TIMEOUT_MS = 10_000;
const START_TIMEOUT_MS = 300_000;

export class KafkaService implements LocalService {
  readonly name = "kafka";
  private readonly dir: string;
  private readonly pidFile: string;
  private readonly logFile: string;

  private readonly layout: StackLayout["kafka"];

  constructor(layout: StackLayout["kafka"]) {
    this.layout = layout;
    this.dir = layout.dir;
    this.pidFile = join(this.dir, "kafka.pid");
    this.logFile = join(this.dir, "kafka.log");
  }

  checkPrerequisites(): void {
    if (!which("java"))
      throw new MissingPrerequisite(
        "java",
        "install a JDK 17 or later (apt-get install openjdk-17-jre-headless)",
      );
    if (!which("mvn"))
      throw new MissingPrerequisite(
        "mvn",
        "install Maven (apt-get install maven); it fetches Kafka's jars from Maven Central",
      );
  }

  async up(): Promise<"already-up" | "started"> {
    const pid = livePid(this.pidFile);
    if (pid !== null && (await this.healthy())) return "already-up";
    if (pid !== null) {
      // Running but not answering: on a busy machine (a test run on 2 cores) a healthy broker can miss a
      // probe for a while, and killing it would take it from everyone using it (a `mesh up` beside a test
      // run did). Only a broker silent as long as a start may take is declared stuck.
      try {
        await waitFor(
          "kafka",
          () => this.healthy(),
          START_TIMEOUT_MS,
          () => livePid(this.pidFile) !== null,
        );
        return "already-up";
      } catch {
        await stopPid(pid, "SIGKILL", 5_000);
      }
    }
    if (await portOpen(this.layout.port)) {
      throw new Error(
        `port ${this.layout.port} is taken by a process datamesh did not start; stop it or free the port`,
      );
    }
    this.checkPrerequisites();
    mkdirSync(this.dir, { recursive: true });
    const classpath = this.classpath();
    const password = kafkaPassword(this.dir);
    const { port, controllerPort } = this.layout;
    const dataDir = join(this.dir, "data");
    const markerFile = credentialMarkerFile(this.dir);
    const secured = this.writeConfig(securedListenerLines(port, controllerPort, password));
    let formatted = formattedClusterId(dataDir);
    if (formatted === null) {
      formatted = clusterId();
      const credential = scramCredential(KAFKA_SASL_MECHANISM, password);
      run("java", [
        "-cp",
        classpath,
        "kafka.tools.StorageTool",
        "format",
        "-t",
        formatted,
        "-c",
        secured,
        "--add-scram",
        storageFormatScramArg(KAFKA_SUPER_USER, credential),
      ]);
      writeFileSync(markerFile, credentialMarker(formatted, password));
    } else if (
      !existsSync(markerFile) ||
      readFileSync(markerFile, "utf8") !== credentialMarker(formatted, password)
    ) {
      await this.migrate(classpath, password);
      writeFileSync(markerFile, credentialMarker(formatted, password));
      this.writeConfig(securedListenerLines(port, controllerPort, password));
    }
    await this.start(classpath, secured, kafkaSuperUser(this.dir));
    return "started";
  }

  /**
   * A data folder formatted before the stack had SASL (or whose credential is for another password): start it
   * once without security on loopback, set the super user's SCRAM credential, stop. Topics are kept.
   */
  private async migrate(classpath: string, password: string): Promise<void> {
    const { port, controllerPort } = this.layout;
    const open = this.writeConfig(openListenerLines(port, controllerPort));
    await this.start(classpath, open, null);
    const kafka = new KafkaClient({ brokers: [`127.0.0.1:${port}`], clientId: "mesh-stack-migrate" });
    try {
      await kafka.access().ensureUser(KAFKA_SUPER_USER, password);
    } finally {
      await kafka.close().catch(() => undefined);
      await this.down();
    }
  }

  /** `sasl` null: the broker is started without security (migrate), so health is probed without a login. */
  private async start(classpath: string, config: string, sasl: KafkaSasl | null): Promise<void> {
    const log4j = this.writeLog4j();
    const started = spawnDetached(
      "java",
      [
        `-Xms128m`,
        `-Xmx${this.layout.heapMb}m`,
        "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1",
        "-Xshare:auto",
        "-Djava.awt.headless=true",
        `-Dlog4j2.configurationFile=${log4j}`,
        `-Dkafka.logs.dir=${this.dir}`,
        "-cp",
        classpath,
        "kafka.Kafka",
        config,
      ],
      this.logFile,
    );
    writePid(this.pidFile, started);
    try {
      // A data folder holding thousands of partitions (a long-lived test stack) takes minutes to load on a
      // busy 2-core machine before the broker answers.
      await waitFor(
        "kafka",
        () => this.healthy(sasl),
        START_TIMEOUT_MS,
        () => livePid(this.pidFile) !== null,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; last lines of ${this.logFile}:\n${tail(this.logFile)}`, {
        cause: err,
      });
    }
  }

  async down(): Promise<boolean> {
    const pid = livePid(this.pidFile);
    if (pid === null) return false;
    await stopPid(pid, "SIGTERM", 20_000);
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

  /**
   * Healthy means the super user can log in, create a topic and see it listed, and the group coordinator
   * answers. `sasl` null: the unsecured start of `migrate` (null, not undefined: undefined takes the default).
   */
  async healthy(sasl: KafkaSasl | null = kafkaSuperUser(this.dir)): Promise<boolean> {
    if (!(await portOpen(this.layout.port))) return false;
    if (!(await answersApiVersions(this.layout.port))) return false;
    const kafka = new KafkaClient({
      brokers: [`127.0.0.1:${this.layout.port}`],
      clientId: "mesh-stack-health",
      ...(sasl ? { sasl } : {}),
    });
    const admin = kafka.admin();
    const check = async (): Promise<boolean> => {
      await admin.ensureTopics([{ topic: HEALTH_TOPIC, partitions: 1 }]);
      if (!(await admin.listTopics()).includes(HEALTH_TOPIC)) return false;
      // Consumer groups need the group coordinator (and __consumer_offsets) loaded, not just the broker: it
      // answers for a group that does not exist only once it is.
      await admin.describeGroup("_mesh_health");
      return true;
    };
    // The client retries what a starting broker refuses; a probe answers within its own bound instead (the
    // callers poll it).
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), HEALTH_TIMEOUT_MS);
    });
    try {
      return await Promise.race([check(), timeout]);
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
      await kafka.close().catch(() => undefined);
    }
  }

  private classpath(): string {
    const pom = readFileSync(pomPath);
    const digest = createHash("sha256").update(pom).digest("hex").slice(0, 16);
    const cacheFile = join(this.dir, `classpath-${digest}.txt`);
    if (existsSync(cacheFile)) {
      const cached = readFileSync(cacheFile, "utf8").trim();
      if (cached.split(":").every((jar) => existsSync(jar))) return cached;
    }
    run("mvn", [
      "-q",
      "-B",
      "-f",
      pomPath,
      "dependency:build-classpath",
      `-Dmdep.outputFile=${cacheFile}`,
      "-Dmdep.includeScope=runtime",
    ]);
    return readFileSync(cacheFile, "utf8").trim();
  }

  /** server.properties with the given listener lines; 0600: the secured ones hold the super user's password. */
  private writeConfig(listenerLines: string[]): string {
    const { controllerPort } = this.layout;
    const file = join(this.dir, "server.properties");
    const lines = [
      "process.roles=broker,controller",
      "node.id=1",
      `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
      ...listenerLines,
      `log.dirs=${join(this.dir, "data")}`,
      "num.partitions=1",
      "default.replication.factor=1",
      "auto.create.topics.enable=true",
      "offsets.topic.replication.factor=1",
      // Few internal partitions: a single node on 2 cores creates them faster and needs no more.
      "offsets.topic.num.partitions=4",
      "transaction.state.log.replication.factor=1",
      "transaction.state.log.min.isr=1",
      "transaction.state.log.num.partitions=4",
      "share.coordinator.state.topic.replication.factor=1",
      "share.coordinator.state.topic.min.isr=1",
      "group.initial.rebalance.delay.ms=0",
      "num.network.threads=2",
      "num.io.threads=4",
      "background.threads=4",
      "log.cleaner.threads=1",
      "log.cleaner.dedupe.buffer.size=16777216",
      "log.retention.hours=168",
      "log.segment.bytes=268435456",
      "delete.topic.enable=true",
    ];
    writeFileSync(file, lines.join("\n") + "\n", { mode: 0o600 });
    chmodSync(file, 0o600);
    return file;
  }

  private writeLog4j(): string {
    const file = join(this.dir, "log4j2.properties");
    writeFileSync(
      file,
      [
        "status = error",
        "appender.console.type = Console",
        "appender.console.name = STDOUT",
        "appender.console.layout.type = PatternLayout",
        "appender.console.layout.pattern = [%d] %p %m (%c)%n",
        "rootLogger.level = WARN",
        "rootLogger.appenderRef.stdout.ref = STDOUT",
        "logger.kafka.name = kafka.server.KafkaRaftServer",
        "logger.kafka.level = INFO",
      ].join("\n") + "\n",
    );
    return file;
  }
}

/** A KRaft cluster id: 16 random bytes, URL-safe base64 without padding (what `random-uuid` prints). */
export function clusterId(): string {
  // An id starting with "-" would be read as an option by kafka-storage's argument parser (Kafka's own
  // Uuid.randomUuid() redraws these too); about 1 draw in 64 does.
  for (;;) {
    const id = randomBytes(16).toString("base64url");
    if (!id.startsWith("-")) return id;
  }
}

export function kafkaLogTail(layout: StackLayout["kafka"]): string {
  return tail(join(layout.dir, "kafka.log"));
}
