// `mesh status [--json]`: where each role listens and whether its dependencies are reachable.
import { apiUrl, call, exit, has, parseArgs, printJson, runCommand } from "./client.ts";

export async function run(args: string[]): Promise<number> {
  let p;
  try {
    p = parseArgs(args, ["json", "help"], ["api"]);
  } catch (err) {
    console.error((err as Error).message);
    return exit.usage;
  }
  if (has(p, "help")) {
    console.error(
      "usage: mesh status [--api URL] [--json]   where each role listens; readiness of each dependency",
    );
    return exit.ok;
  }
  const json = has(p, "json");
  const base = apiUrl(p, process.env);
  return runCommand(json, async () => {
    const status = await call<Record<string, unknown>>(base, "GET", "/v1/status");
    let ready: { ok: boolean; checks: { name: string; ok: boolean; error?: string }[] };
    try {
      ready = await call(base, "GET", "/readyz");
    } catch (err) {
      const details = (err as { error?: { details?: { checks?: typeof ready.checks } } }).error?.details;
      ready = { ok: false, checks: details?.checks ?? [] };
    }
    if (json) printJson({ ...status, ready: ready.ok, checks: ready.checks });
    else {
      const roles = (status.roles ?? {}) as Record<
        string,
        { url?: string; brokers?: string; inProcess?: boolean }
      >;
      for (const [role, info] of Object.entries(roles)) {
        const where = info.url ?? info.brokers ?? (info.inProcess ? "in the API process" : "elsewhere");
        console.log(`${role.padEnd(12)} ${where}`);
      }
      console.log(`sources      ${String(status.sources)}\nviews        ${String(status.views)}`);
      for (const c of ready.checks)
        console.log(`${c.ok ? "ok  " : "FAIL"} ${c.name}${c.error ? `: ${c.error}` : ""}`);
    }
    return ready.ok ? exit.ok : exit.failed;
  });
}
