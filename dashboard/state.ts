// What the dashboard knows, kept live from NATS alone: KV watches on the agents and jobs buckets,
// consumer and stream info polled every second, and the events subject. Holds no database: a
// restarted dashboard rebuilds everything from KV and the last minutes of the events stream.
import { type JetStreamManager, jetstreamManager } from "@nats-io/jetstream";
import { type KV, Kvm, type KvWatchEntry } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Meter } from "@opentelemetry/api";
import {
  agentsByStage,
  agentViews,
  describeEvent,
  documentProgress,
  findWarnings,
  type GaugeSnapshot,
  readCoordinator,
  readDeadLetters,
  readEventsSince,
  readStages,
  readStorage,
  readSubmitted,
  recordSwarmEvent,
  ThroughputCounter,
} from "../observability/index.ts";
import {
  AgentRegistration,
  type CoordinatorSummary,
  type DocumentProgress,
  decodeJson,
  Job,
  type StageStatus,
  type StatusWarning,
  type StorageStatus,
  SwarmEvent,
  type Throughput,
  validate,
} from "../schemas/index.ts";
import { BUCKETS, BUILTIN_STAGES, closeSteps, subjects } from "../streams/index.ts";
import {
  type DeadLetter,
  type DlqContents,
  deadLetterOfEvent,
  inDlq,
  readDeadLetterEvents,
  readDlqContents,
  recentDeadLetters,
} from "./dead-letters.ts";

/** One second of the throughput series. */
export type SecondBucket = { t: number; pages: number; tasks: number; docsDone: number; docsFailed: number };

export type DashboardSnapshot = {
  at: number;
  startedAt: number;
  natsServer: string;
  connected: boolean;
  stages: Array<StageStatus & { tasksPerSecond: number }>;
  agents: ReturnType<typeof agentViews>;
  agentsByStage: Record<string, Record<string, number>>;
  coordinator: CoordinatorSummary;
  documents: DocumentProgress[];
  finished: DocumentProgress[];
  failures: DocumentProgress[];
  taskFailures: Array<Extract<SwarmEvent, { type: "task.failed" }>>;
  deadLetters: { counts: Record<string, number>; recent: DeadLetter[] };
  series: SecondBucket[];
  lastMinute: Throughput;
  totals: {
    submitted: number;
    inProgress: number;
    done: number;
    failed: number;
    agents: number;
    backlog: number;
  };
  events: DescribedEvent[];
  /** Every stream, bucket and object store against its limits (read every few seconds). */
  storage: StorageStatus;
  warnings: StatusWarning[];
};

/** An event as the browser gets it: with the line `docswarm watch` prints for it. */
export type DescribedEvent = SwarmEvent & { text: string };

export function describedEvent(e: SwarmEvent): DescribedEvent {
  return { ...e, text: describeEvent(e) };
}

const HISTORY_S = 300;
const KEEP_FINISHED = 50;
const KEEP_EVENTS = 100;
const SHOW_DEAD_LETTERS = 20;
const KEEP_DEAD_LETTERS = 1000;

type Listener = (kind: "event", e: SwarmEvent) => void;

export class DashboardState {
  readonly startedAt = Date.now();
  readonly #nc: NatsConnection;
  readonly #jsm: JetStreamManager;
  readonly #meter: Meter | undefined;
  readonly #agents = new Map<string, AgentRegistration>();
  readonly #jobs = new Map<string, DocumentProgress>();
  readonly #series = new Map<number, SecondBucket>();
  readonly #perStage = new Map<number, Record<string, number>>();
  readonly #events: SwarmEvent[] = [];
  readonly #taskFailures: Array<Extract<SwarmEvent, { type: "task.failed" }>> = [];
  readonly #listeners = new Set<Listener>();
  readonly #stops: Array<() => void | Promise<void>> = [];
  #stages: StageStatus[] = [];
  #coordinator: CoordinatorSummary = { leader: null, term: null, consuming: false, pendingResults: 0 };
  #deadLetters: { counts: Record<string, number>; recent: DeadLetter[] } = { counts: {}, recent: [] };
  // Dead letters from task.deadlettered events, by DLQ sequence; the DLQ's info says which remain.
  readonly #deadLetterEvents = new Map<number, DeadLetter>();
  #dlqContents: DlqContents | undefined;
  #dlqChanged = true;
  #submitted = 0;
  #storage: StorageStatus = { items: [], account: null, warnRatio: 0.8 };
  #storageReadAt = 0;
  #poller: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;

