// Drives the runtimes from the catalog: at start every source and view in the catalog is ensured (so a
// restart resumes everything), and every later change — from this process or another — is applied.
// Work for one name is serialized, so a route can wait for "its" change to be applied.
import type { Catalog } from "../catalog/catalog.ts";
import type { CatalogChange } from "../catalog/records.ts";
import type { Logger } from "../../lib/logger.ts";
import type { SourceRuntime, ViewRuntime } from "../runtime.ts";

export class Reconciler {
  readonly #catalog: Catalog;
  readonly #sources: SourceRuntime;
  readonly #views: ViewRuntime;
  readonly #logger: Logger;
  readonly #chains = new Map<string, Promise<void>>();
  readonly #dropSlot = new Set<string>();
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

  /** The next delete of this source also drops its slot (DELETE ?dropSlot=true). */
  dropSlotOnDelete(name: string): void {
    this.#dropSlot.add(name);
  }

  /** Resolves once every change queued so far for this source or view has been applied. */
  settled(type: "source" | "view", name: string): Promise<void> {
    return this.#chains.get(`${type}/${name}`) ?? Promise.resolve();
  }

  #onChange(change: CatalogChange): void {
    const key = `${change.type}/${change.name}`;
    const work = async (): Promise<void> => {
      if (change.type === "source") {
        if (change.after) await this.#sources.ensure(change.after);
        else if (change.before) {
          const dropSlot = this.#dropSlot.delete(change.name);
          await this.#sources.remove(change.before, { dropSlot });
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
