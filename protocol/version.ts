// Owns the protocol version: the one number a writer stamps and a reader checks.
//
//   1  END markers count events per topic only (connectors before per-partition counts)
//   2  END markers also count events per partition of each topic (`data_collections[].partitions`)
//
// The version travels in the Kafka header `mesh-protocol` (decimal text) of every transaction marker: the
// marker is what a reader's transaction assembly depends on, and every transaction has one. Markers
// written before the header existed carry their version in their content (markers.ts `markerVersion`).
// Envelopes need no header: their shape is their registered writer schema, which readers resolve by id.
// A reader fails on a version newer than its own (MESH_PROTOCOL_NEWER), and on one older than a feature
// it needs (MESH_CONNECTOR_OUTDATED); both through `checkProtocolVersion`. Pure.
import { MeshError } from "../lib/errors.ts";

export const PROTOCOL_VERSION = 2;

export const PROTOCOL_HEADER = "mesh-protocol";

/** The first version of each feature a reader may depend on. */
export const SINCE = {
  /** END markers' `data_collections[].partitions` (split views read some partitions of a topic). */
  partitionCounts: 2,
} as const;

export type ProtocolFeature = keyof typeof SINCE;

/** The header every versioned message carries. */
export function protocolHeaders(): Record<string, string> {
  return { [PROTOCOL_HEADER]: String(PROTOCOL_VERSION) };
}

/**
 * The version a message's headers declare, or null without the header. Takes any client's header shape
 * (a Buffer, a string, or kafkajs' arrays of them).
 */
export function declaredVersion(headers: Readonly<Record<string, unknown>> | undefined): number | null {
  let raw = headers?.[PROTOCOL_HEADER];
  if (Array.isArray(raw)) raw = raw[0];
  if (raw === undefined || raw === null) return null;
  const text = Buffer.isBuffer(raw) ? raw.toString("utf8") : typeof raw === "string" ? raw : "";
  const version = Number(text);
  // An unreadable header is not a version we know: treat it as newer, so the reader stops and says so.
  return Number.isInteger(version) && version > 0 ? version : Number.POSITIVE_INFINITY;
}

export interface VersionCheck {
  /** What was read, for the message: "the transaction marker at shop.transactions partition 0 offset 7". */
  what: string;
  details?: Record<string, unknown>;
  /** A feature the reader needs here, and what the reader is doing that needs it (for the message). */
  needs?: { feature: ProtocolFeature; because: string; otherwise: string };
}

/**
 * Throws MESH_PROTOCOL_NEWER when `found` is newer than this process reads, and MESH_CONNECTOR_OUTDATED
 * when it is older than a feature the reader needs.
 */
export function checkProtocolVersion(found: number, check: VersionCheck): void {
  const details = { ...check.details, version: found, readerVersion: PROTOCOL_VERSION };
  if (found > PROTOCOL_VERSION) {
    const shown = Number.isFinite(found) ? `version ${found}` : "an unreadable version";
    throw new MeshError(
      "MESH_PROTOCOL_NEWER",
      `${check.what} was written with protocol ${shown}, but this process reads up to version ` +
        `${PROTOCOL_VERSION}; upgrade it to the connector's release`,
      details,
    );
  }
  const needs = check.needs;
  if (needs && found < SINCE[needs.feature]) {
    throw new MeshError(
      "MESH_CONNECTOR_OUTDATED",
      `${check.what} ${needs.because} (protocol version ${found}; ${needs.feature} came with version ` +
        `${SINCE[needs.feature]}); upgrade the source's connector, or ${needs.otherwise}`,
      { ...details, feature: needs.feature },
    );
  }
}
