// The stage runner: runs a stage on task messages, every stage the same way (split included):
// receive the task (a JSON Task envelope, or for split a submission), assemble and validate its
// input, run process(), validate its output, publish the result, then settle the message. One retry
// policy: failures that will not go away (bad input) become a `failed` result at once; others are
// retried with backoff until the last delivery, which then reports the failure so the document
// still ends.
import { decodeJson, type ErrorInfo, Task, validate } from "../schemas/index.ts";
import type { TaskDelivery } from "./delivery.ts";
import { StageError, toErrorInfo } from "./errors.ts";
import { chunkInput, depOutputs, documentInput } from "./inputs.ts";
import { publishResult, type TaskIdentity } from "./results.ts";
import type { AgentServices } from "./services.ts";
import type { StageContext, StageDefinition, TaskHandler } from "./stage.ts";
import { annotateTask, markTaskFailed } from "./task-span.ts";

/** A delivery as a task: the envelope, its input when the message carries it whole, and what a failed result reports. */
export type Received =
  | { ok: true; task: Task; input?: unknown; failureOutput?: unknown }
  | { ok: false; error: ErrorInfo; identity?: TaskIdentity };

export type RunnerOptions<O> = {
  /** How a delivery becomes a task; by default its data is a JSON Task envelope. */
  receive?: (d: TaskDelivery) => Received;
  /**
   * The output a result reports, or undefined when the task publishes no result (it found the work
   * owned by another run), and how long the result lives (`ttlMs`: the task ended its document, so
   * nobody purges its results). By default every output is reported and kept.
   */
  report?: (output: O, s: AgentServices) => { output: unknown; ttlMs?: number } | undefined;
  /** Cleans up after the task failed for good (its failed result published, the message termed). */
  failed?: (received: Received & { ok: true }, s: AgentServices) => Promise<void>;
};

async function assembleInput(task: Task, s: AgentServices): Promise<unknown> {
  switch (task.inputMode) {
    case "static":
      return task.input;
    case "deps":
      return depOutputs(s, task);
    case "chunk":
      return chunkInput(s, task);
    case "document":
      return (await documentInput(s, task.docId, task.runId)).input;
  }
}

async function run(def: StageDefinition, r: { task: Task; input?: unknown }, ctx: StageContext) {
  const { task } = r;
  const s = ctx.services;
  if (task.mode === "merge") {
    if (!def.merge) throw new StageError("UNKNOWN_STAGE", `stage '${def.name}' has no merge()`);
    const parts = await depOutputs(s, task);
    const outputs = parts.map((p, i) => {
      const v = validate(def.output, p);
      if (!v.ok) throw new StageError("SCHEMA_INVALID", `output ${i} merged by ${def.name}: ${v.message}`);
      return v.value;
    });
    return def.merge(outputs, ctx);
  }
  const input = validate(def.input, "input" in r ? r.input : await assembleInput(task, s));
  if (!input.ok) throw new StageError("SCHEMA_INVALID", `input of ${def.name}: ${input.message}`);
  return def.process(input.value, ctx);
}

const TaskIdentityOnly = Task.pick({ taskId: true, docId: true, runId: true, stage: true, index: true });

function safeJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(data));
  } catch {
    return undefined;
  }
}

/** A JSON Task envelope; an invalid one is reported against its task when it still says which. */
function receiveEnvelope(d: TaskDelivery): Received {
  const env = decodeJson(Task, d.data);
  if (env.ok) return { ok: true, task: env.value };
  const who = validate(TaskIdentityOnly, safeJson(d.data));
  return {
    ok: false,
    error: { code: "SCHEMA_INVALID", message: `task message: ${env.message}`, retryable: false },
    ...(who.ok && { identity: who.value }),
  };
}

export function retryDelayMs(backoffMs: number[], delivered: number): number {
  return backoffMs[Math.min(delivered - 1, backoffMs.length - 1)] ?? 1000;
}

function identityOf(task: Task): TaskIdentity {
  return { taskId: task.taskId, docId: task.docId, runId: task.runId, stage: task.stage, index: task.index };
}

export function stageHandler<I, O>(def: StageDefinition<I, O>, options: RunnerOptions<O> = {}): TaskHandler {
  const receive = options.receive ?? receiveEnvelope;
  const report: NonNullable<RunnerOptions<O>["report"]> = options.report ?? ((output: O) => ({ output }));
  const stage = def as StageDefinition;
  return {
    name: def.name,
    timeoutMs: def.timeoutMs,
    async handle(delivery: TaskDelivery, s: AgentServices, signal: AbortSignal): Promise<void> {
      const startedAt = Date.now();
      const delivered = delivery.info.delivered;
      const received = receive(delivery);
      if (!received.ok) {
        // Report it against its job when the message still says which task it was, so the job
        // ends; otherwise there is nobody to tell and it is dropped for good.
        s.log("warn", "invalid task message", { subject: delivery.subject, err: received.error.message });
        if (received.identity) {
          await publishResult(s, received.identity, delivered, startedAt, {
            status: "failed",
            error: received.error,
          }).catch(() => {});
        }
        delivery.term(`${received.error.code}: ${received.error.message}`);
        return;
      }
      const { task } = received;
      annotateTask(task);
      const identity = identityOf(task);
      const finalAttempt = delivered >= s.topology.maxDeliver;
      try {
        if (task.stage !== def.name) {
          throw new StageError(
            "UNKNOWN_STAGE",
            `task for stage '${task.stage}' arrived at stage '${def.name}'`,
          );
        }
        const ctx: StageContext = {
          agentId: s.agentId,
          task,
          delivery: delivered,
          pending: delivery.info.pending,
          signal,
          services: s,
        };
        const output = await run(stage, received, ctx);
        const checked = validate(def.output, output);
        if (!checked.ok) throw new StageError("SCHEMA_INVALID", `output of ${def.name}: ${checked.message}`);
        const reported = report(checked.value, s);
        if (reported) {
          const { ttlMs, output: out } = reported;
          await publishResult(
            s,
            identity,
            delivered,
            startedAt,
            { status: "ok", output: out },
            ttlMs !== undefined ? { ttlMs } : {},
          );
        }
        delivery.ack();
      } catch (err) {
        const error = toErrorInfo(err);
        markTaskFailed(error);
        s.log(error.retryable && !finalAttempt ? "debug" : "warn", "task failed", {
          taskId: task.taskId,
          delivery: delivered,
          code: error.code,
          err: error.message,
        });
        if (error.retryable && !finalAttempt) {
          delivery.nak(retryDelayMs(s.topology.backoffMs, delivered));
          return;
        }
        try {
          await publishResult(s, identity, delivered, startedAt, {
            status: "failed",
            error,
            ...(received.failureOutput !== undefined && { output: received.failureOutput }),
          });
          delivery.term(`${error.code}: ${error.message}`);
          await options.failed?.(received, s);
        } catch {
          // Could not even report the failure (NATS unavailable): let it come back.
          delivery.nak(retryDelayMs(s.topology.backoffMs, delivered));
        }
      }
    },
  };
}
