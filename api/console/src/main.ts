// The console's entry: sign-in (a token kept for the tab's session and sent as `Authorization: Bearer`; the
// API checks it once the governance issue, 14, lands tokens — until then any token, or none, works), the
// navigation, and the hash routes of the pages. Bundled by build.ts into built/app.js.
import { html, render } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import { saveSession, savedSession, type Session } from "./api.ts";
import { LineagePage } from "./lineage.ts";
import { RegisterSourcePage, SourcePage, SourcesPage } from "./sources.ts";
import { TopicPage, TopicsPage } from "./topics.ts";
import { DeclareViewPage, ViewPage, ViewsPage } from "./views.ts";

/** The audit page is for admins and needs governance (issue 14): routed, not in the navigation yet. */
const AUDIT_READY = false;

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = (): void => setHash(location.hash);
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return hash.replace(/^#/, "") || "/sources";
}

function SignIn({ onSignIn }: { onSignIn: (s: Session) => void }): ReturnType<typeof html> {
  const [token, setToken] = useState("");
  return html`<main class="signin">
    <form
      class="form"
      data-testid="sign-in"
      onSubmit=${(e: Event) => {
        e.preventDefault();
        onSignIn({ token: token.trim() });
      }}
    >
      <h1>datamesh</h1>
      <p class="muted">
        Sign in with your service's API token. Tokens are required once governance is enabled; until then you
        may continue without one.
      </p>
      <label
        >Token
        <input
          name="token"
          type="password"
          autocomplete="off"
          value=${token}
          onInput=${(e: Event) => setToken((e.target as HTMLInputElement).value)}
      /></label>
      <button type="submit">Sign in</button>
    </form>
  </main>`;
}

function AuditPage(): ReturnType<typeof html> {
  return html`<section>
    <h1>Audit</h1>
    <p class="muted">Who changed what (sources, views, tokens) arrives with governance (issue 14).</p>
  </section>`;
}

function Page({ path }: { path: string }): ReturnType<typeof html> {
  const [, section, rest] = /^\/([^/]*)\/?(.*)$/.exec(path) ?? [];
  const name = rest ? decodeURIComponent(rest) : "";
  switch (section) {
    case "sources":
      return name === "new"
        ? html`<${RegisterSourcePage} />`
        : name
          ? html`<${SourcePage} name=${name} />`
          : html`<${SourcesPage} />`;
    case "topics":
      return name ? html`<${TopicPage} topic=${name} />` : html`<${TopicsPage} />`;
    case "views":
      return name === "new"
        ? html`<${DeclareViewPage} />`
        : name
          ? html`<${ViewPage} name=${name} />`
          : html`<${ViewsPage} />`;
    case "lineage":
      return html`<${LineagePage} />`;
    case "audit":
      return html`<${AuditPage} />`;
    default:
      return html`<section>
        <h1>Not found</h1>
        <p>No page ${path}.</p>
      </section>`;
  }
}

function App(): ReturnType<typeof html> {
  const [session, setSession] = useState<Session | null>(savedSession());
  const path = useHash();
  if (!session) {
    return html`<${SignIn}
      onSignIn=${(s: Session) => {
        saveSession(s);
        setSession(s);
      }}
    />`;
  }
  const section = path.split("/")[1] ?? "";
  const nav = [
    ["sources", "Sources"],
    ["topics", "Topics"],
    ["views", "Views"],
    ["lineage", "Lineage"],
    ...(AUDIT_READY ? [["audit", "Audit"]] : []),
  ];
  return html`<div class="app">
    <header>
      <a class="brand" href="#/sources">datamesh</a>
      <nav>
        ${nav.map(([id, title]) => html`<a href=${`#/${id}`} class=${section === id ? "active" : ""}>${title}</a>`)}
      </nav>
      <span class="who">${session.token ? "signed in with a token" : "signed in without a token"}</span>
      <button
        class="link"
        onClick=${() => {
          saveSession(null);
          setSession(null);
        }}
      >
        Sign out
      </button>
    </header>
    <main><${Page} path=${path} /></main>
  </div>`;
}

render(html`<${App} />`, document.getElementById("app")!);
