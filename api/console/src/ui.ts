// Owns the console's small shared pieces: a state badge, a progress bar, an error box, a page heading, a
// hook that loads JSON and reloads it every few seconds, and formatting of lags and numbers.
import { html } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError, get } from "./api.ts";

type Child = ReturnType<typeof html>;

const GOOD = new Set(["streaming", "ready", "Stable", "running"]);
const BAD = new Set(["failed", "Dead", "stopped"]);

export function Badge({ state }: { state: string | null | undefined }): Child {
  const s = state ?? "unknown";
  const tone = GOOD.has(s) ? "good" : BAD.has(s) ? "bad" : "busy";
  return html`<span class=${`badge ${tone}`} data-state=${s}>${s}</span>`;
}

export function Progress({ value }: { value: number | null }): Child {
  if (value === null) return html`<span class="muted">—</span>`;
  const pct = Math.max(0, Math.min(100, Math.round(value * 100)));
  return html`<span class="progress" title=${`${pct}%`}><span style=${`width:${pct}%`}></span></span>
    <span class="muted">${pct}%</span>`;
}

export function ErrorBox({ error }: { error: unknown }): Child | null {
  if (!error) return null;
  const e = error as Partial<ApiError> & { message?: string };
  // A 403 says plainly that this token may not, and why (the scope or policy it lacks).
  const forbidden = e.status === 403 ? "This token is not allowed to do this. " : "";
  return html`<div class="error" role="alert" data-status=${e.status ?? ""}>
    ${e.code ? html`<strong>${e.code}</strong> ` : null}${forbidden}${e.message ?? JSON.stringify(error)}
  </div>`;
}

export function Heading({ title, children }: { title: string; children?: unknown }): Child {
  return html`<div class="heading">
    <h1>${title}</h1>
    <div class="actions">${children}</div>
  </div>`;
}

export interface Loaded<T> {
  data: T | null;
  error: unknown;
  reload: () => void;
}

/** GETs `path` now and every `everyMs` (0: once); a failure keeps the last data and shows the error. */
export function useJson<T>(path: string | null, everyMs = 3000): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (path === null) return undefined;
    let live = true;
    const load = (): void => {
      get<T>(path).then(
        (d) => {
          if (!live) return;
          setData(d);
          setError(null);
        },
        (e: unknown) => live && setError(e),
      );
    };
    load();
    const timer = everyMs > 0 ? setInterval(load, everyMs) : undefined;
    return () => {
      live = false;
      if (timer) clearInterval(timer);
    };
  }, [path, everyMs, tick]);
  return { data, error, reload: () => setTick((t) => t + 1) };
}

export function seconds(s: number | null | undefined): string {
  if (s === null || s === undefined) return "—";
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 120) return `${s.toFixed(1)} s`;
  return `${Math.round(s / 60)} min`;
}

export function bytes(b: number | null | undefined): string {
  if (b === null || b === undefined) return "—";
  if (b < 1024) return `${b} B`;
  if (b < 1024 * 1024) return `${(b / 1024).toFixed(1)} KiB`;
  return `${(b / 1024 / 1024).toFixed(1)} MiB`;
}

export function count(n: number | null | undefined): string {
  return n === null || n === undefined ? "—" : n.toLocaleString("en");
}

export const link = (path: string): string => `#${path}`;

export const json = (value: unknown): string => JSON.stringify(value, null, 2);
