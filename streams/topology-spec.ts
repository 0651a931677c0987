// What the docswarm topology should be, as data: every stream, KV bucket, object store and durable
// consumer, the fields docswarm manages on each, what it holds and why its limits are what they
// are. `docswarm init` makes the server match this; roles only compare against it.
import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import { PRIORITIES, type TopologyConfig } from "../schemas/index.ts";
import {
  BUCKETS,
  BUILTIN_STAGES,
  COORDINATOR_CONSUMER,
  DEAD_LETTER_CONSUMER,
  FINALS_CONSUMER,
  JOBS_CONSUMER,
  OBJECT_STORES,
  STREAMS,
  subjects,
  taskSources,
} from "./names.ts";

/**
 * Version of the layout below. 1: docswarm up to 84b426f (no version recorded). 2: a version and the
 * settings in stream metadata, per-key TTLs in the jobs bucket, the done stream's message size
 * capped, the dead-letter consumer inheriting its stream's replicas. 3: plain `docswarm.submit` has
 * its own consumer (split-triage, which moves each submission to its header's priority before
 * splitting); split-normal takes only `docswarm.submit.normal`; per-message TTLs on the results
 * stream (the result of a document split ended itself expires instead of being purged); the done
 * stream also keeps reprocess marks (docswarm.reprocess.<docId>). 4: the coordinator's headers-only
 * consumer of the done stream (coordinator-finals): agents that see this layout announce a document
 * split ended itself on its final (a summary header), not with a split result.
 */
export const TOPOLOGY_VERSION = 4;

/** Stream metadata keys docswarm writes. */
export const META = { version: "docswarm.version", settings: "docswarm.settings" } as const;

export type ResourceKind = "stream" | "kv" | "objectstore";

export type NamedStreamConfig = Partial<StreamConfig> & { name: string };

export type ResourceSpec = {
  kind: ResourceKind;
  /** The name users see: a stream, a bucket or an object store. */
  name: string;
  /** The JetStream stream behind it. */
  stream: string;
  /** What it holds. */
  holds: string;
  /** Why its limits are what they are, and what happens when one is reached. */
  atLimit: string;
  /**
   * The fields docswarm manages. For docswarm's own streams the whole config; for KV buckets and
   * object stores the fields set on top of what the client library creates.
   */
  config: NamedStreamConfig;
  /** Creation options for the client library (KV buckets and object stores). */
  library?: Record<string, unknown>;
};

export type ConsumerSpec = { stream: string; config: Partial<ConsumerConfig> & { durable_name: string } };

/**
 * Fields an operator tunes: `docswarm init` sets them only when asked (or when a resource has
 * none), and roles never change them. Every other managed field is structural: docswarm relies on it.
 */
export const SETTING_FIELDS: ReadonlySet<string> = new Set([
  "num_replicas",
  "max_bytes",
  "max_age",
  "max_msgs",
  "max_msg_size",
  "duplicate_window",
  "ack_wait",
  "max_deliver",
  "backoff",
  "max_ack_pending",
]);

/** The TopologyConfig keys behind each setting field of each stream (for "asked explicitly"). */
export type SettingKeys = Partial<Record<string, keyof TopologyConfig>>;

const storageOf = (c: TopologyConfig) => (c.memoryStorage ? StorageType.Memory : StorageType.File);

function stream(
  c: TopologyConfig,
  name: string,
  holds: string,
  atLimit: string,
  config: Omit<NamedStreamConfig, "name" | "num_replicas" | "storage">,
): ResourceSpec {
  return {
    kind: "stream",
    name,
    stream: name,
    holds,
    atLimit,
    config: { name, num_replicas: c.replicas, storage: storageOf(c), ...config },
  };
}

