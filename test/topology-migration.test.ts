// `docswarm init` brings a topology an older docswarm wrote up to date without losing a message:
// the layout docswarm 84b426f created (test/fixtures/topology-v1.json, captured from its
// ensureTopology()) is rebuilt on a fresh server and filled (submissions waiting, a final result,
// an event, a job, a stored document), then migrated. Every stream keeps its messages and every
// consumer its position; the waiting submissions are processed afterwards.
import { readFileSync } from "node:fs";
import { jetstream, jetstreamManager, type StreamConfig } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { Objm } from "@nats-io/obj";
import { headers } from "@nats-io/transport-node";
import test from "ava";
import { DocswarmClient } from "../client/index.ts";
import { FinalResult, HEADERS } from "../schemas/index.ts";
import {
  applyTopology,
  BUCKETS,
  ensureTopology,
  FINALS_CONSUMER,
  jsonBytes,
  logCheck,
  OBJECT_STORES,
  STREAMS,
  subjects,
  TOPOLOGY_VERSION,
  TRIAGE_CONSUMER,
} from "../streams/index.ts";
import { Swarm } from "../swarm/index.ts";
import { runCliWithEnv } from "./support/cli.ts";
import { denseDoc } from "./support/pdf.ts";
import { connectTo, startServer } from "./support/server.ts";

type Fixture = {
  streams: Array<{ config: StreamConfig; consumers: Array<Record<string, unknown>> }>;
};
const V1: Fixture = JSON.parse(
  readFileSync(new URL("./fixtures/topology-v1.json", import.meta.url), "utf8"),
) as Fixture;

