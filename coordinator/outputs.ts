// Reading a finished DAG job's sink outputs from the results stream.
import { decodeJson, type Job, TaskResult } from "../schemas/index.ts";
import { readSubject, STREAMS, sinkTasks, subjects } from "../streams/index.ts";
import type { CoordinatorContext } from "./coordinator.ts";

export async function sinkOutputs(ctx: CoordinatorContext, job: Job): Promise<Record<string, unknown>> {
  const sinks = new Set(sinkTasks(job));
  const out: Record<string, unknown> = {};
  for (const m of await readSubject(ctx.jsm, STREAMS.results, subjects.results(job.docId))) {
    const r = decodeJson(TaskResult, m.data);
    if (!r.ok || r.value.runId !== job.runId || r.value.status !== "ok") continue;
    const key = `${r.value.stage}.${r.value.index}`;
    if (!sinks.has(key)) continue;
    if (r.value.outputObject) {
      const data = await ctx.state.results.getBlob(r.value.outputObject.name);
      out[key] = data ? JSON.parse(new TextDecoder().decode(data)) : null;
    } else out[key] = r.value.output;
  }
  return out;
}
