// JetStream topology and wire helpers: subjects, streams, consumers, buckets.
export { type ConnectOptions, connectNats, natsUrlFromEnv } from "./connect.ts";
export { defaultDocId } from "./doc-id.ts";
export { decodeFinal, FinalResultInvalidError, publishFinal, purgeFinal, readFinal } from "./final-result.ts";
export {
  BUCKETS,
  BUILTIN_STAGES,
  COORDINATOR_CONSUMER,
  consumerName,
  DEFAULT_PIPELINE,
  OBJECT_STORES,
  PREFIX,
  STREAMS,
  subjects,
  type TaskSource,
  taskId,
  taskSources,
} from "./names.ts";
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
export { isStreamFull, isWrongLastSequence, jsonBytes, kvPutWithTtl, publishJson } from "./wire.ts";
