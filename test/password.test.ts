// The password of an encrypted document lives only in work-queue messages: its submission (until split
// has processed it) and the input of its extract tasks (until they are done). Everything an observer
// may read is watched while a chunked encrypted document is processed, and while another one's
// extract tasks are dead-lettered: the jobs bucket (every revision), the results, done, events and
// DLQ streams, and every line the roles log. The password must be in none of them, and must be in the
// task messages (else the extract tasks could not open the document and this test would prove nothing).
import { readFile } from "node:fs/promises";
import { type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { headers, type Msg, type NatsConnection } from "@nats-io/transport-node";
import test, { type ExecutionContext } from "ava";
import { AgentHost } from "../agents/index.ts";
import { DocswarmClient, listDeadLetters } from "../client/index.ts";
import { DeadLetterer } from "../coordinator/dead-letters.ts";
import { Coordinator } from "../coordinator/index.ts";
import { DLQ_HEADERS, HEADERS, type TopologyOptions } from "../schemas/index.ts";
import { BUCKETS, kvStream, kvSubject, STREAMS, subjects } from "../streams/index.ts";
import { stagePath, startTopology } from "./support/server.ts";
import { collectRuns } from "./support/tasks.ts";
import { waitFor } from "./support/wait.ts";

// The user password of test/fixtures/encrypted-4p.pdf (fixtures/README.md).
const PASSWORD = "Kq7-lantern-PW";
const bytes = new Uint8Array(await readFile(new URL("fixtures/encrypted-4p.pdf", import.meta.url)));
const topology: TopologyOptions = { maxDeliver: 2, backoffMs: [1000] };
const processing = { chunkMaxPages: 1, busyWholeDocumentMaxPages: 0 };

/** Every message published on `subject` while the test runs, as text (headers and body). */
function record(nc: NatsConnection, subject: string): string[] {
  const seen: string[] = [];
  nc.subscribe(subject, {
    callback: (_e, m: Msg) => {
      seen.push(messageText(m.subject, m.headers, m.data));
    },
  });
  return seen;
}

function messageText(subject: string, h: Msg["headers"] | undefined, data: Uint8Array): string {
  const headers = [...(h ?? [])].map(([k, vs]) => `${k}: ${vs.join(", ")}`).join("\n");
  return `${subject}\n${headers}\n${new TextDecoder().decode(data)}`;
}

/** Every message a stream still stores. */
async function stored(jsm: JetStreamManager, stream: string): Promise<string[]> {
  const { state } = await jsm.streams.info(stream);
  const out: string[] = [];
  for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
    const sm = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (sm) out.push(messageText(sm.subject, sm.header, sm.data));
  }
  return out;
}

const OBSERVED = {
  "jobs bucket": { subject: kvSubject(BUCKETS.jobs, ">"), stream: kvStream(BUCKETS.jobs) },
  "results stream": { subject: subjects.resultsAll, stream: STREAMS.results },
  "done stream": { subject: subjects.doneAll, stream: STREAMS.done },
  finals: { subject: subjects.final("*"), stream: undefined },
  "events stream": { subject: subjects.eventsAll, stream: STREAMS.events },
  DLQ: { subject: subjects.dlqAll, stream: STREAMS.dlq },
} as const;

async function swarm(t: ExecutionContext, stages?: string[]) {
  const { nc, url } = await startTopology(t, topology);
  const live = Object.fromEntries(Object.entries(OBSERVED).map(([name, o]) => [name, record(nc, o.subject)]));
  const tasks = record(nc, "docswarm.task.>");
  const runs = collectRuns(nc);
  await nc.flush(); // the server knows the subscriptions before anything is published
  const logs: string[] = [];
  const onLog = (level: string, msg: string, fields?: Record<string, unknown>) =>
    logs.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  const coordinator = await Coordinator.start({ servers: url, onLog });
  t.teardown(() => coordinator.close());
  const host = await AgentHost.start({
    servers: url,
    agents: 2,
    topology,
    processing,
    ...(stages && { stages }),
    onLog,
  });
  t.teardown(() => host.close({ abandonPulls: true }));
  return { nc, url, live, tasks, runs, logs, client: new DocswarmClient(nc) };
}

