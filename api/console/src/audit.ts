// Owns the audit page (admins): GET /v1/audit's entries, newest first — when, which server, who (principal,
// service), what (method, route, resource, action), the outcome (status, code, why it was denied) and the
// request id — with filters (outcome, service, action, resource) and "Older" paging through the cursor. A
// service token gets the API's 403, shown as it is.
import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import { get } from "./api.ts";
import { ErrorBox, Heading } from "./ui.ts";

interface AuditEntry {
  id: string;
  at: string;
  server: string;
  principal: string | null;
  kind: string;
  service: string | null;
  method: string;
  route: string;
  resource: string | null;
  action: string;
  status: number;
  code: string | null;
  outcome: "success" | "failure" | "denied";
  scope: string | null;
  policy: string | null;
  reason: string | null;
  requestId: string;
}

interface AuditPage {
  entries: AuditEntry[];
  next: string | null;
}

interface Filters {
  outcome: string;
  service: string;
  action: string;
  resource: string;
}

const PAGE = 50;

function query(filters: Filters, cursor: string | null): string {
  const q = new URLSearchParams({ limit: String(PAGE) });
  for (const [k, v] of Object.entries(filters)) if (v.trim() !== "") q.set(k, v.trim());
  if (cursor) q.set("cursor", cursor);
  return `/v1/audit?${q.toString()}`;
}

function who(e: AuditEntry): string {
  if (e.kind === "anonymous") return "no valid token";
  if (e.kind === "service") return `${e.service ?? "?"} (token ${e.principal ?? "?"})`;
  return e.principal ?? e.kind;
}

function why(e: AuditEntry): string {
  return [e.code, e.scope && `scope ${e.scope}`, e.policy && `policy ${e.policy}`, e.reason]
    .filter(Boolean)
    .join(" · ");
}

export function AuditPage(): ReturnType<typeof html> {
  const [draft, setDraft] = useState<Filters>({ outcome: "", service: "", action: "", resource: "" });
  const [filters, setFilters] = useState<Filters>(draft);
  const [entries, setEntries] = useState<AuditEntry[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(false);

  const load = (cursor: string | null): void => {
    setLoading(true);
    get<AuditPage>(query(filters, cursor)).then(
      (page) => {
        setEntries((before) => (cursor ? [...before, ...page.entries] : page.entries));
        setNext(page.next);
        setError(null);
        setLoading(false);
      },
      (e: unknown) => {
        setError(e);
        setLoading(false);
      },
    );
  };
  useEffect(() => load(null), [filters]);

  const field = (name: keyof Filters, label: string) =>
    html`<label
      >${label}
      <input
        name=${name}
        value=${draft[name]}
        onInput=${(e: Event) => setDraft({ ...draft, [name]: (e.target as HTMLInputElement).value })}
    /></label>`;

  return html`<section>
    <${Heading} title="Audit"><button class="link" onClick=${() => load(null)}>Refresh</button><//>
    <p class="muted">
      Every change to sources, views, event types, tokens and policies, and every refused request, on every
      server.
    </p>
    <form
      class="filters"
      data-testid="audit-filters"
      onSubmit=${(e: Event) => {
        e.preventDefault();
        setFilters(draft);
      }}
    >
      <label
        >Outcome
        <select
          name="outcome"
          value=${draft.outcome}
          onChange=${(e: Event) => setDraft({ ...draft, outcome: (e.target as HTMLSelectElement).value })}
        >
          <option value="">any</option>
          <option value="success">success</option>
          <option value="failure">failure</option>
          <option value="denied">denied</option>
        </select></label
      >
      ${field("service", "Service")} ${field("action", "Action")} ${field("resource", "Resource")}
      <button type="submit">Filter</button>
    </form>
    <${ErrorBox} error=${error} />
    <table class="grid" data-testid="audit">
      <thead>
        <tr>
          <th>When</th>
          <th>Server</th>
          <th>Who</th>
          <th>Action</th>
          <th>Resource</th>
          <th>Request</th>
          <th>Outcome</th>
          <th>Why</th>
          <th>Request id</th>
        </tr>
      </thead>
      <tbody>
        ${entries.map(
          (e) =>
            html`<tr key=${e.id} data-outcome=${e.outcome} data-action=${e.action}>
              <td>${new Date(e.at).toLocaleString()}</td>
              <td>${e.server}</td>
              <td>${who(e)}</td>
              <td>${e.action}</td>
              <td>${e.resource ?? "—"}</td>
              <td><code>${e.method} ${e.route}</code></td>
              <td>
                <span class=${`badge ${e.outcome === "success" ? "good" : "bad"}`}
                  >${e.outcome} ${e.status}</span
                >
              </td>
              <td>${why(e) || "—"}</td>
              <td><code>${e.requestId}</code></td>
            </tr>`,
        )}
        ${
          !loading && !error && entries.length === 0
            ? html`<tr>
                <td colspan="9" class="muted">No entry matches.</td>
              </tr>`
            : null
        }
      </tbody>
    </table>
    ${next ? html`<button onClick=${() => load(next)} disabled=${loading}>Older</button>` : null}
  </section>`;
}