/** Docswarm's own streams. */
function streams(c: TopologyConfig, maxPayloadBytes: number): ResourceSpec[] {
  const dedup = nanos(c.dedupWindowMs);
  return [
    stream(
      c,
      STREAMS.submit,
      "submissions (and DAG job specs) until a split agent has taken them",
      "discard new: a full swarm refuses submissions; the client retries with backoff, then SWARM_FULL",
      {
        // Only known priorities: a publish to docswarm.submit.<other> is refused at once.
        subjects: [subjects.submit, ...PRIORITIES.map((p) => subjects.submitAt(p)), subjects.jobSubmit],
        retention: RetentionPolicy.Workqueue,
        discard: DiscardPolicy.New,
        max_msgs: c.submitMaxMsgs,
        max_bytes: c.submitMaxBytes,
        max_msg_size: maxPayloadBytes,
        duplicate_window: dedup,
      },
    ),
    stream(
      c,
      STREAMS.tasks,
      "tasks waiting for (or held by) agents",
      "discard new: publishing more tasks fails; the publisher NAKs and retries (backpressure)",
      {
        subjects: PRIORITIES.map((p) => subjects.task("*", p)),
        retention: RetentionPolicy.Workqueue,
        discard: DiscardPolicy.New,
        max_msgs: c.tasksMaxMsgs,
        max_bytes: c.tasksMaxBytes,
        duplicate_window: dedup,
      },
    ),
    stream(
      c,
      STREAMS.results,
      "task results of documents in flight, deleted one by one (never purged: see coordinator/progress.ts) when a document finishes; the result of a document split ended itself, for the finished-job window (per-message TTL)",
      "discard new: agents retry publishing (backpressure); the age bounds what a stuck document leaves",
      {
        subjects: [subjects.resultsAll],
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.New,
        max_bytes: c.resultsMaxBytes,
        max_age: nanos(c.resultsMaxAgeMs),
        allow_direct: true,
        // A document that split ended itself has no job whose end purges its results: its one
        // result expires by itself (Nats-TTL), without an API request per document.
        allow_msg_ttl: true,
        duplicate_window: dedup,
      },
    ),
    stream(
      c,
      STREAMS.done,
      "one final result per document (large ones point into docswarm-results)",
      "discard old: the oldest results go before their age; status warns and storage.high fires at 80 %",
      {
        // Writers publish to docswarm.final.<docId> expecting nothing newer of the document than
        // they saw (jobs/final.ts); the stream stores it as docswarm.done.<docId> and republishes
        // only stored messages there, so a core subscriber sees exactly what was kept. A reprocess
        // marks its takeover on docswarm.reprocess.<docId> (kept here, never republished).
        subjects: [subjects.final("*"), subjects.reprocess("*")],
        subject_transform: { src: subjects.final("*"), dest: subjects.done("{{wildcard(1)}}") },
        republish: { src: subjects.doneAll, dest: subjects.doneAll },
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
        max_msgs_per_subject: 1,
        max_bytes: c.doneMaxBytes,
        max_age: nanos(c.doneMaxAgeMs),
        // Results above a message go to the object store; nothing bigger is ever a message here.
        max_msg_size: maxPayloadBytes,
        allow_direct: true,
        duplicate_window: dedup,
      },
    ),
    stream(
      c,
      STREAMS.events,
      "swarm events (notifications for dashboards, docswarm watch)",
      "discard old: older events go first; nothing depends on them",
      {
        subjects: [subjects.eventsAll],
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
        max_bytes: c.eventsMaxBytes,
        max_age: nanos(c.eventsMaxAgeMs),
        // Status and the dashboard read the recent past with direct gets by start time.
        allow_direct: true,
        duplicate_window: dedup,
      },
    ),
    stream(
      c,
      STREAMS.dlq,
      "dead letters: tasks and submissions that could not be processed, for docswarm dlq",
      "discard old: the oldest dead letters go first (their documents already failed)",
      {
        subjects: [subjects.dlq("*")],
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
        max_bytes: c.dlqMaxBytes,
        max_age: nanos(c.dlqMaxAgeMs),
        allow_direct: true,
        duplicate_window: dedup,
      },
    ),
    // JetStream's max-deliveries advisories are plain NATS messages, gone if no coordinator listens
    // at that moment (a failover): this stream keeps them until the leader has handled each one.
    stream(
      c,
      STREAMS.advisories,
      "max-deliveries advisories of the task streams until the leader dead-letters them",
      "discard old: advisories older than a full stream are lost; their tasks stay in their queues",
      {
        subjects: [subjects.maxDeliveries(STREAMS.submit), subjects.maxDeliveries(STREAMS.tasks)],
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
        max_bytes: c.advisoriesMaxBytes,
        max_age: nanos(c.dlqMaxAgeMs),
      },
    ),
  ];
}

function bucket(
  c: TopologyConfig,
  name: string,
  holds: string,
  atLimit: string,
  opts: { maxBytes: number; ttlMs?: number; markerTtlMs?: number },
): ResourceSpec {
  return {
    kind: "kv",
    name,
    stream: `KV_${name}`,
    holds,
    atLimit,
    library: {
      replicas: c.replicas,
      storage: storageOf(c),
      history: 1,
      max_bytes: opts.maxBytes,
      ...(opts.ttlMs !== undefined && { ttl: opts.ttlMs }),
      ...(opts.markerTtlMs !== undefined && { markerTTL: opts.markerTtlMs }),
    },
    config: {
      name: `KV_${name}`,
      num_replicas: c.replicas,
      storage: storageOf(c),
      max_bytes: opts.maxBytes,
      ...(opts.ttlMs !== undefined && { max_age: nanos(opts.ttlMs) }),
      // Per-key TTLs (nats-server 2.11+); the marker makes a lapse visible to watchers.
      ...(opts.markerTtlMs !== undefined && {
        allow_msg_ttl: true,
        subject_delete_marker_ttl: nanos(opts.markerTtlMs),
      }),
    },
  };
}

