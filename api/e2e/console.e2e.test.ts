// The web console in a real headless Chromium (Debian's /usr/bin/chromium driven by playwright-core; no
// browser download) against the API on the real stack: a token the API refuses is said so at sign-in; sign
// in with the admin token (sent as a bearer token on every call), register a Postgres source through the form, declare a view with its SQL checked as it is typed
// (the error shown at its line and column, then the fixed SQL accepted), page through its rows, watch a live
// change arrive in its change stream, and see the lineage graph. Each page's screenshot is checked to
// render data (many colours, much of it not background) and no error box. Then governance: the audit page
// lists the source's registration and the refused sign-in; a service token signs in without the audit page
// and is told plainly that it may not read it; once revoked, the console signs it out with the API's reason.
// MESH_SCREENSHOT_DIR=<dir> keeps the screenshots (docs/console-*.png come from there).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authHeaders, createServiceToken, TEST_ADMIN_TOKEN } from "../../test/support/auth.ts";
import { uniqueName } from "../../test/support/stack.ts";
import { startObserveFixture, type ObserveFixture } from "./observe-fixture.ts";
import { colourStats, decodePng } from "./png.ts";

const CHROMIUM = "/usr/bin/chromium";
let f: ObserveFixture;
let browser: BrowserContext | undefined;
let userDataDir: string;
const source = uniqueName("ui").replace(/-/g, "_");
const topic = `${source}.public.items`;
const view = `v_${source}`;
const problems: string[] = [];
const tokens = new Set<string>();
/** Set while the test provokes refusals (a wrong token, a service token on the audit page, a revoked token). */
let refusalsExpected = false;
const refusal = (text: string): boolean => refusalsExpected && /\b40[13]\b|status of 40[13]/.test(text);

beforeAll(async () => {
  f = await startObserveFixture("ui");
  // Enough rows for three pages of ten.
  await f.db.sql("INSERT INTO items SELECT g, 'item ' || g, g * 1.25 FROM generate_series(6, 25) g");
  userDataDir = mkdtempSync(join(tmpdir(), "mesh-chromium-"));
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  await f?.stop();
});

/** The screenshot renders data: varied pixels, not one colour, and no error box on the page. */
async function rendered(page: Page, name: string): Promise<void> {
  const png = await page.screenshot({ fullPage: true });
  const dir = process.env.MESH_SCREENSHOT_DIR;
  if (dir) writeFileSync(join(dir, `console-${name}.png`), png);
  const stats = colourStats(decodePng(png));
  expect(stats.colours, `${name}: distinct colours`).toBeGreaterThan(30);
  expect(stats.nonBackground, `${name}: share of non-background pixels`).toBeGreaterThan(0.05);
  expect(await page.locator("[role=alert]").count(), `${name}: error boxes`).toBe(0);
}

