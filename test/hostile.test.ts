// Hostile and bad input. Every case ends with a failed final result carrying a clear code, or with
// a rejection the publisher sees at once; none restarts an agent thread or stops the coordinator,
// and the swarm still processes a good document afterwards.
import { connect as tcpConnect } from "node:net";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { headers, type NatsConnection } from "@nats-io/transport-node";
import anyTest, { type TestFn } from "ava";
import { AgentHost } from "../agents/index.ts";
import { DocswarmClient } from "../client/index.ts";
import { Coordinator } from "../coordinator/index.ts";
import { EmbeddedNatsServer } from "../infra/index.ts";
import { type ErrorCode, type FinalResult, HEADERS, type TaskInput } from "../schemas/index.ts";
import {
  BUCKETS,
  connectNats,
  defaultDocId,
  ensureTopology,
  jsonBytes,
  listAgents,
  STREAMS,
  subjects,
} from "../streams/index.ts";
import { cyclicPageTreePdf, deeplyNestedPdf, encryptedPdf, paddedPdf } from "./support/hostile-pdfs.ts";
import { denseDoc } from "./support/pdf.ts";
import { publishTask } from "./support/tasks.ts";
import { waitFor } from "./support/wait.ts";

type Ctx = {
  server: EmbeddedNatsServer;
  nc: NatsConnection;
  client: DocswarmClient;
  coordinator: Coordinator;
  host: AgentHost;
  logs: Array<{ level: string; msg: string }>;
};
const test = anyTest as TestFn<Ctx>;

const MAX_PAGES = 5;

test.before(async (t) => {
  const server = await EmbeddedNatsServer.start();
  const nc = await connectNats({ servers: server.url, name: "hostile-test" });
  await ensureTopology(nc);
  const coordinator = await Coordinator.start({
    servers: server.url,
    config: { unknownStageGraceMs: 300, unknownStageCheckMs: 200 },
  });
  const logs: Ctx["logs"] = [];
  const host = await AgentHost.start({
    servers: server.url,
    agents: 2,
    processing: { maxPages: MAX_PAGES },
    onLog: (level, msg) => logs.push({ level, msg }),
  });
  t.context = { server, nc, client: new DocswarmClient(nc), coordinator, host, logs };
});

test.after.always(async (t) => {
  const c = t.context;
  await c.host?.close({ abandonPulls: true });
  await c.coordinator?.close();
  await c.nc?.close();
  await c.server?.close();
});

async function submitRaw(
  t: { context: Ctx },
  body: Uint8Array,
  h: Record<string, string>,
  subject: string = subjects.submit,
): Promise<void> {
  const hdrs = headers();
  for (const [k, v] of Object.entries(h)) hdrs.set(k, v);
  await jetstream(t.context.nc).publish(subject, body, { headers: hdrs });
}

async function failedWith(t: { context: Ctx }, docId: string): Promise<FinalResult> {
  const r = await t.context.client.result(docId, { timeoutMs: 30_000 });
  return r;
}

const badDocuments: Array<[string, () => Uint8Array | Promise<Uint8Array>, ErrorCode]> = [
  [
    "not a PDF",
    () => new TextEncoder().encode("<html><body>definitely not a pdf</body></html>"),
    "PDF_INVALID",
  ],
  ["empty", () => new Uint8Array(), "PDF_EMPTY"],
  [
    "truncated",
    async () => {
      const { bytes } = await denseDoc("to-truncate", 3);
      return bytes.slice(0, Math.floor(bytes.length * 0.6));
    },
    "PDF_TRUNCATED",
  ],
  ["encrypted", encryptedPdf, "PDF_PASSWORD_REQUIRED"],
  [
    `more pages than the limit (${MAX_PAGES})`,
    async () => (await denseDoc("too-long", 9)).bytes,
    "PDF_TOO_MANY_PAGES",
  ],
];

for (const [name, make, code] of badDocuments) {
  test(`${name}: the document fails with ${code}`, async (t) => {
    const docId = `bad-${code.toLowerCase()}-${name.length}`;
    await t.context.client.submit(await make(), { docId });
    const r = await failedWith(t, docId);
    t.is(r.status, "failed");
    t.is(r.error?.code, code, r.error?.message);
    t.false(r.error?.retryable);
  });
}

// Decided by reading: a hostile structure that still leaves a readable page is processed; the pages
// that cannot be read carry their error, and the document is done with a warning.
test("a page tree that contains itself: its one real page is read, the phantom ones carry errors", async (t) => {
  await t.context.client.submit(cyclicPageTreePdf(), { docId: "hostile-cyclic" });
  const r = await failedWith(t, "hostile-cyclic");
  t.is(r.status, "done", r.error?.message);
  t.is(r.pages[0]!.error, undefined);
  t.true(r.pages.slice(1).every((p) => p.error?.code === "PDF_PAGE_CORRUPT"));
  t.true(r.warnings?.some((w) => w.code === "PDF_PAGE_FAILED"));
});

