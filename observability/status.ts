// Reads a snapshot of the swarm from NATS alone: consumer info per stage and priority, the
// dead-letter stream, the agents registry, the coordinator's consumer and lease, documents in
// progress from the jobs bucket, and the last minute of events. `docswarm status`, the coordinator's
// gauges and the dashboard all read through here.
import type { JetStreamManager, StoredMsg } from "@nats-io/jetstream";
import {
  type AgentRegistration,
  type AgentView,
  type CoordinatorSummary,
  type DocumentProgress,
  decodeJson,
  Job,
  LeaderLease,
  type StageStatus,
  type StatusWarning,
  SwarmEvent,
  type SwarmStatus,
  type Throughput,
} from "../schemas/index.ts";
import {
  BUCKETS,
  BUILTIN_STAGES,
  COORDINATOR_CONSUMER,
  kvStream,
  kvSubject,
  LEADER_KEY,
  listAgents,
  readLastPerSubject,
  STREAMS,
  subjects,
  taskSources,
} from "../streams/index.ts";
import type { GaugeSnapshot } from "./metrics.ts";
import { readStorage, storageWarnings } from "./storage.ts";

export async function readStages(
  jsm: JetStreamManager,
  stages: readonly string[] = BUILTIN_STAGES,
): Promise<StageStatus[]> {
  const sources = stages.flatMap((s) => taskSources(s));
  const infos = await Promise.all(
    sources.map((s) => jsm.consumers.info(s.stream, s.consumer).catch(() => undefined)),
  );
  const rows = new Map<string, StageStatus>();
  sources.forEach((s, i) => {
    const info = infos[i];
    const inFlight = info?.num_ack_pending ?? 0;
    const maxAckPending = Math.max(0, info?.config.max_ack_pending ?? 0);
    const row: StageStatus = {
      stage: s.stage,
      priority: s.priority,
      backlog: info?.num_pending ?? 0,
      inFlight,
      redelivered: info?.num_redelivered ?? 0,
      waiting: info?.num_waiting ?? 0,
      maxAckPending,
      atMaxAckPending: maxAckPending > 0 && inFlight >= maxAckPending,
    };
    // Split's triage consumer holds plain submissions, normal until triage reads their header: one
    // row with split-normal's.
    const key = `${s.stage}/${s.priority}`;
    const same = rows.get(key);
    if (!same) rows.set(key, row);
    else
      rows.set(key, {
        ...same,
        backlog: same.backlog + row.backlog,
        inFlight: same.inFlight + row.inFlight,
        redelivered: same.redelivered + row.redelivered,
        waiting: same.waiting + row.waiting,
        atMaxAckPending: same.atMaxAckPending || row.atMaxAckPending,
      });
  });
  return [...rows.values()];
}

/** Messages per stage in the dead-letter stream (docswarm.dlq.<stage>). */
export async function readDeadLetters(jsm: JetStreamManager): Promise<Record<string, number>> {
  const info = await jsm.streams
    .info(STREAMS.dlq, { subjects_filter: subjects.dlq(">") })
    .catch(() => undefined);
  const out: Record<string, number> = {};
  for (const [subject, n] of Object.entries(info?.state.subjects ?? {})) {
    const stage = subject.slice(subjects.dlq("").length);
    out[stage] = (out[stage] ?? 0) + n;
  }
  return out;
}

/** Stored submissions so far (the submit stream's last sequence). */
export async function readSubmitted(jsm: JetStreamManager): Promise<number> {
  const info = await jsm.streams.info(STREAMS.submit).catch(() => undefined);
  return info?.state.last_seq ?? 0;
}

export function agentViews(agents: AgentRegistration[], now = Date.now()): AgentView[] {
  return agents
    .map((a) => ({ ...a, heartbeatAgeMs: Math.max(0, now - a.heartbeatAt) }))
    .sort((a, b) => a.agentId.localeCompare(b.agentId));
}

/** Live agents per capability, counted by state. */
export function agentsByStage(agents: AgentRegistration[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const a of agents) {
    if (a.status === "stopped") continue;
    for (const stage of a.stages) {
      const s = out[stage] ?? {};
      s[a.status] = (s[a.status] ?? 0) + 1;
      out[stage] = s;
    }
  }
  return out;
}

function liveCount(byStage: Record<string, Record<string, number>>, stage: string): number {
  return Object.entries(byStage[stage] ?? {})
    .filter(([status]) => status !== "draining")
    .reduce((n, [, c]) => n + c, 0);
}

// The lease's holder field is whatever the leader election writes; accept the usual names.
/** Holder and term of the leader lease (schemas/lease.ts); a value that does not parse names nobody. */
function leaseHolder(m: StoredMsg): { holder: string; term: number } | null {
  const lease = decodeJson(LeaderLease, m.data);
  if (!lease.ok) return null;
  // The winning write carries term 0 (its revision is not known before it is written); renewals
  // carry that revision.
  return { holder: lease.value.holderId, term: lease.value.term || m.seq };
}

