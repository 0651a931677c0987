// Runs a defineStage() stage on task messages: validates the envelope and the input, runs process(),
// validates the output, publishes the result, then settles the message. Failures that will not go
// away (bad input) become a `failed` result at once; others are retried with backoff until the
// last delivery, which then reports the failure so the document still ends.
import { decodeJson, Task, validate } from "../schemas/index.ts";
import type { TaskDelivery } from "./delivery.ts";
import { StageError, toErrorInfo } from "./errors.ts";
import { chunkInput, depOutputs, documentInput } from "./inputs.ts";
import { publishResult } from "./results.ts";
import type { AgentServices } from "./services.ts";
import type { StageContext, StageDefinition, TaskHandler } from "./stage.ts";
import { annotateTask, markTaskFailed } from "./task-span.ts";

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

async function run(def: StageDefinition, task: Task, ctx: StageContext): Promise<unknown> {
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
  const input = validate(def.input, await assembleInput(task, s));
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

export function retryDelayMs(backoffMs: number[], delivered: number): number {
  return backoffMs[Math.min(delivered - 1, backoffMs.length - 1)] ?? 1000;
}

export function stageHandler(def: StageDefinition): TaskHandler {
  return {
    name: def.name,
    concurrency: def.concurrency ?? 1,
    timeoutMs: def.timeoutMs,
    async handle(delivery: TaskDelivery, s: AgentServices, signal: AbortSignal): Promise<void> {
      const startedAt = Date.now();
      const env = decodeJson(Task, delivery.data);
      if (!env.ok) {
        // Report it against its job when the message still says which task it was, so the job
        // ends; otherwise there is nobody to tell and it is dropped for good.
        s.log("warn", "invalid task message", { subject: delivery.subject, err: env.message });
        const who = validate(TaskIdentityOnly, safeJson(delivery.data));
        if (who.ok) {
          const error = {
            code: "SCHEMA_INVALID" as const,
            message: `task message: ${env.message}`,
            retryable: false,
          };
          await publishResult(s, who.value, delivery.info.delivered, startedAt, {
            status: "failed",
            error,
          }).catch(() => {});
        }
        delivery.term(`SCHEMA_INVALID: ${env.message}`);
        return;
      }
      const task = env.value;
      annotateTask(task);
      const identity = {
        taskId: task.taskId,
        docId: task.docId,
        runId: task.runId,
        stage: task.stage,
        index: task.index,
      };
      const delivered = delivery.info.delivered;
      const finalAttempt = delivered >= s.topology.maxDeliver;
      try {
        if (task.stage !== def.name) {
          throw new StageError(
            "UNKNOWN_STAGE",
            `task for stage '${task.stage}' arrived at stage '${def.name}'`,
          );
        }
        const output = await run(def, task, {
          agentId: s.agentId,
          task,
          delivery: delivered,
          signal,
          services: s,
        });
        const checked = validate(def.output, output);
        if (!checked.ok) throw new StageError("SCHEMA_INVALID", `output of ${def.name}: ${checked.message}`);
        await publishResult(s, identity, delivered, startedAt, { status: "ok", output: checked.value });
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
          await publishResult(s, identity, delivered, startedAt, { status: "failed", error });
          delivery.term(`${error.code}: ${error.message}`);
        } catch {
          // Could not even report the failure (NATS unavailable): let it come back.
          delivery.nak(retryDelayMs(s.topology.backoffMs, delivered));
        }
      }
    },
  };
}
