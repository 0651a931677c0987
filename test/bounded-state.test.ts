// State stays bounded, proven at scale without waiting a week: deliberately small limits (a 2 MiB
// jobs bucket whose finished jobs leave after 1 s, a 1 MiB done stream, small results and document
// stores) and 2,000 documents pushed through (kept under a minute of the suite). Nothing wedges (every document finishes, no limit refuses work for
// good), every stream and bucket stays within its limit the whole time, and nothing is lost that
// retention did not promise to drop: every document's final result was published once, and the
// ones no longer stored are exactly the oldest, dropped by the done stream's discard-old.
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import test from "ava";
import { AgentHost } from "../agents/index.ts";
import { DocswarmClient } from "../client/index.ts";
import { Coordinator } from "../coordinator/index.ts";
import { readStorage } from "../observability/index.ts";
import { decodeJson, SwarmEvent } from "../schemas/index.ts";
import { BUCKETS, ensureTopology, kvStream, STREAMS, subjects } from "../streams/index.ts";
import { makeCorpus } from "./support/pdf.ts";
import { connectTo, startServer } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

const MiB = 1024 * 1024;
const DOCUMENTS = 3000;

test("3,000 documents through small limits: nothing wedges, nothing lost beyond retention", async (t) => {
  t.timeout(300_000);
  const server = await startServer(t);
  const nc = await connectTo(t, server.url, "docswarm-test", { reconnect: true });
  const limits = {
    // About half the documents take the job's path (below); their ~1,500 jobs take ~2.1 MB: kept
    // for days, they fill this bucket.
    jobsMaxBytes: 2 * MiB,
    doneMaxBytes: 1 * MiB,
    resultsMaxBytes: 4 * MiB,
    docsMaxBytes: 8 * MiB,
    eventsMaxBytes: 2 * MiB,
    // Finished jobs leave after 1 s: the bucket holds what is in flight plus that window (plus the
    // server's expiry lag, seconds under load).
    jobsFinishedTtlMs: 1000,
  };
  const { config: topology } = await ensureTopology(nc, limits);
  const jsm = await jetstreamManager(nc);

  const storageHigh = new Set<string>();
  const failed: string[] = [];
  nc.subscribe(subjects.eventsAll, {
    callback: (_e, m) => {
      const e = decodeJson(SwarmEvent, m.data);
      if (!e.ok) return;
      if (e.value.type === "storage.high") storageHigh.add(e.value.name);
      if (e.value.type === "doc.failed") failed.push(`${e.value.docId}: ${e.value.error?.code}`);
    },
  });
  // Every final result the done stream stored, in the order it stored them (republished).
  const published = new Map<string, number>();
  nc.subscribe(subjects.doneAll, {
    callback: (_e, m) => {
      const id = m.subject.slice(subjects.done("").length);
      published.set(id, (published.get(id) ?? 0) + 1);
    },
  });

  const coordinator = await Coordinator.start({
    servers: server.url,
    topology,
    config: { storageCheckMs: 500 },
  });
  t.teardown(() => coordinator.close());
  // One-page chunks: a 2-page document takes the job's path (job record, extract tasks, merge), a
  // 1-page one the single-task path, so both kinds of state are pushed through the limits.
  const host = await AgentHost.start({
    servers: server.url,
    agents: 2,
    slots: 2,
    topology,
    processing: { chunkMaxPages: 1, busyWholeDocumentMaxPages: 0 },
  });
  t.teardown(() => host.close({ abandonPulls: true }));

  // Largest use of each resource, sampled while the documents flow.
  const peak = new Map<string, { bytes: number; maxBytes: number }>();
  const sample = async () => {
    for (const i of (await readStorage(jsm)).items) {
      const p = peak.get(i.name);
      if (!p || i.bytes > p.bytes) peak.set(i.name, { bytes: i.bytes, maxBytes: i.maxBytes });
    }
  };
  const sampler = setInterval(() => void sample().catch(() => {}), 250);
  t.teardown(() => clearInterval(sampler));

  const corpus = await makeCorpus(20, { seed: 5, maxPages: 2, prefix: "bounded" });
  const chunked = corpus.filter((d) => d.pages.length > 1).length;
  t.true(chunked > 0 && chunked < corpus.length, "both paths in the corpus");
  const client = new DocswarmClient(nc);
  const ids = Array.from({ length: DOCUMENTS }, (_, i) => `bounded-${i}`);
  const started = Date.now();
  for (const [i, id] of ids.entries()) {
    await client.submit(corpus[i % corpus.length]!.bytes, { docId: id, fullRetryMs: 120_000 });
    // Fail fast when something refuses work for good instead of waiting for the timeout.
    if (failed.length > 0) break;
  }
  await waitFor(() => published.size >= DOCUMENTS || failed.length > 0, {
    timeoutMs: 240_000,
    intervalMs: 200,
    message: `all ${DOCUMENTS} final results (${published.size} so far)`,
  });
  clearInterval(sampler);
  await sample();
  t.log(`${DOCUMENTS} documents in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  t.deepEqual(failed.slice(0, 5), [], "no document failed");

  // Every document ended, once.
  t.is(published.size, DOCUMENTS);
  t.true(
    [...published.values()].every((n) => n === 1),
    "each final result stored and republished once",
  );
  // Every resource stayed within its limit while it was used.
  for (const [name, p] of peak) {
    t.true(p.maxBytes < 0 || p.bytes <= p.maxBytes, `${name}: peak ${p.bytes} of ${p.maxBytes} bytes`);
    t.log(
      `${name.padEnd(22)} peak ${(p.bytes / 1024).toFixed(0)} KiB of ${(p.maxBytes / 1024).toFixed(0)} KiB`,
    );
  }
  // The done stream filled and dropped its oldest results, as its retention promises, and said so.
  const done = await jsm.streams.info(STREAMS.done);
  t.true(done.state.bytes <= limits.doneMaxBytes);
  t.true(done.state.first_seq > 1, "the oldest results were dropped");
  t.true(storageHigh.has(STREAMS.done), "storage.high fired for the done stream");
  const dropped = done.state.first_seq - 1;
  t.is(done.state.messages + dropped, DOCUMENTS, "stored + dropped = every document");
  // What was dropped is the oldest: the newest documents' results are all still there.
  for (const id of ids.slice(-50)) {
    const r = await client.result(id, { timeoutMs: 5000 });
    t.is(r.status, "done", id);
  }
  // The jobs bucket holds what is in flight (nothing now) plus the finished-job window, not every job.
  const jobs = await jsm.streams.info(kvStream(BUCKETS.jobs));
  t.true(jobs.state.bytes <= limits.jobsMaxBytes, `jobs bucket ${jobs.state.bytes} bytes`);
  t.log(`jobs bucket at the end: ${jobs.state.messages} entries, ${jobs.state.bytes} bytes`);
  // The job's path was taken: every chunked document wrote its job several times.
  t.true(jobs.state.last_seq >= (DOCUMENTS * chunked) / corpus.length, `${jobs.state.last_seq} job writes`);
  // After the window, no finished job is left: only the expiries' markers (which the bucket's
  // marker TTL removes a minute later).
  const kv = await new Kvm(nc).open(BUCKETS.jobs);
  const liveJobs = async () => {
    let n = 0;
    for await (const k of await kv.keys()) if ((await kv.get(k))?.operation === "PUT") n++;
    return n;
  };
  await waitFor(async () => (await liveJobs()) === 0, {
    timeoutMs: 30_000,
    intervalMs: 1000,
    message: "no finished job left after the window",
  });
  // Nothing left waiting anywhere.
  for (const stage of ["split-triage", "split-normal", "extract-normal", "merge-normal"]) {
    const ci = await jsm.consumers.info(stage.startsWith("split") ? STREAMS.submit : STREAMS.tasks, stage);
    t.is(ci.num_pending + ci.num_ack_pending, 0, stage);
  }
});
