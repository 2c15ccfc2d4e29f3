// `GET /console`: the web console, static files bundled at build time (api/console: preact + htm, esbuild;
// committed in api/console/built, so nothing is built at run time and nothing comes from a CDN). The page
// routes itself with the URL's hash; the API serves the page and its two assets, read once at start.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { builtDir } from "../../console/paths.ts";

export const CONSOLE_PATH = "/console";

const ASSETS: Record<string, string> = {
  "app.js": "text/javascript; charset=utf-8",
  "app.css": "text/css; charset=utf-8",
};

// The console talks to this API only; scripts and styles come from the page's own origin.
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

function readBuilt(file: string): Buffer | null {
  try {
    return readFileSync(join(builtDir, file));
  } catch {
    return null;
  }
}

export function consoleRoutes(app: FastifyInstance): void {
  const page = readBuilt("index.html");
  const assets = new Map(Object.keys(ASSETS).map((f) => [f, readBuilt(f)]));
  const missing = page === null || [...assets.values()].some((a) => a === null);
  for (const path of [CONSOLE_PATH, `${CONSOLE_PATH}/`]) {
    app.get(path, { schema: { hide: true } }, (_request, reply) => {
      if (missing) {
        return reply
          .code(503)
          .type("text/plain; charset=utf-8")
          .send("The console is not built: run `npm run build:console` (api/console/README.md).\n");
      }
      return reply
        .type("text/html; charset=utf-8")
        .header("cache-control", "no-cache")
        .header("content-security-policy", CSP)
        .send(page);
    });
  }
  app.get<{ Params: { file: string } }>(
    `${CONSOLE_PATH}/assets/:file`,
    { schema: { hide: true } },
    (request, reply) => {
      const body = assets.get(request.params.file);
      const type = ASSETS[request.params.file];
      if (!body || !type) {
        return reply.code(404).type("text/plain; charset=utf-8").send("no such console asset\n");
      }
      return reply.type(type).header("cache-control", "no-cache").send(body);
    },
  );
}
