// A stage is a small module: a name, input and output schemas, and process(input, ctx).
// defineStage() is the typed way to write one; the runtime turns it into a TaskHandler.
import type { z } from "zod";
import type { Task } from "../schemas/index.ts";
import type { TaskDelivery } from "./delivery.ts";
import type { AgentServices } from "./services.ts";

export type StageContext = {
  agentId: string;
  task: Task;
  /** JetStream delivery count of this task (1 on the first attempt). */
  delivery: number;
  /**
   * Messages of this task's consumer not yet delivered when this one was (from its ack subject):
   * the backlog behind it. Absent when the task did not come from a consumer.
   */
  pending?: number;
  /** Aborted when the task exceeds its time limit or the agent shuts down. */
  signal: AbortSignal;
  services: AgentServices;
};

export type StageDefinition<I = unknown, O = unknown> = {
  name: string;
  input: z.ZodType<I>;
  output: z.ZodType<O>;
  /**
   * In a document pipeline: once per chunk (input ChunkStageInput, the default) or once per
   * document (input DocumentStageInput). Informational; the pipeline declares it too.
   */
  scope?: "chunk" | "document";
  /**
   * Scatter-gather: when split() returns parts, processDistributed() runs process() on each part on
   * any agent, then merge() over their outputs. Return undefined (or one part) to run it whole.
   */
  split?: (input: I) => I[] | undefined;
  merge?: (outputs: O[], ctx: StageContext) => Promise<O> | O;
  /** The watchdog's limit for one task of this stage. */
  timeoutMs?: number;
  process(input: I, ctx: StageContext): Promise<O>;
};

export function defineStage<I, O>(definition: StageDefinition<I, O>): StageDefinition<I, O> {
  return definition;
}

/** What the runtime runs for a stage: it settles the delivery itself (ack, nak or term). */
export type TaskHandler = {
  name: string;
  timeoutMs: number | undefined;
  handle(delivery: TaskDelivery, services: AgentServices, signal: AbortSignal): Promise<void>;
};
