// The life of a job, used by agents and the coordinator alike: its task graph, its record in the
// jobs bucket, its tasks' results, and its one final result.
export { type Ending, endDocument } from "./end.ts";
export {
  FinalResultInvalidError,
  JOBS_ERROR_CODES,
  JobConflictError,
  type JobsErrorCode,
  StaleTermError,
} from "./errors.ts";
export {
  decodeFinal,
  decodeJobResult,
  doneKind,
  type FinalLimits,
  finalRun,
  hasFinal,
  type PublishFinalOutcome,
  readFinal,
  readJobResult,
  storedFinalOf,
  takeOverFinal,
} from "./final.ts";
export {
  checkGraph,
  dependentsOf,
  type GraphCheck,
  isComplete,
  pipelineTasks,
  releasedBy,
  sinkTasks,
  taskEnvelope,
  taskInput,
  taskKey,
} from "./graph.ts";
export { readRunResults, readTaskResult, resultOutput } from "./results.ts";
export { JobStore, readJobs, type Versioned } from "./store.ts";
export { publishTasks, releasedTasks } from "./tasks.ts";
