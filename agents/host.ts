// The agent host: runs N agent threads, keeps their tasks alive with in-progress acks from its own
// connection, stops a task that runs past its limit (pdf.js can loop on hostile input), restarts
// crashed agents with backoff, and keeps each agent's registration fresh in the agents bucket.
import { hostname } from "node:os";
import { Worker } from "node:worker_threads";
import { type JetStreamClient, jetstream } from "@nats-io/jetstream";
import { headers, type NatsConnection } from "@nats-io/transport-node";
import { type AgentHostMetrics, createAgentHostMetrics } from "../observability/index.ts";
import {
  type AgentRegistration,
  type AgentStatus,
  type AgentThreadConfig,
  ProcessingConfig,
  TopologyConfig,
  type TopologyOptions,
} from "../schemas/index.ts";
import {
  BUCKETS,
  BUILTIN_STAGES,
  connectNats,
  drainConnection,
  kvPutWithTtl,
  publishEvent,
} from "../streams/index.ts";
import { type AutoscaleOptions, planStep, readDecisions, readRegistry } from "./autoscale.ts";
import { parseAckSubject } from "./delivery.ts";
import { type LeasedTask, LeaseWriter } from "./leases.ts";
import type { AgentToHost, HostToAgent } from "./protocol.ts";
import { SharedBytesStore } from "./shared-bytes.ts";
import { type PreloadedSources, preloadTypeScript } from "./typescript-preload.ts";

export type AgentHostOptions = {
  servers: string | string[];
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
   * Young-generation size of one agent thread; V8's default when unset. 8 saved ~7 MB per agent
   * after PDF work and cost ~5 % more CPU per page in `npm run bench`: for hosts with many agents.
   */
  agentYoungGenerationMb?: number;
  /** Memory for document bytes shared by this host's agents (agents/shared-bytes.ts); 0 turns it off. */
  sharedBytesMb?: number;
  hostId?: string;
  /** Follow the scale bucket (the coordinator's autoscaler), between min and max agents on this host. */
  autoscale?: AutoscaleOptions;
  onLog?: (level: "debug" | "info" | "warn" | "error", msg: string, fields?: Record<string, unknown>) => void;
};

type Held = LeasedTask & {
  reply: string;
  lastAckAt: number;
  limitMs?: number;
};

type AgentSlot = {
  id: string;
  /** Heap in use by the agent's thread at the last sample (worker.getHeapStatistics). */
  heapUsedBytes?: number;
  /** Stage names the agent reported when it started. */
  stages: string[] | undefined;
  worker: Worker | undefined;
  status: AgentStatus;
  held: Map<string, Held>;
  restarts: number;
  crashTimes: number[];
  startedAt: number;
  tasksDone: number;
  tasksFailed: number;
  stopping: boolean;
  ready: Promise<void> | undefined;
  exited: Promise<void> | undefined;
  restartTimer: NodeJS.Timeout | undefined;
};

const WPI = new TextEncoder().encode("+WPI");
const NAK = new TextEncoder().encode("-NAK");
const workerUrl = new URL("./worker-entry.mjs", import.meta.url);
const workerMain = new URL("./worker-main.ts", import.meta.url);

/** What an agent thread gets as workerData (read by worker-entry.mjs and worker-main.ts). */
export type AgentWorkerData = {
  config: AgentThreadConfig;
  preload: { entry: string; sources: PreloadedSources };
};

let hostCounter = 0;

export class AgentHost {
  readonly hostId: string;
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #servers: string[];
  readonly #stages: string[];
  readonly #slots: number;
  readonly #topology: TopologyConfig;
  readonly #processing: ProcessingConfig;
  readonly #heartbeatMs: number;
  readonly #heapMb: number;
  readonly #youngMb: number | undefined;
  readonly #log: NonNullable<AgentHostOptions["onLog"]>;
  readonly #agents = new Map<string, AgentSlot>();
  readonly #shared: SharedBytesStore;
  readonly #sweep: NodeJS.Timeout;
  readonly #heartbeat: NodeJS.Timeout;
  readonly #metrics: AgentHostMetrics;
  readonly #leases: LeaseWriter;
  #next = 0;
  #closing: Promise<void> | undefined;
  #autoscale: NodeJS.Timeout | undefined;
  #scaling: Promise<void> | undefined;
  #quietUntil = 0;

