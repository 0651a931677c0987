// The docswarm library: embed a swarm, talk to one, or write a stage.
export {
  AgentHost,
  type AgentHostOptions,
  defineStage,
  type StageContext,
  type StageDefinition,
  StageError,
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
export { EmbeddedNatsServer, type EmbeddedServerOptions } from "./infra/index.ts";
export * from "./schemas/index.ts";
export { ensureTopology, subjects } from "./streams/index.ts";
export {
  readCoordinatorStatus,
  readStatus,
  Swarm,
  type SwarmOptions,
  type SwarmStatus,
} from "./swarm/index.ts";