test("arrays nested 200,000 deep in a page dictionary: no stack overflow, the page is read", async (t) => {
  await t.context.client.submit(deeplyNestedPdf(), { docId: "hostile-nested" });
  const r = await failedWith(t, "hostile-nested");
  t.is(r.status, "done", r.error?.message);
  t.is(r.pageCount, 1);
});

test("invalid submission headers fail the document with HEADER_INVALID, under the body's id when the doc id is bad", async (t) => {
  const { bytes } = await denseDoc("headers", 1);
  await submitRaw(t, bytes, { [HEADERS.docId]: "not a valid id!" });
  const bySha = await failedWith(t, defaultDocId(bytes));
  t.is(bySha.error?.code, "HEADER_INVALID");
  await submitRaw(t, bytes, { [HEADERS.docId]: "bad-priority", [HEADERS.priority]: "urgent" });
  t.is((await failedWith(t, "bad-priority")).error?.code, "HEADER_INVALID");
  await submitRaw(t, bytes, { [HEADERS.docId]: "bad-reprocess", [HEADERS.reprocess]: "maybe" });
  t.is((await failedWith(t, "bad-reprocess")).error?.code, "HEADER_INVALID");
  // Docswarm-Object is retired: naming an object (there or not) fails the submission.
  await submitRaw(t, new Uint8Array(), { [HEADERS.docId]: "no-object", [HEADERS.object]: "missing-object" });
  t.is((await failedWith(t, "no-object")).error?.code, "HEADER_INVALID");
  await submitRaw(t, bytes, { [HEADERS.docId]: "object-and-body", [HEADERS.object]: "x" });
  t.is((await failedWith(t, "object-and-body")).error?.code, "HEADER_INVALID");
});

test("a submission without any header is processed under the SHA-256 id of its bytes", async (t) => {
  const { bytes } = await denseDoc("no-headers", 2);
  await jetstream(t.context.nc).publish(subjects.submit, bytes);
  const r = await t.context.client.result(defaultDocId(bytes), { timeoutMs: 30_000 });
  t.is(r.status, "done");
  t.is(r.pageCount, 2);
});

test("an unknown priority in the subject is refused at publish time", async (t) => {
  const js = jetstream(t.context.nc);
  await t.throwsAsync(js.publish("docswarm.submit.urgent", new Uint8Array([1])));
  await t.throwsAsync(js.publish("docswarm.task.extract.urgent", jsonBytes({ v: 1 })));
});

test("a task for a stage no agent serves is dead-lettered and its document fails with UNKNOWN_STAGE", async (t) => {
  await publishTask(t.context.nc, "nosuch", "unknown-stage-doc", {});
  const r = await failedWith(t, "unknown-stage-doc");
  t.is(r.error?.code, "UNKNOWN_STAGE");
  t.regex(r.error?.message ?? "", /docswarm\.dlq\.nosuch/);
});

test("a task whose envelope names another stage than its subject fails with UNKNOWN_STAGE", async (t) => {
  const task: TaskInput = {
    v: 1,
    taskId: "wrong-stage.r1.other.0",
    docId: "wrong-stage",
    runId: "r1",
    stage: "other",
    priority: "normal",
    index: 0,
    input: {},
    createdAt: Date.now(),
  };
  await jetstream(t.context.nc).publish(subjects.task("extract", "normal"), jsonBytes(task));
  t.is((await failedWith(t, "wrong-stage")).error?.code, "UNKNOWN_STAGE");
});

