// A view's change stream read from `mesh materialize --listen` members (materializer/serve.ts) by an API
// started with --materializer. An unsplit view streams from one member as is. A split view's members each
// stream their own partitions' changes with their own sequence numbers: the streams are merged in arrival
// order and every event's id holds every member's position (`<member url>=<seq>,...`), so Last-Event-ID
// resumes each member where it was (docs/api.md).
import { MeshError } from "../../lib/errors.ts";
import type { HttpClient } from "../../lib/http/client.ts";
import { meshErrorOf } from "../../lib/http/errors.ts";
import type { SseMessage } from "../../lib/http/sse.ts";
import type { ViewChange } from "../../materializer/contract.ts";

export type { SseMessage };

/** Opens one member's stream; resolves once it answered 200 (its error answer otherwise). */
export async function openMemberStream(
  client: HttpClient,
  url: string,
  view: string,
  from: string,
  signal: AbortSignal,
): Promise<AsyncIterator<SseMessage>> {
  let opened: Awaited<ReturnType<HttpClient["stream"]>>;
  try {
    opened = await client.stream(
      `${url}/v1/views/${encodeURIComponent(view)}/changes?from=${encodeURIComponent(from)}`,
      { signal },
    );
  } catch (err) {
    throw new MeshError(
      "MESH_UNAVAILABLE",
      `view ${view}: the materializer at ${url} did not answer: ${(err as Error).message}`,
      { view, member: url },
    );
  }
  if (opened.answer.status !== 200) throw meshErrorOf(opened.answer.body ?? {}, opened.answer.status);
  if (!opened.events)
    throw new MeshError("MESH_UNAVAILABLE", `view ${view}: ${url} sent no stream`, { view });
  return opened.events[Symbol.asyncIterator]();
}

/** An `event: error` from a member ends the stream with that error. */
function toChange(m: SseMessage, view: string, member: string): ViewChange | "start" {
  if (m.event === "start") return "start";
  if (m.event === "error") throw meshErrorOf(JSON.parse(m.data), 500);
  if (m.event !== "change" && m.event !== "notice")
    throw new MeshError("MESH_INTERNAL", `view ${view}: ${member} sent an unknown event "${m.event}"`, {
      view,
    });
  const event = m.event === "notice" ? "notice" : "change";
  return { id: m.id ?? "", event, data: JSON.parse(m.data) as unknown };
}

/** One member's stream, passed through (its `event: start` dropped). */
export async function* singleMember(
  it: AsyncIterator<SseMessage>,
  view: string,
  member: string,
): AsyncIterable<ViewChange> {
  for (;;) {
    const next = await it.next();
    if (next.done) throw memberEnded(view, member);
    const c = toChange(next.value, view, member);
    if (c !== "start") yield c;
  }
}

/**
 * Where each member of a split view starts: a composite Last-Event-ID gives each listed member its
 * position (a member not listed, e.g. one that joined since, starts at `earliest`: nothing it recorded is
 * missed); `earliest`, `latest` and a time apply to every member. A plain change id names no member.
 */
export function memberStarts(view: string, from: string, urls: string[]): Map<string, string> {
  if (/^\d+$/.test(from))
    throw new MeshError(
      "MESH_BAD_QUERY",
      `view ${view} is split over several materializers, each numbering its own changes: start at earliest, ` +
        `latest or a time, or resume with the composite id of its last event (e.g. "${urls[0] ?? "http://m1"}=120,...")`,
      { view, param: "from" },
    );
  const listed = new Map<string, string>();
  if (from.includes("=")) {
    for (const part of from.split(",")) {
      const at = part.lastIndexOf("=");
      listed.set(part.slice(0, at), part.slice(at + 1));
    }
  }
  return new Map(urls.map((u) => [u, listed.size > 0 ? (listed.get(u) ?? "earliest") : from]));
}

/** Merges the members' streams; every event's id is every member's position. */
export async function* mergeMembers(
  streams: { url: string; it: AsyncIterator<SseMessage> }[],
  view: string,
  signal: AbortSignal,
): AsyncIterable<ViewChange> {
  const positions = new Map<string, string>(streams.map((s) => [s.url, "0"]));
  const id = (): string => [...positions].map(([u, seq]) => `${u}=${seq}`).join(",");
  // A failed read is caught into the result: a read still pending when the merge ends must not reject unseen.
  const pull = (i: number): Promise<{ i: number; r?: IteratorResult<SseMessage>; err?: unknown }> =>
    streams[i]!.it.next().then(
      (r) => ({ i, r }),
      (err: unknown) => ({ i, err }),
    );
  const pending = streams.map((_s, i) => pull(i));
  while (!signal.aborted) {
    const { i, r, err } = await Promise.race(pending);
    const url = streams[i]!.url;
    if (signal.aborted) return;
    if (!r) throw err;
    if (r.done) throw memberEnded(view, url);
    pending[i] = pull(i);
    const c = toChange(r.value, view, url);
    if (r.value.id !== undefined && /^\d+$/.test(r.value.id)) positions.set(url, r.value.id);
    if (c === "start") continue;
    yield { id: id(), event: c.event ?? "change", data: withMember(c.data, url) };
  }
}

function withMember(data: unknown, member: string): unknown {
  return data !== null && typeof data === "object" ? { ...data, member } : data;
}

function memberEnded(view: string, member: string): MeshError {
  return new MeshError(
    "MESH_UNAVAILABLE",
    `view ${view}: the materializer at ${member} ended its change stream; reconnect with Last-Event-ID`,
    { view, member },
  );
}
