// A finished DAG job's result: the outputs of its sink tasks (those nothing depends on).
import type { JetStreamManager } from "@nats-io/jetstream";
import type { ObjectStore } from "@nats-io/obj";
import { readRunResults, resultOutput, sinkTasks } from "../jobs/index.ts";
import type { Job } from "../schemas/index.ts";

export async function sinkOutputs(
  jsm: JetStreamManager,
  results: ObjectStore,
  job: Job,
): Promise<Record<string, unknown>> {
  const all = await readRunResults(jsm, job.docId, job.runId);
  const out: Record<string, unknown> = {};
  for (const key of sinkTasks(job)) {
    const r = all.get(key);
    if (r) out[key] = (await resultOutput(r, (ref) => results.getBlob(ref.name))) ?? null;
  }
  return out;
}
