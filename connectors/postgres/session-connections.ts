// What one session holds open, and what happens when the database ends one of its connections. Everything
// the session opens (connections, the producer, the replication stream, timers) is registered here and
// released in reverse order, once, whichever way the session ends. A connection the server ends (restart,
// pg_terminate_backend) must fail the session, never the process: during set-up it aborts the set-up and
// the session throws `lostError`; once streaming it fails the running session. Either way the connector
// shows `failed` with the error and retries.
import type pg from "pg";
import { MeshError } from "../../lib/errors.ts";
import { connect } from "./catalog.ts";

export class SessionConnections {
  readonly #url: string;
  readonly #cleanups: (() => Promise<unknown>)[] = [];
  #lost: MeshError | undefined;
  #onLost: (err: Error) => void;

  /** `abort` is aborted when a connection is lost during set-up. */
  constructor(url: string, abort: AbortController) {
    this.#url = url;
    this.#onLost = (err) => {
      this.#lost ??= connectionLost(err);
      abort.abort();
    };
  }

  /** The first connection lost during set-up (the error the session throws), if any. */
  get lostError(): MeshError | undefined {
    return this.#lost;
  }

  /** A new connection, closed by cleanup(). */
  async open(): Promise<pg.Client> {
    // A bounded connect: a database that stopped answering must not hold the session (or a stop) for minutes.
    const c = connect(this.#url, { connectionTimeoutMillis: 10_000 }, (err) => this.#onLost(err));
    await c.connect();
    this.defer(() => c.end());
    return c;
  }

  /** Registers something to release when the session ends (released in reverse order). */
  defer(release: () => Promise<unknown>): void {
    this.#cleanups.push(release);
  }

  /**
   * Set-up is over: throws the connection lost during it, if any; from now on a lost connection calls
   * `fail` (the running session fails).
   */
  streaming(fail: (err: MeshError) => void): void {
    if (this.#lost) throw this.#lost;
    this.#onLost = (err) => fail(connectionLost(err));
  }

  /** Releases everything registered, newest first; a failing release does not stop the others. */
  async cleanup(): Promise<void> {
    const cleanups = this.#cleanups.splice(0).reverse();
    for (const release of cleanups) await release().catch(() => undefined);
  }
}

export function connectionLost(err: Error): MeshError {
  return new MeshError(
    "MESH_SOURCE_UNREACHABLE",
    `lost a connection to the source database: ${err.message}; retrying`,
    {},
    { cause: err },
  );
}