describe("the console in headless Chromium", () => {
  it("signs in, registers a source, declares a view, pages its rows, shows a live change and the lineage", async () => {
    const page = await browser!.newPage();
    page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
    page.on("console", (m) => {
      if (m.type() === "error" && !refusal(m.text())) problems.push(`console: ${m.text()}`);
    });
    page.on("response", (r) => {
      if (r.status() >= 400 && !refusal(String(r.status()))) problems.push(`${r.status()} ${r.url()}`);
    });
    page.on("request", (r) => {
      if (new URL(r.url()).pathname.startsWith("/v1/")) tokens.add(r.headers().authorization ?? "none");
    });
    await page.goto(`${f.api.url}/console`);

    // A token the API does not know is refused at sign-in, with the reason.
    const signIn = page.getByTestId("sign-in");
    refusalsExpected = true;
    await signIn.getByLabel("Token").fill("mesh_0000000000000000_not-a-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect
      .poll(async () => page.getByTestId("sign-in-error").textContent(), { timeout: 15_000 })
      .toMatch(/does not accept this token \(MESH_UNAUTHORIZED\)/);
    refusalsExpected = false;
    // Sign in with the admin token: the Audit page is in the navigation.
    await signIn.getByLabel("Token").fill(TEST_ADMIN_TOKEN);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Sources" }).waitFor();
    expect(await page.getByTestId("who").textContent()).toBe("signed in as admin");

    // Register a source through the form.
    await page.getByRole("link", { name: "Register a source" }).click();
    const form = page.getByTestId("register-source");
    await form.getByLabel("Name", { exact: true }).fill(source);
    await form.getByLabel("Owner (service)", { exact: true }).fill("inventory");
    await form.getByLabel("URL", { exact: true }).fill(f.db.url);
    await form.getByLabel("Tables", { exact: true }).fill("public.items");
    await form.getByRole("button", { name: "Register" }).click();
    await page.getByRole("heading", { name: `Source ${source}` }).waitFor();
    await page.locator('dl.facts .badge[data-state="streaming"]').waitFor({ timeout: 60_000 });
    await page.getByRole("cell", { name: topic }).waitFor();
    await rendered(page, "source");

    // Declare a view: a wrong column is named at its position as it is typed, the fixed SQL is accepted.
    await page.goto(`${f.api.url}/console#/views/new`);
    const sql = page.getByTestId("declare-view").locator("textarea");
    await sql.fill(`CREATE VIEW ${view} AS\nSELECT i.id, i.nope FROM ${topic} i`);
    const check = page.getByTestId("sql-check");
    await expect.poll(async () => check.textContent(), { timeout: 15_000 }).toMatch(/MESH_BAD_SQL/);
    await sql.fill(`CREATE VIEW ${view} AS\nSELECT i.id, i.name, i.price FROM ${topic} i`);
    await expect.poll(async () => check.textContent(), { timeout: 15_000 }).toMatch(/compiles/);
    await page.getByRole("button", { name: "Declare" }).click();
    await page.getByRole("heading", { name: `View ${view}` }).waitFor();
    await page.locator('dl.facts .badge[data-state="ready"]').waitFor({ timeout: 60_000 });

    // Page through the rows, ten a page.
    const browserRows = page.getByTestId("row-browser");
    const firstId = async (): Promise<string | null> =>
      browserRows.locator("tbody tr td").first().textContent();
    await expect.poll(firstId, { timeout: 30_000 }).toBe("1");
    await browserRows.getByRole("button", { name: "Next" }).click();
    await expect.poll(async () => browserRows.getByTestId("page-number").textContent()).toBe("page 2");
    await expect.poll(firstId).toBe("11");
    expect(await browserRows.locator("tbody tr").count()).toBe(10);
    await browserRows.getByRole("button", { name: "Previous" }).click();
    await expect.poll(firstId).toBe("1");
    // A filter narrows the rows.
    await browserRows.getByLabel("column").selectOption("name");
    await browserRows.getByLabel("value").fill("item 7");
    await browserRows.getByRole("button", { name: "Add filter" }).click();
    await expect.poll(async () => browserRows.locator("tbody tr").count()).toBe(1);

    // A live change arrives in the view's change stream.
    await page.locator('[data-testid="live-tail"][data-state="live"]').waitFor();
    await f.db.sql("INSERT INTO items VALUES (100, 'arrived live', 42.00)");
    await page.locator(".events li", { hasText: "arrived live" }).waitFor({ timeout: 30_000 });
    await rendered(page, "view");

    // The topic page: its schema and a live tail.
    await page.goto(`${f.api.url}/console#/topics/${encodeURIComponent(topic)}`);
    await page.getByTestId("schema-diff").waitFor();
    await page.locator('[data-testid="live-tail"][data-state="live"]').waitFor();
    await f.db.sql("UPDATE items SET price = 43.00 WHERE id = 100");
    await page.locator(".events li", { hasText: "update" }).waitFor({ timeout: 30_000 });

    // The lineage graph: source → table → topic → view.
    await page.goto(`${f.api.url}/console#/lineage`);
    for (const id of [`source:${source}`, `table:${source}/public.items`, `topic:${topic}`, `view:${view}`])
      await page.locator(`[data-testid="lineage-graph"] [data-node="${id}"]`).waitFor();
    expect(await page.locator('[data-testid="lineage-graph"] path.edge').count()).toBeGreaterThanOrEqual(3);
    await rendered(page, "lineage");

    // The audit page: the source's registration by the admin, and the refused sign-in.
    await page.getByRole("link", { name: "Audit" }).click();
    await page.getByRole("heading", { name: "Audit" }).waitFor();
    const audit = page.getByTestId("audit");
    await audit
      .locator('tr[data-action="sources.create"]', { hasText: source })
      .first()
      .waitFor({ timeout: 30_000 });
    await rendered(page, "audit");
    const filters = page.getByTestId("audit-filters");
    await filters.getByLabel("Outcome").selectOption("denied");
    await filters.getByRole("button", { name: "Filter" }).click();
    await audit.locator('tr[data-outcome="denied"]', { hasText: "MESH_UNAUTHORIZED" }).first().waitFor();
    await expect.poll(async () => audit.locator('tr[data-outcome="success"]').count()).toBe(0);
    const auditText = (await audit.textContent()) ?? "";
    expect(auditText).not.toContain("not-a-token");
    expect(auditText).not.toContain(TEST_ADMIN_TOKEN);

    // A service token: no Audit page in the navigation; asked for anyway, the 403 is said plainly.
    const reader = await createServiceToken(f.api.url, { service: "inventory", scopes: ["read"] });
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByTestId("sign-in-notice").waitFor();
    await signIn.getByLabel("Token").fill(reader.token);
    // The console stays on the page it was on (the audit page), now with this token: its 403 is expected
    // from the moment the token is sent (set before the click, or the answer can beat the flag).
    refusalsExpected = true;
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByTestId("who").waitFor();
    expect(await page.getByTestId("who").textContent()).toBe("signed in with a service token");
    expect(await page.getByRole("link", { name: "Audit" }).count()).toBe(0);
    await expect
      .poll(async () => page.locator('[role=alert][data-status="403"]').textContent(), { timeout: 15_000 })
      .toMatch(/MESH_FORBIDDEN.*not allowed/);
    // Revoked, the token stops working: the console signs out and says why.
    await page.goto(`${f.api.url}/console#/sources`);
    const revoked = await fetch(`${f.api.url}/v1/tokens/${reader.id}`, {
      method: "DELETE",
      headers: authHeaders(),
    });
    expect(revoked.status).toBeLessThan(300);
    await expect
      .poll(
        async () =>
          page
            .getByTestId("sign-in-notice")
            .textContent()
            .catch(() => null),
        { timeout: 30_000 },
      )
      .toMatch(/refused the token \(MESH_UNAUTHORIZED\)/);
    refusalsExpected = false;

    // Every API call carried a token (these three); nothing else failed in the page.
    expect([...tokens].sort()).toEqual(
      [
        `Bearer ${TEST_ADMIN_TOKEN}`,
        `Bearer ${reader.token}`,
        "Bearer mesh_0000000000000000_not-a-token",
      ].sort(),
    );
    expect(problems).toEqual([]);
  }, 240_000);
});
