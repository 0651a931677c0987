// Task dependencies: a DAG job's tasks are released when their dependencies are done, a failure
// fails the job and its dependents with a clear error, and cycles or unknown dependencies are
// rejected (by the client before publishing, and by the coordinator for raw publishers).
import { jetstream } from "@nats-io/jetstream";
import test from "ava";
import { ClientError } from "../client/index.ts";
import { checkGraph, releasedBy } from "../jobs/index.ts";
import { decodeJson, Job, type JobSpecInput } from "../schemas/index.ts";
import { jsonBytes, subjects } from "../streams/index.ts";
import { stagePath, startSwarm } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

const stages = () => [stagePath("square"), stagePath("sum")];

test("a map-reduce DAG: the reduce runs once every map is done, over their outputs in order", async (t) => {
  const swarm = await startSwarm(t, { agents: 2, stages: stages() });
  const tasks: JobSpecInput["tasks"] = [1, 2, 3, 4, 5].map((n) => ({
    key: `square.${n}`,
    stage: "square",
    input: n,
  }));
  tasks.push({ key: "sum.0", stage: "sum", deps: tasks.map((x) => x.key) });
  const { jobId } = await swarm.client.submitJob({ v: 1, jobId: "dag-mapreduce", tasks });
  const r = await swarm.client.jobResult(jobId, { timeoutMs: 60_000 });
  t.is(r.status, "done");
  t.deepEqual(r.outputs, { "sum.0": 1 + 4 + 9 + 16 + 25 });
  // The job record shows every task done.
  const e = await (await swarm.js.jetstreamManager()).streams.getMessage("KV_docswarm-jobs", {
    last_by_subj: "$KV.docswarm-jobs.dag-mapreduce",
  });
  const job = decodeJson(Job, e!.data);
  t.true(job.ok && Object.values(job.value.tasks).every((x) => x.state === "done"));
});

test("a chain a→b→c releases one task at a time and reports the sink's output", async (t) => {
  const swarm = await startSwarm(t, { agents: 1, stages: stages() });
  const { jobId } = await swarm.client.submitJob({
    v: 1,
    jobId: "dag-chain",
    tasks: [
      { key: "square.1", stage: "square", input: 3 },
      { key: "sum.1", stage: "sum", deps: ["square.1"] },
      { key: "square.2", stage: "square", deps: ["sum.1"], inputMode: "static", input: 2 },
    ],
  });
  const r = await swarm.client.jobResult(jobId, { timeoutMs: 60_000 });
  t.is(r.status, "done");
  t.deepEqual(r.outputs, { "square.2": 4 });
});

test("a failing task fails the job with its error and marks its dependents DEPENDENCY_FAILED", async (t) => {
  const swarm = await startSwarm(t, { agents: 2, stages: stages() });
  const { jobId } = await swarm.client.submitJob({
    v: 1,
    jobId: "dag-fails",
    tasks: [
      { key: "square.1", stage: "square", input: 2 },
      { key: "square.2", stage: "square", input: -1 },
      { key: "sum.0", stage: "sum", deps: ["square.1", "square.2"] },
      { key: "sum.1", stage: "sum", deps: ["sum.0"] },
    ],
  });
  const r = await swarm.client.jobResult(jobId, { timeoutMs: 60_000 });
  t.is(r.status, "failed");
  t.is(r.error?.code, "SCHEMA_INVALID");
  t.regex(r.error?.message ?? "", /square\.2 failed: negative input -1/);
  const job = await waitFor(
    async () => {
      const e = await jetstream(swarm.nc)
        .jetstreamManager()
        .then((m) =>
          m.streams.getMessage("KV_docswarm-jobs", { last_by_subj: "$KV.docswarm-jobs.dag-fails" }),
        );
      const j = e ? decodeJson(Job, e.data) : undefined;
      return j?.ok && j.value.status === "failed" ? j.value : undefined;
    },
    { timeoutMs: 10_000, message: "job marked failed" },
  );
  t.is(job.tasks["square.2"]?.state, "failed");
  for (const k of ["sum.0", "sum.1"]) {
    t.is(job.tasks[k]?.state, "failed", k);
    t.is(job.tasks[k]?.error?.code, "DEPENDENCY_FAILED", k);
    t.regex(job.tasks[k]?.error?.message ?? "", /square\.2/);
  }
});

