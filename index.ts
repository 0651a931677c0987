/**
 * The docswarm library: embed a swarm (`Swarm`), talk to one (`DocswarmClient`), write a stage
 * (`defineStage`, `defineTask`), run distributed tasks (`DistributedProcessor`), and every
 * schema's type, with the option and result types the public signatures name.
 * @module docswarm
 */
export {
  AgentHost,
  type AgentHostOptions,
  type AgentServices,
  type AutoscaleOptions,
  defineStage,
  defineTask,
  type PdfDocument,
  type PdfEngine,
  type StageContext,
  type StageDefinition,
  StageError,
  StageLoadError,
  type Task as SwarmTask,
} from "./agents/index.ts";
export {
  CLIENT_ERROR_CODES,
  ClientError,
  type ClientErrorCode,
  DocswarmClient,
  listDeadLetters,
  type Requeued,
  requeueDeadLetter,
  type SubmitOptions,
  type Submitted,
} from "./client/index.ts";
export {
  COORDINATOR_ERROR_CODES,
  Coordinator,
  type CoordinatorOptions,
  NotLeaderError,
} from "./coordinator/index.ts";
export {
  DASHBOARD_ERROR_CODES,
  Dashboard,
  DashboardAuthError,
  type DashboardOptions,
} from "./dashboard/index.ts";
export {
  AuthDirError,
  AuthDirMissingError,
  addUser,
  authFromDir,
  EmbeddedNatsServer,
  EmbeddedServerError,
  type EmbeddedServerOptions,
  type EnsureOptions,
  ensureNatsServer,
  findNatsServer,
  INFRA_ERROR_CODES,
  type InfraErrorCode,
  initAuthDir,
  NatsDownloadError,
  type NatsServerBinary,
  NatsServerNotFoundError,
  revokeUser,
} from "./infra/index.ts";
// A stored final result that does not decode (DocswarmClient.result), a job record that kept changing.
export { FinalResultInvalidError, JobConflictError } from "./jobs/index.ts";
export {
  createLogger,
  LOG_LEVELS,
  type LogFn,
  type LoggerOptions,
  type LogLevel,
  type MetricsServer,
  type MetricsServerOptions,
  type ReadStatusOptions,
  readSwarmStatus,
  type StartTracingOptions,
  startMetricsServer,
  startTracing,
  type Tracing,
  withTraceHeaders,
} from "./observability/index.ts";
export * from "./schemas/index.ts";
export {
  ConnectionConfigError,
  type ConnectionInput,
  ensureTopology,
  NoStreamError,
  ObjectDigestError,
  PublishTimeoutError,
  ROLES,
  type Role,
  resolveConnection,
  rolePermissions,
  STREAMS_ERROR_CODES,
  type StreamsErrorCode,
  subjects,
  type Topology,
  UploadError,
} from "./streams/index.ts";
export {
  type DistributedOptions,
  DistributedProcessor,
  readCoordinatorStatus,
  readStatus,
  Swarm,
  type SwarmOptions,
  type SwarmStatus,
} from "./swarm/index.ts";
