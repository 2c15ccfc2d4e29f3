// `mesh materialize` processes for integration tests, started in-process as the CLI starts them
// (startMaterializer): each in a data dir of its own under the temp folder, on the local stack's Kafka,
// listening on a free loopback port unless told otherwise. stopAll() stops them and removes their dirs.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { silentLogger } from "../../lib/logger.ts";
import { kafkaConnection } from "../../test/support/stack.ts";
import { startMaterializer, type MaterializerConfig, type RunningMaterializer } from "../main.ts";
import { TEST_ADMIN_TOKEN } from "../../test/support/auth.ts";

export interface MemberOptions {
  registryUrl: string;
  /** Follow this catalog topic's views (default: none, as when embedded beside the API). */
  catalogTopic?: string;
  /** Split views with the other members of this group. */
  group?: string;
  /** Serve over HTTP on 127.0.0.1, any free port (default true). */
  listen?: boolean;
  /** The URL advertised to the group (default: the listen address). */
  advertise?: string;
}

export interface StartedMember {
  m: RunningMaterializer;
  dir: string;
}

export class TestMembers {
  /** The members started, in order, with their data dirs. */
  readonly started: StartedMember[] = [];
  readonly #prefix: string;
  readonly #dirs: string[] = [];

  /** `prefix` names the temp dirs (e.g. "mesh-split-http-"). */
  constructor(prefix: string) {
    this.#prefix = prefix;
  }

  async start(options: MemberOptions): Promise<RunningMaterializer> {
    const dir = await mkdtemp(join(tmpdir(), this.#prefix));
    const config: MaterializerConfig = {
      ...kafkaConnection(),
      registryUrl: options.registryUrl,
      dataDir: dir,
      views: [],
      logLevel: "silent",
      adminToken: TEST_ADMIN_TOKEN,
      ...(options.catalogTopic !== undefined ? { catalogTopic: options.catalogTopic } : {}),
      ...(options.listen !== false ? { listen: { host: "127.0.0.1", port: 0 } } : {}),
      ...(options.group !== undefined ? { group: options.group } : {}),
      ...(options.advertise !== undefined ? { advertise: options.advertise } : {}),
    };
    try {
      const m = await startMaterializer(config, silentLogger());
      this.started.push({ m, dir });
      return m;
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** A temp dir that stopAll() removes (an API's data dir, say). */
  async dir(): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), this.#prefix));
    this.#dirs.push(d);
    return d;
  }

  /** Stops every member (one already stopped by the test is fine) and removes every dir. */
  async stopAll(): Promise<void> {
    for (const { m, dir } of this.started.splice(0)) {
      await m.stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    }
    for (const d of this.#dirs.splice(0)) await rm(d, { recursive: true, force: true });
  }
}
