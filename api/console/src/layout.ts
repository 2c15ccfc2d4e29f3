// Owns placing the lineage graph: one column per stage (sources, tables, topics, views — a view read by
// another view one column further — then consumers and clients), nodes stacked in each column in the order
// of what feeds them, so edges mostly run straight. Pure: the SVG page draws what this returns.

export interface GraphNode {
  id: string;
  kind: string;
  name: string;
  owner: string | null;
  state: string | null;
  details: Record<string, unknown>;
}

export interface GraphEdge {
  from: string;
  to: string;
  kind: string;
}

export interface Placed extends GraphNode {
  x: number;
  y: number;
}

export const NODE_W = 190;
export const NODE_H = 46;
const GAP_X = 70;
const GAP_Y = 16;

const baseColumn: Record<string, number> = { source: 0, table: 1, topic: 2, view: 3 };

export function layout(
  nodes: GraphNode[],
  edges: GraphEdge[],
): { placed: Placed[]; width: number; height: number } {
  const col = new Map<string, number>();
  for (const n of nodes) if (n.kind in baseColumn) col.set(n.id, baseColumn[n.kind]!);
  // Views fed by views sit right of them (at most as many passes as there are views).
  for (let pass = 0; pass < nodes.length; pass++) {
    let moved = false;
    for (const e of edges) {
      const from = col.get(e.from);
      const to = col.get(e.to);
      if (from !== undefined && to !== undefined && e.to.startsWith("view:") && to <= from) {
        col.set(e.to, from + 1);
        moved = true;
      }
    }
    if (!moved) break;
  }
  const last = Math.max(3, ...col.values());
  for (const n of nodes) if (!col.has(n.id)) col.set(n.id, last + 1);
  // Order within a column: by the mean row of what feeds a node, so edges cross less.
  const rows = new Map<string, number>();
  const columns = new Map<number, GraphNode[]>();
  for (const n of nodes) columns.set(col.get(n.id)!, [...(columns.get(col.get(n.id)!) ?? []), n]);
  const placed: Placed[] = [];
  let height = 0;
  for (const c of [...columns.keys()].sort((a, b) => a - b)) {
    const list = columns.get(c)!;
    const weight = (n: GraphNode): number => {
      const feeders = edges.filter((e) => e.to === n.id && rows.has(e.from)).map((e) => rows.get(e.from)!);
      return feeders.length === 0 ? Infinity : feeders.reduce((a, b) => a + b, 0) / feeders.length;
    };
    const sorted = [...list].sort((a, b) => weight(a) - weight(b) || a.name.localeCompare(b.name));
    sorted.forEach((n, i) => {
      rows.set(n.id, i);
      placed.push({ ...n, x: 10 + c * (NODE_W + GAP_X), y: 30 + i * (NODE_H + GAP_Y) });
    });
    height = Math.max(height, 30 + sorted.length * (NODE_H + GAP_Y));
  }
  const width = 20 + (Math.max(...col.values(), 0) + 1) * (NODE_W + GAP_X);
  return { placed, width, height: height + 10 };
}
