// The Postgres tests' helpers: the connector harness every backend shares (core/conformance/harness.ts) and
// a short-lived Postgres client.
import pg from "pg";

export * from "../core/conformance/harness.ts";

export async function withPg<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}
