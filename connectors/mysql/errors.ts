// The MeshErrors the MySQL backend raises for conditions of its own (codes from lib/errors.ts).
import { MeshError } from "../../lib/errors.ts";

/** The server no longer has (or can no longer decode from) the stored position: re-snapshot or stop. */
export function positionLost(message: string, details: Record<string, unknown> = {}): MeshError {
  return new MeshError("MESH_SOURCE_POSITION_LOST", message, details);
}

/** A connection dropped or the server went away: the runtime retries with backoff. */
export function unreachable(message: string, cause?: unknown): MeshError {
  return new MeshError("MESH_SOURCE_UNREACHABLE", message, {}, { cause });
}
