// The agent host supervises agent threads: starts N of them, keeps their tasks alive with
// in-progress acks from its own connection, stops a task that runs past its limit (pdf.js can loop
// on hostile input), and restarts crashed agents with backoff. Their registrations live in
// registry.ts, following the coordinator's scale decisions in autoscale.ts.
import { hostname } from "node:os";
import { Worker } from "node:worker_threads";
import { type JetStreamClient, jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { type AgentHostMetrics, createAgentHostMetrics, type LogFn } from "../observability/index.ts";
import {
  type AgentThreadConfig,
  type NatsAuth,
  ProcessingConfig,
  TopologyConfig,
  type TopologyOptions,
} from "../schemas/index.ts";
import { BUILTIN_STAGES, closeSteps, connectNats, drainConnection } from "../streams/index.ts";
import { type AgentSlot, newSlot } from "./agent-slot.ts";
import { type AutoscaleOptions, ScaleFollower } from "./autoscale.ts";
import { parseAckSubject } from "./delivery.ts";
import { IdleBoardWriter } from "./idle-board.ts";
import { LeaseWriter } from "./leases.ts";
import { withInitialOldGeneration } from "./old-generation.ts";
import { compiledPdfium, type PdfiumModule } from "./pdf/pdfium-module.ts";
import type { AgentToHost, HostToAgent } from "./protocol.ts";
import { HostRegistry } from "./registry.ts";
import { SharedBytesStore } from "./shared-bytes.ts";
import { type PreloadedSources, preloadTypeScript } from "./typescript-preload.ts";

export type AgentHostOptions = {
  servers: string | string[];
  /** Credentials and TLS for the host's and its agents' connections. */
  auth?: NatsAuth;
  /** Agents to start with. */
  agents?: number;
  /** Built-in stage names or stage module paths each agent serves. */
  stages?: string[];
  /** Tasks one agent runs at once. */
  slots?: number;
  topology?: TopologyOptions;
  processing?: Partial<ProcessingConfig>;
  heartbeatMs?: number;
  /**
   * Heap limit of one agent thread (default 2048); a parser that blows it kills only that thread.
   * V8 grows a heap more timidly the lower its limit: at 1024 agents ran ~3x the full collections
   * of an unlimited thread on the same pages (node --trace-gc) and lost 7-15 % pages/s in
   * `npm run bench`; from 2048 on they match it.
   */
  agentHeapMb?: number;
  /**
   * Young-generation size of one agent thread (default 8; 0 leaves it to V8). With V8's default
   * for a 2048 MB heap (semi-spaces of 16 MB and more) an agent's old generation never had more
   * room left than its young generation, so V8 started a full mark-compact again right after each
   * one: every ~170 ms while small documents flowed, freeing ~6 MB each time, on V8's helper
   * threads. At 8 the short-lived garbage of a document dies in scavenges instead (2 cores, 500
   * small documents: 21 → 9 full collections per agent, V8 helper CPU 1.4 → 0.75 ms per document);
   * long documents' pages/s did not move.
   */
  agentYoungGenerationMb?: number;
  /**
   * Room in one agent thread's old generation before its first full collection (default 32; 0
   * leaves it to V8, agents/old-generation.ts). V8's own limit sits a few MB above the ~18 MB an
   * agent keeps live, so small documents' promoted garbage brought a full mark-compact every few
   * hundred milliseconds (2 cores, 500 small documents: 4-5 per window across 2 agents, none at 32).
   */
  agentInitialOldGenerationMb?: number;
  /** Memory for document bytes shared by this host's agents (agents/shared-bytes.ts); 0 turns it off. */
  sharedBytesMb?: number;
  hostId?: string;
  /** Follow the scale bucket (the coordinator's autoscaler), between min and max agents on this host. */
  autoscale?: AutoscaleOptions;
  /**
   * How long an agent's read of the topology's layout stands (default 30 s): a `docswarm init`
   * that upgrades it is seen within this. For tests of an upgrade under running agents.
   * @internal
   */
  layoutTtlMs?: number;
  onLog?: LogFn;
};

const WPI = new TextEncoder().encode("+WPI");
const NAK = new TextEncoder().encode("-NAK");
const workerUrl = new URL("./worker-entry.mjs", import.meta.url);
// worker-main.ts from the sources, worker-main.js in the built package.
const workerMain = new URL(
  `./worker-main${import.meta.url.slice(import.meta.url.lastIndexOf("."))}`,
  import.meta.url,
);

/** What an agent thread gets as workerData (read by worker-entry.mjs and worker-main.ts). */
export type AgentWorkerData = {
  config: AgentThreadConfig;
  preload: { entry: string; sources: PreloadedSources };
  /** PDFium compiled once for the process (agents/pdf/pdfium-module.ts). */
  pdfium?: PdfiumModule;
  /** AgentHostOptions.layoutTtlMs. */
  layoutTtlMs?: number;
  /** The host's idle board (agents/idle-board.ts). */
  idle?: SharedArrayBuffer;
};

let hostCounter = 0;

/** See `agentYoungGenerationMb`: small documents' garbage is collected young at this size. */
const DEFAULT_AGENT_YOUNG_GENERATION_MB = 8;
/** See `agentInitialOldGenerationMb`. */
const DEFAULT_AGENT_INITIAL_OLD_GENERATION_MB = 32;

export class AgentHost {
  readonly hostId: string;
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #servers: string[];
  readonly #auth: NatsAuth | undefined;
  readonly #stages: string[];
  readonly #slots: number;
  readonly #topology: TopologyConfig;
  readonly #processing: ProcessingConfig;
  readonly #heapMb: number;
  readonly #youngMb: number;
  readonly #initialOldMb: number;
  readonly #log: LogFn;
  readonly #layoutTtlMs: number | undefined;
  readonly #agents = new Map<string, AgentSlot>();
  /** Threads the watchdog is terminating (terminate() is asynchronous; the sweep must not ask twice). */
  readonly #terminating = new WeakSet<Worker>();
  readonly #shared: SharedBytesStore;
  readonly #idle = new IdleBoardWriter();
  readonly #sweep: NodeJS.Timeout;
  readonly #registry: HostRegistry;
  readonly #scale: ScaleFollower | undefined;
  readonly #metrics: AgentHostMetrics;
  readonly #leases: LeaseWriter;
  #next = 0;
  #closing: Promise<void> | undefined;
  readonly #closed = Promise.withResolvers<void>();
  #pdfium: PdfiumModule | undefined;

  private constructor(nc: NatsConnection, options: AgentHostOptions) {
    this.#nc = nc;
    this.#js = jetstream(nc);
    this.hostId =
      options.hostId ?? `${hostname().replace(/[^A-Za-z0-9_-]/g, "_")}-${process.pid}-${hostCounter++}`;
    this.#servers = Array.isArray(options.servers) ? options.servers : [options.servers];
    this.#auth = options.auth;
    this.#stages = options.stages ?? [...BUILTIN_STAGES];
    this.#slots = options.slots ?? 1;
    this.#topology = TopologyConfig.parse(options.topology ?? {});
    this.#processing = ProcessingConfig.parse(options.processing ?? {});
    const heartbeatMs = options.heartbeatMs ?? 1000;
    this.#heapMb = options.agentHeapMb ?? 2048;
    this.#youngMb = options.agentYoungGenerationMb ?? DEFAULT_AGENT_YOUNG_GENERATION_MB;
    this.#initialOldMb = options.agentInitialOldGenerationMb ?? DEFAULT_AGENT_INITIAL_OLD_GENERATION_MB;
    this.#shared = new SharedBytesStore((options.sharedBytesMb ?? 256) * 1024 * 1024);
    this.#log = options.onLog ?? (() => {});
    this.#layoutTtlMs = options.layoutTtlMs;
    this.#leases = new LeaseWriter(nc, this.#js, this.hostId, this.#topology.ackWaitMs, this.#log);
    const sweepMs = Math.max(50, Math.min(250, Math.floor(this.#topology.ackWaitMs / 4)));
    this.#sweep = setInterval(() => this.#keepAliveAndWatch(), sweepMs);
    this.#registry = new HostRegistry(nc, this.#js, () => this.#agents.values(), {
      hostId: this.hostId,
      stages: this.#stages,
      slots: this.#slots,
      heartbeatMs,
    });
    this.#metrics = createAgentHostMetrics(this.hostId, () => [...this.#agents.values()]);
    this.#scale =
      options.autoscale &&
      new ScaleFollower(this, nc, this.#js, { ...options.autoscale, heartbeatMs, log: this.#log });
  }

  static async start(options: AgentHostOptions): Promise<AgentHost> {
    const nc = await connectNats({
      ...options.auth,
      servers: options.servers,
      name: "docswarm-agent-host",
      ...(options.onLog && { log: options.onLog }),
    });
    const host = new AgentHost(nc, options);
    try {
      host.#pdfium = await compiledPdfium();
      await host.spawn(options.agents ?? 1);
    } catch (err) {
      await host.close();
      throw err;
    }
    return host;
  }

  get size(): number {
    return this.liveAgents().length;
  }

  /** The agents that are not stopping. */
  liveAgents(): AgentSlot[] {
    return [...this.#agents.values()].filter((a) => !a.stopping);
  }

  agentIds(): string[] {
    return [...this.#agents.keys()];
  }

  /** Starts n more agents; resolves when they are pulling. */
  async spawn(n = 1): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = `${this.hostId}-a${this.#next++}`;
      const slot = newSlot(id);
      this.#agents.set(id, slot);
      this.#startWorker(slot);
      ids.push(id);
    }
    await Promise.all(ids.map((id) => this.#agents.get(id)!.ready));
    await this.#registry.publishAll();
    return ids;
  }

  /** The tasks each agent holds right now (running, or pulled and waiting for a slot). */
  heldTasks(): Array<{ agentId: string; taskId: string; running: boolean }> {
    return [...this.#agents.values()].flatMap((slot) =>
      [...slot.held.values()].map((h) => ({
        agentId: slot.id,
        taskId: h.taskId,
        running: h.runAt !== undefined,
      })),
    );
  }

  /**
   * Crashes one agent thread on purpose (for chaos tests and drills): terminates it abruptly, as a
   * fatal error would; the host hands its tasks back and restarts it like any crashed agent. Picks a
   * busy agent when none is named. Returns the agent and the tasks it held, or undefined.
   */
  crashAgent(agentId?: string): { agentId: string; taskIds: string[] } | undefined {
    const slots = [...this.#agents.values()].filter((s) => s.worker && !s.stopping);
    const slot = agentId
      ? slots.find((s) => s.id === agentId)
      : (slots.find((s) => [...s.held.values()].some((h) => h.runAt !== undefined)) ?? slots[0]);
    if (!slot?.worker) return undefined;
    const taskIds = [...slot.held.values()].map((h) => h.taskId);
    this.#log("warn", "crashing an agent thread on request", { agentId: slot.id, tasks: taskIds.length });
    void slot.worker.terminate();
    return { agentId: slot.id, taskIds };
  }

  /** Drains one agent: it finishes its tasks in flight, hands back the rest, deregisters, exits. */
  async drain(id: string, options: { abandonPulls?: boolean } = {}): Promise<void> {
    const slot = this.#agents.get(id);
    if (!slot || slot.stopping) return;
    slot.stopping = true;
    clearTimeout(slot.restartTimer);
    slot.status = "draining";
    this.#updateIdle();
    await this.#registry.publish(slot).catch(() => {});
    slot.worker?.postMessage({
      t: "drain",
      abandonPulls: options.abandonPulls ?? false,
    } satisfies HostToAgent);
    await slot.exited;
    this.#agents.delete(id);
    await this.#registry.remove(id);
  }

  #startWorker(slot: AgentSlot): void {
    const config: AgentThreadConfig = {
      agentId: slot.id,
      servers: this.#servers,
      ...(this.#auth && { auth: this.#auth }),
      stages: this.#stages,
      slots: this.#slots,
      topology: this.#topology,
      processing: this.#processing,
    };
    const preload = {
      entry: workerMain.href,
      // Stage modules given as paths are TypeScript too, usually.
      sources: preloadTypeScript([workerMain, ...this.#stages.filter((s) => /[/\\.]/.test(s))]),
    };
    const worker = withInitialOldGeneration(
      this.#initialOldMb,
      () =>
        new Worker(workerUrl, {
          workerData: {
            config,
            preload,
            ...(this.#pdfium && { pdfium: this.#pdfium }),
            ...(this.#layoutTtlMs !== undefined && { layoutTtlMs: this.#layoutTtlMs }),
            idle: this.#idle.buffer,
          } satisfies AgentWorkerData,
          // The thread's name (as ps, top and /proc show it), so agents' CPU can be told apart.
          name: `agent ${slot.id}`,
          resourceLimits: {
            maxOldGenerationSizeMb: this.#heapMb,
            ...(this.#youngMb && { maxYoungGenerationSizeMb: this.#youngMb }),
          },
        }),
    );
    slot.worker = worker;
    slot.status = "starting";
    this.#updateIdle();
    let markReady!: () => void;
    let failReady!: (err: Error) => void;
    slot.ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failReady = reject;
    });
    // The first start reports its failure to spawn(); restarts only log.
    if (slot.restarts > 0) slot.ready.catch(() => {});
    let lastError: Error | undefined;
    worker.on("message", (m: AgentToHost | AgentToHost[]) => {
      if (!Array.isArray(m)) this.#onMessage(slot, m, markReady);
      else for (const one of m) this.#onMessage(slot, one, markReady);
      // After the whole batch: a busy → idle → busy within one turn of the agent is not an idle agent.
      this.#updateIdle();
    });
    worker.on("error", (err) => {
      lastError = err;
      this.#log("error", "agent thread failed", { agentId: slot.id, err: err.message });
    });
    slot.exited = new Promise<void>((resolve) => {
      worker.once("exit", (code) => {
        this.#onExit(slot, worker, code, lastError);
        failReady(lastError ?? new Error(`agent ${slot.id} exited with code ${code} before it was ready`));
        resolve();
      });
    });
  }

  #updateIdle(): void {
    this.#idle.update(this.#agents.values(), this.#stages);
  }

  #onMessage(slot: AgentSlot, m: AgentToHost, markReady: () => void): void {
    switch (m.t) {
      case "ready":
        slot.status = "idle";
        slot.stages = m.stages;
        markReady();
        break;
      case "hold": {
        const info = parseAckSubject(m.reply);
        slot.held.set(m.key, {
          reply: m.reply,
          taskId: m.taskId,
          stage: m.stage,
          stream: info?.stream ?? "",
          seq: info?.streamSeq ?? 0,
          delivery: info?.delivered ?? 1,
          lastAckAt: Date.now(),
        });
        this.#metrics.taskReceived(m.stage, info?.delivered ?? 1);
        break;
      }
      case "run": {
        const h = slot.held.get(m.key);
        if (h) {
          h.runAt = Date.now();
          h.limitMs = m.limitMs;
        }
        break;
      }
      case "end": {
        const h = slot.held.get(m.key);
        if (h) this.#metrics.taskEnded(h.stage, h.runAt && Date.now() - h.runAt, m.ok);
        slot.held.delete(m.key);
        if (h?.lease) void this.#leases.release(h);
        if (m.skipped) break;
        if (m.ok) slot.tasksDone++;
        else slot.tasksFailed++;
        break;
      }
      case "status":
        if (!slot.stopping || m.status === "stopped") slot.status = m.status;
        break;
      case "log":
        this.#log(m.level, m.msg, { agentId: slot.id, ...m.fields });
        break;
      case "bytes-put":
        this.#shared.put(m.key, m.bytes, m.inflateChecked);
        break;
      case "bytes-get": {
        const shared = this.#shared.get(m.key);
        slot.worker?.postMessage({
          t: "bytes",
          id: m.id,
          bytes: shared?.bytes,
          ...(shared?.inflateChecked !== undefined && { inflateChecked: shared.inflateChecked }),
        } satisfies HostToAgent);
        break;
      }
    }
  }

  #onExit(slot: AgentSlot, worker: Worker, code: number, err: Error | undefined): void {
    if (slot.worker !== worker) return;
    slot.worker = undefined;
    // Whatever it held goes back at once instead of waiting out ack_wait; leases are released on
    // the same connection just before, so the next agent does not wait for a holder that is gone.
    for (const h of slot.held.values()) {
      this.#leases.releaseNow(h);
      try {
        this.#nc.publish(h.reply, NAK);
      } catch {
        // the connection is closing: ack_wait brings the task back
      }
    }
    slot.held.clear();
    if (slot.stopping || this.#closing) {
      slot.status = "stopped";
      this.#updateIdle();
      return;
    }
    const now = Date.now();
    slot.crashTimes = [...slot.crashTimes.filter((t) => now - t < 60_000), now];
    slot.restarts++;
    this.#metrics.agentRestarted();
    const delay = Math.min(10_000, 100 * 2 ** (slot.crashTimes.length - 1));
    this.#log("warn", "agent thread exited; restarting", {
      agentId: slot.id,
      code,
      err: err?.message,
      delayMs: delay,
    });
    slot.status = "starting";
    this.#updateIdle();
    slot.restartTimer = setTimeout(() => {
      if (!slot.stopping && !this.#closing) this.#startWorker(slot);
    }, delay);
  }

  /** In-progress acks for every task an agent holds, and the watchdog for tasks past their limit. */
  #keepAliveAndWatch(): void {
    const now = Date.now();
    const wpiEvery = this.#topology.ackWaitMs / 3;
    for (const slot of this.#agents.values()) {
      for (const h of slot.held.values()) {
        if (slot.worker && this.#terminating.has(slot.worker)) break; // asked already; it exits soon
        if (h.runAt !== undefined && h.limitMs !== undefined && now - h.runAt > h.limitMs + 1000) {
          // The handler's own abort signal fired a second ago and it is still running: it is stuck.
          this.#log("warn", "task exceeded its time limit; terminating the agent", {
            agentId: slot.id,
            taskId: h.taskId,
            limitMs: h.limitMs,
          });
          if (slot.worker) {
            this.#terminating.add(slot.worker);
            void slot.worker.terminate();
          }
          break;
        }
        if (now - h.lastAckAt >= wpiEvery) {
          this.#nc.publish(h.reply, WPI);
          h.lastAckAt = now;
        }
        this.#leases.tick(slot.id, h, now);
      }
    }
  }

  /** Drains every agent. `abandonPulls` when the NATS server goes away too (nothing to hand back to). */
  close(options: { abandonPulls?: boolean } = {}): Promise<void> {
    this.#closing ??= (async () => {
      await closeSteps(
        () => this.#registry.close(),
        () => this.#scale?.close(),
        () => Promise.allSettled([...this.#agents.keys()].map((id) => this.drain(id, options))),
        () => clearInterval(this.#sweep),
        () => this.#metrics.close(),
        () => this.#shared.clear(),
        () => drainConnection(this.#nc),
      ).finally(() => this.#closed.resolve());
    })();
    return this.#closing;
  }

  /** Resolves once close() has run, whatever its outcome. */
  closed(): Promise<void> {
    return this.#closed.promise;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
