// The schemas published as JSON Schema for clients in other languages, with the side of the wire
// they describe: "input" for what clients send us, "output" for what we publish.
import { z } from "zod";
import { AgentRegistration } from "./agent.ts";
import { ErrorInfo } from "./common.ts";
import { CoordinatorStatus } from "./coordinator-status.ts";
import { JobResult, JobSpec } from "./dag.ts";
import { DeadLetter } from "./dead-letter.ts";
import { DocMeta, DocWarning, PageText } from "./document.ts";
import { SwarmEvent } from "./events.ts";
import { FinalResult } from "./final.ts";
import { FinalSummary, SubmitHeaders } from "./headers.ts";
import { Job } from "./job.ts";
import { LeaderLease, TaskLease } from "./lease.ts";
import { ChunkStageInput, DocumentStageInput, Pipeline } from "./pipeline.ts";
import {
  ExtractOutput,
  MergeOutput,
  SplitFailure,
  SplitFinished,
  SplitOutput,
  TaskResult,
} from "./result.ts";
import { ScaleDecision } from "./scale.ts";
import { SwarmStatus } from "./status.ts";
import { ExtractInput, MergeInput, Task } from "./task.ts";

export const JSON_SCHEMA_CATALOG: Array<{ name: string; schema: z.ZodType; io: "input" | "output" }> = [
  { name: "FinalResult", schema: FinalResult, io: "output" },
  { name: "SubmitHeaders", schema: SubmitHeaders, io: "input" },
  { name: "FinalSummary", schema: FinalSummary, io: "output" },
  { name: "Task", schema: Task, io: "input" },
  { name: "TaskResult", schema: TaskResult, io: "output" },
  { name: "ExtractInput", schema: ExtractInput, io: "input" },
  { name: "ExtractOutput", schema: ExtractOutput, io: "output" },
  { name: "MergeInput", schema: MergeInput, io: "input" },
  { name: "MergeOutput", schema: MergeOutput, io: "output" },
  { name: "SplitOutput", schema: SplitOutput, io: "output" },
  { name: "SplitFailure", schema: SplitFailure, io: "output" },
  { name: "SplitFinished", schema: SplitFinished, io: "output" },
  { name: "SwarmEvent", schema: SwarmEvent, io: "output" },
  { name: "SwarmStatus", schema: SwarmStatus, io: "output" },
  { name: "Job", schema: Job, io: "output" },
  { name: "ScaleDecision", schema: ScaleDecision, io: "output" },
  { name: "JobSpec", schema: JobSpec, io: "input" },
  { name: "JobResult", schema: JobResult, io: "output" },
  { name: "Pipeline", schema: Pipeline, io: "input" },
  { name: "ChunkStageInput", schema: ChunkStageInput, io: "output" },
  { name: "DocumentStageInput", schema: DocumentStageInput, io: "output" },
  { name: "AgentRegistration", schema: AgentRegistration, io: "output" },
  { name: "TaskLease", schema: TaskLease, io: "output" },
  { name: "LeaderLease", schema: LeaderLease, io: "output" },
  { name: "CoordinatorStatus", schema: CoordinatorStatus, io: "output" },
  { name: "DeadLetter", schema: DeadLetter, io: "output" },
  { name: "PageText", schema: PageText, io: "output" },
  { name: "DocMeta", schema: DocMeta, io: "output" },
  { name: "DocWarning", schema: DocWarning, io: "output" },
  { name: "ErrorInfo", schema: ErrorInfo, io: "output" },
];

/**
 * The JSON Schemas (draft 2020-12) of the catalog by name, as committed in schemas/json/ and
 * shipped as `docswarm/schemas/json/<Name>.schema.json`.
 */
export function jsonSchemas(): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const { name, schema, io } of JSON_SCHEMA_CATALOG) {
    const json = z.toJSONSchema(schema, { target: "draft-2020-12", io, unrepresentable: "any" });
    out[name] = { $id: `https://docswarm.dev/schemas/${name}.schema.json`, title: name, ...json };
  }
  return out;
}
