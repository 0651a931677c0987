// Prometheus metrics move during a run: the process endpoint (--metrics-port: coordinator and agent
// host figures) and the dashboard's swarm-wide /metrics, both scraped while documents are processed.
import test from "ava";
import { Dashboard } from "../dashboard/index.ts";
import { startMetricsServer } from "../observability/index.ts";
import { Swarm } from "../swarm/index.ts";
import { denseDoc } from "./support/pdf.ts";
import { scrape } from "./support/prometheus.ts";
import { waitFor } from "./support/wait.ts";

test("the process and dashboard /metrics endpoints report the run as it happens", async (t) => {
  // Registered before the swarm starts, so coordinator and agent host report through it.
  const metrics = await startMetricsServer({ port: 0, serviceName: "docswarm-test" });
  t.teardown(() => metrics.close());
  const swarm = await Swarm.initialize({ agents: 2 });
  t.teardown(() => swarm.shutdown());
  const dashboard = await Dashboard.start({ servers: swarm.url, port: 0, noAuth: true });
  t.teardown(() => dashboard.close());
  const dashboardMetrics = `http://127.0.0.1:${dashboard.port}/metrics`;

  const before = await scrape(metrics.url);
  t.is(before.sum("docswarm_documents_done_total"), 0);
  t.is(before.sum("docswarm_agents_alive", { stage: "extract" }), 2, "two extract agents alive");
  t.is(before.sum("docswarm_agent_threads", { status: "idle" }), 2);
  t.true(before.samples.has('docswarm_backlog{stage="extract",priority="normal"}'));

  // More pages than one chunk (16): split, extract chunks, merge.
  const first = await swarm.submit((await denseDoc("metrics-1", 20, { charsPerPage: 600 })).bytes, {
    docId: "metrics-1",
  });
  await swarm.result(first.docId, { timeoutMs: 60_000 });
  const mid = await waitFor(
    async () => {
      const s = await scrape(metrics.url);
      // Gauges are read from JetStream at scrape time and cached for a second.
      return (
        s.sum("docswarm_documents_done_total") === 1 && s.sum("docswarm_documents_submitted_total") === 1 && s
      );
    },
    { message: "the first document in the process metrics" },
  );
  t.is(mid.sum("docswarm_pages_extracted_total"), 20);
  t.true(mid.sum("docswarm_task_duration_seconds_count", { stage: "extract" }) >= 1);
  t.true(mid.sum("docswarm_agent_tasks_total", { stage: "extract" }) >= 1);
  t.true(mid.sum("docswarm_agent_task_duration_seconds_count", { stage: "split" }) >= 1);

  // One chunk's worth: one task, split's, which extracts it too.
  const second = await swarm.submit((await denseDoc("metrics-2", 7, { charsPerPage: 600 })).bytes, {
    docId: "metrics-2",
  });
  await swarm.result(second.docId, { timeoutMs: 60_000 });
  const after = await waitFor(
    async () => {
      const s = await scrape(metrics.url);
      return (
        s.sum("docswarm_documents_done_total") === 2 && s.sum("docswarm_documents_submitted_total") === 2 && s
      );
    },
    { message: "the second document in the process metrics" },
  );
  t.is(after.sum("docswarm_pages_extracted_total"), 27, "pages counter moved on");
  t.true(
    after.sum("docswarm_agent_tasks_total", { stage: "split" }) >
      mid.sum("docswarm_agent_tasks_total", { stage: "split" }),
  );
  t.is(
    after.sum("docswarm_agent_tasks_total", { stage: "extract" }),
    mid.sum("docswarm_agent_tasks_total", { stage: "extract" }),
    "the small document ran no extract task",
  );

  // The dashboard counts from the events subject (it was listening from the start); its backlog
  // gauge comes from a consumer-info poll every second, which may still show the last tasks.
  const swarmWide = await waitFor(
    async () => {
      const s = await scrape(dashboardMetrics);
      return (
        s.sum("docswarm_documents_done_total") === 2 &&
        s.sum("docswarm_documents_submitted_total") === 2 &&
        s.sum("docswarm_backlog") === 0 &&
        s
      );
    },
    { message: "both documents in the dashboard's /metrics, nothing waiting" },
  );
  t.is(swarmWide.sum("docswarm_pages_extracted_total"), 27);
  t.is(swarmWide.sum("docswarm_agents_alive", { stage: "merge" }), 2);
  t.is(swarmWide.sum("docswarm_backlog"), 0);
});