test("cycles and unknown dependencies are rejected by the client and by the coordinator", async (t) => {
  const swarm = await startSwarm(t, { agents: 1, stages: stages() });
  const cyclic: JobSpecInput = {
    v: 1,
    jobId: "dag-cycle",
    tasks: [
      { key: "square.1", stage: "square", deps: ["square.3"] },
      { key: "square.2", stage: "square", deps: ["square.1"] },
      { key: "square.3", stage: "square", deps: ["square.2"] },
    ],
  };
  const err = await t.throwsAsync(swarm.client.submitJob(cyclic), { instanceOf: ClientError });
  t.is((err as ClientError).code, "DAG_INVALID");
  t.regex(err!.message, /cycle/);

  // A raw publisher skips the client's check; the coordinator rejects it with a final result.
  await jetstream(swarm.nc).publish(subjects.jobSubmit, jsonBytes(cyclic));
  const r = await swarm.client.jobResult("dag-cycle", { timeoutMs: 30_000 });
  t.is(r.status, "failed");
  t.is(r.error?.code, "DAG_INVALID");
  t.regex(r.error?.message ?? "", /cycle/);

  await jetstream(swarm.nc).publish(
    subjects.jobSubmit,
    jsonBytes({ v: 1, jobId: "dag-unknown", tasks: [{ key: "sum.0", stage: "sum", deps: ["square.9"] }] }),
  );
  const u = await swarm.client.jobResult("dag-unknown", { timeoutMs: 30_000 });
  t.is(u.error?.code, "DAG_INVALID");
  t.regex(u.error?.message ?? "", /unknown task 'square\.9'/);

  // A key naming another stage would never complete (results come back as <stage>.<index>).
  const misnamed: JobSpecInput = {
    v: 1,
    jobId: "dag-misnamed",
    tasks: [{ key: "sum.1", stage: "square", deps: [] }],
  };
  const e2 = await t.throwsAsync(swarm.client.submitJob(misnamed), { instanceOf: ClientError });
  t.is((e2 as ClientError).code, "DAG_INVALID");
  await jetstream(swarm.nc).publish(subjects.jobSubmit, jsonBytes(misnamed));
  const m = await swarm.client.jobResult("dag-misnamed", { timeoutMs: 30_000 });
  t.is(m.error?.code, "DAG_INVALID");
  t.regex(m.error?.message ?? "", /its key must be 'square\.<index>'/);
});

test("graph checks and release rules (pure)", (t) => {
  t.deepEqual(
    checkGraph([
      { key: "a.1", stage: "a", deps: [] },
      { key: "b.1", stage: "b", deps: ["a.1"] },
    ]),
    { ok: true },
  );
  t.false(checkGraph([{ key: "a.1", stage: "a", deps: ["a.1"] }]).ok);
  t.false(checkGraph([{ key: "b.1", stage: "a", deps: [] }]).ok);
  t.false(
    checkGraph([
      { key: "a.1", stage: "a", deps: [] },
      { key: "a.1", stage: "a", deps: [] },
    ]).ok,
  );
  const job = {
    tasks: {
      "a.1": { state: "done", deps: [] },
      "a.2": { state: "released", deps: [] },
      "b.1": { state: "pending", deps: ["a.1", "a.2"] },
      "c.1": { state: "pending", deps: ["a.1"] },
    },
  } as unknown as Job;
  t.deepEqual(releasedBy(job, "a.1"), ["c.1"]);
});
