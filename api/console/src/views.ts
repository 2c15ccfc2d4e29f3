// Owns the views pages: the list (state, rows, lag, parked), one view's page — its SQL and status, a row
// browser with filters and paging (the `next` cursor, a stack of them to go back), its change stream — and
// the form to declare a view, whose SQL is checked as you type by the server's compiler
// (POST /v1/views/check), the error shown under the line and column it names.
import { html } from "htm/preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { get, post } from "./api.ts";
import { LiveTail } from "./topics.ts";
import { Badge, count, ErrorBox, Heading, link, Progress, useJson } from "./ui.ts";

interface View {
  name: string;
  sql: string;
  key: string[];
  columns: string[];
  status: {
    state: string;
    error: string | null;
    progress: number | null;
    rows: number;
    lagMs: number | null;
    parkedCount: number;
  };
}

type Row = Record<string, unknown>;

export function ViewsPage(): ReturnType<typeof html> {
  const { data, error } = useJson<{ views: View[] }>("/v1/views");
  return html`<section>
    <${Heading} title="Views"><a class="button" href=${link("/views/new")}>Declare a view</a><//>
    <${ErrorBox} error=${error} />
    <table class="grid" data-testid="views">
      <thead>
        <tr>
          <th>View</th>
          <th>State</th>
          <th>Backfill</th>
          <th>Rows</th>
          <th>Lag</th>
          <th>Parked</th>
        </tr>
      </thead>
      <tbody>
        ${(data?.views ?? []).map(
          (v) =>
            html`<tr key=${v.name}>
              <td><a href=${link(`/views/${encodeURIComponent(v.name)}`)}>${v.name}</a></td>
              <td><${Badge} state=${v.status.state} /></td>
              <td><${Progress} value=${v.status.progress} /></td>
              <td>${count(v.status.rows)}</td>
              <td>${v.status.lagMs === null ? "—" : `${v.status.lagMs} ms`}</td>
              <td>${v.status.parkedCount}</td>
            </tr>`,
        )}
      </tbody>
    </table>
  </section>`;
}

interface Filter {
  column: string;
  op: string;
  value: string;
}

function RowBrowser({ view }: { view: View }): ReturnType<typeof html> {
  const [filters, setFilters] = useState<Filter[]>([]);
  const [draft, setDraft] = useState<Filter>({ column: view.columns[0] ?? "", op: "eq", value: "" });
  const [limit, setLimit] = useState(10);
  const [cursors, setCursors] = useState<string[]>([]);
  const [page, setPage] = useState<{ rows: Row[]; next: string | null } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const cursor = cursors.at(-1);
  useEffect(() => {
    const q = new URLSearchParams();
    for (const f of filters) q.append(f.op === "eq" ? f.column : `${f.column}[${f.op}]`, f.value);
    q.set("limit", String(limit));
    if (cursor) q.set("cursor", cursor);
    get<{ rows: Row[]; next: string | null }>(`/v1/views/${encodeURIComponent(view.name)}/rows?${q}`).then(
      (p) => {
        setPage(p);
        setError(null);
      },
      setError,
    );
    // Again when the view becomes ready or its row count changes: the page shows what the view holds now.
  }, [view.name, view.status.state, view.status.rows, filters, limit, cursor]);
  const add = (e: Event): void => {
    e.preventDefault();
    setFilters([...filters, draft]);
    setCursors([]);
  };
  const field = (k: keyof Filter) => (e: Event) =>
    setDraft({ ...draft, [k]: (e.target as HTMLInputElement).value });
  return html`<div data-testid="row-browser">
    <form class="row" onSubmit=${add}>
      <select aria-label="column" onChange=${field("column")}>
        ${view.columns.map((c) => html`<option value=${c} selected=${c === draft.column}>${c}</option>`)}
      </select>
      <select aria-label="operator" onChange=${field("op")}>
        ${["eq", "gt", "gte", "lt", "lte"].map((o) => html`<option value=${o} selected=${o === draft.op}>${o}</option>`)}
      </select>
      <input aria-label="value" value=${draft.value} onInput=${field("value")} placeholder="value" />
      <button type="submit">Add filter</button>
      <label
        >Rows per page
        <select
          aria-label="page size"
          onChange=${(e: Event) => {
            setLimit(Number((e.target as HTMLSelectElement).value));
            setCursors([]);
          }}
        >
          ${[10, 25, 100].map((n) => html`<option value=${n} selected=${n === limit}>${n}</option>`)}
        </select></label
      >
    </form>
    <div class="chips">
      ${filters.map(
        (f, i) =>
          html`<span class="chip"
            >${f.column} ${f.op} ${f.value}
            <button
              aria-label="remove filter"
              onClick=${() => {
                setFilters(filters.filter((_, j) => j !== i));
                setCursors([]);
              }}
            >
              ×
            </button></span
          >`,
      )}
    </div>
    <${ErrorBox} error=${error} />
    <table class="grid rows">
      <thead>
        <tr>
          ${view.columns.map((c) => html`<th>${c}${view.key.includes(c) ? html` <span class="muted">(key)</span>` : null}</th>`)}
        </tr>
      </thead>
      <tbody>
        ${(page?.rows ?? []).map(
          (r) =>
            html`<tr>
              ${view.columns.map((c) => html`<td>${r[c] === null || r[c] === undefined ? html`<span class="muted">null</span>` : cell(r[c])}</td>`)}
            </tr>`,
        )}
      </tbody>
    </table>
    <div class="row pager">
      <button disabled=${cursors.length === 0} onClick=${() => setCursors(cursors.slice(0, -1))}>
        Previous
      </button>
      <span class="muted" data-testid="page-number">page ${cursors.length + 1}</span>
      <button disabled=${!page?.next} onClick=${() => page?.next && setCursors([...cursors, page.next])}>
        Next
      </button>
    </div>
  </div>`;
}