test("docswarm init migrates the v1 layout in place: nothing lost, waiting work processed after", async (t) => {
  t.timeout(120_000);
  const server = await startServer(t);
  const nc = await connectTo(t, server.url, "docswarm-test", { reconnect: true });
  const jsm = await jetstreamManager(nc);
  for (const s of V1.streams) {
    const { metadata: _server, ...config } = s.config;
    await jsm.streams.add(config);
    for (const c of s.consumers) await jsm.consumers.add(config.name, c);
  }

  // What a running v1 swarm leaves: submissions waiting, a final result, an event, a job, bytes.
  const js = jetstream(nc);
  const waiting = await Promise.all([1, 2, 3].map((i) => denseDoc(`migrate-${i}`, i)));
  for (const d of waiting) {
    const h = headers();
    h.set(HEADERS.docId, d.docId);
    await js.publish(subjects.submit, d.bytes, { headers: h });
  }
  const old: FinalResult = FinalResult.parse({
    v: 1,
    docId: "processed-before",
    status: "done",
    source: "old.pdf",
    pageCount: 1,
    pages: [{ page: 1, text: "kept across the migration", chars: 25, words: 4 }],
    meta: null,
    timings: { submittedAt: 1, finishedAt: 2, totalMs: 1, stageMs: {} },
    chunks: 1,
  });
  await js.publish(subjects.final(old.docId), jsonBytes(old), { expect: { lastSubjectSequence: 0 } });
  await js.publish(subjects.event("doc.done", old.docId), jsonBytes({ type: "doc.done", at: 2 }));
  await (await new Kvm(nc).open(BUCKETS.jobs)).put("in-flight-job", jsonBytes({ v: 1, note: "a job" }));
  await (await new Objm(nc).open(OBJECT_STORES.docs)).putBlob(
    { name: "kept.bytes" },
    new Uint8Array(300_000),
  );

  const state = async () => {
    const out: Record<string, { messages: number; first: number; last: number; bytes: number }> = {};
    for await (const si of jsm.streams.list())
      out[si.config.name] = {
        messages: si.state.messages,
        first: si.state.first_seq,
        last: si.state.last_seq,
        bytes: si.state.bytes,
      };
    const consumers: Record<string, { delivered: number; ackFloor: number; pending: number }> = {};
    for (const s of V1.streams)
      for await (const ci of jsm.consumers.list(s.config.name))
        consumers[`${s.config.name}/${ci.name}`] = {
          delivered: ci.delivered.stream_seq,
          ackFloor: ci.ack_floor.stream_seq,
          pending: ci.num_pending,
        };
    return { streams: out, consumers };
  };
  const configs = async () => {
    const out: Record<string, StreamConfig> = {};
    for await (const si of jsm.streams.list()) out[si.config.name] = si.config;
    return out;
  };
  const before = await state();
  const v1Configs = await configs();
  t.is(before.streams[STREAMS.submit]!.messages, 3);
  t.is(before.consumers[`${STREAMS.submit}/split-normal`]!.pending, 3);

  // A role checking the v1 layout says it is older, and changes nothing.
  const said: string[] = [];
  const check = await applyTopology(nc, {}, { mode: "check", create: false });
  t.is(check.found, 1);
  t.deepEqual(check.missing, []);
  t.deepEqual(await configs(), v1Configs);
  said.push(...check.changes.flatMap((c) => c.differs.map((d) => `${c.target} ${d.field}`)));
  t.true(said.includes("docswarm-jobs allow_msg_ttl"), said.join(", "));
  t.true(said.includes(`${STREAMS.results} allow_msg_ttl`), said.join(", "));

  const env = { NATS_URL: server.url };
  const dry = await runCliWithEnv(["init", "--dry-run"], env);
  t.is(dry.code, 0, dry.stderr);
  t.regex(dry.stdout, /found 1\).*DRY RUN/);
  t.regex(dry.stdout, /update\s+docswarm-jobs\s+allow_msg_ttl false -> true/);
  t.regex(dry.stdout, /update\s+DOCSWARM_DONE\s+.*max_msg_size unlimited -> 1 MiB/);
  t.regex(
    dry.stdout,
    /update\s+DOCSWARM_DONE\s+subjects \["docswarm\.final\.\*"\] -> \["docswarm\.final\.\*","docswarm\.reprocess\.\*"\]/,
  );
  t.deepEqual(await configs(), v1Configs, "a dry run changes nothing");

  const init = await runCliWithEnv(["init"], env);
  t.is(init.code, 0, `${init.stdout}\n${init.stderr}`);
  t.regex(init.stdout, /change\(s\) applied/);
  const v2 = await configs();
  for (const [name, c] of Object.entries(v2))
    t.is(c.metadata?.["docswarm.version"], String(TOPOLOGY_VERSION), name);
  t.true(v2[`KV_${BUCKETS.jobs}`]!.allow_msg_ttl);
  t.true(v2[STREAMS.results]!.allow_msg_ttl, "split's results of documents it ended expire by themselves");
  t.is(v2[STREAMS.done]!.max_msg_size, 1024 * 1024);
  // Layout 3: the done stream keeps reprocess marks too.
  t.deepEqual(v2[STREAMS.done]!.subjects, [subjects.final("*"), subjects.reprocess("*")]);
  // Every stream kept its messages and every consumer its position; the plain submissions split-normal
  // took in v1 wait on split-triage now (layout 3).
  const submitKey = (c: string) => `${STREAMS.submit}/${c}`;
  t.deepEqual(
    await state(),
    {
      ...before,
      consumers: {
        ...before.consumers,
        [submitKey("split-normal")]: { ...before.consumers[submitKey("split-normal")]!, pending: 0 },
        [submitKey("split-triage")]: { delivered: 0, ackFloor: 0, pending: 3 },
        // Layout 4: the coordinator's finals consumer starts after what the done stream holds (its
        // one old result was announced by the split result of its day).
        [`${STREAMS.done}/${FINALS_CONSUMER}`]: { delivered: 1, ackFloor: 1, pending: 0 },
      },
    },
    "every stream kept its messages, every consumer its position",
  );
  const again = await runCliWithEnv(["init"], env);
  t.regex(again.stdout, /Nothing to change/);

  // The migrated topology runs: the waiting submissions are processed, the old result is there.
  const swarm = await Swarm.initialize({ natsUrl: server.url, agents: 1 });
  t.teardown(() => swarm.shutdown());
  const client = new DocswarmClient(nc);
  for (const d of waiting) {
    const r = await client.result(d.docId, { timeoutMs: 60_000 });
    t.is(r.status, "done", r.error?.message);
    t.is(r.pageCount, d.pages.length);
  }
  t.deepEqual(await client.result(old.docId), old);
});

