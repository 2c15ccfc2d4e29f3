// `mesh api`: the API role on its own (connectors in-process unless --connect false; no materializer).
// Config is parsed here, once; the process stops cleanly on SIGINT/SIGTERM.
import { isMeshError } from "../lib/errors.ts";
import { createLogger } from "../lib/logger.ts";
import { apiConfigHelp, parseApiConfig, type ApiConfig } from "./config.ts";
import { startApi } from "./service.ts";

export async function run(args: string[]): Promise<number> {
  if (args.includes("--help")) {
    console.log(`usage: mesh api [options]\n\n${apiConfigHelp}`);
    return 0;
  }
  let config: ApiConfig;
  try {
    config = parseApiConfig(args, process.env);
  } catch (err) {
    console.error(`mesh api: ${(err as Error).message}`);
    return 2;
  }
  const logger = createLogger({ level: config.logLevel, name: "api" });
  let api;
  try {
    api = await startApi(config, { logger });
  } catch (err) {
    console.error(`mesh api: ${(err as Error).message}`);
    return isMeshError(err) && err.code === "MESH_KAFKA_UNAVAILABLE" ? 3 : 1;
  }
  console.log(`datamesh API listening on ${api.url} (OpenAPI at ${api.url}/docs)`);
  await waitForSignal();
  await api.stop();
  return 0;
}

export function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    const on = (signal: string): void => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
      resolve(signal);
    };
    process.on("SIGINT", on);
    process.on("SIGTERM", on);
  });
}