const changeOp: Record<string, string> = { insert: "insert", update: "update", delete: "delete" };

export function ViewPage({ name }: { name: string }): ReturnType<typeof html> {
  const { data: view, error } = useJson<View>(`/v1/views/${encodeURIComponent(name)}`);
  return html`<section>
    <${Heading} title=${`View ${name}`} />
    <${ErrorBox} error=${error} />
    ${
      view
        ? html`<dl class="facts">
              <dt>State</dt>
              <dd><${Badge} state=${view.status.state} /> <${Progress} value=${view.status.progress} /></dd>
              <dt>Rows</dt>
              <dd>${count(view.status.rows)}</dd>
              <dt>Lag</dt>
              <dd>${view.status.lagMs ?? "—"} ms</dd>
              <dt>Parked</dt>
              <dd>${view.status.parkedCount}</dd>
              <dt>Key</dt>
              <dd>${view.key.join(", ")}</dd>
            </dl>
            ${view.status.error ? html`<div class="error">${view.status.error}</div>` : null}
            <pre class="sql">${view.sql}</pre>
            <h2>Rows</h2>
            ${
              view.status.state === "ready"
                ? html`<${RowBrowser} view=${view} />`
                : html`<p class="muted">Rows are shown once the view is ready (${view.status.state}).</p>`
            }
            <h2>Changes</h2>
            <${LiveTail}
              path=${`/v1/views/${encodeURIComponent(name)}/changes?from=latest`}
              render=${(d: unknown) => {
                const c = d as { op: string; key: unknown; after: unknown; before: unknown };
                return html`<span class="op">${changeOp[c.op] ?? c.op}</span> key
                  <code>${JSON.stringify(c.key)}</code>
                  <code class="after">${JSON.stringify(c.after ?? c.before)}</code>`;
              }}
            />`
        : null
    }
  </section>`;
}

interface Check {
  ok: boolean;
  name?: string;
  tables?: string[];
  waitingFor?: string[];
  error?: { code: string; message: string; line: number | null; column: number | null };
}

function CheckResult({ sql, check }: { sql: string; check: Check | null }): ReturnType<typeof html> | null {
  if (!check) return null;
  if (check.ok) {
    return html`<p class="ok" data-testid="sql-check">
      ✓
      compiles${check.tables?.length ? `: reads ${check.tables.join(", ")}` : ""}${
        check.waitingFor?.length ? ` (will wait for ${check.waitingFor.join(", ")})` : ""
      }
    </p>`;
  }
  const e = check.error!;
  const line = e.line !== null ? sql.split("\n")[e.line - 1] : undefined;
  return html`<div class="error" data-testid="sql-check" role="alert">
    <strong>${e.code}</strong>${e.line !== null ? ` at line ${e.line}, column ${e.column}` : ""}: ${e.message}
    ${
      line !== undefined && e.column !== null
        ? html`<pre class="caret">
${line}
${" ".repeat(Math.max(0, e.column - 1))}^</pre>`
        : null
    }
  </div>`;
}

export function DeclareViewPage(): ReturnType<typeof html> {
  const [sql, setSql] = useState("CREATE VIEW my_view AS SELECT ");
  const [check, setCheck] = useState<Check | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const seq = useRef(0);
  useEffect(() => {
    const mine = ++seq.current;
    const timer = setTimeout(() => {
      post<Check>("/v1/views/check", { sql }).then(
        (c) => mine === seq.current && setCheck(c),
        (err: unknown) => mine === seq.current && setError(err),
      );
    }, 250);
    return () => clearTimeout(timer);
  }, [sql]);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const view = await post<{ name: string }>("/v1/views", { sql });
      location.hash = link(`/views/${encodeURIComponent(view.name)}`);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return html`<section>
    <${Heading} title="Declare a view" />
    <p class="muted">
      A SQL join over the topics (<code>source.schema.table</code>), kept up to date as they change.
    </p>
    <form class="form" onSubmit=${submit} data-testid="declare-view">
      <textarea
        name="sql"
        rows="8"
        spellcheck="false"
        value=${sql}
        onInput=${(e: Event) => setSql((e.target as HTMLTextAreaElement).value)}
      ></textarea>
      <${CheckResult} sql=${sql} check=${check} />
      <${ErrorBox} error=${error} />
      <button type="submit" disabled=${busy || check?.ok === false}>
        ${busy ? "Declaring…" : "Declare"}
      </button>
    </form>
  </section>`;
}

const cell = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v));