export async function readCoordinator(jsm: JetStreamManager): Promise<CoordinatorSummary> {
  const [info, lease] = await Promise.all([
    jsm.consumers.info(STREAMS.results, COORDINATOR_CONSUMER).catch(() => undefined),
    jsm.direct
      .getMessage(kvStream(BUCKETS.leases), { last_by_subj: kvSubject(BUCKETS.leases, LEADER_KEY) })
      .catch(() => null),
  ]);
  const op = lease?.header?.get("KV-Operation");
  const live = lease && op !== "DEL" && op !== "PURGE" && !lease.header?.has("Nats-Marker-Reason");
  const held = live ? leaseHolder(lease) : null;
  return {
    leader: held?.holder ?? null,
    term: held?.term ?? null,
    consuming: (info?.num_waiting ?? 0) > 0 || (info?.num_ack_pending ?? 0) > 0 || info?.push_bound === true,
    pendingResults: info?.num_pending ?? 0,
  };
}

export function documentProgress(job: Job): DocumentProgress {
  return {
    docId: job.docId,
    source: job.source,
    status: job.status,
    priority: job.priority,
    pagesDone: job.status === "done" ? job.pageCount : job.pagesDone,
    pageCount: job.pageCount,
    // Chunks with their text extracted (for DAG jobs: tasks done of all tasks).
    chunksDone: Object.values(job.tasks).filter(
      (t) => t.state === "done" && (job.kind === "dag" || t.stage === "extract"),
    ).length,
    chunks: job.kind === "dag" ? Object.keys(job.tasks).length : job.chunks.length,
    submittedAt: job.submittedAt,
    updatedAt: job.updatedAt,
    ...(job.error && { errorCode: job.error.code, errorMessage: job.error.message }),
  };
}

/** Documents not finished, oldest first, at most `limit`. */
export async function readDocumentsInProgress(
  jsm: JetStreamManager,
  limit = 100,
): Promise<DocumentProgress[]> {
  const msgs = await readLastPerSubject(jsm, kvStream(BUCKETS.jobs), kvSubject(BUCKETS.jobs, ">"));
  const out: DocumentProgress[] = [];
  for (const m of msgs) {
    const op = m.header?.get("KV-Operation");
    if (op === "DEL" || op === "PURGE" || m.data.length === 0) continue;
    const j = decodeJson(Job, m.data);
    if (j.ok && j.value.status === "running") out.push(documentProgress(j.value));
  }
  return out.sort((a, b) => a.submittedAt - b.submittedAt).slice(0, limit);
}

/** Accumulates throughput from events (status reads the last minute; the dashboard feeds it live). */
export class ThroughputCounter {
  pages = 0;
  docsDone = 0;
  docsFailed = 0;
  readonly tasks: Record<string, number> = {};

  add(e: SwarmEvent): void {
    const task = (stage: string) => {
      this.tasks[stage] = (this.tasks[stage] ?? 0) + 1;
    };
    switch (e.type) {
      case "doc.accepted":
        task("split");
        break;
      case "doc.progress":
        task(e.stage);
        if (e.stage === "extract") this.pages += e.chunkPages ?? 0;
        break;
      case "doc.done":
        task("merge");
        this.docsDone++;
        break;
      case "doc.failed":
        this.docsFailed++;
        break;
      default:
        break;
    }
  }

  result(windowMs: number): Throughput {
    return {
      windowMs,
      pages: this.pages,
      pagesPerSecond: Math.round((this.pages / Math.max(1, windowMs / 1000)) * 10) / 10,
      docsDone: this.docsDone,
      docsFailed: this.docsFailed,
      tasks: { ...this.tasks },
    };
  }
}

/** Events stored since `since` (direct gets, paged), decoded; invalid ones skipped. */
export async function readEventsSince(
  jsm: JetStreamManager,
  since: Date,
  filter: string = subjects.eventsAll,
  max = 200_000,
): Promise<SwarmEvent[]> {
  const out: SwarmEvent[] = [];
  let next: { start_time: Date } | { seq: number } = { start_time: since };
  while (out.length < max) {
    let last: StoredMsg | undefined;
    try {
      const iter = await jsm.direct.getBatch(STREAMS.events, { ...next, next_by_subj: filter, batch: 1000 });
      for await (const m of iter) {
        last = m;
        const e = decodeJson(SwarmEvent, m.data);
        if (e.ok) out.push(e.value);
      }
    } catch {
      // No (more) messages: direct get answers 404 instead of an empty batch.
    }
    if (!last || last.pending === 0) break;
    next = { seq: last.seq + 1 };
  }
  return out;
}

