// Task leases: an agent host leases the tasks its agents run (and releases them), and a redelivered
// task whose holder is alive and renewing its lease waits for that holder instead of running twice.
import { jetstream } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import test, { type ExecutionContext } from "ava";
import { AgentHost } from "../agents/index.ts";
import { type AgentRegistration, decodeJson, TaskLease } from "../schemas/index.ts";
import { BUCKETS, ensureStage, kvPutWithTtl, STREAMS, taskLeaseKey } from "../streams/index.ts";
import { startTopology } from "./support/server.ts";
import { collectRuns, PROBE_STAGE, publishTask } from "./support/tasks.ts";
import { waitFor } from "./support/wait.ts";

/** Pretends to be an agent that holds `taskId`: a live registration and a lease, renewed until stopped. */
function fakeHolder(nc: NatsConnection, taskId: string) {
  const js = jetstream(nc);
  const agentId = "fake-holder";
  const beat = async () => {
    const now = Date.now();
    const reg: AgentRegistration = {
      v: 1,
      agentId,
      hostId: "fake-host",
      hostname: "fake",
      pid: 1,
      stages: ["probe"],
      status: "busy",
      concurrency: 1,
      currentTasks: [taskId],
      tasksDone: 0,
      tasksFailed: 0,
      restarts: 0,
      startedAt: now,
      heartbeatAt: now,
      hostRssBytes: 0,
    };
    await kvPutWithTtl(js, BUCKETS.agents, agentId, reg, 3000);
    const lease: TaskLease = {
      v: 1,
      taskId,
      agentId,
      hostId: "fake-host",
      stage: "probe",
      stream: STREAMS.tasks,
      seq: 1,
      delivery: 1,
      renewedAt: now,
      expiresAt: now + 3000,
    };
    await kvPutWithTtl(js, BUCKETS.leases, taskLeaseKey(taskId), lease, 3000);
  };
  const timer = setInterval(() => void beat().catch(() => {}), 250);
  return { start: beat, stop: () => clearInterval(timer) };
}

async function setup(t: ExecutionContext) {
  const { nc, url } = await startTopology(t);
  await ensureStage(nc, "probe");
  const runs = collectRuns(nc);
  const task = await publishTask(nc, "probe", "lease-doc", { ms: 0 });
  // The test takes the first delivery itself, as the holder (a raw pull, to keep its ack subject).
  const inbox = `_INBOX.holder.${task.taskId}`;
  const delivered = new Promise<string>((resolve) => {
    const sub = nc.subscribe(inbox, {
      callback: (_e, m) => {
        if (m.reply) {
          sub.unsubscribe();
          resolve(m.reply);
        }
      },
    });
  });
  nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${STREAMS.tasks}.probe-normal`, JSON.stringify({ batch: 1 }), {
    reply: inbox,
  });
  const ackSubject = await delivered;
  const first = {
    nak: () => nc.publish(ackSubject, "-NAK"),
    ack: () => nc.publish(ackSubject, "+ACK"),
  };
  const holder = fakeHolder(nc, task.taskId);
  t.teardown(holder.stop);
  await holder.start();
  const logs: string[] = [];
  const host = await AgentHost.start({
    servers: url,
    agents: 1,
    stages: [PROBE_STAGE],
    onLog: (_level, msg) => logs.push(msg),
  });
  t.teardown(() => host.close({ abandonPulls: true }));
  return { nc, runs, task, first, holder, logs };
}

test("a redelivered task whose holder is alive waits, and is not run when the holder finishes it", async (t) => {
  const { nc, runs, task, first, logs } = await setup(t);
  first.nak(); // the server hands the task to someone else while its holder still works
  await waitFor(() => logs.includes("redelivered task is still held by a live agent; waiting"), {
    message: "the agent to wait for the holder",
  });
  // The holder finishes and acks its (older) delivery: the task leaves the work queue.
  first.ack();
  const jsm = await jetstream(nc).jetstreamManager();
  await waitFor(
    async () => {
      const ci = await jsm.consumers.info(STREAMS.tasks, "probe-normal");
      return ci.num_ack_pending === 0 && ci.num_pending === 0;
    },
    { message: "the task to be settled" },
  );
  t.deepEqual(
    runs.filter((r) => r.taskId === task.taskId),
    [],
    "the waiting agent never ran it",
  );
});

test("a redelivered task runs once its holder stops renewing the lease", async (t) => {
  const { runs, task, first, holder, logs } = await setup(t);
  first.nak();
  await waitFor(() => logs.includes("redelivered task is still held by a live agent; waiting"), {
    message: "the agent to wait for the holder",
  });
  t.false(runs.some((r) => r.taskId === task.taskId));
  holder.stop(); // the holder dies: its lease goes stale
  const run = await waitFor(() => runs.find((r) => r.taskId === task.taskId && r.event === "end"), {
    message: "the task to run",
  });
  t.is(run.delivery, 2);
  t.not(run.agentId, "fake-holder");
});

test("an agent host leases a long task while it runs and releases the lease when it ends", async (t) => {
  const { nc, url } = await startTopology(t);
  await ensureStage(nc, "probe");
  const runs = collectRuns(nc);
  const host = await AgentHost.start({ servers: url, agents: 1, stages: [PROBE_STAGE] });
  t.teardown(() => host.close({ abandonPulls: true }));
  const task = await publishTask(nc, "probe", "leased-doc", { ms: 1500 });
  const leases = await new Kvm(nc).open(BUCKETS.leases);
  const lease = await waitFor(
    async () => {
      const e = await leases.get(taskLeaseKey(task.taskId));
      if (e?.operation !== "PUT") return undefined;
      const d = decodeJson(TaskLease, e.value);
      return d.ok ? d.value : undefined;
    },
    { message: "the task's lease" },
  );
  t.is(lease.agentId, host.agentIds()[0] ?? "");
  t.is(lease.hostId, host.hostId);
  t.is(lease.stage, "probe");
  await waitFor(() => runs.some((r) => r.taskId === task.taskId && r.event === "end"), {
    message: "the run",
  });
  await waitFor(
    async () => {
      const e = await leases.get(taskLeaseKey(task.taskId));
      return e?.operation !== "PUT";
    },
    { message: "the lease to be released" },
  );
  t.pass();
});
