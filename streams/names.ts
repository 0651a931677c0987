// Subject, stream, consumer and bucket names: the wire contract's vocabulary, in one place.
import type { Priority } from "../schemas/index.ts";
import { BUILTIN_STAGES, PRIORITIES } from "../schemas/index.ts";

export { BUILTIN_STAGES };

export const PREFIX = "docswarm";

export const STREAMS = {
  submit: "DOCSWARM_SUBMIT",
  tasks: "DOCSWARM_TASKS",
  results: "DOCSWARM_RESULTS",
  done: "DOCSWARM_DONE",
  events: "DOCSWARM_EVENTS",
  dlq: "DOCSWARM_DLQ",
  /** JetStream's max-deliveries advisories for the task streams, kept until the coordinator handles them. */
  advisories: "DOCSWARM_ADVISORIES",
} as const;

export const BUCKETS = {
  agents: "docswarm-agents",
  leases: "docswarm-leases",
  jobs: "docswarm-jobs",
  scale: "docswarm-scale",
  /** Named pipelines: name → Pipeline. */
  pipelines: "docswarm-pipelines",
} as const;

/** The stream behind a KV bucket. */
export function kvStream(bucket: string): string {
  return `KV_${bucket}`;
}

/** The subject of a key of a KV bucket (`>` for every key). */
export function kvSubject(bucket: string, key: string): string {
  return `$KV.${bucket}.${key}`;
}

/** The leading coordinator's lease: a key of the leases bucket. */
export const LEADER_KEY = "leader.coordinator";

export const OBJECT_STORES = {
  /** Document bytes (split names them <docId>.<runId>); chunk tasks carry references, not copies. */
  docs: "docswarm-docs",
  /** Final results too large for one message, named by doc id. */
  results: "docswarm-results",
} as const;

export const COORDINATOR_CONSUMER = "coordinator";
/**
 * The split agents' consumer of plain `docswarm.submit`: it moves each submission to
 * `docswarm.submit.<its header's priority>` before anything is split, so the header orders splitting.
 */
export const TRIAGE_CONSUMER = "split-triage";
/** The coordinator's durable consumer of DAG job specs on the submit stream. */
export const JOBS_CONSUMER = "jobs";
/** The leading coordinator's durable consumer on the advisories stream. */
export const DEAD_LETTER_CONSUMER = "dead-letters";
/**
 * The leading coordinator's headers-only consumer of final results (layout 4): a document split
 * ended itself is announced from its final's summary header, with no split result.
 */
export const FINALS_CONSUMER = "coordinator-finals";

export const subjects = {
  /** Raw PDF bytes; priority from the header (default normal), moved to submitAt by triage. */
  submit: `${PREFIX}.submit`,
  /** Raw PDF bytes with the priority in the subject, so splitting honours it too. */
  submitAt: (p: Priority) => `${PREFIX}.submit.${p}`,
  task: (stage: string, p: Priority) => `${PREFIX}.task.${stage}.${p}`,
  /** The result of one task: docswarm.result.<docId>.<stage>.<index>. */
  result: (docId: string, key: string) => `${PREFIX}.result.${docId}.${key}`,
  /** Every result of one document. */
  results: (docId: string) => `${PREFIX}.result.${docId}.>`,
  resultsAll: `${PREFIX}.result.>`,
  /** DAG job specs (JSON JobSpec). */
  jobSubmit: `${PREFIX}.jobs.submit`,
  done: (docId: string) => `${PREFIX}.done.${docId}`,
  /**
   * Where writers publish a final result. The done stream stores it as docswarm.done.<docId> and
   * republishes only what it stored, so plain subscribers never see a refused duplicate.
   */
  final: (docId: string) => `${PREFIX}.final.${docId}`,
  /**
   * A reprocess's mark in the done stream (docswarm.reprocess.<docId>, the run id as its body): a
   * final result is written only when nothing of the document is newer there than what its writer
   * saw (jobs/final.ts), so a run superseded after its writer looked cannot store one.
   */
  reprocess: (docId: string) => `${PREFIX}.reprocess.${docId}`,
  /** Everything of one document in the done stream: its final result and its reprocess mark. */
  doneFamily: (docId: string) => `${PREFIX}.*.${docId}`,
  doneAll: `${PREFIX}.done.>`,
  event: (type: string, key: string) => `${PREFIX}.events.${type}.${key}`,
  eventsAll: `${PREFIX}.events.>`,
  dlq: (stage: string) => `${PREFIX}.dlq.${stage}`,
  dlqAll: `${PREFIX}.dlq.*`,
  /** JetStream's advisory when a message of `stream` ran out of deliveries on one of its consumers. */
  maxDeliveries: (stream: string) => `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.${stream}.*`,
  /** Request-reply: the leading coordinator answers with its CoordinatorStatus. */
  coordinatorStatus: `${PREFIX}.status.coordinator`,
} as const;

/** Key of a task's lease in the leases bucket. */
export function taskLeaseKey(taskId: string): string {
  return `task.${taskId}`;
}

/** Durable consumer name of a stage at one priority (the consumer group its agents share). */
export function consumerName(stage: string, p: Priority): string {
  return `${stage}-${p}`;
}

/** Where a stage's tasks come from: split reads submissions, every other stage its task subjects. */
export type TaskSource = {
  stage: string;
  priority: Priority;
  stream: string;
  consumer: string;
  filters: string[];
  /**
   * Split's triage source (plain `docswarm.submit`): its messages are moved to their priority's
   * subject, not split here. Its priority is the one a submission without a header has.
   */
  triage?: true;
};

export function taskSources(stage: string): TaskSource[] {
  if (stage !== "split")
    return PRIORITIES.map((priority) => ({
      stage,
      priority,
      stream: STREAMS.tasks,
      consumer: consumerName(stage, priority),
      filters: [subjects.task(stage, priority)],
    }));
  // Triage last: `docswarm init` narrows split-normal (which took plain submissions before layout
  // 3) before it creates the triage consumer, since a work queue's consumers may not overlap.
  return [
    ...PRIORITIES.map((priority) => ({
      stage,
      priority,
      stream: STREAMS.submit,
      consumer: consumerName(stage, priority),
      filters: [subjects.submitAt(priority)],
    })),
    {
      stage,
      priority: "normal",
      stream: STREAMS.submit,
      consumer: TRIAGE_CONSUMER,
      filters: [subjects.submit],
      triage: true,
    },
  ];
}

/** The deterministic task id, also used as Nats-Msg-Id of the task and of its result. */
export function taskId(docId: string, runId: string, stage: string, index: number): string {
  return `${docId}.${runId}.${stage}.${index}`;
}
