// The agent: one worker thread with its own NATS connection. It pulls only what it has slots for,
// runs the stage handler, and tells its host what it holds so the host (whose event loop no PDF
// work can block) keeps those tasks alive and can stop a task that runs too long.
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { AgentStatus, AgentThreadConfig, Priority } from "../schemas/index.ts";
import {
  BUILTIN_STAGES,
  closeSteps,
  connectNats,
  drainConnection,
  ensureStage,
  openState,
  type TaskSource,
  taskSources,
} from "../streams/index.ts";
import { loadHandler } from "./builtin.ts";
import type { TaskDelivery } from "./delivery.ts";
import type { IdleBoard } from "./idle-board.ts";
import { deliveryTaskId, LeaseGate } from "./leases.ts";
import { chooseEngine } from "./pdf/engines.ts";
import type { AgentToHost } from "./protocol.ts";
import { Puller } from "./puller.ts";
import { type AgentServices, createServices } from "./services.ts";
import type { SharedBytes } from "./shared-bytes.ts";
import type { TaskHandler } from "./stage.ts";
import { runInTaskSpan } from "./task-span.ts";
import { triage } from "./triage.ts";

export type HostPort = {
  post(message: AgentToHost): void;
  /** The host's shared document bytes, when the agent runs under an AgentHost. */
  shared?: SharedBytes;
  /** The host's idle board, when the agent runs under an AgentHost. */
  idle?: IdleBoard;
};

// Within one priority level, finishing documents comes before starting new ones: merge first, then
// any other stage (extract, user stages; rank 2), split last. An agent that splits a document then
// tends to extract its chunks while its parse is still in the agent's cache.
const STAGE_RANK: Record<string, number> = { merge: 0, split: 3 };

function orderSources(handlers: TaskHandler[]): TaskSource[] {
  const ranked = [...handlers].sort((a, b) => (STAGE_RANK[a.name] ?? 2) - (STAGE_RANK[b.name] ?? 2));
  return ranked.flatMap((h) => taskSources(h.name));
}

export class Agent {
  readonly id: string;
  readonly #nc: NatsConnection;
  readonly #services: AgentServices;
  readonly #handlers: Map<string, TaskHandler>;
  readonly #puller: Puller;
  readonly #port: HostPort;
  readonly #config: AgentThreadConfig;
  readonly #loops: Promise<void>[];
  readonly #running = new Set<AbortController>();
  readonly #gate: LeaseGate;
  readonly #stop = new AbortController();
  /** Tasks pulled and not yet handed to a slot, per priority (plain submissions to triage aside). */
  readonly #heldAhead: Record<Priority, number> = { high: 0, normal: 0, low: 0 };
  #status: AgentStatus = "starting";
  #closing: Promise<void> | undefined;

