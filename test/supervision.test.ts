// Agent supervision and dead letters: a crashed agent thread is restarted (with growing backoff when
// it keeps crashing) and its task redelivered; the watchdog ends a task that runs past its limit; a
// task that exhausts max_deliver is copied to docswarm.dlq.<stage>, its document fails with
// MAX_DELIVERIES, and `requeue` puts it back to work.
import { jetstream } from "@nats-io/jetstream";
import test, { type ExecutionContext } from "ava";
import { AgentHost } from "../agents/index.ts";
import { DocswarmClient, listDeadLetters, requeueDeadLetter } from "../client/index.ts";
import { Coordinator } from "../coordinator/index.ts";
import { decodeJson, type ProcessingConfig, TaskResult } from "../schemas/index.ts";
import { ensureStage, listAgents, subjects } from "../streams/index.ts";
import { startTopology } from "./support/server.ts";
import { collectRuns, PROBE_STAGE, publishTask } from "./support/tasks.ts";
import { waitFor } from "./support/wait.ts";

const topology = { maxDeliver: 3, backoffMs: [300, 300] };

type Logged = { level: string; msg: string; fields: Record<string, unknown> };

async function swarm(t: ExecutionContext, processing: Partial<ProcessingConfig> = {}) {
  const { nc, url } = await startTopology(t, topology);
  await ensureStage(nc, "probe", topology);
  const runs = collectRuns(nc);
  const coordinator = await Coordinator.start({ servers: url });
  t.teardown(() => coordinator.close());
  const logs: Logged[] = [];
  const startHost = async (p: Partial<ProcessingConfig> = processing) => {
    const host = await AgentHost.start({
      servers: url,
      agents: 1,
      stages: [PROBE_STAGE],
      topology,
      processing: p,
      onLog: (level, msg, fields) => logs.push({ level, msg, fields: fields ?? {} }),
    });
    t.teardown(() => host.close({ abandonPulls: true }));
    return host;
  };
  const host = await startHost();
  return { nc, url, runs, logs, host, startHost, client: new DocswarmClient(nc), js: jetstream(nc) };
}

test("a crashed agent thread is restarted and its task redelivered", async (t) => {
  const { nc, runs, logs } = await swarm(t);
  const task = await publishTask(nc, "probe", "crash-once", { crashOn: [1] });
  const run = await waitFor(() => runs.find((r) => r.taskId === task.taskId && r.event === "end"), {
    message: "the task to finish on its second delivery",
  });
  // Usually the second delivery: the host NAKs the dead thread's task at once. The NAK travels on
  // the host's connection; if nats-server handles it before it has seen the dead thread's socket
  // close, the redelivery goes to that thread's still-registered pull and is lost on the wire, and
  // ack_wait brings it back as the third. Either way it is redelivered and ends once.
  t.true(run.delivery >= 2, `delivery ${run.delivery}`);
  t.is(runs.filter((r) => r.taskId === task.taskId && r.event === "end").length, 1);
  t.true(logs.some((l) => l.msg === "agent thread exited; restarting"));
  const jsm = await jetstream(nc).jetstreamManager();
  const restarted = await waitFor(async () => (await listAgents(jsm)).find((a) => a.restarts > 0), {
    message: "the registration to count the restart",
  });
  t.is(restarted.restarts, 1);
});

test("an agent that keeps crashing backs off; its task is dead-lettered and its document fails with MAX_DELIVERIES", async (t) => {
  const { nc, runs, logs, host, client, js } = await swarm(t);
  const task = await publishTask(nc, "probe", "crash-always", { crashAlways: true });
  const final = await client.result("crash-always", { timeoutMs: 30_000 });
  t.is(final.status, "failed");
  t.is(final.error?.code, "MAX_DELIVERIES");
  t.regex(final.error?.message ?? "", /docswarm\.dlq\.probe/);
  t.is(runs.filter((r) => r.taskId === task.taskId && r.event === "start").length, topology.maxDeliver);

  const delays = logs
    .filter((l) => l.msg === "agent thread exited; restarting")
    .map((l) => Number(l.fields.delayMs));
  t.true(delays.length >= 2, `restarts: ${delays.join(", ")}`);
  for (let i = 1; i < delays.length; i++)
    t.true(delays[i]! > delays[i - 1]!, `growing: ${delays.join(", ")}`);

  const dead = await listDeadLetters(js, { stage: "probe" });
  t.is(dead.length, 1);
  t.like(dead[0], { stage: "probe", docId: "crash-always", taskId: task.taskId, code: "MAX_DELIVERIES" });
  t.is(dead[0]?.deliveries, topology.maxDeliver);

  // The host is still serving: a healthy task after the poison one runs.
  t.is(host.size, 1);
  const ok = await publishTask(nc, "probe", "healthy-after", {});
  await waitFor(() => runs.some((r) => r.taskId === ok.taskId && r.event === "end"), {
    message: "a healthy task",
  });
});

test("the watchdog stops a task past its time limit; requeued with a higher limit, it runs", async (t) => {
  const { nc, runs, logs, host, startHost, client, js } = await swarm(t, { taskTimeoutMs: 300 });
  const task = await publishTask(nc, "probe", "too-slow", { ms: 2500 });
  const final = await client.result("too-slow", { timeoutMs: 40_000 });
  t.is(final.error?.code, "MAX_DELIVERIES");
  t.true(logs.some((l) => l.msg === "task exceeded its time limit; terminating the agent"));
  t.false(
    runs.some((r) => r.taskId === task.taskId && r.event === "end"),
    "never finished",
  );

  // An operator raises the limit and requeues the dead letter.
  await host.close({ abandonPulls: true });
  await startHost({ taskTimeoutMs: 60_000 });
  const [dead] = await listDeadLetters(js);
  t.truthy(dead);
  const results: TaskResult[] = [];
  nc.subscribe(subjects.results("too-slow"), {
    callback: (_e, m) => {
      const r = decodeJson(TaskResult, m.data);
      if (r.ok) results.push(r.value);
    },
  });
  const requeued = await requeueDeadLetter(js, dead!.seq);
  t.is(requeued.action, "republished-task");
  await waitFor(() => results.find((r) => r.taskId === task.taskId && r.status === "ok"), {
    message: "the requeued task's result",
    timeoutMs: 30_000,
  });
  t.deepEqual(await listDeadLetters(js), [], "the entry left the DLQ");
});
