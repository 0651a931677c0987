// Runs a defineStage() stage on task messages: validates the envelope and the input, runs process(),
// validates the output, publishes the result, then settles the message. Failures that will not go
// away (bad input) become a `failed` result at once; others are retried with backoff until the
// last delivery, which then reports the failure so the document still ends.
import { decodeJson, Task, validate } from "../schemas/index.ts";
import type { TaskDelivery } from "./delivery.ts";
import { StageError, toErrorInfo } from "./errors.ts";
import { publishResult } from "./results.ts";
import type { AgentServices } from "./services.ts";
import type { StageDefinition, TaskHandler } from "./stage.ts";
import { annotateTask, markTaskFailed } from "./task-span.ts";

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
        // Without a valid envelope there is no document to report to; drop it for good.
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
        const input = validate(def.input, task.input);
        if (!input.ok) throw new StageError("SCHEMA_INVALID", `input of ${def.name}: ${input.message}`);
        const output = await def.process(input.value, {
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
