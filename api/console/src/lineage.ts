// Owns the lineage page: GET /v1/lineage drawn as an SVG graph (layout.ts), each node coloured by its state
// and labelled with its owner; a node's details on click. datamesh's own consumer groups are hidden unless
// asked for.
import { html } from "htm/preact";
import { useState } from "preact/hooks";
import { layout, NODE_H, NODE_W, type GraphEdge, type GraphNode } from "./layout.ts";
import { Badge, ErrorBox, Heading, json, useJson } from "./ui.ts";

interface Lineage {
  nodes: GraphNode[];
  edges: GraphEdge[];
  problems: string[];
}

const COLUMN_TITLES = ["Sources", "Tables", "Topics", "Views"];
const GOOD = new Set(["streaming", "ready", "Stable"]);
const BAD = new Set(["failed", "Dead", "stopped"]);

export function LineagePage(): ReturnType<typeof html> {
  const { data, error } = useJson<Lineage>("/v1/lineage", 5000);
  const [internal, setInternal] = useState(false);
  const [chosen, setChosen] = useState<string | null>(null);
  const hidden = new Set(
    (data?.nodes ?? [])
      .filter((n) => n.kind === "consumer-group" && n.details.internal === true && !internal)
      .map((n) => n.id),
  );
  const nodes = (data?.nodes ?? []).filter((n) => !hidden.has(n.id));
  const edges = (data?.edges ?? []).filter((e) => !hidden.has(e.from) && !hidden.has(e.to));
  const { placed, width, height } = layout(nodes, edges);
  const at = new Map(placed.map((p) => [p.id, p]));
  const selected = placed.find((p) => p.id === chosen) ?? null;
  return html`<section>
    <${Heading} title="Lineage">
      <label class="muted"
        ><input type="checkbox" checked=${internal} onChange=${() => setInternal(!internal)} /> datamesh's own
        groups</label
      >
    <//>
    <${ErrorBox} error=${error} />
    ${(data?.problems ?? []).map((p) => html`<div class="warning">${p}</div>`)}
    <div class="graph">
      <svg
        data-testid="lineage-graph"
        width=${width}
        height=${Math.max(height, 120)}
        viewBox=${`0 0 ${width} ${Math.max(height, 120)}`}
        role="img"
        aria-label="lineage graph"
      >
        ${COLUMN_TITLES.map((t, i) => html`<text class="column-title" x=${10 + i * (NODE_W + 70)} y="16">${t}</text>`)}
        <text class="column-title" x=${10 + 4 * (NODE_W + 70)} y="16">
          ${placed.some((p) => p.x > 10 + 3 * (NODE_W + 70)) ? "Consumers" : ""}
        </text>
        ${edges.map((e) => {
          const a = at.get(e.from);
          const b = at.get(e.to);
          if (!a || !b) return null;
          const x1 = a.x + NODE_W;
          const y1 = a.y + NODE_H / 2;
          const x2 = b.x;
          const y2 = b.y + NODE_H / 2;
          const mid = (x1 + x2) / 2;
          return html`<path
            class=${`edge ${e.kind}`}
            d=${`M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`}
          />`;
        })}
        ${placed.map(
          (n) =>
            html`<g
              class=${`node ${n.kind} ${GOOD.has(n.state ?? "") ? "good" : BAD.has(n.state ?? "") ? "bad" : ""}`}
              data-node=${n.id}
              transform=${`translate(${n.x},${n.y})`}
              onClick=${() => setChosen(n.id)}
            >
              <rect width=${NODE_W} height=${NODE_H} rx="6" />
              <text x="8" y="18" class="name"
                >${n.name.length > 26 ? `${n.name.slice(0, 25)}…` : n.name}</text
              >
              <text x="8" y="36" class="sub"
                >${n.kind}${n.owner ? ` · ${n.owner}` : ""}${n.state ? ` · ${n.state}` : ""}</text
              >
            </g>`,
        )}
      </svg>
    </div>
    ${data && nodes.length === 0 ? html`<p class="muted">Nothing registered yet.</p>` : null}
    ${
      selected
        ? html`<div class="panel">
            <h2>${selected.kind} ${selected.name}</h2>
            <p>Owner: ${selected.owner ?? "—"} · <${Badge} state=${selected.state} /></p>
            <pre>${json(selected.details)}</pre>
          </div>`
        : null
    }
  </section>`;
}