// Serial, so no other test's documents move the jobs bucket or the done stream meanwhile.
test.serial("malformed and schema-invalid JSON on task and result subjects changes nothing", async (t) => {
  const { nc } = t.context;
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const jobs = await new Kvm(nc).open(BUCKETS.jobs);
  const snapshot = async () => {
    const entries: Record<string, number> = {};
    for await (const k of await jobs.keys()) entries[k] = (await jobs.get(k))?.revision ?? 0;
    const [done, dlq, tasks] = await Promise.all(
      [STREAMS.done, STREAMS.dlq, STREAMS.tasks].map((s) => jsm.streams.info(s)),
    );
    const agents = (await listAgents(jsm)).map((a) => `${a.agentId}:${a.restarts}`).sort();
    return {
      jobs: entries,
      done: done!.state.last_seq,
      dlq: dlq!.state.last_seq,
      tasksLeft: tasks!.state.messages,
      agents,
    };
  };
  await waitFor(async () => (await snapshot()).tasksLeft === 0, { message: "earlier tasks to be done" });
  const before = await snapshot();
  const events: string[] = [];
  const sub = nc.subscribe(subjects.eventsAll, { callback: (_e, m) => void events.push(m.subject) });
  const restartsBefore = t.context.logs.filter((l) => l.msg === "agent thread exited; restarting").length;

  const garbage = [
    new TextEncoder().encode("{not json"),
    new Uint8Array([0xff, 0xfe, 0x00, 0x01]),
    jsonBytes({ v: 1, hello: "world" }),
    jsonBytes({ v: 1, taskId: "x", docId: "../../etc", runId: "R!", stage: "extract" }),
    jsonBytes([1, 2, 3]),
    jsonBytes(null),
  ];
  for (const g of garbage) {
    await js.publish(subjects.task("extract", "normal"), g);
    await js.publish(subjects.task("merge", "high"), g);
    await js.publish(subjects.result("garbage-doc", "extract.0"), g);
    nc.publish(subjects.result("garbage-doc", "extract.0"), g); // core publishes too
  }
  await waitFor(
    async () => {
      const infos = await Promise.all(
        ["extract-normal", "merge-high"].map((c) => jsm.consumers.info("DOCSWARM_TASKS", c)),
      );
      const coord = await jsm.consumers.info("DOCSWARM_RESULTS", "coordinator");
      return [...infos, coord].every((i) => i.num_pending === 0 && i.num_ack_pending === 0);
    },
    { message: "every bad message to be settled" },
  );
  // A heartbeat later (registrations refresh every second), the swarm is as it was.
  await new Promise((r) => setTimeout(r, 1500));
  sub.unsubscribe();
  const after = await snapshot();
  t.deepEqual(after.jobs, before.jobs, "no job created or moved");
  t.is(after.done, before.done, "no final result stored");
  t.is(after.dlq, before.dlq, "nothing dead-lettered");
  t.is(after.tasksLeft, 0, "every bad task left its queue");
  t.deepEqual(after.agents, before.agents, "the same agents, none restarted");
  t.is(
    t.context.logs.filter((l) => l.msg === "agent thread exited; restarting").length,
    restartsBefore,
    "no agent thread crashed",
  );
  t.deepEqual(
    events.filter((e) => e.startsWith("docswarm.events.doc.") || e.startsWith("docswarm.events.task.")),
    [],
    "no document or task event",
  );
  t.true(t.context.coordinator.isLeader, "the coordinator still leads");
});

test("a payload above the server's max payload from a raw client is refused to that client only", async (t) => {
  const url = new URL(t.context.server.url);
  const reply = await new Promise<string>((resolve, reject) => {
    const sock = tcpConnect(Number(url.port), url.hostname);
    let text = "";
    sock.on("data", (d) => {
      text += d.toString("latin1");
      if (text.startsWith("INFO") && !text.includes("CONNECT_SENT")) {
        text += "CONNECT_SENT";
        sock.write('CONNECT {"verbose":false,"pedantic":false}\r\n');
        sock.write(`PUB ${subjects.submit} ${2 * 1024 * 1024}\r\n`);
        sock.write(Buffer.alloc(64 * 1024, 0x41));
      }
      if (text.includes("-ERR")) {
        sock.destroy();
        resolve(text.slice(text.indexOf("-ERR")));
      }
    });
    sock.on("error", reject);
    sock.setTimeout(10_000, () => reject(new Error("no answer from the server")));
  });
  t.regex(reply, /Maximum Payload/i);
  // A client library refuses it before sending; the swarm's own client goes through the object store.
  t.throws(() => t.context.nc.publish(subjects.submit, new Uint8Array(2 * 1024 * 1024)));
  const sub = await t.context.client.submit(paddedPdf(1_200_000), { docId: "big-doc" });
  t.true(sub.viaObjectStore);
  const r = await t.context.client.result("big-doc", { timeoutMs: 30_000 });
  t.is(r.status, "done", r.error?.message);
  t.deepEqual(
    r.pages.map((p) => p.text.trim()),
    ["Padded page 1", "Padded page 2"],
  );
});

test.after(
  "no agent thread restarted, the coordinator still leads, and a good document still completes",
  async (t) => {
    const { bytes } = await denseDoc("after-all", 3);
    await t.context.client.submit(bytes, { docId: "after-all" });
    const r = await t.context.client.result("after-all", { timeoutMs: 30_000 });
    t.is(r.status, "done");
    t.true(t.context.coordinator.isLeader);
    t.is(t.context.host.size, 2);
    t.deepEqual(
      t.context.logs.filter((l) => l.msg === "agent thread exited; restarting"),
      [],
      "no agent thread crashed",
    );
  },
);
