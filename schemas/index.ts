// Every message, KV value, config and result shape of docswarm.
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
  ProcessCommandOptions,
  ProcessingConfig,
  TopologyConfig,
  type TopologyOptions,
} from "./config.ts";
export { JobResult, JobSpec, type JobSpecInput, TaskSpec } from "./dag.ts";
export { DocMeta, ObjectRef, PageRange, PageText } from "./document.ts";
export {
  AgentDrainedEvent,
  AgentJoinedEvent,
  AgentLostEvent,
  AgentScaledEvent,
  DocAcceptedEvent,
  DocFinishedEvent,
  DocProgressEvent,
  ScaleChangedEvent,
  ScaleEvent,
  StageWaitingEvent,
  SwarmEvent,
  type SwarmEventType,
  TaskFailedEvent,
} from "./events.ts";
export { FinalResult, Timings } from "./final.ts";
export { HEADERS, SubmitHeaders } from "./headers.ts";
export { INPUT_MODES, InputMode, JOB_STATUSES, Job, JobTask, TASK_STATES, TaskKey, TaskMode } from "./job.ts";
export {
  ChunkStageInput,
  DEFAULT_PIPELINE_TEXT,
  DocumentStageInput,
  formatPipeline,
  Pipeline,
  PipelineStep,
  parsePipeline,
  STAGE_SCOPES,
  StageScope,
} from "./pipeline.ts";
export { ExtractOutput, MergeOutput, SplitFailure, SplitOutput, TaskResult } from "./result.ts";
export { AutoscalerConfig, type AutoscalerOptions, ScaleDecision } from "./scale.ts";
export {
  AgentView,
  CoordinatorStatus,
  DocumentProgress,
  STATUS_WARNINGS,
  StageStatus,
  StatusWarning,
  SwarmStatus,
  Throughput,
} from "./status.ts";
export { ExtractInput, MergeInput, Task } from "./task.ts";
export { type Decoded, decodeJson, validate } from "./validate.ts";
