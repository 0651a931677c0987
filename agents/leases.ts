// Task leases in the docswarm-leases bucket (`task.<taskId>` → holder agent, until when).
//
// A task can come back while its holder still works on it: its host's in-progress acks did not
// reach the server for a whole ack wait (a reconnect, a stalled event loop, a consumer leader change),
// yet the agent thread carries on. The lease lets the new receiver see that and wait instead of
// running the task a second time at the same moment.
//
// Writing a lease for every task would double the writes of short tasks, and a task can only be
// redelivered after a full ack wait, so the host writes a task's lease once it has run for a third of
// the ack wait (when its first in-progress ack goes out) and renews it every quarter ack wait with a
// per-key TTL. A redelivered task (delivery > 1) is run at once unless a lease names another agent
// whose registration is live and which renewed it recently; then the receiver holds the task (its
// own host keeps it alive) and looks again until the lease goes stale or is released, or the task
// disappears from its work queue (the holder finished and acked it).
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import { headers, type NatsConnection } from "@nats-io/transport-node";
import type { LogFn } from "../observability/thread.ts";
import { AgentRegistration, decodeJson, TaskId, TaskLease } from "../schemas/index.ts";
import { BUCKETS, isNoMessage, kvPutWithTtl, kvSubject, taskLeaseKey } from "../streams/index.ts";
import type { TaskDelivery } from "./delivery.ts";

export type LeaseTiming = {
  /** A task gets a lease once it has run this long. */
  firstAfterMs: number;
  renewMs: number;
  /** A lease not renewed for this long belongs to a holder that stopped (dead or cut off). */
  staleMs: number;
  ttlMs: number;
};

export function leaseTiming(ackWaitMs: number): LeaseTiming {
  return {
    firstAfterMs: Math.floor(ackWaitMs / 3),
    renewMs: Math.max(250, Math.floor(ackWaitMs / 4)),
    staleMs: Math.floor(ackWaitMs * 0.6),
    ttlMs: Math.max(1000, Math.ceil(ackWaitMs * 1.5)),
  };
}

/** The id a task is leased under: its Nats-Msg-Id when that is a valid task id, else stream and sequence. */
export function leaseTaskId(msgId: string | undefined, stream: string, seq: number): string {
  return msgId && TaskId.safeParse(msgId).success ? msgId : `${stream}-${seq}`;
}

export function deliveryTaskId(d: TaskDelivery): string {
  return leaseTaskId(d.headers?.get("Nats-Msg-Id") || undefined, d.info.stream, d.info.streamSeq);
}

/** What the host tracks per held task, as far as leases are concerned. */
export type LeasedTask = {
  taskId: string;
  stage: string;
  stream: string;
  seq: number;
  delivery: number;
  runAt?: number;
  lease?: { at: number; writing: Promise<void> | undefined; written: boolean; released: boolean };
};

/** Host side: writes, renews and releases the leases of tasks its agents run. */
export class LeaseWriter {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #hostId: string;
  readonly #t: LeaseTiming;
  readonly #log: LogFn;

  constructor(nc: NatsConnection, js: JetStreamClient, hostId: string, ackWaitMs: number, log: LogFn) {
    this.#nc = nc;
    this.#js = js;
    this.#hostId = hostId;
    this.#t = leaseTiming(ackWaitMs);
    this.#log = log;
  }