async function assertNowhere(t: ExecutionContext, s: Awaited<ReturnType<typeof swarm>>): Promise<void> {
  const jsm = await jetstreamManager(s.nc);
  for (const [name, o] of Object.entries(OBSERVED)) {
    const texts = [...s.live[name]!, ...(o.stream ? await stored(jsm, o.stream) : [])];
    t.true(texts.length > 0 || name === "DLQ", `${name}: something was published there`);
    const leaks = texts.filter((x) => x.includes(PASSWORD));
    t.deepEqual(leaks, [], `the password is in the ${name}`);
  }
  t.deepEqual(
    s.logs.filter((l) => l.includes(PASSWORD)),
    [],
    "the password is in a log line",
  );
  // Where it must be: the extract tasks that open the document.
  t.true(
    s.tasks.some((x) => x.includes(PASSWORD)),
    "the extract tasks carry the password",
  );
}

test("a chunked encrypted document is read with its password, which is in no job, result, event or log", async (t) => {
  const s = await swarm(t);
  await s.client.submit(bytes, { docId: "secret-4p", password: PASSWORD });
  const r = await s.client.result("secret-4p", { timeoutMs: 60_000 });
  t.is(r.status, "done", `${r.error?.code}: ${r.error?.message}`);
  t.is(r.pageCount, 4);
  for (const n of [1, 2, 3, 4]) t.regex(r.pages[n - 1]!.text, new RegExp(`Page ${n} of encrypted-4-fixture`));
  // Chunked: one extract task per page, each of which needed the password.
  // (A task published twice, e.g. by a redelivered submission, is seen twice here: count ids.)
  const extractTasks = s.tasks.filter((x) => x.startsWith("docswarm.task.extract."));
  t.is(new Set(extractTasks.map((x) => /"taskId":"([^"]+)"/.exec(x)?.[1])).size, 4);
  await assertNowhere(t, s);
});

test("dead-lettered extract tasks of an encrypted document keep no password in their DLQ copies", async (t) => {
  const s = await swarm(t, ["split", "merge", stagePath("crash-extract")]);
  await s.client.submit(bytes, { docId: "secret-dead", password: PASSWORD });
  const r = await s.client.result("secret-dead", { timeoutMs: 90_000 });
  t.is(r.status, "failed");
  t.is(r.error?.code, "MAX_DELIVERIES");
  // The password reached the extract tasks (they could have opened the document) ...
  t.true(s.runs.length > 0 && s.runs.every((run) => (run as { hasPassword?: boolean }).hasPassword === true));
  // ... and their copies in the DLQ say it was removed.
  const js = jetstream(s.nc);
  const dead = await waitFor(
    async () => {
      const all = await listDeadLetters(js, { stage: "extract" });
      return all.length >= 1 ? all : undefined;
    },
    { message: "the extract tasks to be dead-lettered" },
  );
  t.true(dead.every((d) => d.docId === "secret-dead" && d.code === "MAX_DELIVERIES"));
  const jsm = await jetstreamManager(s.nc);
  const copy = await jsm.streams.getMessage(STREAMS.dlq, { seq: dead[0]!.seq });
  t.is(copy?.header?.get(DLQ_HEADERS.redacted), "password");
  t.true(s.live.DLQ!.length > 0, "the DLQ copies were seen as they were published");
  await assertNowhere(t, s);
});

test("a dead-lettered submission's DLQ copy drops its Docswarm-Password header", async (t) => {
  // No agents: the submission stays queued, and the coordinator's dead-letterer moves it as it does
  // one that ran out of deliveries.
  const { nc } = await startTopology(t, topology);
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const h = headers();
  h.set(HEADERS.docId, "secret-submission");
  h.set(HEADERS.password, PASSWORD);
  const pa = await js.publish(subjects.submit, bytes, { headers: h });
  const dl = new DeadLetterer(
    nc,
    js,
    jsm,
    () => {},
    () => {},
  );
  const outcome = await dl.deadLetter({
    stream: STREAMS.submit,
    seq: pa.seq,
    consumer: "split-normal",
    deliveries: 2,
    code: "MAX_DELIVERIES",
    message: "delivered 2 times without finishing",
  });
  t.is(outcome, "dead-lettered");
  const [dead] = await listDeadLetters(js, { stage: "split" });
  const copy = await jsm.streams.getMessage(STREAMS.dlq, { seq: dead!.seq });
  t.is(copy?.header?.get(HEADERS.docId), "secret-submission");
  t.is(copy?.header?.get(DLQ_HEADERS.redacted), "password");
  t.false(copy?.header?.has(HEADERS.password));
  t.deepEqual(copy?.data, bytes, "the document's bytes are kept as they were");
  t.false(messageText(copy!.subject, copy!.header, copy!.data).includes(PASSWORD));
});
