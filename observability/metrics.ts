// Metric instruments, on the OpenTelemetry metrics API. Without a registered MeterProvider they are
// no-ops; `startMetricsServer()` registers one with the Prometheus exporter (--metrics-port), and the
// dashboard keeps a private one for its swarm-wide /metrics. Names are Prometheus names already
// (counters get `_total` from the exporter).
import {
  type Attributes,
  type BatchObservableResult,
  type Counter,
  type Histogram,
  type Meter,
  metrics,
  type Observable,
  type ObservableCounter,
  type ObservableGauge,
} from "@opentelemetry/api";
import type { SwarmEvent, TaskResult } from "../schemas/index.ts";
import { annotateSpan } from "./tracing.ts";

export const METER_NAME = "docswarm";

const DURATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

/** The global meter (a no-op one until a MeterProvider is registered). */
export function globalMeter(): Meter {
  return metrics.getMeter(METER_NAME);
}

// Instruments are created per meter once; the global meter changes when a provider is registered.
function memo<T>(make: (meter: Meter) => T): (meter?: Meter) => T {
  const cache = new WeakMap<Meter, T>();
  return (meter = globalMeter()) => {
    let v = cache.get(meter);
    if (!v) {
      v = make(meter);
      cache.set(meter, v);
    }
    return v;
  };
}

type DocumentInstruments = {
  accepted: Counter;
  done: Counter;
  failed: Counter;
  pages: Counter;
  tasksFailed: Counter;
  agentEvents: Counter;
};

const documentInstruments = memo<DocumentInstruments>((m) => ({
  accepted: m.createCounter("docswarm_documents_accepted", {
    description: "Documents split into chunks and accepted for processing",
  }),
  done: m.createCounter("docswarm_documents_done", { description: "Documents finished successfully" }),
  failed: m.createCounter("docswarm_documents_failed", {
    description: "Documents that failed, by error code",
  }),
  pages: m.createCounter("docswarm_pages_extracted", { description: "Pages extracted" }),
  tasksFailed: m.createCounter("docswarm_tasks_failed", {
    description: "Tasks that failed for good, by stage and error code",
  }),
  agentEvents: m.createCounter("docswarm_agent_events", {
    description: "Agents joined, drained and lost (by event type)",
  }),
}));

/** Counts a swarm event (the coordinator as it publishes them, the dashboard as it receives them). */
export function recordSwarmEvent(event: SwarmEvent, meter?: Meter): void {
  const i = documentInstruments(meter);
  switch (event.type) {
    case "doc.accepted":
      i.accepted.add(1, { priority: event.priority });
      break;
    case "doc.done":
      i.done.add(1);
      break;
    case "doc.failed":
      i.failed.add(1, { code: event.error?.code ?? "INTERNAL" });
      break;
    case "doc.progress":
      if (event.stage === "extract" && event.chunkPages) i.pages.add(event.chunkPages);
      break;
    case "task.failed":
      i.tasksFailed.add(1, { stage: event.stage, code: event.error.code });
      break;
    case "agent.joined":
    case "agent.lost":
    case "agent.drained":
      i.agentEvents.add(1, { event: event.type });
      break;
    default:
      break;
  }
}

type ResultInstruments = { duration: Histogram; redeliveries: Counter; results: Counter };

const resultInstruments = memo<ResultInstruments>((m) => ({
  duration: m.createHistogram("docswarm_task_duration_seconds", {
    description: "Time from a task's start on an agent to its result, by stage and status",
    advice: { explicitBucketBoundaries: DURATION_BUCKETS_S },
  }),
  redeliveries: m.createCounter("docswarm_redeliveries", {
    description: "Task results produced by a redelivery (delivery count above 1), by stage",
  }),
  results: m.createCounter("docswarm_task_results", { description: "Task results, by stage and status" }),
}));

/**
 * Records one task result in the metrics (the coordinator sees every result, so these are
 * swarm-wide) and describes it on the active span (the coordinator's gather).
 */
export function observeTaskResult(r: TaskResult, meter?: Meter): void {
  annotateSpan({
    "docswarm.doc.id": r.docId,
    "docswarm.task.id": r.taskId,
    "docswarm.stage": r.stage,
    "docswarm.agent.id": r.agentId,
    "docswarm.delivery": r.delivery,
  });
  const i = resultInstruments(meter);
  const attrs = { stage: r.stage, status: r.status };
  i.results.add(1, attrs);
  i.duration.record(Math.max(0, r.finishedAt - r.startedAt) / 1000, attrs);
  if (r.delivery > 1) i.redeliveries.add(1, { stage: r.stage });
}

/** What swarm-wide gauges are read from (consumer info, stream state, the agents registry). */
export type GaugeSnapshot = {
  stages: Array<{ stage: string; priority: string; backlog: number; inFlight: number; redelivered: number }>;
  deadLetters: Record<string, number>;
  agentsAlive: Record<string, number>;
  submitted: number;
};

/**
 * Registers gauges read at scrape time from `read()` (cached for cacheMs, so several scrapers do not
 * multiply the JetStream API requests). Returns the function that unregisters them.
 */