export async function readThroughput(jsm: JetStreamManager, windowMs = 60_000): Promise<Throughput> {
  const counter = new ThroughputCounter();
  for (const e of await readEventsSince(jsm, new Date(Date.now() - windowMs), `${subjects.eventsAll}`)) {
    counter.add(e);
  }
  return counter.result(windowMs);
}

/** What looks wrong: work nobody can take, consumers that stopped delivering, dead letters, stale agents. */
export function findWarnings(s: Omit<SwarmStatus, "warnings">): StatusWarning[] {
  const out: StatusWarning[] = [];
  const stagesWithBacklog = new Set(s.stages.filter((x) => x.backlog > 0).map((x) => x.stage));
  for (const stage of stagesWithBacklog) {
    if (liveCount(s.agentsByStage, stage) === 0) {
      const waiting = s.stages.filter((x) => x.stage === stage).reduce((n, x) => n + x.backlog, 0);
      out.push({
        code: "STAGE_WITHOUT_AGENTS",
        stage,
        message: `stage ${stage} has ${waiting} task(s) waiting and no live agent serving it`,
      });
    }
  }
  for (const x of s.stages) {
    if (x.atMaxAckPending) {
      out.push({
        code: "MAX_ACK_PENDING",
        stage: x.stage,
        priority: x.priority,
        message: `consumer ${x.stage}-${x.priority} is at max_ack_pending (${x.maxAckPending}): delivery has stopped until tasks are acked`,
      });
    }
  }
  const busy = s.stages.some((x) => x.backlog > 0 || x.inFlight > 0) || s.coordinator.pendingResults > 0;
  if (busy && !s.coordinator.consuming) {
    out.push({
      code: "NO_COORDINATOR",
      message: `no coordinator is consuming task results (${s.coordinator.pendingResults} waiting)`,
    });
  }
  for (const [stage, n] of Object.entries(s.deadLetters)) {
    if (n > 0)
      out.push({
        code: "DEAD_LETTERS",
        stage,
        message: `${n} task(s) of stage ${stage} in the dead-letter stream`,
      });
  }
  for (const a of s.agents) {
    if (a.status !== "stopped" && a.heartbeatAgeMs > 5000) {
      out.push({
        code: "AGENT_STALE",
        message: `agent ${a.agentId} last reported ${(a.heartbeatAgeMs / 1000).toFixed(1)} s ago`,
      });
    }
  }
  out.push(...storageWarnings(s.storage));
  return out;
}

export type ReadStatusOptions = {
  stages?: readonly string[];
  /** Documents listed at most (default 100). */
  documentLimit?: number;
  throughputWindowMs?: number;
};

export async function readSwarmStatus(
  jsm: JetStreamManager,
  options: ReadStatusOptions = {},
): Promise<SwarmStatus> {
  const now = Date.now();
  const [registrations, deadLetters, coordinator, documents, throughput, storage] = await Promise.all([
    listAgents(jsm),
    readDeadLetters(jsm),
    readCoordinator(jsm),
    readDocumentsInProgress(jsm, options.documentLimit),
    readThroughput(jsm, options.throughputWindowMs),
    readStorage(jsm),
  ]);
  const knownStages = new Set<string>([...(options.stages ?? BUILTIN_STAGES)]);
  for (const a of registrations) for (const s of a.stages) knownStages.add(s);
  // Stages in use that no agent serves (yet) have consumers too: show their backlog.
  for await (const ci of jsm.consumers.list(STREAMS.tasks)) {
    const m = /^([a-z][a-z0-9-]*)-(high|normal|low)$/.exec(ci.name);
    if (m) knownStages.add(m[1]!);
  }
  const stages = await readStages(jsm, [...knownStages]);
  const partial = {
    v: 1 as const,
    at: now,
    stages,
    deadLetters,
    agents: agentViews(registrations, now),
    agentsByStage: agentsByStage(registrations),
    coordinator,
    documents,
    throughput,
    storage,
  };
  return { ...partial, warnings: findWarnings(partial) };
}

/** The lighter read behind the Prometheus gauges. */
export async function readGaugeSnapshot(jsm: JetStreamManager): Promise<GaugeSnapshot> {
  const [agents, deadLetters, submitted] = await Promise.all([
    listAgents(jsm),
    readDeadLetters(jsm),
    readSubmitted(jsm),
  ]);
  const names = new Set<string>(BUILTIN_STAGES);
  for (const a of agents) for (const s of a.stages) names.add(s);
  const stages = await readStages(jsm, [...names]);
  const byStage = agentsByStage(agents);
  const agentsAlive: Record<string, number> = {};
  for (const stage of names) {
    agentsAlive[stage] = liveCount(byStage, stage);
    deadLetters[stage] ??= 0;
  }
  return { stages, deadLetters, agentsAlive, submitted };
}