  private constructor(nc: NatsConnection, jsm: JetStreamManager, meter: Meter | undefined) {
    this.#nc = nc;
    this.#jsm = jsm;
    this.#meter = meter;
  }

  /** Starts following the swarm; `meter` receives the swarm-wide counters for /metrics. */
  static async start(
    nc: NatsConnection,
    options: { meter?: Meter; pollMs?: number } = {},
  ): Promise<DashboardState> {
    const s = new DashboardState(nc, await jetstreamManager(nc), options.meter);
    await s.#backfill();
    const sub = nc.subscribe(subjects.eventsAll, { callback: (_err, m) => s.#onEventData(m.data) });
    s.#stops.push(() => sub.unsubscribe());
    const kvm = new Kvm(nc);
    await s.#watch(kvm, BUCKETS.agents, (e) => s.#onAgent(e));
    await s.#watch(kvm, BUCKETS.jobs, (e) => s.#onJob(e));
    await s.#poll();
    s.#poller = setInterval(() => void s.#poll(), options.pollMs ?? 1000);
    return s;
  }

  /** Calls `fn` for every swarm event from now on; returns the unsubscribe function. */
  subscribe(fn: Listener): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  async #watch(kvm: Kvm, bucket: string, onEntry: (e: KvWatchEntry) => void): Promise<void> {
    let kv: KV;
    try {
      kv = await kvm.open(bucket);
    } catch {
      return; // No swarm here yet; the poller still shows streams as they appear.
    }
    const iter = await kv.watch();
    this.#stops.push(() => iter.stop());
    void (async () => {
      for await (const e of iter) onEntry(e);
    })().catch(() => {});
  }

  // The last few minutes of events fill the chart and the feed at start.
  async #backfill(): Promise<void> {
    const since = new Date(Date.now() - HISTORY_S * 1000);
    const events = await readEventsSince(this.#jsm, since, subjects.eventsAll, 50_000).catch(() => []);
    for (const e of events) this.#record(e, false);
    for (const d of await readDeadLetterEvents(this.#jsm).catch(() => []))
      this.#deadLetterEvents.set(d.seq, d);
  }

  #onEventData(data: Uint8Array): void {
    const e = decodeJson(SwarmEvent, data);
    if (e.ok) this.#record(e.value, true);
  }

  #record(e: SwarmEvent, live: boolean): void {
    const sec = Math.floor(e.at / 1000);
    const b = this.#series.get(sec) ?? { t: sec * 1000, pages: 0, tasks: 0, docsDone: 0, docsFailed: 0 };
    const c = new ThroughputCounter();
    c.add(e);
    b.pages += c.pages;
    b.docsDone += c.docsDone;
    b.docsFailed += c.docsFailed;
    const stageTasks = this.#perStage.get(sec) ?? {};
    for (const [stage, n] of Object.entries(c.tasks)) {
      b.tasks += n;
      stageTasks[stage] = (stageTasks[stage] ?? 0) + n;
    }
    this.#series.set(sec, b);
    this.#perStage.set(sec, stageTasks);
    this.#events.push(e);
    if (this.#events.length > KEEP_EVENTS) this.#events.splice(0, this.#events.length - KEEP_EVENTS);
    if (e.type === "task.failed") {
      this.#taskFailures.push(e);
      if (this.#taskFailures.length > KEEP_FINISHED) this.#taskFailures.shift();
    }
    if (e.type === "task.deadlettered") {
      this.#deadLetterEvents.set(e.dlqSeq, deadLetterOfEvent(e));
      this.#dlqChanged = true;
    }
    if (live) {
      recordSwarmEvent(e, this.#meter);
      for (const fn of this.#listeners) fn("event", e);
    }
  }

  #onAgent(e: KvWatchEntry): void {
    if (e.operation !== "PUT") {
      this.#agents.delete(e.key);
      return;
    }
    let parsed: unknown;
    try {
      parsed = e.json();
    } catch {
      return;
    }
    const r = validate(AgentRegistration, parsed);
    if (r.ok) this.#agents.set(e.key, r.value);
  }

  #onJob(e: KvWatchEntry): void {
    if (e.operation !== "PUT" || e.value.length === 0) {
      this.#jobs.delete(e.key);
      return;
    }
    const j = decodeJson(Job, e.value);
    if (!j.ok) return;
    this.#jobs.set(e.key, documentProgress(j.value));
    if (!e.isUpdate) return;
    // Finished documents beyond the last few are forgotten (they stay in KV).
    const finished = [...this.#jobs.values()].filter((d) => d.status === "done" || d.status === "failed");
    if (finished.length > KEEP_FINISHED * 4) {
      finished.sort((a, b) => a.updatedAt - b.updatedAt);
      for (const d of finished.slice(0, finished.length - KEEP_FINISHED * 2)) this.#jobs.delete(d.docId);
    }
  }

  async #poll(): Promise<void> {
    const stageNames = new Set<string>(BUILTIN_STAGES);
    for (const a of this.#agents.values()) for (const s of a.stages) stageNames.add(s);
    // Storage moves slowly and costs a stream info per resource: every 5 s is plenty.
    const storageDue = Date.now() - this.#storageReadAt >= 5000;
    const [stages, coordinator, counts, submitted, storage] = await Promise.all([
      readStages(this.#jsm, [...stageNames]).catch(() => this.#stages),
      readCoordinator(this.#jsm).catch(() => this.#coordinator),
      readDeadLetters(this.#jsm).catch(() => this.#deadLetters.counts),
      readSubmitted(this.#jsm).catch(() => this.#submitted),
      storageDue ? readStorage(this.#jsm).catch(() => this.#storage) : this.#storage,
    ]);
    if (storageDue) this.#storageReadAt = Date.now();
    this.#storage = storage;
    this.#stages = stages;
    this.#coordinator = coordinator;
    this.#deadLetters = { counts, recent: await this.#recentDeadLetters(counts) };
    this.#submitted = submitted;
    const cutoff = Math.floor(Date.now() / 1000) - HISTORY_S;
    for (const k of this.#series.keys()) if (k < cutoff) this.#series.delete(k);
    for (const k of this.#perStage.keys()) if (k < cutoff) this.#perStage.delete(k);
  }

  // Re-reads which entries the DLQ holds (stream info, no content) when a dead letter came or went.
  async #recentDeadLetters(counts: Record<string, number>): Promise<DeadLetter[]> {
    const total = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);
    if (this.#dlqChanged || total(counts) !== total(this.#deadLetters.counts)) {
      this.#dlqChanged = false;
      this.#dlqContents = await readDlqContents(this.#jsm).catch(() => this.#dlqContents);
    }
    const contents = this.#dlqContents;
    if (!contents) return [];
    // Sequences only grow: an entry gone from the DLQ never comes back.
    for (const [seq, d] of this.#deadLetterEvents)
      if (!inDlq(d, contents)) this.#deadLetterEvents.delete(seq);
    const recent = recentDeadLetters(this.#deadLetterEvents.values(), contents, KEEP_DEAD_LETTERS);
    if (recent.length < this.#deadLetterEvents.size) {
      const keep = new Set(recent.map((d) => d.seq));
      for (const seq of this.#deadLetterEvents.keys()) if (!keep.has(seq)) this.#deadLetterEvents.delete(seq);
    }
    return recent.slice(0, SHOW_DEAD_LETTERS);
  }

  /** For the swarm-wide /metrics gauges. */
  async gaugeSnapshot(): Promise<GaugeSnapshot> {
    const byStage = agentsByStage([...this.#agents.values()]);
    const agentsAlive: Record<string, number> = {};
    for (const st of this.#stages) {
      agentsAlive[st.stage] = Object.entries(byStage[st.stage] ?? {})
        .filter(([status]) => status !== "draining")
        .reduce((n, [, c]) => n + c, 0);
    }
    return {
      stages: this.#stages,
      deadLetters: this.#deadLetters.counts,
      agentsAlive,
      submitted: this.#submitted,
    };
  }

  snapshot(): DashboardSnapshot {
    const now = Date.now();
    const nowSec = Math.floor(now / 1000);
    const series: SecondBucket[] = [];
    for (let s = nowSec - HISTORY_S + 1; s <= nowSec; s++) {
      series.push(this.#series.get(s) ?? { t: s * 1000, pages: 0, tasks: 0, docsDone: 0, docsFailed: 0 });
    }
    // Per-stage rate over the last 10 complete seconds.
    const rate: Record<string, number> = {};
    for (let s = nowSec - 10; s < nowSec; s++) {
      for (const [stage, n] of Object.entries(this.#perStage.get(s) ?? {}))
        rate[stage] = (rate[stage] ?? 0) + n / 10;
    }
    const lastMinute = new ThroughputCounter();
    for (const e of this.#events) if (e.at >= now - 60_000) lastMinute.add(e);
    const minute = series.slice(-60);
    const lastMinuteResult: Throughput = {
      ...lastMinute.result(60_000),
      pages: minute.reduce((n, b) => n + b.pages, 0),
      pagesPerSecond: Math.round((minute.reduce((n, b) => n + b.pages, 0) / 60) * 10) / 10,
      docsDone: minute.reduce((n, b) => n + b.docsDone, 0),
      docsFailed: minute.reduce((n, b) => n + b.docsFailed, 0),
    };
    const registrations = [...this.#agents.values()];
    const docs = [...this.#jobs.values()];
    const inProgress = docs
      .filter((d) => d.status === "running")
      .sort((a, b) => a.submittedAt - b.submittedAt);
    const byUpdate = (a: DocumentProgress, b: DocumentProgress) => b.updatedAt - a.updatedAt;
    const base = {
      v: 1 as const,
      at: now,
      stages: this.#stages,
      deadLetters: this.#deadLetters.counts,
      agents: agentViews(registrations, now),
      agentsByStage: agentsByStage(registrations),
      coordinator: this.#coordinator,
      documents: inProgress,
      throughput: lastMinuteResult,
      storage: this.#storage,
    };
    return {
      at: now,
      startedAt: this.startedAt,
      natsServer: this.#nc.getServer(),
      connected: !this.#nc.isClosed(),
      stages: this.#stages.map((s) => ({ ...s, tasksPerSecond: Math.round((rate[s.stage] ?? 0) * 10) / 10 })),
      agents: base.agents,
      agentsByStage: base.agentsByStage,
      coordinator: this.#coordinator,
      documents: inProgress.slice(0, 200),
      finished: docs
        .filter((d) => d.status === "done")
        .sort(byUpdate)
        .slice(0, KEEP_FINISHED),
      failures: docs
        .filter((d) => d.status === "failed")
        .sort(byUpdate)
        .slice(0, KEEP_FINISHED),
      taskFailures: [...this.#taskFailures].reverse(),
      deadLetters: this.#deadLetters,
      series,
      lastMinute: lastMinuteResult,
      totals: {
        submitted: this.#submitted,
        inProgress: inProgress.length,
        done: docs.filter((d) => d.status === "done").length,
        failed: docs.filter((d) => d.status === "failed").length,
        agents: registrations.filter((a) => a.status !== "stopped").length,
        backlog: this.#stages.reduce((n, s) => n + s.backlog, 0),
      },
      events: [...this.#events].reverse().slice(0, 50).map(describedEvent),
      storage: this.#storage,
      warnings: findWarnings(base),
    };
  }

  close(): Promise<void> {
    this.#closing ??= closeSteps(() => clearInterval(this.#poller), ...this.#stops.splice(0));
    return this.#closing;
  }
}
