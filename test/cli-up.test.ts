// `docswarm up` runs NATS, a coordinator, agents and the dashboard, prints the dashboard's URL, and
// serves its own Prometheus metrics with --metrics-port; Ctrl-C stops it all.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import test from "ava";
import { scrape } from "./support/prometheus.ts";
import { waitFor } from "./support/wait.ts";

const CLI = fileURLToPath(new URL("../cli/docswarm.ts", import.meta.url));

test("docswarm up serves the dashboard and metrics and prints where", async (t) => {
  const child = spawn(
    process.execPath,
    [CLI, "up", "--agents", "1", "--dashboard-port", "0", "--metrics-port", "0"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill("SIGKILL");
  });
  let out = "";
  child.stdout.on("data", (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.resume();
  const dashboardUrl = await waitFor(() => /docswarm dashboard: (http\S+)/.exec(out)?.[1], {
    message: "the dashboard URL on stdout",
    timeoutMs: 60_000,
  });
  const metricsUrl = /metrics at (http\S+)/.exec(out)?.[1];
  t.truthy(metricsUrl, out);
  t.regex(out, /docswarm is up: NATS_URL=nats:\/\/127\.0\.0\.1:\d+/);
  t.regex(dashboardUrl, /^http:\/\/127\.0\.0\.1:\d+\/$/);

  const page = await fetch(dashboardUrl);
  t.is(page.status, 200);
  t.regex(await page.text(), /<title>docswarm dashboard<\/title>/);
  // Loopback too needs the token `up` generated and printed (never in the URL).
  const token = await waitFor(() => /token: (\S+)/.exec(out)?.[1], {
    message: "the dashboard token on stdout",
  });
  t.is((await fetch(`${dashboardUrl}api/snapshot`)).status, 401);
  const snapshot = await waitFor(
    async () => {
      const res = await fetch(`${dashboardUrl}api/snapshot`, {
        headers: { authorization: `Bearer ${token}` },
      });
      const s = (await res.json()) as { totals: { agents: number } };
      return s.totals.agents === 1 && s;
    },
    { message: "the agent on the dashboard" },
  );
  t.is(snapshot.totals.agents, 1);
  const m = await waitFor(
    async () => {
      const s = await scrape(metricsUrl!);
      return s.sum("docswarm_agents_alive", { stage: "extract" }) === 1 && s;
    },
    { message: "agents in the up process's metrics" },
  );
  t.is(m.sum("docswarm_agent_threads"), 1);

  child.kill("SIGINT");
  t.is(await exited, 0);
});
