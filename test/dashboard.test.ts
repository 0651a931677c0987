// The dashboard as a person sees it: headless Chromium opens it while a swarm works. Extract tasks
// queue while only a split agent runs (backlog and a warning appear), extract agents join (the agents
// table grows), documents progress to done, the backlog drains. Screenshots go to test-artifacts/.
// A dashboard with a token asks for it before showing anything.
import { mkdir } from "node:fs/promises";
import test from "ava";
import type { Page } from "playwright-core";
import { AgentHost } from "../agents/index.ts";
import { DocswarmClient } from "../client/index.ts";
import { Coordinator } from "../coordinator/index.ts";
import { Dashboard } from "../dashboard/index.ts";
import { connectNats, ensureTopology } from "../streams/index.ts";
import { launchChromium } from "./support/browser.ts";
import { denseDoc } from "./support/pdf.ts";
import { startServer } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

const ARTIFACTS = new URL("../test-artifacts/", import.meta.url);

type Row = { status: string; pagesDone: number };

async function documents(page: Page): Promise<Map<string, Row>> {
  const rows = await page.$$eval("#documents tr[data-doc]", (trs) =>
    trs.map((tr) => [
      tr.getAttribute("data-doc") ?? "",
      { status: tr.getAttribute("data-status") ?? "", pagesDone: Number(tr.getAttribute("data-pages-done")) },
    ]),
  );
  return new Map(rows as Array<[string, Row]>);
}

const cell = (page: Page, stage: string, priority: string, field: string) =>
  page
    .locator(`#stages tr[data-stage="${stage}"][data-priority="${priority}"] td[data-field="${field}"]`)
    .textContent()
    .then(Number);

