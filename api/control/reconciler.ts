// Drives the runtimes from the catalog: at start every source and view in the catalog is ensured (so a
// restart resumes everything), and every later change — from this process or another — is applied.
// Work for one name is serialized, so a route can wait for "its" change to be applied.
import type { Catalog } from "../catalog/catalog.ts";
import type { CatalogChange } from "../../protocol/catalog.ts";
import type { Logger } from "../../lib/logger.ts";
import type { SourceRuntime, ViewRuntime } from "../runtime.ts";

export class Reconciler {
  readonly #catalog: Catalog;
  readonly #sources: SourceRuntime;
  readonly #views: ViewRuntime;
  readonly #logger: Logger;
  readonly #chains = new Map<string, Promise<void>>();
  /** Sources whose next delete also drops the slot, and who waits for the outcome (null: dropped). */
  readonly #dropSlot = new Map<string, (failure: Error | null) => void>();
  #unsubscribe: (() => void) | null = null;

  constructor(options: { catalog: Catalog; sources: SourceRuntime; views: ViewRuntime; logger: Logger }) {
    this.#catalog = options.catalog;
    this.#sources = options.sources;
    this.#views = options.views;
    this.#logger = options.logger;
  }

  start(): void {
    this.#unsubscribe = this.#catalog.onChange((change) => this.#onChange(change));
    for (const source of this.#catalog.sources()) {
      this.#onChange({ type: "source", name: source.name, before: null, after: source });
    }
    for (const view of this.#catalog.views())
      this.#onChange({ type: "view", name: view.name, before: null, after: view });
  }

  async stop(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    await Promise.all(this.#chains.values());
  }

  /**
   * The next delete of this source also drops its slot (DELETE ?dropSlot=true). Resolves once that delete is
   * applied: null when the slot is gone, else the error (the catalog change stands either way, so the route
   * must report it rather than answer "dropped").
   */
  dropSlotOnDelete(name: string): Promise<Error | null> {
    this.#dropSlot.get(name)?.(null);
    return new Promise((resolve) => this.#dropSlot.set(name, resolve));
  }

  /** The delete that dropSlotOnDelete() announced will not happen (writing it to the catalog failed). */
  cancelDropSlot(name: string): void {
    this.#dropSlot.get(name)?.(null);
    this.#dropSlot.delete(name);
  }

  /** Resolves once every change queued so far for this source or view has been applied. */
  settled(type: "source" | "view", name: string): Promise<void> {
    return this.#chains.get(`${type}/${name}`) ?? Promise.resolve();
  }

  #onChange(change: CatalogChange): void {
    // Only sources and views run something. Event declarations need nothing running (connectors read the
    // schemas from the registry); policies and tokens are read where access is decided (api/governance,
    // lib/http/auth.ts), and Kafka ACLs have their own reconciliation.
    if (change.type !== "source" && change.type !== "view") return;
    const key = `${change.type}/${change.name}`;
    const work = async (): Promise<void> => {
      if (change.type === "source") {
        if (change.after) await this.#sources.ensure(change.after);
        else if (change.before) {
          const dropped = this.#dropSlot.get(change.name);
          this.#dropSlot.delete(change.name);
          try {
            await this.#sources.remove(change.before, { dropSlot: dropped !== undefined });
            dropped?.(null);
          } catch (err) {
            dropped?.(err instanceof Error ? err : new Error(String(err)));
            throw err;
          }
        }
      } else if (change.after) {
        await this.#views.ensure(change.after);
      } else {
        await this.#views.drop(change.name);
      }
    };
    const previous = this.#chains.get(key) ?? Promise.resolve();
    const next = previous.then(work).catch((err: unknown) => {
      // The runtime reports the failure in its status; the catalog stays as written.
      this.#logger.error({ err, [change.type]: change.name }, `applying the catalog change to ${key} failed`);
    });
    this.#chains.set(key, next);
    void next.then(() => {
      if (this.#chains.get(key) === next) this.#chains.delete(key);
    });
  }
}
