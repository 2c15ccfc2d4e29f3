// The console's entry: sign-in (a token checked against the API, then kept for the tab's session and sent
// as `Authorization: Bearer`), sign-out, and back to the sign-in page with the API's reason when a call
// answers 401 (the token unknown, expired or revoked); the navigation; the hash routes of the pages. Bundled
// by build.ts into built/app.js.
import { html, render } from "htm/preact";
import { useEffect, useState } from "preact/hooks";
import { ApiError, saveSession, savedSession, UNAUTHORIZED_EVENT, type Session } from "./api.ts";
import { AuditPage } from "./audit.ts";
import { LineagePage } from "./lineage.ts";
import { RegisterSourcePage, SourcePage, SourcesPage } from "./sources.ts";
import { TopicPage, TopicsPage } from "./topics.ts";
import { DeclareViewPage, ViewPage, ViewsPage } from "./views.ts";

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const on = (): void => setHash(location.hash);
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return hash.replace(/^#/, "") || "/sources";
}

function SignIn({
  onSignIn,
  notice,
}: {
  onSignIn: (s: Session) => void;
  notice: string | null;
}): ReturnType<typeof html> {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [checking, setChecking] = useState(false);
  const submit = (e: Event): void => {
    e.preventDefault();
    const candidate = token.trim();
    if (candidate === "") {
      setError("Enter a token: the admin token, or a service token an admin created (POST /v1/tokens).");
      return;
    }
    setChecking(true);
    // The token is checked before it is kept: GET /v1/status answers any valid token.
    fetch("/v1/status", { headers: { accept: "application/json", authorization: `Bearer ${candidate}` } })
      .then(async (res) => {
        setChecking(false);
        if (res.ok) {
          const status = (await res.json()) as { principal?: { admin?: boolean } };
          return onSignIn({ token: candidate, admin: status.principal?.admin === true });
        }
        const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
        setError(
          res.status === 401
            ? `The API does not accept this token (${body.code ?? "401"}): it is unknown, expired or revoked.`
            : `The API answered ${res.status}${body.code ? ` ${body.code}` : ""}: ${body.message ?? res.statusText}`,
        );
      })
      .catch((err: unknown) => {
        setChecking(false);
        setError(`The API did not answer: ${String(err)}`);
      });
  };
  return html`<main class="signin">
    <form class="form" data-testid="sign-in" onSubmit=${submit}>
      <h1>datamesh</h1>
      <p class="muted">
        Sign in with a token: the admin token, or your service's token. It is kept for this tab only.
      </p>
      ${notice ? html`<div class="notice" role="status" data-testid="sign-in-notice">${notice}</div>` : null}
      ${error ? html`<div class="error" data-testid="sign-in-error">${error}</div>` : null}
      <label
        >Token
        <input
          name="token"
          type="password"
          autocomplete="off"
          value=${token}
          onInput=${(e: Event) => setToken((e.target as HTMLInputElement).value)}
      /></label>
      <button type="submit" disabled=${checking}>Sign in</button>
    </form>
  </main>`;
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
  const [notice, setNotice] = useState<string | null>(null);
  const path = useHash();
  useEffect(() => {
    const on = (e: Event): void => {
      const error = (e as CustomEvent<ApiError>).detail;
      saveSession(null);
      setSession(null);
      setNotice(`Signed out: the API refused the token (${error.code}). ${error.message}`);
    };
    addEventListener(UNAUTHORIZED_EVENT, on);
    return () => removeEventListener(UNAUTHORIZED_EVENT, on);
  }, []);
  if (!session) {
    return html`<${SignIn}
      notice=${notice}
      onSignIn=${(s: Session) => {
        saveSession(s);
        setNotice(null);
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
    // The Audit page is the admin's (GET /v1/audit answers admins only).
    ...(session.admin ? [["audit", "Audit"]] : []),
  ];
  return html`<div class="app">
    <header>
      <a class="brand" href="#/sources">datamesh</a>
      <nav>
        ${nav.map(([id, title]) => html`<a href=${`#/${id}`} class=${section === id ? "active" : ""}>${title}</a>`)}
      </nav>
      <span class="who" data-testid="who"
        >${session.admin ? "signed in as admin" : "signed in with a service token"}</span
      >
      <button
        class="link"
        onClick=${() => {
          saveSession(null);
          setNotice("Signed out.");
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
