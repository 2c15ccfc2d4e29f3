// `npm run bench -- <name...>`: runs the named benchmarks (all when none is named). Each module in
// test/bench exports `run()`, which prints its figures beside a baseline measured in the same run.
import { existsSync } from "node:fs";

const known = ["registry", "pg", "mysql", "views", "api", "kafka"];

async function main(argv: string[]): Promise<number> {
  // `--runs N`: how many times a benchmark repeats its measurements (those that report a spread read it).
  const args = [...argv];
  const runsAt = args.indexOf("--runs");
  if (runsAt >= 0) process.env.MESH_BENCH_RUNS = args.splice(runsAt, 2)[1] ?? "";
  const names = args.length > 0 ? args : known;
  for (const name of names) {
    if (!known.includes(name)) {
      console.error(`unknown benchmark "${name}"; known: ${known.join(", ")}`);
      return 2;
    }
    const file = new URL(`./${name}.ts`, import.meta.url);
    if (!existsSync(file)) {
      console.error(`benchmark "${name}" is not written yet (${file.pathname})`);
      return 1;
    }
    console.log(`\n## ${name}`);
    const mod = (await import(file.href)) as { run: () => Promise<void> };
    await mod.run();
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