test("the dashboard shows agents, stage backlogs and document progress change during a run", async (t) => {
  const browser = await launchChromium(t);
  if ("missing" in browser) {
    if (process.env.CI) return t.fail(`browser test cannot run in CI: ${browser.missing}`);
    console.warn(`dashboard browser test NOT RUN: ${browser.missing}`);
    t.log(`NOT RUN: ${browser.missing}`);
    return t.pass();
  }
  await mkdir(ARTIFACTS, { recursive: true });
  const server = await startServer(t);
  const nc = await connectNats({ servers: server.url, name: "dashboard-test" });
  t.teardown(() => nc.close());
  await ensureTopology(nc);
  const coordinator = await Coordinator.start({ servers: server.url });
  t.teardown(() => coordinator.close());
  const dashboard = await Dashboard.start({ servers: server.url, port: 0, noAuth: true });
  t.teardown(() => dashboard.close());
  const splitter = await AgentHost.start({
    servers: server.url,
    agents: 1,
    stages: ["split"],
    hostId: "splitter",
  });
  t.teardown(() => splitter.close());

  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.goto(dashboard.url);
  await page.locator('[data-testid="connection"]', { hasText: "live" }).waitFor({ timeout: 15_000 });
  await waitFor(async () => (await page.locator("#agents tr[data-agent]").count()) === 1, {
    message: "the split agent in the agents table",
  });

  // Work arrives; only splitting can happen.
  const client = new DocswarmClient(nc);
  const ids = ["report-a", "report-b", "report-c", "report-d"];
  for (const [i, id] of ids.entries()) {
    await client.submit((await denseDoc(id, 40 + i * 8, { charsPerPage: 600 })).bytes, {
      docId: id,
      source: `incoming/${id}.pdf`,
    });
  }
  const queued = await waitFor(
    async () => {
      const n = await cell(page, "extract", "normal", "backlog");
      const docs = await documents(page);
      return (
        n > 0 && docs.size === ids.length && [...docs.values()].every((d) => d.status === "running") && n
      );
    },
    { message: "the extract backlog on the page" },
  );
  t.true(queued >= ids.length, `every document's chunks wait (${queued})`);
  await page.locator('#warnings [data-code="STAGE_WITHOUT_AGENTS"]').waitFor({ timeout: 10_000 });
  t.regex((await page.locator("#warnings").textContent()) ?? "", /stage extract has \d+ task\(s\) waiting/);
  // Splitting may still add tasks: the total only grows until extract agents arrive.
  t.true(Number(await page.locator('[data-testid="backlog-total"]').textContent()) >= queued);
  await page.screenshot({ path: new URL("dashboard-queued.png", ARTIFACTS).pathname, fullPage: true });

  // Extract and merge agents join: the table grows, pages flow, documents finish.
  const workers = await AgentHost.start({
    servers: server.url,
    agents: 2,
    stages: ["extract", "merge"],
    hostId: "workers",
  });
  t.teardown(() => workers.close());
  let progressShot = false;
  await waitFor(
    async () => {
      const docs = await documents(page);
      const partial = [...docs.values()].some((d) => d.status !== "done" && d.pagesDone > 0);
      // The agents table refreshes with the next snapshot (~1 s): wait for it, so the picture agrees.
      if (partial && !progressShot && (await page.locator("#agents tr[data-agent]").count()) === 3) {
        progressShot = true;
        await page.screenshot({ path: new URL("dashboard.png", ARTIFACTS).pathname, fullPage: true });
      }
      return docs.size === ids.length && [...docs.values()].every((d) => d.status === "done");
    },
    { message: "every document done on the page", timeoutMs: 90_000, intervalMs: 30 },
  );
  // The agents table refreshes with the next snapshot (~1 s); documents may finish before it does.
  await waitFor(async () => (await page.locator("#agents tr[data-agent]").count()) === 3, {
    message: "split agent plus two workers in the agents table",
    timeoutMs: 10_000,
  });
  t.is(
    await page.locator("#agents tr[data-agent] td:nth-child(2)", { hasText: "extract, merge" }).count(),
    2,
  );
  await waitFor(async () => (await cell(page, "extract", "normal", "backlog")) === 0, {
    message: "the backlog drained on the page",
  });
  await page
    .locator('#warnings [data-code="STAGE_WITHOUT_AGENTS"]')
    .waitFor({ state: "detached", timeout: 10_000 });
  const docs = await documents(page);
  t.is(docs.get("report-a")?.pagesDone, 40);
  t.is(docs.get("report-d")?.pagesDone, 64);
  // The done counter follows doc.done events, which can trail the job records by a moment.
  await waitFor(
    async () => /^4 \/ 0$/.test((await page.locator('[data-testid="done-count"]').textContent()) ?? ""),
    { message: "the done counter at 4" },
  );
  t.true((await page.locator('#events li[data-type="doc.done"]').count()) >= 1, "live events in the feed");
  // Every event reads as `docswarm watch` prints it, whatever its type.
  const feed = await page.locator("#events li").allTextContents();
  t.false(
    feed.some((line) => /undefined|\(\)\s*$/.test(line)),
    feed.filter((l) => /undefined/.test(l)).join("\n"),
  );
  t.true(
    feed.some((line) => line.includes("stage.waiting") && line.includes("no live agent serves extract")),
    "the stage.waiting event says which stage lacks agents",
  );
  // The leader line names the coordinator and its term, not the lease's JSON.
  t.regex(
    (await page.locator("#leader").textContent()) ?? "",
    new RegExp(`^leader ${coordinator.id} \\(term \\d+\\)$`),
  );
  if (!progressShot)
    await page.screenshot({ path: new URL("dashboard.png", ARTIFACTS).pathname, fullPage: true });
  await page.screenshot({ path: new URL("dashboard-done.png", ARTIFACTS).pathname, fullPage: true });
  t.log(`screenshots in ${ARTIFACTS.pathname}`);
  // The page never renders document text.
  t.false(((await page.content()) ?? "").includes("Page 1 of report-a"));
  t.deepEqual(errors, []);

  // With a token, the page asks for it and shows nothing until it gets it.
  const locked = await Dashboard.start({
    servers: server.url,
    port: 0,
    token: "correct-horse-battery-staple",
  });
  t.teardown(() => locked.close());
  const base = `http://127.0.0.1:${locked.port}/`;
  t.is((await fetch(`${base}api/snapshot`)).status, 401);
  t.is((await fetch(`${base}metrics`)).status, 401);
  const ok = await fetch(`${base}metrics`, {
    headers: { authorization: "Bearer correct-horse-battery-staple" },
  });
  t.is(ok.status, 200);
  const second = await browser.newPage();
  await second.goto(base);
  await second.locator("#login").waitFor({ state: "visible", timeout: 10_000 });
  t.true(await second.locator("#main").isHidden());
  await second.fill("#token-input", "correct-horse-battery-staple");
  await second.click("#login button");
  await second.locator('[data-testid="connection"]', { hasText: "live" }).waitFor({ timeout: 15_000 });
  t.is(await second.locator("#agents tr[data-agent]").count(), 3);
});
