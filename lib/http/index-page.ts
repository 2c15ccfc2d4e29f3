// Owns a server's index pages: `GET <path>` answers a list of links, as HTML to a browser (Accept: text/html)
// and as JSON to everything else, so a person opening the server's address lands somewhere useful and a
// program can discover the same links. The route's schema describes both answers for the OpenAPI document.
import type { FastifyInstance } from "fastify";

export interface IndexLink {
  href: string;
  rel: string;
  title: string;
  /** Reserved for later: listed so clients know the path, marked as not served yet. */
  available?: boolean;
}

export interface IndexPage {
  title: string;
  description: string;
  links: IndexLink[];
}

/** JSON schema of an index page (the JSON answer). */
export const indexPageSchema = {
  $id: "IndexPage",
  type: "object",
  required: ["title", "description", "links"],
  properties: {
    title: { type: "string" },
    description: { type: "string" },
    links: {
      type: "array",
      items: {
        type: "object",
        required: ["href", "rel", "title", "available"],
        properties: {
          href: { type: "string" },
          rel: { type: "string" },
          title: { type: "string" },
          available: { type: "boolean", description: "false: the path is reserved and not served yet" },
        },
      },
    },
  },
} as const;

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function indexHtml(page: IndexPage): string {
  const items = page.links
    .map((l) =>
      l.available === false
        ? `<li>${escapeHtml(l.title)} <code>${escapeHtml(l.href)}</code> (not served yet)</li>`
        : `<li><a href="${escapeHtml(l.href)}">${escapeHtml(l.title)}</a> <code>${escapeHtml(l.href)}</code></li>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(page.title)}</title></head>
<body><h1>${escapeHtml(page.title)}</h1><p>${escapeHtml(page.description)}</p>
<ul>
${items}
</ul></body></html>
`;
}

/** A browser asks for HTML first; curl (*\/*) and programs asking for JSON get JSON. */
export function wantsHtml(accept: string | undefined): boolean {
  return accept !== undefined && /\btext\/html\b/.test(accept) && !/\bapplication\/json\b/.test(accept);
}

/**
 * Serves `page` at `path`. `schema` is merged into the route's schema (tags, operationId, summary, and the
 * error responses of the server's shape).
 */
export function serveIndex(
  app: FastifyInstance,
  path: string,
  page: IndexPage,
  schema: Record<string, unknown> & { response?: Record<string, unknown> } = {},
): void {
  const json = { ...page, links: page.links.map((l) => ({ ...l, available: l.available ?? true })) };
  const html = indexHtml(page);
  app.get(
    path,
    {
      schema: {
        ...schema,
        response: {
          ...schema.response,
          200: {
            description:
              "Links to the server's parts: HTML for a browser (Accept: text/html), JSON otherwise",
            content: {
              "application/json": { schema: { $ref: "IndexPage#" } },
              "text/html": { schema: { type: "string" } },
            },
          },
        },
      },
    },
    (request, reply) => {
      if (wantsHtml(request.headers.accept)) return reply.type("text/html; charset=utf-8").send(html);
      return reply.type("application/json; charset=utf-8").send(json);
    },
  );
}
