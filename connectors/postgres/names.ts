// Default names derived from the source name (Postgres identifiers: lowercase, [a-z0-9_], ≤ 63 bytes).
export function defaultSlotName(source: string): string {
  return `mesh_${source.toLowerCase().replace(/[^a-z0-9_]/g, "_")}`.slice(0, 63);
}

export function defaultPublicationName(source: string): string {
  return `mesh_${source.toLowerCase().replace(/[^a-z0-9_]/g, "_")}`.slice(0, 63);
}