test("the layout before triage (split-normal on plain docswarm.submit): roles say run init and run; init migrates", async (t) => {
  t.timeout(120_000);
  const server = await startServer(t);
  const nc = await connectTo(t, server.url, "docswarm-test", { reconnect: true });
  const jsm = await jetstreamManager(nc);
  // Layout 2 as docswarm wrote it: no triage consumer, split-normal takes plain submissions too.
  await ensureTopology(nc);
  await jsm.consumers.delete(STREAMS.submit, TRIAGE_CONSUMER);
  await jsm.consumers.update(STREAMS.submit, "split-normal", {
    filter_subjects: [subjects.submit, subjects.submitAt("normal")],
  });
  for await (const si of jsm.streams.list())
    await jsm.streams.update(si.config.name, {
      ...si.config,
      metadata: { ...si.config.metadata, "docswarm.version": "2" },
    });
  const doc = await denseDoc("before-triage", 2);
  const h = headers();
  h.set(HEADERS.docId, doc.docId);
  await jetstream(nc).publish(subjects.submit, doc.bytes, { headers: h });

  // A role that may create what is missing checks it: it cannot create the triage consumer (the work
  // queue refuses a second consumer of plain docswarm.submit), so it reports, does not wait or fail.
  const report = await applyTopology(nc, {}, { mode: "check", create: true });
  t.deepEqual(report.missing, []);
  t.deepEqual(
    report.changes.filter((c) => c.error),
    [],
  );
  const said: string[] = [];
  logCheck(report, (_level, msg, fields) => said.push(`${msg} ${JSON.stringify(fields ?? {})}`));
  t.true(
    said.some((s) => s.includes("run `docswarm init`") && s.includes("split-triage")),
    said.join("\n"),
  );
  t.false((await jsm.consumers.list(STREAMS.submit).next()).some((c) => c.name === TRIAGE_CONSUMER));

  // Roles run on it as it is (split-normal still takes the plain submission).
  const swarm = await Swarm.initialize({ natsUrl: server.url, agents: 1 });
  t.teardown(() => swarm.shutdown());
  const client = new DocswarmClient(nc);
  t.is((await client.result(doc.docId, { timeoutMs: 60_000 })).status, "done");

  const init = await runCliWithEnv(["init"], { NATS_URL: server.url });
  t.is(init.code, 0, `${init.stdout}\n${init.stderr}`);
  t.regex(init.stdout, /update\s+DOCSWARM_SUBMIT\/split-normal\s+filter_subjects/);
  t.regex(init.stdout, /create\s+DOCSWARM_SUBMIT\/split-triage\s+consumer/);
  const normal = await jsm.consumers.info(STREAMS.submit, "split-normal");
  t.deepEqual(normal.config.filter_subjects ?? [normal.config.filter_subject], [subjects.submitAt("normal")]);
  const triage = await jsm.consumers.info(STREAMS.submit, TRIAGE_CONSUMER);
  t.deepEqual(triage.config.filter_subjects ?? [triage.config.filter_subject], [subjects.submit]);

  // After init a plain submission goes through triage (the running agent probes it).
  const after = await denseDoc("after-triage", 2);
  const h2 = headers();
  h2.set(HEADERS.docId, after.docId);
  h2.set(HEADERS.priority, "high");
  await jetstream(nc).publish(subjects.submit, after.bytes, { headers: h2 });
  t.is((await client.result(after.docId, { timeoutMs: 60_000 })).status, "done");
  t.is((await jsm.consumers.info(STREAMS.submit, TRIAGE_CONSUMER)).delivered.stream_seq > 0, true);
});

test("init to layout 4 creates the finals consumer before it marks the done stream: an agent reading the mark finds the consumer", async (t) => {
  const server = await startServer(t);
  const nc = await connectTo(t, server.url, "docswarm-test");
  const jsm = await jetstreamManager(nc);
  // Layout 3: no finals consumer, the done stream marked 3.
  await ensureTopology(nc);
  await jsm.consumers.delete(STREAMS.done, FINALS_CONSUMER);
  const done = (await jsm.streams.info(STREAMS.done)).config;
  await jsm.streams.update(STREAMS.done, {
    ...done,
    metadata: { ...done.metadata, "docswarm.version": "3" },
  });

  // The JetStream API requests init sends for the done stream, in order.
  const order: string[] = [];
  const sub = nc.subscribe(`$JS.API.*.*.${STREAMS.done}.>`, {
    callback: (_e, m) => {
      if (m.subject.startsWith("$JS.API.CONSUMER.CREATE.") && m.subject.includes(FINALS_CONSUMER))
        order.push("finals consumer");
    },
  });
  const marks = nc.subscribe(`$JS.API.STREAM.UPDATE.${STREAMS.done}`, {
    callback: (_e, m) => {
      const config = JSON.parse(new TextDecoder().decode(m.data)) as StreamConfig;
      order.push(`mark ${config.metadata?.["docswarm.version"]}`);
    },
  });
  await nc.flush();
  await ensureTopology(nc);
  await nc.flush();
  sub.unsubscribe();
  marks.unsubscribe();
  t.deepEqual(order, ["finals consumer", `mark ${TOPOLOGY_VERSION}`]);
  t.is(
    (await jsm.streams.info(STREAMS.done)).config.metadata?.["docswarm.version"],
    String(TOPOLOGY_VERSION),
  );
  t.is((await jsm.consumers.info(STREAMS.done, FINALS_CONSUMER)).config.headers_only, true);
});
