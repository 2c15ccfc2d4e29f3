// Owns the sources pages: the list (state, snapshot progress, lag, tables, owner), one source's detail
// (each table's state and events, the error, where its connector runs), and the form to register one.
import { html } from "htm/preact";
import { useState } from "preact/hooks";
import { post } from "./api.ts";
import { Badge, bytes, count, ErrorBox, Heading, link, Progress, seconds, useJson } from "./ui.ts";

export interface SourceStatus {
  state: string;
  error: { code: string; message: string } | null;
  progress: { phase: string; rowsDone: number; rowsEstimated: number; table: string | null } | null;
  lagBytes: number | null;
  lagSeconds: number | null;
  offset: string | null;
  events: Record<string, number>;
  tables: Record<string, { state: string; error: { code: string; message: string } | null }>;
  holder: { url: string } | null;
}

export interface Source {
  name: string;
  owner: string;
  kind: string;
  url: string;
  tables: string[];
  topics: string[];
  delivery: string;
  status: SourceStatus;
}

const snapshotShare = (s: SourceStatus): number | null =>
  s.progress ? (s.progress.rowsEstimated > 0 ? s.progress.rowsDone / s.progress.rowsEstimated : 0) : null;

function snapshotText(p: NonNullable<SourceStatus["progress"]>): string {
  return ` ${p.phase} snapshot${p.table ? ` of ${p.table}` : ""}: ${count(p.rowsDone)} of ~${count(p.rowsEstimated)} rows`;
}

export function SourcesPage(): ReturnType<typeof html> {
  const { data, error } = useJson<{ sources: Source[] }>("/v1/sources");
  const sources = data?.sources ?? [];
  return html`<section>
    <${Heading} title="Sources"><a class="button" href=${link("/sources/new")}>Register a source</a><//>
    <${ErrorBox} error=${error} />
    <table class="grid" data-testid="sources">
      <thead>
        <tr>
          <th>Name</th>
          <th>Owner</th>
          <th>Kind</th>
          <th>State</th>
          <th>Snapshot</th>
          <th>Lag</th>
          <th>Tables</th>
        </tr>
      </thead>
      <tbody>
        ${sources.map(
          (s) =>
            html`<tr key=${s.name}>
              <td><a href=${link(`/sources/${encodeURIComponent(s.name)}`)}>${s.name}</a></td>
              <td>${s.owner}</td>
              <td>${s.kind}</td>
              <td><${Badge} state=${s.status.state} /></td>
              <td><${Progress} value=${snapshotShare(s.status)} /></td>
              <td>${seconds(s.status.lagSeconds)} · ${bytes(s.status.lagBytes)}</td>
              <td>${s.tables.join(", ")}</td>
            </tr>`,
        )}
        ${
          data && sources.length === 0
            ? html`<tr>
                <td colspan="7" class="muted">No source yet: register one.</td>
              </tr>`
            : null
        }
      </tbody>
    </table>
  </section>`;
}

export function SourcePage({ name }: { name: string }): ReturnType<typeof html> {
  const { data: s, error } = useJson<Source>(`/v1/sources/${encodeURIComponent(name)}`);
  return html`<section>
    <${Heading} title=${`Source ${name}`} />
    <${ErrorBox} error=${error} />
    ${
      s
        ? html`<dl class="facts">
              <dt>Owner</dt>
              <dd>${s.owner}</dd>
              <dt>State</dt>
              <dd><${Badge} state=${s.status.state} /></dd>
              <dt>Kind</dt>
              <dd>${s.kind} · ${s.delivery}</dd>
              <dt>URL</dt>
              <dd><code>${s.url}</code></dd>
              <dt>Lag</dt>
              <dd>${seconds(s.status.lagSeconds)} · ${bytes(s.status.lagBytes)}</dd>
              <dt>Offset</dt>
              <dd><code>${s.status.offset ?? "—"}</code></dd>
              <dt>Snapshot</dt>
              <dd>
                ${
                  s.status.progress
                    ? html`<${Progress} value=${snapshotShare(s.status)} />
                        <span>${snapshotText(s.status.progress)}</span>`
                    : "none running"
                }
              </dd>
              <dt>Runs in</dt>
              <dd>${s.status.holder?.url ?? "—"}</dd>
            </dl>
            <${ErrorBox} error=${s.status.error} />
            <h2>Tables</h2>
            <table class="grid">
              <thead>
                <tr>
                  <th>Table</th>
                  <th>Topic</th>
                  <th>State</th>
                  <th>Events</th>
                </tr>
              </thead>
              <tbody>
                ${s.tables.map((t, i) => {
                  const topic = s.topics[i] ?? `${s.name}.${t}`;
                  return html`<tr key=${t}>
                    <td>${t}</td>
                    <td><a href=${link(`/topics/${encodeURIComponent(topic)}`)}>${topic}</a></td>
                    <td><${Badge} state=${s.status.tables[t]?.state ?? s.status.state} /></td>
                    <td>${count(s.status.events[t] ?? 0)}</td>
                  </tr>`;
                })}
              </tbody>
            </table>`
        : null
    }
  </section>`;
}

export function RegisterSourcePage(): ReturnType<typeof html> {
  const [form, setForm] = useState({
    name: "",
    owner: "",
    kind: "postgres",
    url: "",
    tables: "",
    snapshot: "initial",
    delivery: "at-least-once",
  });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const set = (field: keyof typeof form) => (e: Event) =>
    setForm({ ...form, [field]: (e.target as HTMLInputElement).value });
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const tables = form.tables.split(/[\s,]+/).filter((t) => t !== "");
      await post("/v1/sources", { ...form, tables });
      location.hash = link(`/sources/${encodeURIComponent(form.name)}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<section>
    <${Heading} title="Register a source" />
    <p class="muted">
      The service's database: its tables become topics <code>name.schema.table</code>. The API checks the
      database's settings first and answers each problem with the SQL that fixes it.
    </p>
    <form class="form" onSubmit=${submit} data-testid="register-source">
      <label
        >Name <input name="name" required value=${form.name} onInput=${set("name")} placeholder="shipping"
      /></label>
      <label
        >Owner (service)
        <input name="owner" required value=${form.owner} onInput=${set("owner")} placeholder="shipping"
      /></label>
      <label
        >Kind
        <select name="kind" value=${form.kind} onChange=${set("kind")}>
          <option value="postgres">PostgreSQL</option>
          <option value="mysql">MySQL / MariaDB</option>
        </select></label
      >
      <label
        >URL
        <input
          name="url"
          required
          value=${form.url}
          onInput=${set("url")}
          placeholder="postgres://user:password@host:5432/db"
      /></label>
      <label
        >Tables
        <input
          name="tables"
          required
          value=${form.tables}
          onInput=${set("tables")}
          placeholder="public.shipments, public.carriers"
      /></label>
      <label
        >Snapshot
        <select name="snapshot" value=${form.snapshot} onChange=${set("snapshot")}>
          <option value="initial">initial: read the tables first</option>
          <option value="never">never: from now on</option>
        </select></label
      >
      <label
        >Delivery
        <select name="delivery" value=${form.delivery} onChange=${set("delivery")}>
          <option value="at-least-once">at-least-once</option>
          <option value="exactly-once">exactly-once</option>
        </select></label
      >
      <${ErrorBox} error=${error} />
      <button type="submit" disabled=${busy}>${busy ? "Registering…" : "Register"}</button>
    </form>
  </section>`;
}
