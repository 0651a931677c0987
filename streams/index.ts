// JetStream topology and wire helpers: subjects, streams, consumers, buckets.

export { closeSteps } from "./close-steps.ts";
export {
  authOptions,
  type ConnectOptions,
  connectNats,
  connectNatsWhenUp,
  drainConnection,
  inboxPrefixOf,
  isPermissionViolation,
  natsUrlFromEnv,
  type WaitForServerOptions,
} from "./connect.ts";
export {
  authOf,
  type ConnectionInput,
  contextFile,
  displayServers,
  type ResolvedConnection,
  resolveConnection,
  withoutUndefined,
} from "./connection-options.ts";
export { inboxPrefixFromCreds, type UserClaims, userClaimsFromCreds } from "./creds.ts";
export { defaultDocId } from "./doc-id.ts";
export {
  ApiCodes,
  apiErrorCode,
  ConnectionConfigError,
  isApiError,
  isNoMessage,
  isStatusError,
  isStreamFull,
  isWrongLastSequence,
  NoStreamError,
  ObjectDigestError,
  PublishTimeoutError,
  STREAMS_ERROR_CODES,
  type StreamsErrorCode,
  UploadError,
} from "./errors.ts";
export { eventKey, publishEvent } from "./events.ts";
export {
  BUCKETS,
  BUILTIN_STAGES,
  COORDINATOR_CONSUMER,
  consumerName,
  DEAD_LETTER_CONSUMER,
  FINALS_CONSUMER,
  JOBS_CONSUMER,
  kvStream,
  kvSubject,
  LEADER_KEY,
  OBJECT_STORES,
  PREFIX,
  STREAMS,
  subjects,
  type TaskSource,
  TRIAGE_CONSUMER,
  taskId,
  taskLeaseKey,
  taskSources,
} from "./names.ts";
export { objectStores, putObject, readObject } from "./objects.ts";
export { inboxPrefixFor, type Permissions, ROLES, type Role, rolePermissions } from "./permissions.ts";
export {
  type FastPublishOptions,
  JetStreamPublisher,
  publisherFor,
} from "./publisher.ts";
export { readLastPerSubject, readSubject } from "./read.ts";
export { countServing, listAgents } from "./registry.ts";
export {
  DEFAULT_RETRY_BUDGET_MS,
  isTransient,
  type RetryOptions,
  retryJetStream,
  TRANSIENT_API_CODES,
  type TransientKind,
  transientKind,
} from "./retry.ts";
export { openState, type SwarmState } from "./state.ts";
export {
  type ApplyOptions,
  applyTopology,
  ensureStage,
  ensureTopology,
  initTopology,
  type ResourceChange,
  type Topology,
  type TopologyReport,
} from "./topology.ts";
export type { FieldDiff } from "./topology-diff.ts";
export {
  type CheckOptions,
  checkTopology,
  describeChanges,
  formatBytes,
  formatDiff,
  formatDuration,
  logCheck,
  type TopologyLog,
} from "./topology-report.ts";
export {
  type ConsumerSpec,
  consumerSpecs,
  META,
  type ResourceKind,
  type ResourceSpec,
  resourceSpecs,
  stageConsumerSpecs,
  TOPOLOGY_VERSION,
} from "./topology-spec.ts";
export {
  adoptUpload,
  purgeUpload,
  type ReadUpload,
  readUpload,
  type Upload,
  uploadDocId,
  uploadDocument,
} from "./uploads.ts";
export { jsonBytes, kvPutWithTtl, PAYLOAD_HEADROOM_BYTES, publishJson } from "./wire.ts";
