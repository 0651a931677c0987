// Every message, KV value, config and result shape of docswarm.
export { MaxDeliveriesAdvisory } from "./advisory.ts";
export { AGENT_STATUSES, AgentRegistration, AgentStatus } from "./agent.ts";
export { JSON_SCHEMA_CATALOG } from "./catalog.ts";
export {
  DocId,
  EpochMs,
  ERROR_CODES,
  ErrorCode,
  ErrorInfo,
  PRIORITIES,
  Priority,
  StageName,
  TaskId,
} from "./common.ts";
export {
  AgentThreadConfig,
  CoordinatorConfig,
  type CoordinatorOptionsInput,
  ProcessCommandOptions,
  ProcessingConfig,
  TopologyConfig,
  type TopologyOptions,
} from "./config.ts";
export { CoordinatorStatus, LostAgent } from "./coordinator-status.ts";
export { DeadLetter } from "./dead-letter.ts";
export { DocMeta, ObjectRef, PageRange, PageText } from "./document.ts";
export {
  AgentEvent,
  DeadLetterEvent,
  DocAcceptedEvent,
  DocFinishedEvent,
  DocProgressEvent,
  LeaderEvent,
  SwarmEvent,
} from "./events.ts";
export { FinalResult, Timings } from "./final.ts";
export { DLQ_HEADERS, HEADERS, SubmitHeaders } from "./headers.ts";
export { JOB_STATUSES, Job } from "./job.ts";
export { LeaderLease, TaskLease } from "./lease.ts";
export { ExtractOutput, MergeOutput, SplitFailure, SplitOutput, TaskResult } from "./result.ts";
export { ExtractInput, MergeInput, Task } from "./task.ts";
export { type Decoded, decodeJson, validate } from "./validate.ts";
