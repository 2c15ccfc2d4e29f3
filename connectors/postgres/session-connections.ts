// What one Postgres session holds open. Every connection the session opens is registered here and closed
// in reverse order, once, whichever way the session ends. A connection the server ends (restart,
// pg_terminate_backend) must fail the session, never the process: `onLost` hears of it (the runtime then
// fails the session, shows `failed` with the error and retries).
import type pg from "pg";
import { MeshError } from "../../lib/errors.ts";
import { connect } from "./catalog.ts";

export class SessionConnections {
  readonly #url: string;
  readonly #cleanups: (() => Promise<unknown>)[] = [];
  readonly #onLost: (err: MeshError) => void;

  constructor(url: string, onLost: (err: MeshError) => void) {
    this.#url = url;
    this.#onLost = onLost;
  }

  /** A new connection, closed by cleanup(). */
  async open(): Promise<pg.Client> {
    // A bounded connect: a database that stopped answering must not hold the session (or a stop) for minutes.
    const c = connect(this.#url, { connectionTimeoutMillis: 10_000 }, (err) =>
      this.#onLost(connectionLost(err)),
    );
    this.defer(() => c.end());
    await c.connect();
    return c;
  }

  /** Registers something to release when the session ends (released in reverse order). */
  defer(release: () => Promise<unknown>): void {
    this.#cleanups.push(release);
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
