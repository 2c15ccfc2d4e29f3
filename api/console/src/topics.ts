// Owns the topics pages: the list (owner, source, partitions, latest schema version) and one topic's page:
// its schema versions with a diff between any two, and a live tail of its events decoded (the SSE route).
import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import { follow } from "./api.ts";
import { diffLines } from "./diff.ts";
import { ErrorBox, Heading, json, link, useJson } from "./ui.ts";

interface Topic {
  topic: string;
  owner: string;
  source: string;
  table: string;
  partitions: number;
  latestVersion: number | null;
}

interface SchemaVersions {
  versions: { version: number; id: number; schema: unknown }[];
}

interface TopicChange {
  partition: number;
  offset: string;
  timestamp: string;
  key: unknown;
  value: { op?: string; after?: unknown; before?: unknown } | null;
}

export function TopicsPage(): ReturnType<typeof html> {
  const { data, error } = useJson<{ topics: Topic[] }>("/v1/topics", 5000);
  return html`<section>
    <${Heading} title="Topics" />
    <${ErrorBox} error=${error} />
    <table class="grid" data-testid="topics">
      <thead>
        <tr>
          <th>Topic</th>
          <th>Owner</th>
          <th>Source</th>
          <th>Partitions</th>
          <th>Schema version</th>
        </tr>
      </thead>
      <tbody>
        ${(data?.topics ?? []).map(
          (t) =>
            html`<tr key=${t.topic}>
              <td><a href=${link(`/topics/${encodeURIComponent(t.topic)}`)}>${t.topic}</a></td>
              <td>${t.owner}</td>
              <td>${t.source}</td>
              <td>${t.partitions}</td>
              <td>${t.latestVersion ?? "—"}</td>
            </tr>`,
        )}
      </tbody>
    </table>
  </section>`;
}

function SchemaDiff({ topic }: { topic: string }): ReturnType<typeof html> {
  const { data, error } = useJson<SchemaVersions>(`/v1/topics/${encodeURIComponent(topic)}/schemas`, 0);
  const versions = data?.versions ?? [];
  const [from, setFrom] = useState<number | null>(null);
  const [to, setTo] = useState<number | null>(null);
  const left = versions.find((v) => v.version === from) ?? versions.at(-2) ?? versions.at(-1);
  const right = versions.find((v) => v.version === to) ?? versions.at(-1);
  const pick = (set: (v: number) => void) => (e: Event) => set(Number((e.target as HTMLSelectElement).value));
  const options = (chosen: number | undefined): ReturnType<typeof html>[] =>
    versions.map(
      (v) =>
        html`<option value=${v.version} selected=${v.version === chosen}>
          version ${v.version} (id ${v.id})
        </option>`,
    );
  return html`<div>
    <h2>Schema versions</h2>
    <${ErrorBox} error=${error} />
    ${
      versions.length === 0
        ? html`<p class="muted">No schema registered yet (the first event registers it).</p>`
        : html`<div class="row">
              <label
                >From
                <select onChange=${pick(setFrom)}>
                  ${options(left?.version)}
                </select></label
              >
              <label
                >To
                <select onChange=${pick(setTo)}>
                  ${options(right?.version)}
                </select></label
              >
            </div>
            <pre class="diff" data-testid="schema-diff">
${diffLines(json(left?.schema), json(right?.schema)).map(
                (l) =>
                  html`<div class=${l.op === "+" ? "add" : l.op === "-" ? "del" : ""}>
                    ${l.op} ${l.text}
                  </div>`,
              )}</pre>`
    }
  </div>`;
}

export function LiveTail({
  path,
  render,
  readyComment,
}: {
  path: string;
  render: (data: unknown) => ReturnType<typeof html>;
  /** The comment that says the stream is positioned (a topic's `subscribed`); else live once answered. */
  readyComment?: string;
}): ReturnType<typeof html> {
  const [events, setEvents] = useState<{ id: string; data: unknown }[]>([]);
  const [state, setState] = useState("connecting");
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    const abort = new AbortController();
    setEvents([]);
    follow(
      path,
      abort.signal,
      (e) => {
        if (e.event === "error") setError(e.data);
        else if (e.event === "change")
          setEvents((old) => [{ id: e.id ?? "", data: e.data }, ...old].slice(0, 50));
      },
      () => setState("live"),
      readyComment,
    ).then(
      () => setState("ended"),
      (err: unknown) => {
        if (!abort.signal.aborted) {
          setError(err);
          setState("failed");
        }
      },
    );
    return () => abort.abort();
  }, [path]);
  return html`<div class="tail" data-testid="live-tail" data-state=${state}>
    <p class="muted">${state === "live" ? "Live: new changes appear at the top." : state}</p>
    <${ErrorBox} error=${error} />
    <ol class="events">
      ${events.map((e) => html`<li key=${e.id}>${render(e.data)}</li>`)}
    </ol>
  </div>`;
}

const opName: Record<string, string> = { r: "read", c: "insert", u: "update", d: "delete", t: "truncate" };

export function TopicPage({ topic }: { topic: string }): ReturnType<typeof html> {
  return html`<section>
    <${Heading} title=${`Topic ${topic}`} />
    <${SchemaDiff} topic=${topic} />
    <h2>Live tail</h2>
    <${LiveTail}
      path=${`/v1/topics/${encodeURIComponent(topic)}/events?from=latest`}
      readyComment="subscribed"
      render=${(d: unknown) => {
        const c = d as TopicChange;
        const op = c.value?.op ?? "tombstone";
        return html`<span class="op">${opName[op] ?? op}</span> <code>${c.partition}:${c.offset}</code> key
          <code>${JSON.stringify(c.key)}</code>
          <code class="after">${JSON.stringify(c.value?.after ?? c.value?.before ?? null)}</code>`;
      }}
    />
  </section>`;
}