  /** Called from the host's sweep for every held task; writes or renews when due. */
  tick(agentId: string, task: LeasedTask, now: number): void {
    if (task.runAt === undefined || now - task.runAt < this.#t.firstAfterMs) return;
    task.lease ??= { at: 0, writing: undefined, written: false, released: false };
    const l = task.lease;
    if (l.released || l.writing || now - l.at < this.#t.renewMs) return;
    l.at = now;
    const value: TaskLease = {
      v: 1,
      taskId: task.taskId,
      agentId,
      hostId: this.#hostId,
      stage: task.stage,
      stream: task.stream,
      seq: task.seq,
      delivery: task.delivery,
      renewedAt: now,
      expiresAt: now + this.#t.ttlMs,
    };
    l.writing = kvPutWithTtl(
      this.#js,
      BUCKETS.leases,
      taskLeaseKey(task.taskId),
      value,
      this.#t.ttlMs,
      undefined,
      this.#t.renewMs * 2,
    )
      .then(() => {
        l.written = true;
      })
      .catch((err) => this.#log("debug", "lease write failed", { taskId: task.taskId, err: String(err) }))
      .finally(() => {
        l.writing = undefined;
      });
  }

  /**
   * Removes a task's lease at once, without waiting for the stream's acknowledgement: for a task
   * about to be handed back (a crashed thread), whose redelivery must not wait for the write.
   */
  releaseNow(task: LeasedTask): void {
    const l = task.lease;
    if (!l || l.released) return;
    l.released = true;
    if (!l.written && !l.writing) return;
    try {
      this.#nc.publish(kvSubject(BUCKETS.leases, taskLeaseKey(task.taskId)), new Uint8Array(), {
        headers: deleteWithTtl(),
      });
    } catch {
      // closing: the lease lapses by its TTL
    }
  }

  /** Removes a task's lease (if it has one) so a redelivery runs without waiting. */
  async release(task: LeasedTask): Promise<void> {
    const l = task.lease;
    if (!l || l.released) return;
    l.released = true;
    await l.writing;
    if (!l.written) return;
    await this.#js
      .publish(kvSubject(BUCKETS.leases, taskLeaseKey(task.taskId)), new Uint8Array(), {
        headers: deleteWithTtl(),
        timeout: 1000,
      })
      .catch(() => {});
  }
}

/** A KV delete that expires itself, so finished tasks leave no tombstones behind. */
function deleteWithTtl() {
  const h = headers();
  h.set("KV-Operation", "DEL");
  h.set("Nats-TTL", "1s");
  return h;
}

export type GateVerdict = "run" | "done" | "abandon";

/** Agent side: decides whether a redelivered task may run now. */
export class LeaseGate {
  readonly #jsm: JetStreamManager;
  readonly #leases: KV;
  readonly #agents: KV;
  readonly #agentId: string;
  readonly #t: LeaseTiming;
  readonly #log: LogFn;

  constructor(init: {
    jsm: JetStreamManager;
    leases: KV;
    agents: KV;
    agentId: string;
    ackWaitMs: number;
    log: LogFn;
  }) {
    this.#jsm = init.jsm;
    this.#leases = init.leases;
    this.#agents = init.agents;
    this.#agentId = init.agentId;
    this.#t = leaseTiming(init.ackWaitMs);
    this.#log = init.log;
  }

  /**
   * "run": nobody else is working on it. "done": the holder finished it meanwhile (the task left its
   * work queue). "abandon": `signal` fired while waiting (the agent is stopping).
   */
  async check(d: TaskDelivery, signal: AbortSignal): Promise<GateVerdict> {
    if (d.info.delivered <= 1) return "run";
    const taskId = deliveryTaskId(d);
    let waited = false;
    for (;;) {
      if (signal.aborted) return "abandon";
      const holder = await this.#liveHolder(taskId).catch(() => undefined);
      if (!holder) return "run";
      if (await this.#gone(d)) return "done";
      if (!waited) {
        waited = true;
        this.#log("info", "redelivered task is still held by a live agent; waiting", {
          taskId,
          holder,
          delivery: d.info.delivered,
        });
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(50, Math.floor(this.#t.staleMs / 4)));
        function done() {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          resolve();
        }
        signal.addEventListener("abort", done, { once: true });
      });
    }
  }

  /** The agent holding a fresh lease on the task, when it is another agent and alive. */
  async #liveHolder(taskId: string): Promise<string | undefined> {
    const e = await this.#leases.get(taskLeaseKey(taskId));
    if (e?.operation !== "PUT" || e.value.length === 0) return undefined;
    const lease = decodeJson(TaskLease, e.value);
    if (!lease.ok || lease.value.agentId === this.#agentId) return undefined;
    if (Date.now() - e.created.getTime() > this.#t.staleMs) return undefined;
    const r = await this.#agents.get(lease.value.agentId);
    if (r?.operation !== "PUT" || r.value.length === 0) return undefined;
    const reg = decodeJson(AgentRegistration, r.value);
    if (!reg.ok || reg.value.status === "stopped" || reg.value.status === "starting") return undefined;
    return lease.value.agentId;
  }

  /** True when the task's message is no longer in its work queue (acked by whoever finished it). */
  async #gone(d: TaskDelivery): Promise<boolean> {
    try {
      const m = await this.#jsm.streams.getMessage(d.info.stream, { seq: d.info.streamSeq });
      return !m;
    } catch (err) {
      return isNoMessage(err);
    }
  }
}
