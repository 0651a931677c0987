// What each role may publish and subscribe, as NATS permissions, built from the names in names.ts
// so a renamed subject, stream or bucket moves its permissions with it. Each list is what the
// role's code does (its publishes, subscriptions and JetStream API calls), nothing more; the tests in
// test/auth-*.test.ts run every role under these lists and try what each must not do.
import { PRIORITIES } from "../schemas/index.ts";
import {
  BUCKETS,
  COORDINATOR_CONSUMER,
  DEAD_LETTER_CONSUMER,
  FINALS_CONSUMER,
  JOBS_CONSUMER,
  OBJECT_STORES,
  STREAMS,
  subjects,
  taskSources,
} from "./names.ts";

export const ROLES = ["submitter", "agent", "coordinator", "observer", "admin"] as const;
export type Role = (typeof ROLES)[number];

export type Permissions = {
  pub: { allow: string[]; deny?: string[] };
  sub: { allow: string[]; deny?: string[] };
  /** Replies to requests this user received (core request-reply), one each within the ttl. */
  resp?: { max: number; ttlMs: number };
};

/** The private inbox of a user: its replies arrive there, and no one else may listen. */
export function inboxPrefixFor(user: string): string {
  return `_INBOX_${user}`;
}

// JetStream API subjects ($JS.API.<verb>.<stream>[.<consumer>[.<filter>]]).
const API = "$JS.API";
const api = (...tokens: string[]) => [API, ...tokens].join(".");
const streamInfo = (...streams: string[]) => streams.map((s) => api("STREAM.INFO", s));
const msgGet = (...streams: string[]) => streams.map((s) => api("STREAM.MSG.GET", s));
/** Direct gets, batched (`DIRECT.GET.<stream>`) and by last subject (`DIRECT.GET.<stream>.<subject>`). */
const directGet = (...streams: string[]) =>
  streams.flatMap((s) => [api("DIRECT.GET", s), api("DIRECT.GET", s, ">")]);
const kvStream = (bucket: string) => `KV_${bucket}`;
const objStream = (store: string) => `OBJ_${store}`;
const kvKeys = (bucket: string, keys = ">") => `$KV.${bucket}.${keys}`;
const objAll = (store: string) => [`$O.${store}.C.>`, `$O.${store}.M.>`];
/** Ordered consumers (the client's consumers.get(), watch, object get): created, pulled, deleted. */
const orderedConsumers = (stream: string, filter: string) => [
  api("CONSUMER.CREATE", stream),
  api("CONSUMER.CREATE", stream, "*", filter),
  api("CONSUMER.MSG.NEXT", stream, "*"),
  api("CONSUMER.INFO", stream, "*"),
  api("CONSUMER.DELETE", stream, "*"),
  // Push-based ordered consumers (KV watch) answer the server's flow control.
  `$JS.FC.${stream}.>`,
];
const durable = (stream: string, consumer: string) => [
  api("CONSUMER.INFO", stream, consumer),
  api("CONSUMER.MSG.NEXT", stream, consumer),
  `$JS.ACK.${stream}.${consumer}.>`,
];

const ALL_KV = Object.values(BUCKETS).map(kvStream);
const ALL_OBJ = Object.values(OBJECT_STORES).map(objStream);
const taskFilters = `${subjects.task("*", "normal").replace(/\.normal$/, "")}.>`; // docswarm.task.>

/**
 * Creating a stage's consumers on the task stream: by name and filter, or (filter_subjects, as
 * topology.ts makes them) the durable endpoint. The stream is a work queue, so the server refuses a
 * consumer overlapping another; and whoever may create them may already pull every stage's tasks.
 */
const stageConsumerCreation = [
  api("CONSUMER.CREATE", STREAMS.tasks, "*", taskFilters),
  api("CONSUMER.DURABLE.CREATE", STREAMS.tasks, "*"),
];

/** Account and stream info: limits, configuration and counts, no message content. */
const METADATA = [api("INFO"), api("STREAM.INFO", "*"), api("STREAM.NAMES")];
const SPLIT_SOURCES = taskSources("split");

