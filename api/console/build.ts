// `npm run build:console`: bundles the console (src/, preact + htm) with esbuild into built/ — app.js,
// app.css, index.html — the static files the API serves at /console (api/http/routes/console.ts). The bundle
// is committed, so neither CI nor `mesh api` builds anything; built.test.ts fails when it is stale.
import { copyFile, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as esbuild from "esbuild";
import { builtDir, consoleDir } from "./paths.ts";

/** The bundle's text (deterministic for a given esbuild version and sources). */
export async function bundle(): Promise<string> {
  const result = await esbuild.build({
    entryPoints: [join(consoleDir, "src", "main.ts")],
    bundle: true,
    format: "esm",
    target: "es2022",
    minify: true,
    legalComments: "none",
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0]!.text;
}

export async function build(): Promise<void> {
  await mkdir(builtDir, { recursive: true });
  await writeFile(join(builtDir, "app.js"), await bundle());
  await copyFile(join(consoleDir, "styles.css"), join(builtDir, "app.css"));
  await copyFile(join(consoleDir, "index.html"), join(builtDir, "index.html"));
}

if (import.meta.main) {
  await build();
  console.log(`console built into ${builtDir}`);
}
