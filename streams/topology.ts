// Creates or updates every stream, consumer, KV bucket and object store docswarm uses. Idempotent:
// call it from every process at start; a second call with the same config changes nothing.
import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  type JetStreamManager,
  jetstreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { Objm } from "@nats-io/obj";
import { type NatsConnection, nanos } from "@nats-io/transport-node";
import {
  PRIORITIES,
  type TopologyConfig,
  type TopologyOptions,
  TopologyConfig as TopologySchema,
} from "../schemas/index.ts";
import {
  BUCKETS,
  BUILTIN_STAGES,
  COORDINATOR_CONSUMER,
  JOBS_CONSUMER,
  OBJECT_STORES,
  STREAMS,
  subjects,
  taskSources,
} from "./names.ts";
import { advisoriesStreamConfig, deadLetterConsumerConfig } from "./reliability-topology.ts";

const MiB = 1024 * 1024;

type NamedStreamConfig = Partial<StreamConfig> & { name: string };

function streamConfigs(c: TopologyConfig, maxPayloadBytes: number): NamedStreamConfig[] {
  const storage = c.memoryStorage ? StorageType.Memory : StorageType.File;
  const common = { num_replicas: c.replicas, storage, duplicate_window: nanos(c.dedupWindowMs) };
  return [
    {
      ...common,
      name: STREAMS.submit,
      // Only known priorities: a publish to docswarm.submit.<other> is refused at once.
      subjects: [subjects.submit, ...PRIORITIES.map((p) => subjects.submitAt(p)), subjects.jobSubmit],
      retention: RetentionPolicy.Workqueue,
      discard: DiscardPolicy.New,
      max_msgs: c.submitMaxMsgs,
      max_bytes: c.submitMaxBytes,
      max_msg_size: maxPayloadBytes,
    },
    {
      ...common,
      name: STREAMS.tasks,
      subjects: PRIORITIES.map((p) => subjects.task("*", p)),
      retention: RetentionPolicy.Workqueue,
      discard: DiscardPolicy.New,
      max_msgs: c.tasksMaxMsgs,
      max_bytes: c.tasksMaxBytes,
    },
    {
      // Limits retention: the coordinator and merge read results; the coordinator purges a
      // document's results once it has its final result. Discard-new so a full stream pushes back
      // on agents (they retry) instead of silently dropping a chunk.
      ...common,
      name: STREAMS.results,
      subjects: [subjects.resultsAll],
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.New,
      max_bytes: c.resultsMaxBytes,
      max_age: nanos(c.resultsMaxAgeMs),
      allow_direct: true,
    },
    {
      // One stored final result per document: writers publish to docswarm.final.<docId> with
      // expected-last-subject-sequence 0; the stream stores it as docswarm.done.<docId> and
      // republishes only stored messages there, so a core subscriber sees exactly what was kept.
      ...common,
      name: STREAMS.done,
      subjects: [subjects.final("*")],
      subject_transform: { src: subjects.final("*"), dest: subjects.done("{{wildcard(1)}}") },
      republish: { src: subjects.doneAll, dest: subjects.doneAll },
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_msgs_per_subject: 1,
      max_bytes: c.doneMaxBytes,
      max_age: nanos(c.doneMaxAgeMs),
      allow_direct: true,
    },
    {
      ...common,
      name: STREAMS.events,
      subjects: [subjects.eventsAll],
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_bytes: c.eventsMaxBytes,
      max_age: nanos(c.eventsMaxAgeMs),
      // Status and the dashboard read the recent past with direct gets by start time.
      allow_direct: true,
    },
    {
      ...common,
      name: STREAMS.dlq,
      subjects: [subjects.dlq("*")],
      retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old,
      max_bytes: c.dlqMaxBytes,
      max_age: nanos(c.dlqMaxAgeMs),
      allow_direct: true,
    },
    advisoriesStreamConfig(c),
  ];
}

/** The durable pull consumer of one stage at one priority, shared by every agent serving it. */
// Consumers take their stream's replica count (0 = inherit), so a process that creates a stage's
// consumers on first use (a coordinator, an agent host) cannot shrink them on a cluster, whatever
// replica count it was started with.
const CONSUMER_REPLICAS = 0;

export function stageConsumerConfig(
  c: TopologyConfig,
  stage: string,
): Array<{ stream: string; config: Partial<ConsumerConfig> }> {
  return taskSources(stage).map((s) => ({
    stream: s.stream,
    config: {
      durable_name: s.consumer,
      description: `docswarm stage ${s.stage}, ${s.priority} priority`,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(c.ackWaitMs),
      max_deliver: c.maxDeliver,
      backoff: c.backoffMs.slice(0, Math.max(0, c.maxDeliver - 1)).map((ms) => nanos(ms)),
      max_ack_pending: c.maxAckPending,
      max_waiting: 4096,
      filter_subjects: s.filters,
      num_replicas: CONSUMER_REPLICAS,
      mem_storage: c.memoryStorage,
    },
  }));
}

