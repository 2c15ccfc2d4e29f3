// The contract between the HTTP routes and what stores schemas: reads come from `state`; a write is an
// operation over the state that the backend runs where writes are accepted (here, or on the leader).
import type { Write } from "./ops/writes.ts";
import type { RegistryState } from "./store/state.ts";
import { RegistryError } from "./errors.ts";

export interface WriteRequest {
  method: string;
  url: string;
  body: unknown;
  /** Set when a follower forwarded this request, so it is never forwarded twice. */
  forwarded: boolean;
}

export type WriteOutcome<T> =
  { local: true; result: T; offset: number } | { local: false; status: number; body: unknown };

export interface RegistryStatus {
  role: string;
  leaderUrl: string | null;
}

export interface RegistryBackend {
  readonly state: RegistryState;
  status(): Promise<RegistryStatus>;
  write<T>(request: WriteRequest, op: (state: RegistryState) => Write<T>): Promise<WriteOutcome<T>>;
}

/** A backend without Kafka: every write applies at once (route tests, single-process tools). */
export class MemoryBackend implements RegistryBackend {
  readonly state: RegistryState;
  private offset = -1;
  constructor(state: RegistryState) {
    this.state = state;
  }
  status(): Promise<RegistryStatus> {
    return Promise.resolve({ role: "leader", leaderUrl: null });
  }
  write<T>(_request: WriteRequest, op: (state: RegistryState) => Write<T>): Promise<WriteOutcome<T>> {
    try {
      const w = op(this.state);
      for (const r of w.records) this.state.apply(r);
      this.offset += w.records.length;
      return Promise.resolve({ local: true, result: w.result, offset: this.offset });
    } catch (e) {
      return Promise.reject(e instanceof RegistryError ? e : (e as Error));
    }
  }
}
