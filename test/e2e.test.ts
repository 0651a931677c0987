// The whole pipeline (split → extract → merge) on real nats-servers, with documents whose text per
// page is known.
import test from "ava";
import { assertDone } from "./support/assert.ts";
import { knownDoc } from "./support/pdf.ts";
import { startSwarm } from "./support/server.ts";

const RESULT_TIMEOUT_MS = 60_000;

test("a 1-page document comes back as one page with its text and metadata", async (t) => {
  const swarm = await startSwarm(t, { agents: 2 });
  const doc = await knownDoc("e2e-one", 1);
  const submitted = await swarm.client.submit(doc.bytes, { docId: doc.docId, source: "one.pdf" });
  t.deepEqual(submitted, {
    docId: doc.docId,
    priority: "normal",
    bytes: doc.bytes.length,
    viaObjectStore: false,
  });
  const r = assertDone(t, await swarm.client.result(doc.docId, { timeoutMs: RESULT_TIMEOUT_MS }), doc);
  t.is(r.chunks, 1);
  t.is(r.source, "one.pdf");
  t.is(r.pagesObject, undefined);
});

test("a 45-page document is split into several chunks and merged in page order", async (t) => {
  const swarm = await startSwarm(t, { agents: 2 });
  const doc = await knownDoc("e2e-long", 45);
  await swarm.client.submit(doc.bytes, { docId: doc.docId });
  const r = assertDone(t, await swarm.client.result(doc.docId, { timeoutMs: RESULT_TIMEOUT_MS }), doc);
  // More pages than one chunk holds (chunkMaxPages defaults to 16).
  t.true(r.chunks >= Math.ceil(45 / 16), `${r.chunks} chunks`);
  t.true(r.chunks > 1);
  t.true(r.timings.stageMs.extract !== undefined && r.timings.stageMs.merge !== undefined);
});

test("several documents submitted at once all complete", async (t) => {
  const swarm = await startSwarm(t, { agents: 2 });
  const docs = await Promise.all([1, 3, 9, 20, 33].map((pages) => knownDoc(`e2e-many${pages}`, pages)));
  await Promise.all(docs.map((d) => swarm.client.submit(d.bytes, { docId: d.docId })));
  const results = await Promise.all(
    docs.map((d) => swarm.client.result(d.docId, { timeoutMs: RESULT_TIMEOUT_MS })),
  );
  results.forEach((r, i) => {
    assertDone(t, r, docs[i]!);
  });
});

test("a document larger than the server's max payload travels through the object store", async (t) => {
  const maxPayloadBytes = 64 * 1024;
  const swarm = await startSwarm(t, { agents: 2, server: { maxPayloadBytes } });
  t.is(swarm.topology.maxPayloadBytes, maxPayloadBytes);
  const doc = await knownDoc("e2e-big", 30, { charsPerPage: 3300 });
  t.true(doc.bytes.length > maxPayloadBytes, `${doc.bytes.length} bytes`);
  const submitted = await swarm.client.submit(doc.bytes, { docId: doc.docId });
  t.true(submitted.viaObjectStore);
  const r = assertDone(t, await swarm.client.result(doc.docId, { timeoutMs: RESULT_TIMEOUT_MS }), doc);
  t.true(r.chunks > 1);
  // The final result is larger than one message too: the message points at the complete one.
  t.is(r.pagesObject?.bucket, "docswarm-results");
});
