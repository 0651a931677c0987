// Pipelines with user stages: per-chunk and per-document stages between extract and merge, declared
// inline or by name; a stage nobody serves is visibly waiting, and runs once an agent serves it.
import { Kvm } from "@nats-io/kv";
import test from "ava";
import { AgentHost } from "../agents/index.ts";
import { decodeJson, parsePipeline, SwarmEvent } from "../schemas/index.ts";
import { jsonBytes, subjects } from "../streams/index.ts";
import { readStatus } from "../swarm/index.ts";
import { knownDoc } from "./support/pdf.ts";
import { stagePath, startSwarm } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

const wordStages = () => ["split", "extract", "merge", stagePath("chunk-words"), stagePath("doc-words")];

test("a per-chunk and a per-document user stage run between extract and merge; their outputs are in the result", async (t) => {
  const swarm = await startSwarm(t, {
    agents: 2,
    stages: wordStages(),
    processing: { chunkMaxPages: 4, busyWholeDocumentMaxPages: 0 },
  });
  const doc = await knownDoc("pipe-inline", 12);
  await swarm.client.submit(doc.bytes, {
    docId: doc.docId,
    pipeline: "split,extract,chunk-words,doc-words:document,merge",
  });
  const r = await swarm.client.result(doc.docId, { timeoutMs: 60_000 });
  t.is(r.status, "done", JSON.stringify(r.error));
  t.is(r.pageCount, 12);
  const perChunk = r.stages?.["chunk-words"] as Array<{ firstPage: number; words: number }>;
  t.is(perChunk.length, r.chunks);
  t.deepEqual(
    perChunk.map((c) => c.firstPage),
    [...perChunk.map((c) => c.firstPage)].sort((a, b) => a - b),
    "per-chunk outputs in chunk order",
  );
  const total = r.pages.reduce((n, p) => n + p.words, 0);
  t.is(
    perChunk.reduce((n, c) => n + c.words, 0),
    total,
  );
  t.deepEqual(r.stages?.["doc-words"], { words: total, fromChunks: r.chunks, pages: 12 });
});

test("a named pipeline from the pipelines bucket; a bad pipeline fails with PIPELINE_INVALID", async (t) => {
  const swarm = await startSwarm(t, { agents: 1, stages: wordStages() });
  const kv = await new Kvm(swarm.js).open("docswarm-pipelines");
  const p = parsePipeline("split,extract,chunk-words,merge");
  t.true(p.ok);
  if (p.ok) await kv.put("words", jsonBytes(p.value));
  const doc = await knownDoc("pipe-named", 3);
  await swarm.client.submit(doc.bytes, { docId: doc.docId, pipeline: "words" });
  const r = await swarm.client.result(doc.docId, { timeoutMs: 60_000 });
  t.is(r.status, "done");
  t.true(Array.isArray(r.stages?.["chunk-words"]));

  for (const [id, pipeline] of [
    ["pipe-bad-order", "split,extract,doc-words:document,chunk-words,merge"],
    ["pipe-no-merge", "split,extract,chunk-words"],
    ["pipe-unknown-name", "nosuchpipeline"],
  ] as const) {
    const d = await knownDoc(id, 1);
    await swarm.client.submit(d.bytes, { docId: id, pipeline });
    const f = await swarm.client.result(id, { timeoutMs: 60_000 });
    t.is(f.status, "failed", id);
    t.is(f.error?.code, "PIPELINE_INVALID", id);
  }
});

test("a stage no live agent serves: stage.waiting event and status say so; an agent for it finishes the document", async (t) => {
  const swarm = await startSwarm(t, { agents: 1 });
  const events: string[] = [];
  const sub = swarm.nc.subscribe(subjects.eventsAll, {
    callback: (_e, m) => {
      const e = decodeJson(SwarmEvent, m.data);
      if (e.ok && e.value.type === "stage.waiting") events.push(`${e.value.stage}:${e.value.docId}`);
    },
  });
  t.teardown(() => sub.unsubscribe());
  const doc = await knownDoc("pipe-waiting", 2);
  await swarm.client.submit(doc.bytes, { docId: doc.docId, pipeline: "split,extract,chunk-words,merge" });
  await waitFor(() => events.includes(`chunk-words:${doc.docId}`), {
    timeoutMs: 30_000,
    message: "stage.waiting event",
  });
  const status = await waitFor(
    async () => {
      const s = await readStatus(swarm.jsm);
      return s.warnings.some((w) => w.code === "STAGE_WITHOUT_AGENTS" && w.stage === "chunk-words")
        ? s
        : undefined;
    },
    { timeoutMs: 30_000, message: "status lists chunk-words as waiting" },
  );
  t.true(status.stages.some((s) => s.stage === "chunk-words" && s.backlog > 0));

  const extra = await AgentHost.start({ servers: swarm.url, agents: 1, stages: [stagePath("chunk-words")] });
  t.teardown(() => extra.close({ abandonPulls: true }));
  const r = await swarm.client.result(doc.docId, { timeoutMs: 60_000 });
  t.is(r.status, "done");
  t.is((r.stages?.["chunk-words"] as unknown[] | undefined)?.length, r.chunks);
});
