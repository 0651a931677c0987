// `docswarm init` upgrading a running swarm from layout 3 to layout 4: a coordinator and agents run
// on layout 3 (single-task documents announced by split's results), init creates coordinator-finals
// and marks the done stream 4 while documents keep coming, then the agents (at their next layout
// read) and the coordinator (at its next look for the consumer) switch to the finals' summary
// headers. Every document ends with one stored final and is announced once, one way or the other.
// Agents' layout reads stand 300 ms here and the coordinator looks every 1.5 s (30 s and 10 s by
// default), so agents switch first: what they end meanwhile waits in the consumer init created.
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import test from "ava";
import { AgentHost } from "../agents/index.ts";
import { DocswarmClient } from "../client/index.ts";
import { Coordinator } from "../coordinator/index.ts";
import { readThroughput } from "../observability/index.ts";
import { HEADERS } from "../schemas/index.ts";
import { ensureTopology, FINALS_CONSUMER, STREAMS, subjects } from "../streams/index.ts";
import { runCliWithEnv } from "./support/cli.ts";
import { denseDoc, type KnownDoc } from "./support/pdf.ts";
import { connectTo, startServer } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

/** Per document: final publishes (with a summary header or without) and split results. */
function watch(nc: NatsConnection) {
  const seen = new Map<string, { summary: number; plain: number; results: number }>();
  const of = (docId: string) => {
    const s = seen.get(docId) ?? { summary: 0, plain: 0, results: 0 };
    seen.set(docId, s);
    return s;
  };
  nc.subscribe(subjects.final("*"), {
    callback: (_e, m) => {
      const s = of(m.subject.slice(subjects.final("").length));
      if (m.headers?.has(HEADERS.summary)) s.summary++;
      else s.plain++;
    },
  });
  nc.subscribe(subjects.result("*", "split.0"), {
    callback: (_e, m) => void of(m.subject.split(".")[2]!).results++,
  });
  return seen;
}

test("docswarm init upgrades a running swarm from layout 3 to 4: every document ends once, announced once", async (t) => {
  t.timeout(60_000);
  const server = await startServer(t);
  const url = server.url;
  const nc = await connectTo(t, url, "docswarm-test", { reconnect: true });
  const jsm = await jetstreamManager(nc);
  // Layout 3: no finals consumer, every stream marked 3.
  await ensureTopology(nc);
  await jsm.consumers.delete(STREAMS.done, FINALS_CONSUMER);
  for await (const si of jsm.streams.list())
    await jsm.streams.update(si.config.name, {
      ...si.config,
      metadata: { ...si.config.metadata, "docswarm.version": "3" },
    });

  const logs: string[] = [];
  const coordinator = await Coordinator.start({
    servers: url,
    finalsPollMs: 1500,
    onLog: (_level, msg) => void logs.push(msg),
  });
  t.teardown(() => coordinator.close());
  const host = await AgentHost.start({ servers: url, agents: 2, layoutTtlMs: 300 });
  t.teardown(() => host.close({ abandonPulls: true }));
  const seen = watch(nc);
  const client = new DocswarmClient(nc);
  const docs: KnownDoc[] = [];
  const submit = async () => {
    const d = await denseDoc(`upgrade-${docs.length}`, 2);
    docs.push(d);
    await client.submit(d.bytes, { docId: d.docId });
  };

  // On layout 3: split's results announce.
  for (let i = 0; i < 4; i++) await submit();
  for (const d of docs) t.is((await client.result(d.docId, { timeoutMs: 30_000 })).status, "done");
  t.true(
    logs.some((m) => m.startsWith("no finals consumer")),
    "the coordinator started on layout 3",
  );
  const before = docs.length;

  // Documents keep coming, during init and after, until the coordinator follows the finals.
  let submitting = true;
  const submitter = (async () => {
    while (submitting) {
      await submit();
      await new Promise((r) => setTimeout(r, 40));
    }
  })();
  const init = await runCliWithEnv(["init"], { NATS_URL: url });
  t.is(init.code, 0, `${init.stdout}\n${init.stderr}`);
  const initDoneAt = docs.length;
  await waitFor(async () => (await jsm.consumers.info(STREAMS.done, FINALS_CONSUMER)).num_waiting > 0, {
    message: "the coordinator pulling from coordinator-finals",
    timeoutMs: 10_000,
  });
  const waited = [...seen.values()].filter((s) => s.summary > 0).length;
  // Past the agents' layout reads from before the mark, every document goes by its final's summary.
  await new Promise((r) => setTimeout(r, 400));
  const switchedAt = docs.length;
  await new Promise((r) => setTimeout(r, 500));
  submitting = false;
  await submitter;
  t.log(
    `${docs.length} documents: ${before} before init, ${initDoneAt - before} during it, ${docs.length - switchedAt} after the switch; ${waited} ended by summary before the coordinator followed the finals`,
  );

  for (const d of docs) t.is((await client.result(d.docId, { timeoutMs: 30_000 })).status, "done", d.docId);
  // Each document: one stored final, and one doc.accepted and one doc.done on the events stream.
  const counts = async (stream: string, filter: string) =>
    (await jsm.streams.info(stream, { subjects_filter: filter })).state.subjects ?? {};
  await waitFor(
    async () => {
      const events = await counts(STREAMS.events, subjects.event("doc.done", "*"));
      return docs.every((d) => events[subjects.event("doc.done", d.docId)] === 1);
    },
    { message: "doc.done for every document", timeoutMs: 15_000 },
  );
  const finals = await counts(STREAMS.done, subjects.done("*"));
  const accepted = await counts(STREAMS.events, subjects.event("doc.accepted", "*"));
  const done = await counts(STREAMS.events, subjects.event("doc.done", "*"));
  const failed = await counts(STREAMS.events, subjects.event("doc.failed", "*"));
  for (const d of docs) {
    t.is(finals[subjects.done(d.docId)], 1, `${d.docId}: stored finals`);
    t.is(accepted[subjects.event("doc.accepted", d.docId)], 1, `${d.docId}: doc.accepted`);
    t.is(done[subjects.event("doc.done", d.docId)], 1, `${d.docId}: doc.done`);
    t.is(failed[subjects.event("doc.failed", d.docId)], undefined, `${d.docId}: doc.failed`);
    // Announced one way: a final with the summary header and no split result, or the reverse.
    const s = seen.get(d.docId);
    t.true(
      (s?.summary === 1 && s.plain === 0 && s.results === 0) ||
        (s?.summary === 0 && s.plain === 1 && s.results === 1),
      `${d.docId}: ${JSON.stringify(s)}`,
    );
  }
  const bySummary = docs.filter((d) => seen.get(d.docId)?.summary === 1);
  t.true(
    docs.slice(0, before).every((d) => seen.get(d.docId)?.results === 1),
    "before init: split's results",
  );
  t.true(bySummary.length > 0, "after init: finals' summaries");
  t.true(
    docs.slice(switchedAt).every((d) => seen.get(d.docId)?.summary === 1),
    "after the agents' reads of layout 3 lapsed: finals' summaries only",
  );
  // What `docswarm status` counts from those events.
  t.like(await readThroughput(jsm), { docsDone: docs.length, docsFailed: 0, pages: 2 * docs.length });
  const ci = await jsm.consumers.info(STREAMS.done, FINALS_CONSUMER);
  t.is(ci.num_pending, 0);
  t.is(ci.num_ack_pending, 0);
});
