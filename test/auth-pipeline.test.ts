// The whole swarm under auth: every role connects as its own user from `docswarm auth init` (least
// privilege), against a server running the generated config. Split, extract and merge over chunks,
// a document above max payload (an upload), a user stage pipeline, a DAG job, dead letters and their
// requeue by the admin, a coordinator failover and the dashboard all work, and the server logs no
// permissions violation while they do: the permissions cover what the code does.
import { jetstream } from "@nats-io/jetstream";
import test from "ava";
import { AgentHost } from "../agents/index.ts";
import { DocswarmClient, listDeadLetters, requeueDeadLetter } from "../client/index.ts";
import { Coordinator } from "../coordinator/index.ts";
import { Dashboard } from "../dashboard/index.ts";
import { authFromDir } from "../infra/index.ts";
import { Swarm } from "../swarm/index.ts";
import { assertDone } from "./support/assert.ts";
import { plainClient, startAuthServer } from "./support/auth.ts";
import { knownDoc } from "./support/pdf.ts";
import { stagePath } from "./support/server.ts";
import { PROBE_STAGE, publishTask } from "./support/tasks.ts";
import { waitFor } from "./support/wait.ts";

const RESULT_MS = 90_000;
const topology = { maxDeliver: 3, backoffMs: [300, 300] };

// The probe stage reports its runs on test.runs, which no agent may publish: those lines are the test's.
const unexpected = (lines: string[]) => lines.filter((l) => !l.includes('"test.runs"'));

test("split, extract, merge, uploads, user stages, DAG jobs, dead letters and the dashboard, each role as its own user", async (t) => {
  const s = await startAuthServer(t, { maxPayloadBytes: 64 * 1024 });
  const swarm = await Swarm.initialize({
    natsUrl: s.url,
    authDir: s.dir,
    agents: 2,
    topology,
    processing: { chunkMaxPages: 4, busyWholeDocumentMaxPages: 0 },
    stages: [
      "split",
      "extract",
      "merge",
      stagePath("chunk-words"),
      stagePath("square"),
      stagePath("sum"),
      PROBE_STAGE,
    ],
  });
  t.teardown(() => swarm.shutdown());

  // Chunks, merged in page order.
  const long = await knownDoc("auth-long", 14);
  await swarm.submit(long.bytes, { docId: long.docId });
  const r = assertDone(t, await swarm.result(long.docId, { timeoutMs: RESULT_MS }), long);
  t.true(r.chunks > 1);

  // Above max payload: the submitter uploads chunks, split stores the document.
  const big = await knownDoc("auth-big", 20, { charsPerPage: 3300 });
  t.true(big.bytes.length > 64 * 1024);
  t.true((await swarm.submit(big.bytes, { docId: big.docId })).viaObjectStore);
  assertDone(t, await swarm.result(big.docId, { timeoutMs: RESULT_MS }), big);

  // A user stage in the pipeline.
  const words = await knownDoc("auth-words", 5);
  await swarm.submit(words.bytes, { docId: words.docId, pipeline: "split,extract,chunk-words,merge" });
  const w = await swarm.result(words.docId, { timeoutMs: RESULT_MS });
  t.is(w.status, "done", JSON.stringify(w.error));
  t.true(Array.isArray(w.stages?.["chunk-words"]));

  // A DAG job.
  const tasks = [1, 2, 3].map((n) => ({ key: `square.${n}`, stage: "square", input: n }));
  const { jobId } = await swarm.client.submitJob({
    v: 1,
    jobId: `auth-dag-${Date.now()}`,
    tasks: [...tasks, { key: "sum.0", stage: "sum", deps: tasks.map((x) => x.key) }],
  });
  const job = await swarm.client.jobResult(jobId, { timeoutMs: RESULT_MS });
  t.deepEqual(job.outputs, { "sum.0": 14 });

  // Dead letters: a task that crashes its agent every time; the admin requeues it.
  const admin = await plainClient(t, s, "admin");
  const task = await publishTask(admin, "probe", `auth-crash-${Date.now()}`, { crashAlways: true });
  const failed = await swarm.result(task.docId, { timeoutMs: RESULT_MS });
  t.is(failed.error?.code, "MAX_DELIVERIES");
  const dead = await waitFor(
    async () => {
      const list = await listDeadLetters(jetstream(admin), { stage: "probe" });
      return list.find((d) => d.taskId === task.taskId);
    },
    { message: "the dead letter" },
  );
  const requeued = await requeueDeadLetter(jetstream(admin), dead.seq);
  t.is(requeued.action, "republished-task");

  // The dashboard as the observer: its snapshot shows the agents, and the requeued task's new dead
  // letter (not the requeued one) with its reason, from events: the observer cannot read the DLQ.
  const dashboard = await Dashboard.start({ servers: s.url, auth: authFromDir(s.dir, "observer"), port: 0 });
  t.teardown(() => dashboard.close());
  type Shown = { seq: number; taskId: string | null; code: string; reason: string | null };
  const snapshot = await waitFor(
    async () => {
      const res = await fetch(new URL("/api/snapshot", dashboard.url), {
        headers: dashboard.token ? { authorization: `Bearer ${dashboard.token}` } : {},
      });
      const body = (await res.json()) as { agents?: unknown[]; deadLetters?: { recent?: Shown[] } };
      const recent = body.deadLetters?.recent ?? [];
      return (body.agents?.length ?? 0) > 0 && recent.some((d) => d.seq !== dead.seq) ? body : undefined;
    },
    { message: "the dashboard's snapshot with the new dead letter" },
  );
  const recent = snapshot.deadLetters?.recent ?? [];
  t.false(
    recent.some((d) => d.seq === dead.seq),
    "the requeued entry left the list",
  );
  t.like(recent[0], { taskId: task.taskId, code: "MAX_DELIVERIES", reason: dead.reason });
  const status = await swarm.status();
  t.true(status.agents.length >= 2);
  t.truthy(status.leader);

  t.deepEqual(unexpected(await s.violations()), [], "no permissions violation while the swarm worked");
});

for (const tls of [false, true]) {
  test(`a standby coordinator takes over under auth ${tls ? "over TLS" : "without TLS"}; the new leader finishes the documents`, async (t) => {
    const s = await startAuthServer(t, { tls });
    const coordinatorAuth = authFromDir(s.dir, "coordinator");
    const first = await Coordinator.start({ servers: s.url, auth: coordinatorAuth, id: "auth-first" });
    t.teardown(() => first.close());
    const second = await Coordinator.start({ servers: s.url, auth: coordinatorAuth, id: "auth-second" });
    t.teardown(() => second.close());
    const host = await AgentHost.start({ servers: s.url, auth: authFromDir(s.dir, "agent"), agents: 2 });
    t.teardown(() => host.close());
    const client = await DocswarmClient.connect(s.url, authFromDir(s.dir, "submitter"));
    t.teardown(() => client.close());

    const leader = first.isLeader ? first : second;
    const standby = leader === first ? second : first;
    const before = await knownDoc("auth-before", 3);
    await client.submit(before.bytes, { docId: before.docId });
    assertDone(t, await client.result(before.docId, { timeoutMs: RESULT_MS }), before);
    await leader.close();
    await waitFor(() => standby.isLeader, { message: "the standby to lead", timeoutMs: 20_000 });
    const after = await knownDoc("auth-after", 6);
    await client.submit(after.bytes, { docId: after.docId });
    assertDone(t, await client.result(after.docId, { timeoutMs: RESULT_MS }), after);
    t.deepEqual(await s.violations(), [], "no permissions violation");
  });
}
