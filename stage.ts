/**
 * What a stage module needs, and nothing heavy (no NATS client, no PDF engine, no telemetry: a
 * stage file is loaded in every agent thread). `z` is docswarm's own zod, so a stage's schemas
 * are made by the zod the agents validate with.
 * @module docswarm/stage
 */

export { z } from "zod";
export { StageError } from "./agents/errors.ts";
export { defineStage, type StageContext, type StageDefinition } from "./agents/stage.ts";
export { defineTask, type Task } from "./agents/task.ts";
export {
  ChunkStageInput,
  DocumentStageInput,
  type ErrorCode,
  PageRange,
  PageText,
} from "./schemas/index.ts";