/** Reading what the status, watch and dashboard show, shared by every role that looks. */
function observing(): string[] {
  return [
    // Configuration and counts of every stream and consumer (no message content). Dead letters are
    // listed from their task.deadlettered events: DLQ entries are copies of submissions and tasks.
    ...METADATA,
    api("CONSUMER.LIST", "*"),
    api("CONSUMER.INFO", "*", "*"),
    ...directGet(STREAMS.events, STREAMS.done, kvStream(BUCKETS.agents), kvStream(BUCKETS.jobs)),
    ...directGet(kvStream(BUCKETS.leases), kvStream(BUCKETS.scale), kvStream(BUCKETS.pipelines)),
    ...msgGet(
      STREAMS.done,
      kvStream(BUCKETS.leases),
      kvStream(BUCKETS.jobs),
      objStream(OBJECT_STORES.results),
    ),
    ...directGet(objStream(OBJECT_STORES.results)),
    ...orderedConsumers(STREAMS.events, `${subjects.eventsAll.slice(0, -1)}>`),
    ...orderedConsumers(kvStream(BUCKETS.agents), kvKeys(BUCKETS.agents)),
    ...orderedConsumers(kvStream(BUCKETS.jobs), kvKeys(BUCKETS.jobs)),
    subjects.coordinatorStatus,
  ];
}

/** Reading final results: the done stream (message gets, direct gets, consumers) and large results. */
function readingResults(): string[] {
  return [
    api("INFO"),
    ...streamInfo(STREAMS.done, objStream(OBJECT_STORES.results)),
    ...msgGet(STREAMS.done, objStream(OBJECT_STORES.results)),
    ...directGet(STREAMS.done, objStream(OBJECT_STORES.results)),
    ...orderedConsumers(STREAMS.done, subjects.doneAll),
    ...orderedConsumers(objStream(OBJECT_STORES.results), `$O.${OBJECT_STORES.results}.C.>`),
  ];
}

function submitter(): Permissions {
  return {
    pub: {
      allow: [
        subjects.submit,
        ...PRIORITIES.map(subjects.submitAt),
        subjects.jobSubmit,
        // Large documents: chunks under a fresh upload id (see streams/uploads.ts); never metadata,
        // so a submitter can neither name, replace nor delete an object.
        `$O.${OBJECT_STORES.docs}.C.>`,
        ...streamInfo(objStream(OBJECT_STORES.docs)),
        ...readingResults(),
      ],
    },
    sub: { allow: [subjects.doneAll, `${subjects.eventsAll.slice(0, -1)}doc.>`] },
  };
}

function agent(): Permissions {
  return {
    pub: {
      allow: [
        `${taskFilters}`,
        // Triage moves a plain docswarm.submit to its header's priority (agents/triage.ts); plain
        // docswarm.submit and DAG jobs stay the submitters'.
        ...PRIORITIES.map(subjects.submitAt),
        subjects.resultsAll,
        `${subjects.final("*").slice(0, -1)}>`,
        `${subjects.eventsAll.slice(0, -1)}agent.>`,
        ...METADATA,
        // Stage consumer groups: split on the submit stream, every other stage on the task stream.
        ...SPLIT_SOURCES.flatMap((s) => durable(s.stream, s.consumer)),
        ...durable(STREAMS.tasks, "*"),
        // Agents of a new (user) stage create its consumers, filtered on its task subjects only.
        ...stageConsumerCreation,
        // Is a redelivered task still queued (leases), what did the dependencies produce (inputs).
        ...msgGet(STREAMS.tasks, STREAMS.submit, STREAMS.results, STREAMS.done),
        ...directGet(STREAMS.results, STREAMS.done),
        // A reprocess marks its takeover; the old final result goes by its sequence.
        `${subjects.reprocess("*").slice(0, -1)}>`,
        api("STREAM.MSG.DELETE", STREAMS.done),
        // Job records (split creates them), registrations, task leases, scale decisions, pipelines.
        kvKeys(BUCKETS.jobs),
        kvKeys(BUCKETS.agents),
        kvKeys(BUCKETS.leases, "task.>"),
        ...directGet(...ALL_KV),
        ...msgGet(...ALL_KV),
        // Document bytes and large results.
        ...ALL_OBJ.flatMap((s) => [...directGet(s), ...msgGet(s), api("STREAM.PURGE", s)]),
        ...Object.values(OBJECT_STORES).flatMap(objAll),
      ],
    },
    sub: { allow: [] },
  };
}

