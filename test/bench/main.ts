// `npm run bench -- <name...>`: runs the named benchmarks (all when none is named). Each module in
// test/bench exports `run()`, which prints its figures beside a baseline measured in the same run.
import { existsSync } from "node:fs";

const known = ["registry", "pg", "mysql", "views", "api", "kafka"];

async function main(argv: string[]): Promise<number> {
  // `--runs N`: how many times a benchmark repeats its measurements (those that report a spread read it).
  const args = [...argv];
  const runsAt = args.indexOf("--runs");
  if (runsAt >= 0) process.env.MESH_BENCH_RUNS = args.splice(runsAt, 2)[1] ?? "";
  // Words after a benchmark's name that name no benchmark pick its workloads (MESH_BENCH_<NAME>_ONLY):
  // `views freshness`.
  const picked: string[] = [];
  for (const arg of args) {
    const last = picked.at(-1);
    if (known.includes(arg) || last === undefined) picked.push(arg);
    else {
      const env = `MESH_BENCH_${last.toUpperCase()}_ONLY`;
      process.env[env] = [process.env[env], arg].filter(Boolean).join(",");
    }
  }
  const names = picked.length > 0 ? picked : known;
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