export function registerSwarmGauges(
  read: () => Promise<GaugeSnapshot>,
  options: { meter?: Meter; cacheMs?: number } = {},
): () => void {
  const m = options.meter ?? globalMeter();
  const backlog = m.createObservableGauge("docswarm_backlog", {
    description: "Tasks waiting in a stage's consumer, not yet delivered (JetStream num_pending)",
  });
  const inFlight = m.createObservableGauge("docswarm_in_flight", {
    description: "Tasks delivered and not yet acknowledged (JetStream num_ack_pending)",
  });
  const redelivered = m.createObservableGauge("docswarm_redelivered", {
    description: "Tasks delivered more than once and not yet acknowledged (num_redelivered)",
  });
  const deadLetters = m.createObservableGauge("docswarm_dead_letters", {
    description: "Messages in the dead-letter stream, by stage",
  });
  const agents = m.createObservableGauge("docswarm_agents_alive", {
    description: "Live agents serving a stage (from the agents registry)",
  });
  const submitted: ObservableCounter = m.createObservableCounter("docswarm_documents_submitted", {
    description: "Submissions stored by the submit stream (its last sequence)",
  });
  const cacheMs = options.cacheMs ?? 1000;
  let cached: { at: number; value: Promise<GaugeSnapshot> } | undefined;
  const callback = async (r: BatchObservableResult) => {
    if (!cached || Date.now() - cached.at > cacheMs) cached = { at: Date.now(), value: read() };
    let s: GaugeSnapshot;
    try {
      s = await cached.value;
    } catch {
      cached = undefined;
      return;
    }
    for (const st of s.stages) {
      const attrs: Attributes = { stage: st.stage, priority: st.priority };
      r.observe(backlog, st.backlog, attrs);
      r.observe(inFlight, st.inFlight, attrs);
      r.observe(redelivered, st.redelivered, attrs);
    }
    for (const [stage, n] of Object.entries(s.deadLetters)) r.observe(deadLetters, n, { stage });
    for (const [stage, n] of Object.entries(s.agentsAlive)) r.observe(agents, n, { stage });
    r.observe(submitted, s.submitted);
  };
  const observables: Observable[] = [backlog, inFlight, redelivered, deadLetters, agents, submitted];
  m.addBatchObservableCallback(callback, observables);
  return () => m.removeBatchObservableCallback(callback, observables);
}

/** One agent thread as its host sees it. */
export type AgentThreadState = { status: string };

export type AgentHostMetrics = {
  /** A task was pulled; `delivered` is its JetStream delivery count. */
  taskReceived(stage: string, delivered: number): void;
  taskEnded(stage: string, durationMs: number | undefined, ok: boolean): void;
  agentRestarted(): void;
  close(): void;
};

/** Per-host figures of an agent host (`docswarm agent --metrics-port`). */
export function createAgentHostMetrics(
  hostId: string,
  threads: () => AgentThreadState[],
  meter: Meter = globalMeter(),
): AgentHostMetrics {
  const i = agentHostInstruments(meter);
  const host = { host: hostId };
  const callback = (r: BatchObservableResult) => {
    const byStatus = new Map<string, number>();
    for (const t of threads()) byStatus.set(t.status, (byStatus.get(t.status) ?? 0) + 1);
    for (const [status, n] of byStatus) r.observe(i.threads, n, { ...host, status });
  };
  meter.addBatchObservableCallback(callback, [i.threads]);
  return {
    taskReceived(stage, delivered) {
      i.received.add(1, { ...host, stage });
      if (delivered > 1) i.redeliveries.add(1, { ...host, stage });
    },
    taskEnded(stage, durationMs, ok) {
      const attrs = { ...host, stage, outcome: ok ? "settled" : "crashed" };
      i.tasks.add(1, attrs);
      if (durationMs !== undefined) i.duration.record(durationMs / 1000, attrs);
    },
    agentRestarted() {
      i.restarts.add(1, host);
    },
    close() {
      meter.removeBatchObservableCallback(callback, [i.threads]);
    },
  };
}

type AgentHostInstruments = {
  threads: ObservableGauge;
  received: Counter;
  redeliveries: Counter;
  tasks: Counter;
  duration: Histogram;
  restarts: Counter;
};

const agentHostInstruments = memo<AgentHostInstruments>((m) => ({
  threads: m.createObservableGauge("docswarm_agent_threads", {
    description: "Agent threads of this host, by status",
  }),
  received: m.createCounter("docswarm_agent_tasks_received", { description: "Tasks pulled, by stage" }),
  redeliveries: m.createCounter("docswarm_agent_redeliveries", {
    description: "Tasks pulled that had been delivered before, by stage",
  }),
  tasks: m.createCounter("docswarm_agent_tasks", {
    description: "Tasks this host's agents finished, by stage and outcome",
  }),
  duration: m.createHistogram("docswarm_agent_task_duration_seconds", {
    description: "Run time of a task on this host's agents, by stage",
    advice: { explicitBucketBoundaries: DURATION_BUCKETS_S },
  }),
  restarts: m.createCounter("docswarm_agent_restarts", {
    description: "Agent threads restarted after a crash",
  }),
}));
