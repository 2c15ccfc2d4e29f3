// The ViewRuntime of a process that runs no materializer: views can be listed from the catalog but not
// created or read here, and every such call says so.
import { MeshError } from "../../lib/errors.ts";
import type { JsonRowPage, Row, ViewChange, ViewSummary } from "../../materializer/contract.ts";
import { viewNameOf } from "../../materializer/engine-views.ts";
import type { ViewRuntime } from "../runtime.ts";

const unavailable = (): MeshError =>
  new MeshError(
    "MESH_NOT_READY",
    "no materializer runs in this API process; start it with `mesh up` or give the API a view engine",
    {
      dependency: "materializer",
    },
  );

export class NoViews implements ViewRuntime {
  parse(sql: string): { name: string } {
    return { name: viewNameOf(sql) };
  }
  ensure(): Promise<void> {
    return Promise.reject(unavailable());
  }
  drop(): Promise<void> {
    return Promise.resolve();
  }
  info(): ViewSummary | undefined {
    return undefined;
  }
  getRow(): Promise<Row | undefined> {
    return Promise.reject(unavailable());
  }
  queryRows(): Promise<JsonRowPage> {
    return Promise.reject(unavailable());
  }
  // eslint-disable-next-line require-yield
  async *changes(): AsyncIterable<ViewChange> {
    await Promise.resolve();
    throw unavailable();
  }
}
