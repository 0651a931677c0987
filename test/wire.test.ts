// The wire contract as any NATS client sees it: core publish of raw PDF bytes with headers, the
// final result as JSON on docswarm.done.<docId>, the stored result readable later, and the object
// store path for documents above the server's max payload. Only plain NATS here: no docswarm client
// on the submitting side, literal subjects and header names.
import { createHash } from "node:crypto";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { Objm } from "@nats-io/obj";
import { headers, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import test from "ava";
import { DocswarmClient } from "../client/index.ts";
import { FinalResult, FinalSummary, HEADERS, Job, validate } from "../schemas/index.ts";
import { STREAMS, subjects } from "../streams/index.ts";
import { assertDone, assertFailed } from "./support/assert.ts";
import { knownDoc } from "./support/pdf.ts";
import { connectTo, startSwarm } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

const TIMEOUT_MS = 60_000;

/** The first message on a core subscription, parsed as JSON. */
async function firstJson(sub: Subscription): Promise<unknown> {
  const timer = setTimeout(() => sub.unsubscribe(), TIMEOUT_MS);
  try {
    for await (const m of sub) return m.json();
    throw new Error(`no message on ${sub.getSubject()} within ${TIMEOUT_MS} ms`);
  } finally {
    clearTimeout(timer);
  }
}

async function subscribeDone(nc: NatsConnection, docId: string): Promise<Subscription> {
  const sub = nc.subscribe(`docswarm.done.${docId}`, { max: 1 });
  await nc.flush(); // the server knows the subscription before anything is published
  return sub;
}

test("raw PDF bytes published with core NATS get their final result on docswarm.done.<docId>", async (t) => {
  const swarm = await startSwarm(t, { agents: 2 });
  const nc = await connectTo(t, swarm.url, "raw-client");
  const doc = await knownDoc("wire-raw", 20);
  const sub = await subscribeDone(nc, doc.docId);

  const h = headers();
  h.set("Docswarm-Doc-Id", doc.docId);
  h.set("Docswarm-Priority", "high");
  h.set("Docswarm-Source", "reports/raw.pdf");
  nc.publish("docswarm.submit", doc.bytes, { headers: h });

  const json = await firstJson(sub);
  t.true(FinalResult.safeParse(json).success, "validates against the FinalResult schema");
  const r = assertDone(t, json, doc);
  t.is(r.source, "reports/raw.pdf");
  // The priority header was honoured: the job ran at high priority.
  const jobs = await new Kvm(nc).open("docswarm-jobs");
  const job = Job.parse((await jobs.get(doc.docId))?.json());
  t.is(job.priority, "high");
  // The coordinator marks the job done when it sees merge's result, just after the final result.
  await waitFor(async () => Job.parse((await jobs.get(doc.docId))?.json()).status === "done", {
    timeoutMs: TIMEOUT_MS,
    message: "the job to be marked done",
  });
});

test("without a Doc-Id header the id is SHA-256 of the bytes and a late reader gets the stored result", async (t) => {
  const swarm = await startSwarm(t, { agents: 1 });
  const nc = await connectTo(t, swarm.url, "raw-client");
  const doc = await knownDoc("wire-noid", 2);
  const expectedId = createHash("sha256").update(doc.bytes).digest("hex").slice(0, 32);

  nc.publish("docswarm.submit", doc.bytes);
  await nc.flush();

  // Nobody listened while it ran: the result is stored on DOCSWARM_DONE (one per subject).
  const jsm = await jetstreamManager(nc);
  const stored = await waitFor(
    () => jsm.direct.getMessage("DOCSWARM_DONE", { last_by_subj: `docswarm.done.${expectedId}` }),
    { timeoutMs: TIMEOUT_MS, message: `the stored result of ${expectedId}` },
  );
  t.is(stored.subject, `docswarm.done.${expectedId}`);
  assertDone(t, stored.json(), doc, expectedId);

  // The TypeScript client reads the same stored result.
  const client = new DocswarmClient(nc);
  const viaClient = await client.result(expectedId, { timeoutMs: TIMEOUT_MS });
  t.deepEqual(viaClient, FinalResult.parse(stored.json()));
});

test("a submission naming an object (the retired Docswarm-Object) fails HEADER_INVALID and the object stays", async (t) => {
  const swarm = await startSwarm(t, { agents: 1 });
  const nc = await connectTo(t, swarm.url, "raw-client");
  // Someone else's document, stored by name: a submission naming it must not remove it.
  const other = await knownDoc("wire-named", 2);
  const docs = await new Objm(nc).open("docswarm-docs");
  await docs.putBlob({ name: other.docId }, other.bytes);
  const docId = "wire-names-object";
  const sub = await subscribeDone(nc, docId);
  const h = headers();
  h.set("Docswarm-Doc-Id", docId);
  h.set("Docswarm-Object", other.docId);
  nc.publish("docswarm.submit", new Uint8Array(), { headers: h });
  const r = assertFailed(t, await firstJson(sub), docId, "HEADER_INVALID", /Docswarm-Object is retired/);
  t.is(r.pageCount, 0);
  // The document ended (its cleanup ran): the named object is untouched.
  const info = await docs.info(other.docId);
  t.truthy(info && !info.deleted, "the named object is still stored");
  const kept = await docs.getBlob(other.docId);
  t.true(kept !== null && Buffer.from(kept).equals(Buffer.from(other.bytes)), "with its bytes");
});

/**
 * The run and priority of a small document's one task, from its final's summary header (it has no
 * job: split ended it, and the coordinator announced it from that header).
 */
async function splitRun(nc: NatsConnection, docId: string): Promise<{ runId: string; priority: unknown }> {
  const m = await (await jetstreamManager(nc)).streams.getMessage(STREAMS.done, {
    last_by_subj: subjects.done(docId),
  });
  const summary = validate(FinalSummary, JSON.parse(m?.header?.get(HEADERS.summary) ?? "null"));
  if (!summary.ok) throw new Error(summary.message);
  return { runId: summary.value.runId, priority: summary.value.priority };
}

test("plain docswarm.submit: no priority header runs at normal, an unknown one fails HEADER_INVALID", async (t) => {
  const swarm = await startSwarm(t, { agents: 1 });
  const nc = await connectTo(t, swarm.url, "raw-client");
  const plain = await knownDoc("wire-plain", 2);
  const odd = await knownDoc("wire-odd-priority", 2);
  const subs = [await subscribeDone(nc, plain.docId), await subscribeDone(nc, odd.docId)];
  const h = headers();
  h.set("Docswarm-Doc-Id", plain.docId);
  nc.publish("docswarm.submit", plain.bytes, { headers: h });
  const bad = headers();
  bad.set("Docswarm-Doc-Id", odd.docId);
  bad.set("Docswarm-Priority", "urgent");
  nc.publish("docswarm.submit", odd.bytes, { headers: bad });

  assertDone(t, await firstJson(subs[0]!), plain);
  assertFailed(t, await firstJson(subs[1]!), odd.docId, "HEADER_INVALID", /priority/i);
  const run = await splitRun(nc, plain.docId);
  t.is(run.priority, "normal");
  // Triage moved it before splitting: the run is the moved message's, after both originals.
  t.true(Number.parseInt(run.runId, 36) > 2, `run ${run.runId}`);
});

test("plain submissions in a full submit stream are split where they are (triage cannot copy them)", async (t) => {
  const swarm = await startSwarm(t, { agents: 0, topology: { submitMaxMsgs: 3 } });
  const nc = await connectTo(t, swarm.url, "raw-client");
  const docs = await Promise.all([0, 1, 2].map((i) => knownDoc(`wire-full-${i}`, 2)));
  const subs = await Promise.all(docs.map((d) => subscribeDone(nc, d.docId)));
  const seqs: number[] = [];
  for (const d of docs) {
    const h = headers();
    h.set("Docswarm-Doc-Id", d.docId);
    h.set("Docswarm-Priority", "high");
    seqs.push((await swarm.js.publish("docswarm.submit", d.bytes, { headers: h })).seq);
  }
  await swarm.host.spawn(1);
  for (const [i, d] of docs.entries()) assertDone(t, await firstJson(subs[i]!), d);
  const run = await splitRun(nc, docs[0]!.docId);
  t.is(
    Number.parseInt(run.runId, 36),
    seqs[0]!,
    "the first was split as it was: its run is its own sequence",
  );
  t.is(run.priority, "high", "split in place still reads the header");
});