function coordinator(): Permissions {
  return {
    pub: {
      allow: [
        taskFilters,
        subjects.resultsAll,
        `${subjects.final("*").slice(0, -1)}>`,
        subjects.eventsAll,
        `${subjects.dlq("*").slice(0, -1)}>`,
        ...observing(),
        ...durable(STREAMS.results, COORDINATOR_CONSUMER),
        ...durable(STREAMS.submit, JOBS_CONSUMER),
        ...durable(STREAMS.advisories, DEAD_LETTER_CONSUMER),
        ...durable(STREAMS.done, FINALS_CONSUMER),
        // Stages with tasks but no agents get their consumers, so their backlog shows.
        ...stageConsumerCreation,
        // Dead letters: the task by sequence, then out of its work queue; unknown stages by subject.
        ...msgGet(STREAMS.tasks, STREAMS.submit, STREAMS.results),
        api("STREAM.MSG.DELETE", STREAMS.tasks),
        api("STREAM.MSG.DELETE", STREAMS.submit),
        ...directGet(STREAMS.results, STREAMS.tasks),
        // A finished document's task results go one by one, by sequence (never a purge of the
        // stream its own consumer follows: coordinator/progress.ts); its bytes are purged.
        api("STREAM.MSG.DELETE", STREAMS.results),
        // A reprocess that failed in split marks its takeover; the old final goes by its sequence.
        `${subjects.reprocess("*").slice(0, -1)}>`,
        api("STREAM.MSG.DELETE", STREAMS.done),
        kvKeys(BUCKETS.jobs),
        kvKeys(BUCKETS.leases),
        // A leases bucket created again has its sequence (the terms) moved past the jobs' terms.
        api("STREAM.PURGE", kvStream(BUCKETS.leases)),
        kvKeys(BUCKETS.scale),
        ...directGet(...ALL_KV),
        ...msgGet(...ALL_KV),
        ...ALL_OBJ.flatMap((s) => [...directGet(s), ...msgGet(s), api("STREAM.PURGE", s)]),
        ...Object.values(OBJECT_STORES).flatMap(objAll),
      ],
    },
    // The leader answers status requests.
    sub: { allow: [subjects.coordinatorStatus] },
    resp: { max: 1, ttlMs: 10_000 },
  };
}

function observer(): Permissions {
  return {
    pub: { allow: [...observing(), ...readingResults()] },
    sub: { allow: [subjects.eventsAll] },
  };
}

function admin(): Permissions {
  return {
    pub: {
      allow: [
        // docswarm init creates and updates every stream, consumer and bucket.
        `${API}.>`,
        subjects.submit,
        ...PRIORITIES.map(subjects.submitAt),
        subjects.jobSubmit,
        taskFilters,
        kvKeys(BUCKETS.pipelines),
        ...Object.values(OBJECT_STORES).flatMap(objAll),
        "$JS.FC.>",
      ],
    },
    sub: { allow: [subjects.eventsAll, subjects.doneAll] },
  };
}

const BUILDERS: Record<Role, () => Permissions> = { submitter, agent, coordinator, observer, admin };

/** The permissions of `role` for a user named `user` (whose private inbox is inboxPrefixFor(user)). */
export function rolePermissions(role: Role, user: string): Permissions {
  const p = BUILDERS[role]();
  const dedupe = (xs: string[]) => [...new Set(xs)];
  return {
    ...p,
    pub: { ...p.pub, allow: dedupe(p.pub.allow) },
    sub: { ...p.sub, allow: dedupe([...p.sub.allow, `${inboxPrefixFor(user)}.>`]) },
  };
}