  private constructor(nc: NatsConnection, options: AgentHostOptions) {
    this.#nc = nc;
    this.#js = jetstream(nc);
    this.hostId =
      options.hostId ?? `${hostname().replace(/[^A-Za-z0-9_-]/g, "_")}-${process.pid}-${hostCounter++}`;
    this.#servers = Array.isArray(options.servers) ? options.servers : [options.servers];
    this.#stages = options.stages ?? [...BUILTIN_STAGES];
    this.#slots = options.slots ?? 1;
    this.#topology = TopologyConfig.parse(options.topology ?? {});
    this.#processing = ProcessingConfig.parse(options.processing ?? {});
    this.#heartbeatMs = options.heartbeatMs ?? 1000;
    this.#heapMb = options.agentHeapMb ?? 2048;
    this.#youngMb = options.agentYoungGenerationMb;
    this.#shared = new SharedBytesStore((options.sharedBytesMb ?? 256) * 1024 * 1024);
    this.#log = options.onLog ?? (() => {});
    this.#leases = new LeaseWriter(nc, this.#js, this.hostId, this.#topology.ackWaitMs, this.#log);
    const sweepMs = Math.max(50, Math.min(250, Math.floor(this.#topology.ackWaitMs / 4)));
    this.#sweep = setInterval(() => this.#keepAliveAndWatch(), sweepMs);
    this.#heartbeat = setInterval(() => void this.#publishRegistrations(), this.#heartbeatMs);
    this.#metrics = createAgentHostMetrics(this.hostId, () => [...this.#agents.values()]);
    if (options.autoscale) {
      const a = options.autoscale;
      const limits = { min: a.min ?? 1, max: a.max ?? 16 };
      this.#autoscale = setInterval(() => {
        this.#scaling ??= this.#followScale(limits, a.intervalMs ?? 1000)
          .catch((err) => this.#log("warn", "autoscale step failed", { err: (err as Error).message }))
          .finally(() => {
            this.#scaling = undefined;
          });
      }, a.intervalMs ?? 1000);
    }
  }

  async #followScale(limits: { min: number; max: number }, intervalMs: number): Promise<void> {
    if (this.#closing || Date.now() < this.#quietUntil) return;
    const jsm = await this.#js.jetstreamManager();
    const [decisions, agents] = await Promise.all([readDecisions(jsm), readRegistry(jsm)]);
    const mine = [...this.#agents.values()].filter((a) => !a.stopping);
    const stages = [...new Set(mine.flatMap((a) => a.stages ?? []))];
    if (stages.length === 0) return;
    const step = planStep(this.hostId, stages, mine.length, decisions, agents, limits);
    if (step.spawn === 0 && step.drain === 0) return;
    // The registry needs a heartbeat or two to reflect what we change: hold still meanwhile.
    this.#quietUntil = Date.now() + Math.max(2 * intervalMs, 2 * this.#heartbeatMs);
    if (step.spawn > 0) {
      for (const id of await this.spawn(step.spawn)) this.#event("agent.spawned", id, step.reason);
      return;
    }
    const victims = mine
      .sort((a, b) => Number(a.status === "busy") - Number(b.status === "busy") || b.startedAt - a.startedAt)
      .slice(0, step.drain);
    await Promise.all(
      victims.map(async (v) => {
        const stagesOf = v.stages ?? [];
        await this.drain(v.id);
        this.#event("agent.terminated", v.id, step.reason, stagesOf);
      }),
    );
  }

  #event(
    type: "agent.spawned" | "agent.terminated",
    agentId: string,
    reason: string,
    stages?: string[],
  ): void {
    publishEvent(this.#nc, {
      type,
      at: Date.now(),
      agentId,
      hostId: this.hostId,
      stages: stages ?? this.#agents.get(agentId)?.stages ?? [],
      reason,
    });
  }

  static async start(options: AgentHostOptions): Promise<AgentHost> {
    const nc = await connectNats({ servers: options.servers, name: "docswarm-agent-host" });
    const host = new AgentHost(nc, options);
    try {
      await host.spawn(options.agents ?? 1);
    } catch (err) {
      await host.close();
      throw err;
    }
    return host;
  }

  get size(): number {
    return [...this.#agents.values()].filter((a) => !a.stopping).length;
  }

  agentIds(): string[] {
    return [...this.#agents.keys()];
  }

  /** Starts n more agents; resolves when they are pulling. */
  async spawn(n = 1): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < n; i++) {
      const id = `${this.hostId}-a${this.#next++}`;
      const slot: AgentSlot = {
        id,
        stages: undefined,
        worker: undefined,
        status: "starting",
        held: new Map(),
        restarts: 0,
        crashTimes: [],
        startedAt: Date.now(),
        tasksDone: 0,
        tasksFailed: 0,
        stopping: false,
        ready: undefined,
        exited: undefined,
        restartTimer: undefined,
      };
      this.#agents.set(id, slot);
      this.#startWorker(slot);
      ids.push(id);
    }
    await Promise.all(ids.map((id) => this.#agents.get(id)!.ready));
    await this.#publishRegistrations();
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
    await this.#publishRegistration(slot).catch(() => {});
    slot.worker?.postMessage({
      t: "drain",
      abandonPulls: options.abandonPulls ?? false,
    } satisfies HostToAgent);
    await slot.exited;
    this.#agents.delete(id);
    await this.#js
      .publish(`$KV.${BUCKETS.agents}.${id}`, new Uint8Array(), { headers: deleteHeaders() })
      .catch(() => {});
  }

  #startWorker(slot: AgentSlot): void {
    const config: AgentThreadConfig = {
      agentId: slot.id,
      servers: this.#servers,
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
    const worker = new Worker(workerUrl, {
      workerData: { config, preload } satisfies AgentWorkerData,
      // The thread's name (as ps, top and /proc show it), so agents' CPU can be told apart.
      name: `agent ${slot.id}`,
      resourceLimits: {
        maxOldGenerationSizeMb: this.#heapMb,
        ...(this.#youngMb && { maxYoungGenerationSizeMb: this.#youngMb }),
      },
    });
    slot.worker = worker;
    slot.status = "starting";
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
      if (!Array.isArray(m)) return this.#onMessage(slot, m, markReady);
      for (const one of m) this.#onMessage(slot, one, markReady);
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
        this.#shared.put(m.key, m.bytes);
        break;
      case "bytes-get":
        slot.worker?.postMessage({
          t: "bytes",
          id: m.id,
          bytes: this.#shared.get(m.key),
        } satisfies HostToAgent);
        break;
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
        if (h.runAt !== undefined && h.limitMs !== undefined && now - h.runAt > h.limitMs + 1000) {
          // The handler's own abort signal fired a second ago and it is still running: it is stuck.
          this.#log("warn", "task exceeded its time limit; terminating the agent", {
            agentId: slot.id,
            taskId: h.taskId,
            limitMs: h.limitMs,
          });
          void slot.worker?.terminate();
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

  #registration(slot: AgentSlot): AgentRegistration {
    return {
      v: 1,
      agentId: slot.id,
      hostId: this.hostId,
      hostname: hostname(),
      pid: process.pid,
      stages: slot.stages ?? this.#stages.filter((s) => !/[/\\.]/.test(s)),
      status: slot.status,
      concurrency: this.#slots,
      currentTasks: [...slot.held.values()].filter((h) => h.runAt !== undefined).map((h) => h.taskId),
      tasksDone: slot.tasksDone,
      tasksFailed: slot.tasksFailed,
      restarts: slot.restarts,
      startedAt: slot.startedAt,
      heartbeatAt: Date.now(),
      hostRssBytes: process.memoryUsage.rss(),
      ...(slot.heapUsedBytes !== undefined && { heapUsedBytes: slot.heapUsedBytes }),
    };
  }

  #publishRegistration(slot: AgentSlot): Promise<number> {
    const ttlMs = Math.max(3000, this.#heartbeatMs * 3);
    return kvPutWithTtl(this.#js, BUCKETS.agents, slot.id, this.#registration(slot), ttlMs);
  }

  async #publishRegistrations(): Promise<void> {
    if (this.#nc.isClosed()) return;
    // Sampled for the next heartbeat, not awaited: a thread inside a long synchronous parse
    // answers late, and its heartbeat must not wait for it.
    for (const slot of this.#agents.values()) {
      if (slot.status === "starting" || slot.status === "stopped") continue;
      slot.worker
        ?.getHeapStatistics()
        .then((h) => {
          slot.heapUsedBytes = h.used_heap_size;
        })
        .catch(() => {});
    }
    await Promise.all([...this.#agents.values()].map((s) => this.#publishRegistration(s).catch(() => 0)));
  }

  /** Drains every agent. `abandonPulls` when the NATS server goes away too (nothing to hand back to). */
  close(options: { abandonPulls?: boolean } = {}): Promise<void> {
    this.#closing ??= (async () => {
      clearInterval(this.#heartbeat);
      clearInterval(this.#autoscale);
      await this.#scaling;
      await Promise.allSettled([...this.#agents.keys()].map((id) => this.drain(id, options)));
      clearInterval(this.#sweep);
      this.#metrics.close();
      this.#shared.clear();
      await drainConnection(this.#nc);
    })();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

// A KV delete is a message with KV-Operation: DEL on the key's subject.
function deleteHeaders() {
  const h = headers();
  h.set("KV-Operation", "DEL");
  return h;
}
