// JetStream topology and wire helpers: subjects, streams, consumers, buckets.
export {
  type ConnectOptions,
  connectNats,
  connectNatsWhenUp,
  drainConnection,
  natsUrlFromEnv,
  type WaitForServerOptions,
} from "./connect.ts";
export { defaultDocId } from "./doc-id.ts";
export {
  ApiCodes,
  apiErrorCode,
  isApiError,
  isNoMessage,
  isStatusError,
  isStreamFull,
  isWrongLastSequence,
} from "./errors.ts";
export { eventKey, publishEvent } from "./events.ts";
export {
  BUCKETS,
  BUILTIN_STAGES,
  COORDINATOR_CONSUMER,
  consumerName,
  DEAD_LETTER_CONSUMER,
  DEFAULT_PIPELINE,
  JOBS_CONSUMER,
  OBJECT_STORES,
  PREFIX,
  STREAMS,
  subjects,
  type TaskSource,
  taskId,
  taskLeaseKey,
  taskSources,
} from "./names.ts";
export { ObjectDigestError, readObject } from "./objects.ts";
export {
  type FastPublishOptions,
  JetStreamPublisher,
  NoStreamError,
  PublishTimeoutError,
  publisherFor,
} from "./publisher.ts";
export { readLastPerSubject, readSubject } from "./read.ts";
export { countServing, listAgents } from "./registry.ts";
export { openState, type SwarmState } from "./state.ts";
export { ensureStage, ensureTopology, stageConsumerConfig, type Topology } from "./topology.ts";
export { jsonBytes, kvPutWithTtl, publishJson } from "./wire.ts";