  private constructor(
    config: AgentThreadConfig,
    nc: NatsConnection,
    services: AgentServices,
    handlers: TaskHandler[],
    port: HostPort,
  ) {
    this.id = config.agentId;
    this.#config = config;
    this.#nc = nc;
    this.#services = services;
    this.#port = port;
    this.#handlers = new Map(handlers.map((h) => [h.name, h]));
    this.#puller = new Puller(nc, orderSources(handlers), {
      slots: config.slots,
      // One task pulled ahead while the slots are busy: a slot that frees starts its next task at
      // once instead of after a pull round trip (small documents: +5-15 % documents/s on 2 cores).
      prefetch: 1,
      onReceive: (d) => {
        if (!d.source.triage) this.#heldAhead[d.source.priority]++;
        port.post({
          t: "hold",
          key: d.reply,
          reply: d.reply,
          taskId: deliveryTaskId(d),
          stage: d.source.stage,
        });
      },
    });
    services.heldAhead = (p) => this.#heldAhead[p];
    this.#gate = new LeaseGate({
      jsm: services.jsm,
      leases: services.state.leases,
      agents: services.state.agents,
      agentId: config.agentId,
      ackWaitMs: config.topology.ackWaitMs,
      log: (level, msg, fields) => port.post({ t: "log", level, msg, ...(fields && { fields }) }),
    });
    this.#loops = Array.from({ length: config.slots }, () => this.#loop());
    this.#setStatus("idle");
  }

  get stages(): string[] {
    return [...this.#handlers.keys()];
  }

  static async start(
    config: AgentThreadConfig,
    port: HostPort,
    options: Pick<AgentServices, "layoutTtlMs"> = {},
  ): Promise<Agent> {
    const handlers = await Promise.all(config.stages.map((s) => loadHandler(s)));
    const nc = await connectNats({
      ...config.auth,
      servers: config.servers,
      name: `docswarm-agent-${config.agentId}`,
      log: (level, msg, fields) => port.post({ t: "log", level, msg, ...(fields && { fields }) }),
    });
    try {
      const js = jetstream(nc);
      const jsm = await jetstreamManager(nc);
      for (const h of handlers) {
        if (!(BUILTIN_STAGES as readonly string[]).includes(h.name))
          await ensureStage(nc, h.name, config.topology);
      }
      const services = createServices(
        {
          agentId: config.agentId,
          stages: config.stages,
          nc,
          js,
          jsm,
          state: await openState(js),
          topology: config.topology,
          processing: config.processing,
          maxPayloadBytes: nc.info?.max_payload ?? 1024 * 1024,
          engine: chooseEngine({
            preferred: config.processing.engine,
            fallback: config.processing.fallback,
            maxInflatedBytes: config.processing.maxInflatedBytes,
          }),
          log: (level, msg, fields) => port.post({ t: "log", level, msg, ...(fields && { fields }) }),
          ...(port.idle && { idle: port.idle }),
          ...options,
        },
        port.shared,
      );
      return new Agent(config, nc, services, handlers, port);
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  #setStatus(status: AgentStatus): void {
    if (this.#status === status || this.#status === "draining") return;
    this.#status = status;
    this.#port.post({ t: "status", status });
  }

  async #loop(): Promise<void> {
    for (;;) {
      const d = await this.#puller.next();
      if (!d) return;
      if (!d.source.triage) this.#heldAhead[d.source.priority]--;
      this.#setStatus("busy");
      await this.#run(d);
      this.#puller.release();
      if (this.#puller.inflight === 0) this.#setStatus("idle");
    }
  }

  async #run(d: TaskDelivery): Promise<void> {
    const handler = this.#handlers.get(d.source.stage)!;
    if (d.source.triage) {
      this.#port.post({ t: "run", key: d.reply, limitMs: this.#config.processing.taskTimeoutMs });
      const outcome = await triage(d, this.#services.publisher, this.#config.topology.maxDeliver);
      if (outcome !== "split-here") {
        this.#port.post({ t: "end", key: d.reply, ok: outcome === "moved", skipped: true });
        return;
      }
    }
    // A redelivery whose previous holder is alive and still working waits for it (agents/leases.ts).
    const verdict = await this.#gate.check(d, this.#stop.signal).catch(() => "run" as const);
    if (verdict !== "run") {
      if (verdict === "done") d.ack();
      else d.nak();
      this.#port.post({ t: "end", key: d.reply, ok: true, skipped: true });
      return;
    }
    const limitMs = handler.timeoutMs ?? this.#config.processing.taskTimeoutMs;
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(new Error("task time limit reached")), limitMs);
    this.#running.add(ac);
    this.#port.post({ t: "run", key: d.reply, limitMs });
    let ok = false;
    try {
      await runInTaskSpan(d, this.id, () => handler.handle(d, this.#services, ac.signal));
      ok = true;
    } catch (err) {
      // Handlers settle their own messages; reaching here is a bug in one. Let the task come back.
      this.#port.post({
        t: "log",
        level: "error",
        msg: "handler threw",
        fields: { err: String(err), stage: handler.name },
      });
      d.nak(1000);
    } finally {
      clearTimeout(timer);
      this.#running.delete(ac);
      if (!d.settled) d.nak();
      this.#port.post({ t: "end", key: d.reply, ok });
    }
  }

  /** Stops pulling, finishes the tasks in flight, hands back the ones not started, disconnects. */
  close(options: { abandonPulls?: boolean } = {}): Promise<void> {
    this.#closing ??= (async () => {
      this.#setStatus("draining");
      this.#stop.abort();
      await closeSteps(
        () => this.#puller.close(options),
        () => Promise.all(this.#loops),
        () => this.#services.documents.close(),
        () => drainConnection(this.#nc),
        () => {
          this.#status = "stopped";
          this.#port.post({ t: "status", status: "stopped" });
        },
      );
    })();
    return this.#closing;
  }
}