function buckets(c: TopologyConfig): ResourceSpec[] {
  return [
    bucket(
      c,
      BUCKETS.jobs,
      "one job per document or DAG job in flight, finished ones for jobsFinishedTtlMs",
      "writes are refused, so new documents cannot start: keep it well above what is in flight",
      { maxBytes: c.jobsMaxBytes, ttlMs: c.jobsMaxAgeMs, markerTtlMs: 60_000 },
    ),
    bucket(
      c,
      BUCKETS.agents,
      "one registration per live agent (per-key TTL)",
      "writes are refused and agents look lost; a registration is ~1 KB",
      { maxBytes: c.agentsMaxBytes, markerTtlMs: 60_000 },
    ),
    bucket(
      c,
      BUCKETS.leases,
      "the leader lease and leases of long-running tasks (per-key TTL)",
      "writes are refused: elections and task leases stop; a lease is ~300 bytes",
      { maxBytes: c.leasesMaxBytes, markerTtlMs: 60_000 },
    ),
    bucket(
      c,
      BUCKETS.scale,
      "the autoscaler's decision per stage",
      "writes are refused; one small value per stage",
      { maxBytes: c.scaleMaxBytes },
    ),
    bucket(c, BUCKETS.pipelines, "named pipelines", "writes are refused; one small value per pipeline", {
      maxBytes: c.pipelinesMaxBytes,
    }),
  ];
}

function objectStore(
  c: TopologyConfig,
  name: string,
  holds: string,
  atLimit: string,
  opts: { maxBytes: number; ttlMs: number },
): ResourceSpec {
  return {
    kind: "objectstore",
    name,
    stream: `OBJ_${name}`,
    holds,
    atLimit,
    library: {
      replicas: c.replicas,
      storage: storageOf(c),
      max_bytes: opts.maxBytes,
      ttl: nanos(opts.ttlMs),
    },
    config: {
      name: `OBJ_${name}`,
      num_replicas: c.replicas,
      storage: storageOf(c),
      max_bytes: opts.maxBytes,
      max_age: nanos(opts.ttlMs),
    },
  };
}

function objectStores(c: TopologyConfig): ResourceSpec[] {
  return [
    objectStore(
      c,
      OBJECT_STORES.docs,
      "document bytes while they are processed (dead-lettered ones until requeued)",
      "storing a document fails and it fails with a clear code; the age bounds leftovers",
      { maxBytes: c.docsMaxBytes, ttlMs: c.docsMaxAgeMs },
    ),
    objectStore(
      c,
      OBJECT_STORES.results,
      "final results too large for a message, as long as the done stream keeps their messages",
      "storing a large result fails and the merge is retried; keep it with the done stream's age",
      { maxBytes: c.resultObjectsMaxBytes, ttlMs: c.doneMaxAgeMs },
    ),
  ];
}

/** Every stream, bucket and object store, in creation order. */
export function resourceSpecs(c: TopologyConfig, maxPayloadBytes: number): ResourceSpec[] {
  return [...streams(c, maxPayloadBytes), ...buckets(c), ...objectStores(c)];
}

/** Which TopologyConfig key sets each setting field, per stream (to tell "asked" from "default"). */
export const SETTING_KEYS: Record<string, SettingKeys> = {
  [STREAMS.submit]: {
    max_msgs: "submitMaxMsgs",
    max_bytes: "submitMaxBytes",
    duplicate_window: "dedupWindowMs",
  },
  [STREAMS.tasks]: {
    max_msgs: "tasksMaxMsgs",
    max_bytes: "tasksMaxBytes",
    duplicate_window: "dedupWindowMs",
  },
  [STREAMS.results]: {
    max_bytes: "resultsMaxBytes",
    max_age: "resultsMaxAgeMs",
    duplicate_window: "dedupWindowMs",
  },
  [STREAMS.done]: { max_bytes: "doneMaxBytes", max_age: "doneMaxAgeMs", duplicate_window: "dedupWindowMs" },
  [STREAMS.events]: {
    max_bytes: "eventsMaxBytes",
    max_age: "eventsMaxAgeMs",
    duplicate_window: "dedupWindowMs",
  },
  [STREAMS.dlq]: { max_bytes: "dlqMaxBytes", max_age: "dlqMaxAgeMs", duplicate_window: "dedupWindowMs" },
  [STREAMS.advisories]: { max_bytes: "advisoriesMaxBytes", max_age: "dlqMaxAgeMs" },
  [`KV_${BUCKETS.jobs}`]: { max_bytes: "jobsMaxBytes", max_age: "jobsMaxAgeMs" },
  [`KV_${BUCKETS.agents}`]: { max_bytes: "agentsMaxBytes" },
  [`KV_${BUCKETS.leases}`]: { max_bytes: "leasesMaxBytes" },
  [`KV_${BUCKETS.scale}`]: { max_bytes: "scaleMaxBytes" },
  [`KV_${BUCKETS.pipelines}`]: { max_bytes: "pipelinesMaxBytes" },
  [`OBJ_${OBJECT_STORES.docs}`]: { max_bytes: "docsMaxBytes", max_age: "docsMaxAgeMs" },
  [`OBJ_${OBJECT_STORES.results}`]: { max_bytes: "resultObjectsMaxBytes", max_age: "doneMaxAgeMs" },
};

