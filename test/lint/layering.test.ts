// The layering rules of eslint.config.js, run through ESLint's API on a small tree of fixture files
// (test/lint/fixtures/, left out of the normal lint and type check): every back-edge, cycle and stray Kafka
// client import is reported, and nothing that follows the layers is.
import { join } from "node:path";
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";
import { layering } from "../../eslint.config.js";

const fixtures = join(import.meta.dirname, "fixtures");

async function problems(): Promise<string[]> {
  const eslint = new ESLint({
    cwd: fixtures,
    overrideConfigFile: true,
    overrideConfig: layering(fixtures),
  });
  const results = await eslint.lintFiles(["**/*.ts"]);
  return results
    .flatMap((r) =>
      r.messages.map((m) => {
        const file = r.filePath.slice(fixtures.length + 1);
        const quoted = /"([^"]+)"|'([^']+)'/.exec(m.message);
        const imported = quoted?.[1] ?? quoted?.[2] ?? "";
        return `${file} ${m.ruleId ?? m.message} ${m.ruleId === "import-x/no-cycle" ? "" : imported}`.trim();
      }),
    )
    .sort();
}

describe("layering lint rule", () => {
  it("rejects back-edges, cycles, test code in production and Kafka clients outside lib/kafka; accepts the rest", async () => {
    expect(await problems()).toEqual([
      "connectors/core/change-source.ts import-x/no-cycle",
      "connectors/core/change-source.ts import-x/no-restricted-paths ../postgres/connector.ts",
      "connectors/postgres/connector.ts import-x/no-cycle",
      "connectors/postgres/connector.ts import-x/no-restricted-paths ../mysql/binlog.ts",
      "lib/reads-protocol.ts import-x/no-restricted-paths ../protocol/topics.ts",
      "materializer/kafka-direct.ts no-restricted-imports @platformatic/kafka",
      "materializer/ring-a.ts import-x/no-cycle",
      "materializer/ring-b.ts import-x/no-cycle",
      "materializer/serve.ts import-x/no-restricted-paths ../api/routes.ts",
      "materializer/uses-test-code.ts import-x/no-restricted-paths ./test-support/helper.ts",
    ]);
  });

  it("names the allowed layers in the message", async () => {
    const eslint = new ESLint({
      cwd: fixtures,
      overrideConfigFile: true,
      overrideConfig: layering(fixtures),
    });
    const [result] = await eslint.lintFiles(["materializer/serve.ts"]);
    expect(result!.messages[0]!.message).toContain(
      "materializer may import lib, protocol, materializer only",
    );
  });
});
