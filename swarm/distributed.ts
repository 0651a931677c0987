// DistributedProcessor: the seed's later-phase interface, running over the swarm as DAG jobs.
// processDistributed(task, input) splits a Task where it can (here, recursively), runs the parts on
// whatever agents serve its stage, and merges the results on an agent; mapReduce(mapper, reducer)
// runs one map task per input and a reduce over all their outputs.
import { randomUUID } from "node:crypto";
import type { StageDefinition } from "../agents/index.ts";
import type { DocswarmClient } from "../client/index.ts";
import { ClientError } from "../client/index.ts";
import type { Priority, TaskSpec } from "../schemas/index.ts";

export type DistributedOptions = {
  jobId?: string;
  priority?: Priority;
  timeoutMs?: number;
  maxDepth?: number;
};

function newJobId(): string {
  return randomUUID().replaceAll("-", "");
}

export class DistributedProcessor {
  readonly #client: DocswarmClient;

  constructor(client: DocswarmClient) {
    this.#client = client;
  }

  /** The task's result for `input`, computed by the swarm's agents serving its stage. */
  async processDistributed<I, O>(
    task: StageDefinition<I, O>,
    input: I,
    options: DistributedOptions = {},
  ): Promise<O> {
    const tasks: TaskSpec[] = [];
    let next = 0;
    const plan = (value: I, depth: number): string => {
      const parts = depth < (options.maxDepth ?? 3) ? task.split?.(value) : undefined;
      const key = `${task.name}.${next++}`;
      if (!parts || parts.length <= 1) {
        tasks.push({ key, stage: task.name, input: value, deps: [], mode: "process" });
        return key;
      }
      const children = parts.map((p) => plan(p, depth + 1));
      tasks.push({ key, stage: task.name, deps: children, inputMode: "deps", mode: "merge" });
      return key;
    };
    const root = plan(input, 0);
    return (await this.#run(tasks, options))[root] as O;
  }

  /** reducer(mapper(input) for every input), each map task on any agent serving the mapper's stage. */
  async mapReduce<I, M, R>(
    mapper: StageDefinition<I, M> | string,
    reducer: StageDefinition<M[], R> | string,
    inputs: I[],
    options: DistributedOptions = {},
  ): Promise<R> {
    const map = typeof mapper === "string" ? mapper : mapper.name;
    const reduce = typeof reducer === "string" ? reducer : reducer.name;
    const tasks: TaskSpec[] = inputs.map((input, i) => ({
      key: `${map}.${i}`,
      stage: map,
      input,
      deps: [],
      mode: "process",
    }));
    tasks.push({
      key: `${reduce}.0`,
      stage: reduce,
      deps: tasks.map((t) => t.key),
      inputMode: "deps",
      mode: "process",
    });
    return (await this.#run(tasks, options))[`${reduce}.0`] as R;
  }

  async #run(tasks: TaskSpec[], options: DistributedOptions): Promise<Record<string, unknown>> {
    const { jobId } = await this.#client.submitJob({
      v: 1,
      jobId: options.jobId ?? newJobId(),
      priority: options.priority ?? "normal",
      tasks,
    });
    const r = await this.#client.jobResult(
      jobId,
      options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs },
    );
    if (r.status === "failed") {
      throw new ClientError(
        r.error?.code ?? "INTERNAL",
        `job ${jobId} failed: ${r.error?.message ?? "unknown error"}`,
      );
    }
    return r.outputs;
  }
}