function coordinatorConsumerConfig(c: TopologyConfig): Partial<ConsumerConfig> {
  return {
    durable_name: COORDINATOR_CONSUMER,
    description: "docswarm coordinator: progress from task results",
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(c.coordinatorAckWaitMs),
    max_ack_pending: 20_000,
    max_waiting: 512,
    num_replicas: CONSUMER_REPLICAS,
    filter_subject: subjects.resultsAll,
  };
}

function jobsConsumerConfig(c: TopologyConfig): Partial<ConsumerConfig> {
  return {
    durable_name: JOBS_CONSUMER,
    description: "docswarm coordinator: DAG job submissions",
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(30_000),
    max_deliver: c.maxDeliver,
    max_ack_pending: 1000,
    num_replicas: CONSUMER_REPLICAS,
    filter_subject: subjects.jobSubmit,
  };
}

async function upsertStream(jsm: JetStreamManager, config: NamedStreamConfig): Promise<void> {
  const name = config.name;
  try {
    await jsm.streams.info(name);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === 10059) {
      await jsm.streams.add(config);
      return;
    }
    throw err;
  }
  await jsm.streams.update(name, config);
}

async function upsertConsumer(
  jsm: JetStreamManager,
  stream: string,
  config: Partial<ConsumerConfig>,
): Promise<void> {
  try {
    await jsm.consumers.add(stream, config);
  } catch (err) {
    // 10148: a consumer with this name exists with another config; bring it up to date.
    if (err instanceof JetStreamApiError && err.code === 10148) {
      await jsm.consumers.update(stream, config.durable_name!, config);
      return;
    }
    throw err;
  }
}

export type Topology = { config: TopologyConfig; maxPayloadBytes: number };

/** Creates what a new stage needs (its consumers); safe to call many times. */
export async function ensureStage(
  nc: NatsConnection,
  stage: string,
  options: TopologyOptions = {},
): Promise<void> {
  const config = TopologySchema.parse(options);
  const jsm = await jetstreamManager(nc);
  for (const { stream, config: cc } of stageConsumerConfig(config, stage))
    await upsertConsumer(jsm, stream, cc);
}

export async function ensureTopology(nc: NatsConnection, options: TopologyOptions = {}): Promise<Topology> {
  const config = TopologySchema.parse(options);
  const maxPayloadBytes = nc.info?.max_payload ?? MiB;
  const jsm = await jetstreamManager(nc);
  for (const sc of streamConfigs(config, maxPayloadBytes)) await upsertStream(jsm, sc);
  const stages = [...new Set([...BUILTIN_STAGES, ...config.extraStages])];
  for (const stage of stages) {
    for (const { stream, config: cc } of stageConsumerConfig(config, stage))
      await upsertConsumer(jsm, stream, cc);
  }
  await upsertConsumer(jsm, STREAMS.results, coordinatorConsumerConfig(config));
  await upsertConsumer(jsm, STREAMS.submit, jobsConsumerConfig(config));
  await upsertConsumer(jsm, STREAMS.advisories, deadLetterConsumerConfig(config));

  const kvm = new Kvm(nc);
  const storage = config.memoryStorage ? StorageType.Memory : StorageType.File;
  const kvCommon = { replicas: config.replicas, storage, history: 1 };
  // Registrations and leases carry their own TTL per key (nats-server 2.11+); the marker TTL makes
  // a lapse visible to watchers as a delete event instead of a silent disappearance.
  await kvm.create(BUCKETS.agents, { ...kvCommon, max_bytes: 64 * MiB, markerTTL: 60_000 });
  await kvm.create(BUCKETS.leases, { ...kvCommon, max_bytes: 64 * MiB, markerTTL: 60_000 });
  await kvm.create(BUCKETS.jobs, { ...kvCommon, max_bytes: 1024 * MiB, ttl: config.jobsMaxAgeMs });
  await kvm.create(BUCKETS.scale, { ...kvCommon, max_bytes: 4 * MiB });
  await kvm.create(BUCKETS.pipelines, { ...kvCommon, max_bytes: 4 * MiB });

  const objm = new Objm(nc);
  const objCommon = {
    replicas: config.replicas,
    storage,
    max_bytes: config.docsMaxBytes,
    ttl: nanos(config.docsMaxAgeMs),
  };
  // A copy each: the client deletes `ttl` and `replicas` from the options object it is given.
  await objm.create(OBJECT_STORES.docs, { ...objCommon });
  // Large final results live here: keep them as long as the done stream keeps their messages.
  await objm.create(OBJECT_STORES.results, { ...objCommon, ttl: nanos(config.doneMaxAgeMs) });
  return { config, maxPayloadBytes };
}
