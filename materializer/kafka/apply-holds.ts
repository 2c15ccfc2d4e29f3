// A split-view member's side of consistent pages (docs/views.md "Consistent pages"): its position (per
// source, the offset after the last END marker applied: every member passes through the same positions,
// since every member reads each source's whole `<source>.transactions` topic and applies transactions in
// its order) and holds. A hold stops the member's applying at a position: units released past it wait
// (in order) until the hold is released or expires, so a page read under the hold shows exactly the
// transactions up to that position. A query asks every member under one hold id; members behind the
// furthest one are then moved up to exactly its position (`at`) and asked again.
// Pure bookkeeping (no Kafka, no LevelDB): the applier (view-apply.ts) owns the units and applies them.
import { MeshError } from "../../lib/errors.ts";
import type { Unit } from "./assembler.ts";

/** Per source: the offset after the last END marker applied. */
export type Position = Map<string, bigint>;

export const positionJson = (p: Position): Record<string, string> =>
  Object.fromEntries([...p].map(([s, o]) => [s, o.toString()]));

export function parsePosition(json: unknown): Position {
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw new MeshError("MESH_BAD_REQUEST", "a view position is a JSON object of source → offset");
  const out: Position = new Map();
  for (const [source, offset] of Object.entries(json as Record<string, unknown>)) {
    if (typeof offset !== "string" || !/^\d+$/.test(offset))
      throw new MeshError(
        "MESH_BAD_REQUEST",
        `position of source ${source}: "${String(offset)}" is not an offset`,
      );
    out.set(source, BigInt(offset));
  }
  return out;
}

/** Whether two positions name the same transactions (a source missing from one is at 0 there). */
export function samePosition(a: Position, b: Position): boolean {
  for (const s of new Set([...a.keys(), ...b.keys()]))
    if ((a.get(s) ?? 0n) !== (b.get(s) ?? 0n)) return false;
  return true;
}

/** The furthest of several positions, per source. */
export function furthest(positions: Position[]): Position {
  const out: Position = new Map();
  for (const p of positions) for (const [s, o] of p) if (o > (out.get(s) ?? 0n)) out.set(s, o);
  return out;
}

export class ApplyHolds {
  /** The position of what was applied (decided; the applier waits for its writes before a page is read). */
  readonly position: Position = new Map();
  readonly #holds = new Map<string, NodeJS.Timeout>();
  /** While held: no unit past it is applied. */
  #limit: Position | null = null;
  /** When the current hold began (holds overlapping it keep it: see frozenTooLong). */
  #frozenSince = 0;
  #unfrozen = Promise.withResolvers<void>();
  readonly #moved = new Set<() => void>();
  /** Called when the last hold goes: the units held back may all be applied. */
  readonly #onRelease: () => void;

  constructor(onRelease: () => void) {
    this.#onRelease = onRelease;
  }

  get held(): boolean {
    return this.#limit !== null;
  }

  /**
   * Whether `unit` may be applied now, after the units before it (`after`: the position they reach). A unit
   * of free events (snapshot reads) has no position: it waits while held. One of BEGIN markers only changes
   * nothing.
   */
  admits(unit: Unit, after: Position): boolean {
    if (this.#limit === null) return true;
    if (unit.ends.size === 0) return unit.events.length === 0;
    for (const [source, end] of unit.ends)
      if (end > (this.#limit.get(source) ?? after.get(source) ?? 0n)) return false;
    return true;
  }

  /** Records what an applied unit moves the position to. */
  applied(unit: Unit): void {
    for (const [source, end] of unit.ends) this.position.set(source, end);
    for (const wake of this.#moved) wake();
  }

  /**
   * Holds (or extends hold `id` for `ttlMs`) at the current position, or at `at` (which must not be behind
   * the current position: MESH_CONFLICT); the caller then applies what the new limit admits and waits with
   * reached().
   */
  hold(id: string, at: Position | null, ttlMs: number): void {
    clearTimeout(this.#holds.get(id));
    const timer = setTimeout(() => this.release(id), ttlMs);
    timer.unref();
    this.#holds.set(id, timer);
    if (this.#limit === null) this.#frozenSince = Date.now();
    if (at === null) {
      this.#limit ??= new Map(this.position);
      return;
    }
    for (const [source, offset] of this.position)
      if (offset > (at.get(source) ?? 0n))
        throw new MeshError(
          "MESH_CONFLICT",
          `this member applied source ${source} past ${at.get(source) ?? 0n}`,
          {
            source,
            at: String(at.get(source) ?? 0n),
            position: String(offset),
          },
        );
    const limit: Position = new Map(this.#limit ?? this.position);
    for (const [source, offset] of at) if (offset > (limit.get(source) ?? 0n)) limit.set(source, offset);
    this.#limit = limit;
  }

  release(id: string): void {
    const timer = this.#holds.get(id);
    if (timer === undefined) return;
    clearTimeout(timer);
    this.#holds.delete(id);
    if (this.#holds.size > 0) return;
    this.#limit = null;
    this.#onRelease();
    this.#unfrozen.resolve();
    this.#unfrozen = Promise.withResolvers<void>();
  }

  /**
   * Whether the view has been held longer than `ms` (queries whose holds overlap keep it held): a new query
   * then waits for it to move on first (unfrozen()), so a stream of consistent pages cannot stop it for good.
   */
  frozenTooLong(ms: number): boolean {
    return this.#limit !== null && Date.now() - this.#frozenSince > ms;
  }

  /** Resolves when the last hold goes (what was held back is then applied). */
  unfrozen(): Promise<void> {
    return this.#unfrozen.promise;
  }

  /** Resolves once the position equals `at`; MESH_CONFLICT if it went past, MESH_UNAVAILABLE after `timeoutMs`. */
  async reached(at: Position, timeoutMs: number): Promise<void> {
    const check = (): boolean => {
      for (const [source, offset] of at) {
        const mine = this.position.get(source) ?? 0n;
        if (mine > offset)
          throw new MeshError(
            "MESH_CONFLICT",
            `this member applied source ${source} past ${offset} meanwhile`,
            {
              source,
            },
          );
        if (mine < offset) return false;
      }
      return true;
    };
    if (check()) return;
    await new Promise<void>((resolve, reject) => {
      const done = (err?: Error): void => {
        clearTimeout(timer);
        this.#moved.delete(wake);
        if (err === undefined) resolve();
        else reject(err);
      };
      const wake = (): void => {
        try {
          if (check()) done();
        } catch (err) {
          done(err as Error);
        }
      };
      const timer = setTimeout(
        () =>
          done(
            new MeshError(
              "MESH_UNAVAILABLE",
              `this member did not reach the position of the other members within ${timeoutMs} ms (it is behind); retry`,
            ),
          ),
        timeoutMs,
      );
      this.#moved.add(wake);
    });
  }

  /** Drops every hold (the view stops). */
  clear(): void {
    for (const timer of this.#holds.values()) clearTimeout(timer);
    this.#holds.clear();
    this.#limit = null;
  }
}