/** Consumers take their stream's replica count (0 = inherit), so none is ever set lower. */
const INHERIT_REPLICAS = 0;

/** The durable pull consumers of one stage, one per priority, shared by every agent serving it. */
export function stageConsumerSpecs(c: TopologyConfig, stage: string): ConsumerSpec[] {
  return taskSources(stage).map((s) => ({
    stream: s.stream,
    config: {
      durable_name: s.consumer,
      description: s.triage
        ? "docswarm split triage: plain submissions to their header's priority"
        : `docswarm stage ${s.stage}, ${s.priority} priority`,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(c.ackWaitMs),
      max_deliver: c.maxDeliver,
      // JetStream takes a backoff's first entry as the first delivery's ack wait (overriding
      // ack_wait), so it is the ack wait; the later entries are the redeliveries' waits.
      backoff: [c.ackWaitMs, ...c.backoffMs.slice(1)]
        .slice(0, Math.max(0, c.maxDeliver - 1))
        .map((ms) => nanos(ms)),
      max_ack_pending: c.maxAckPending,
      max_waiting: 4096,
      filter_subjects: s.filters,
      num_replicas: INHERIT_REPLICAS,
      mem_storage: c.memoryStorage,
    },
  }));
}

/** The coordinator's consumers: results, DAG job specs, max-deliveries advisories, finals. */
function coordinatorConsumerSpecs(c: TopologyConfig): ConsumerSpec[] {
  return [
    {
      stream: STREAMS.results,
      config: {
        durable_name: COORDINATOR_CONSUMER,
        description: "docswarm coordinator: progress from task results",
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(c.coordinatorAckWaitMs),
        max_ack_pending: 20_000,
        max_waiting: 512,
        num_replicas: INHERIT_REPLICAS,
        filter_subject: subjects.resultsAll,
      },
    },
    {
      stream: STREAMS.submit,
      config: {
        durable_name: JOBS_CONSUMER,
        description: "docswarm coordinator: DAG job submissions",
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(30_000),
        max_deliver: c.maxDeliver,
        max_ack_pending: 1000,
        num_replicas: INHERIT_REPLICAS,
        filter_subject: subjects.jobSubmit,
      },
    },
    {
      stream: STREAMS.advisories,
      config: {
        durable_name: DEAD_LETTER_CONSUMER,
        description: "docswarm coordinator: dead-letters tasks that ran out of deliveries",
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(c.coordinatorAckWaitMs),
        max_ack_pending: 256,
        num_replicas: INHERIT_REPLICAS,
        mem_storage: c.memoryStorage,
      },
    },
    {
      stream: STREAMS.done,
      config: {
        durable_name: FINALS_CONSUMER,
        description: "docswarm coordinator: documents split ended, from their finals' summary header",
        ack_policy: AckPolicy.Explicit,
        // Finals stored before the consumer existed were announced by split results already.
        deliver_policy: DeliverPolicy.New,
        // The summary header is all the coordinator reads; the body (the pages) stays on the server.
        headers_only: true,
        ack_wait: nanos(c.coordinatorAckWaitMs),
        max_ack_pending: 20_000,
        max_waiting: 512,
        num_replicas: INHERIT_REPLICAS,
        filter_subject: subjects.doneAll,
      },
    },
  ];
}

/** Every durable consumer: the built-in and extra stages', and the coordinator's. */
export function consumerSpecs(c: TopologyConfig): ConsumerSpec[] {
  const stages = [...new Set([...BUILTIN_STAGES, ...c.extraStages])];
  // The coordinator's first: on a fresh server they exist before any stage consumer hands out work,
  // so no final is written before coordinator-finals (which delivers only later ones) is there.
  return [...coordinatorConsumerSpecs(c), ...stages.flatMap((s) => stageConsumerSpecs(c, s))];
}

/** The settings fields of the stage consumers, from TopologyConfig keys. */
export const CONSUMER_SETTING_KEYS: SettingKeys = {
  ack_wait: "ackWaitMs",
  max_deliver: "maxDeliver",
  backoff: "backoffMs",
  max_ack_pending: "maxAckPending",
};
