// /readyz checks of the source databases whose connectors run in this process (their leases are held here):
// a database the connector cannot reach, or that refuses its credentials, makes the process not ready, named
// by source. Other prerequisite problems (wal_level, a missing table) are the connector's status, not
// readiness. Messages come from the connector's checks, which never carry credentials.
import { checkSourcePrerequisites } from "../../connectors/core/change-source.ts";
import type { SourceRecord } from "../../protocol/catalog.ts";
import type { DependencyCheck } from "../runtime.ts";
import { toDefinition, toSourceProblem } from "./connector-runtime.ts";

export async function sourceChecks(
  source: (name: string) => SourceRecord | undefined,
  runningHere: string[],
  timeoutMs = 5000,
): Promise<DependencyCheck[]> {
  return Promise.all(
    runningHere.map(async (name): Promise<DependencyCheck> => {
      const def = source(name);
      if (!def) return { name: `source ${name}`, ok: true };
      let timer: NodeJS.Timeout | undefined;
      try {
        const problems = await Promise.race([
          checkSourcePrerequisites(toDefinition(def)),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        const fatal = problems
          .map(toSourceProblem)
          .find((p) => p.kind === "unreachable" || p.kind === "auth");
        return fatal
          ? { name: `source ${name}`, ok: false, error: `${fatal.kind}: ${fatal.message}` }
          : { name: `source ${name}`, ok: true };
      } catch (err) {
        return { name: `source ${name}`, ok: false, error: (err as Error).message };
      } finally {
        clearTimeout(timer);
      }
    }),
  );
}
