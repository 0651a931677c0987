// The docswarm library: embed a swarm, talk to one, or write a stage.
export {
  AgentHost,
  type AgentHostOptions,
  defineStage,
  defineTask,
  type StageContext,
  type StageDefinition,
  StageError,
  type Task as SwarmTask,
} from "./agents/index.ts";
export {
  ClientError,
  DocswarmClient,
  listDeadLetters,
  type Requeued,
  requeueDeadLetter,
  type SubmitOptions,
  type Submitted,
} from "./client/index.ts";
export { Coordinator, type CoordinatorOptions } from "./coordinator/index.ts";
export { Dashboard, type DashboardOptions } from "./dashboard/index.ts";
export {
  addUser,
  authFromDir,
  EmbeddedNatsServer,
  type EmbeddedServerOptions,
  initAuthDir,
  revokeUser,
} from "./infra/index.ts";
export {
  createLogger,
  readSwarmStatus,
  startMetricsServer,
  startTracing,
  withTraceHeaders,
} from "./observability/index.ts";
export * from "./schemas/index.ts";
export {
  type ConnectionInput,
  ensureTopology,
  ROLES,
  type Role,
  resolveConnection,
  rolePermissions,
  subjects,
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
