// Pulls tasks for an agent from several consumers (stages × priorities) with exactly the work it
// has room for. JetStream cannot "wait on any of N consumers and take one", so:
//  - with free slots, probe sources in a weighted priority order with no-wait requests sized to
//    the free slots (existing backlog is taken in priority order, lower levels get a share);
//  - when every source is empty, leave one long-poll (batch 1) on each, so new work of any stage
//    or priority reaches an idle agent at once. A long-poll may deliver after the agent filled up:
//    such a task waits in `ready` (kept alive by in-progress acks), at most one per source.
// Raw pull requests on core NATS give us no-wait probes and precise accounting of what each
// outstanding request may still deliver, which the client's fetch()/consume() do not.
import { type Msg, type NatsConnection, nuid, type Subscription } from "@nats-io/transport-node";
import { PRIORITIES, type Priority } from "../schemas/index.ts";
import { closeSteps, inboxPrefixOf, type TaskSource } from "../streams/index.ts";
import { parseAckSubject, TaskDelivery } from "./delivery.ts";

export type PullerOptions = {
  /** Tasks this agent runs at once. */
  slots: number;
  /** How long an idle agent's long-poll waits before it is renewed. */
  longPollMs?: number;
  /** After a source answered "no messages", skip probing it for this long (busy agents). */
  emptyTtlMs?: number;
  /** Share of dispatches each level gets when all have backlog. */
  weights?: Record<Priority, number>;
  /**
   * Tasks pulled ahead while every slot is busy, held until a slot frees: the next task is then
   * already here instead of one pull round trip away.
   */
  prefetch?: number;
  /** Called for every task pulled, before it waits for a slot (the host starts keeping it alive). */
  onReceive?: (delivery: TaskDelivery) => void;
};

export const DEFAULT_WEIGHTS: Record<Priority, number> = { high: 12, normal: 4, low: 1 };

type Req = {
  source: number;
  remaining: number;
  delivered: number;
  longPoll: boolean;
  timer: NodeJS.Timeout;
  resolve: (delivered: number) => void;
};

const encoder = new TextEncoder();

/** Pause before asking a consumer again that had no leader to answer (503). */
const NO_LEADER_PAUSE_MS = 250;

export class Puller {
  readonly #nc: NatsConnection;
  readonly #sources: TaskSource[];
  readonly #slots: number;
  readonly #prefetch: number;
  readonly #longPollMs: number;
  readonly #emptyTtlMs: number;
  readonly #weights: Record<Priority, number>;
  readonly #onReceive: ((delivery: TaskDelivery) => void) | undefined;
  readonly #current: Record<Priority, number> = { high: 0, normal: 0, low: 0 };
  readonly #inbox: string;
  readonly #sub: Subscription;
  readonly #requests = new Map<string, Req>();
  readonly #watched = new Set<number>();
  readonly #emptyUntil: number[];
  readonly #noLeaderUntil: number[];
  readonly #byConsumer = new Map<string, number>();
  readonly #ready: Record<Priority, TaskDelivery[]> = { high: [], normal: [], low: [] };
  #inflight = 0;
  #closed = false;
  #wakers: Array<() => void> = [];
  #pumping: Promise<void>;

  constructor(nc: NatsConnection, sources: TaskSource[], options: PullerOptions) {
    this.#nc = nc;
    this.#inbox = `${inboxPrefixOf(nc)}.pull.${nuid.next()}`;
    this.#sources = sources;
    this.#slots = options.slots;
    this.#prefetch = options.prefetch ?? 0;
    this.#longPollMs = options.longPollMs ?? 2000;
    this.#emptyTtlMs = options.emptyTtlMs ?? 50;
    this.#weights = options.weights ?? DEFAULT_WEIGHTS;
    this.#onReceive = options.onReceive;
    this.#emptyUntil = sources.map(() => 0);
    this.#noLeaderUntil = sources.map(() => 0);
    sources.forEach((s, i) => {
      this.#byConsumer.set(`${s.stream}/${s.consumer}`, i);
    });
    this.#sub = nc.subscribe(`${this.#inbox}.*`, {
      callback: (err, msg) => {
        if (!err) this.#onMessage(msg);
      },
    });
    this.#pumping = this.#pump();
  }

  /** Tasks pulled but not yet handed out: they need in-progress acks too. */
  get held(): number {
    return this.#ready.high.length + this.#ready.normal.length + this.#ready.low.length;
  }

  get inflight(): number {
    return this.#inflight;
  }

  /** The next task to run (highest priority first); undefined once closed. */
  async next(): Promise<TaskDelivery | undefined> {
    while (!this.#closed) {
      for (const p of PRIORITIES) {
        const d = this.#ready[p].shift();
        if (d) {
          this.#inflight++;
          // Handing one out makes room to pull ahead (see #free).
          if (this.#prefetch > 0) this.#wake();
          return d;
        }
      }
      await this.#wait();
    }
    return undefined;
  }

  /** A task handed out by next() has been settled; its slot is free. */
  release(): void {
    this.#inflight--;
    this.#wake();
  }

  /**
   * Stops pulling; tasks not handed out yet go back to the consumer at once. Requests still open on
   * the server may deliver until they expire, so by default we wait for them and hand those back
   * too; `abandonPulls` skips that when the whole swarm is going away.
   */
  async close(options: { abandonPulls?: boolean } = {}): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake();
    await closeSteps(
      () => this.#pumping,
      async () => {
        const deadline = options.abandonPulls ? 0 : Date.now() + this.#longPollMs + 500;
        while (this.#requests.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      },
      () => {
        for (const p of PRIORITIES) for (const d of this.#ready[p].splice(0)) d.nak();
      },
      () => {
        for (const r of this.#requests.values()) clearTimeout(r.timer);
        this.#requests.clear();
      },
      () => this.#sub.unsubscribe(),
    );
  }

  #wait(): Promise<void> {
    return new Promise((resolve) => this.#wakers.push(resolve));
  }

  #wake(): void {
    const w = this.#wakers;
    this.#wakers = [];
    for (const fn of w) fn();
  }

  #free(): number {
    const ahead = this.#inflight >= this.#slots ? this.#prefetch : 0;
    return this.#slots + ahead - this.#inflight - this.held;
  }

  async #pump(): Promise<void> {
    while (!this.#closed) {
      let free = this.#free();
      if (free <= 0) {
        await this.#wait();
        continue;
      }
      let got = 0;
      const now = Date.now();
      for (const i of this.#probeOrder(now)) {
        if (this.#closed || free - got <= 0) break;
        if (this.#watched.has(i) || this.#emptyUntil[i]! > now) continue;
        got += await this.#request(i, free - got, false);
      }
      if (this.#closed) break;
      if (got > 0) continue;
      free = this.#free();
      if (free <= 0) continue;
      let retryAt = Number.POSITIVE_INFINITY;
      const pollAt = Date.now();
      for (let i = 0; i < this.#sources.length; i++) {
        if (this.#watched.has(i)) continue;
        if (this.#noLeaderUntil[i]! > pollAt) retryAt = Math.min(retryAt, this.#noLeaderUntil[i]!);
        else void this.#request(i, 1, true);
      }
      const retry = Number.isFinite(retryAt) ? setTimeout(() => this.#wake(), retryAt - pollAt) : undefined;
      await this.#wait();
      clearTimeout(retry);
    }
  }

  /**
   * Source indexes: triage first (moving a plain submission to its priority is cheap and decides
   * where it queues), then one level picked by smooth weighted round robin, then the rest by priority.
   */
  #probeOrder(now: number): number[] {
    const open = (p: Priority) =>
      this.#sources.some(
        (s, i) => !s.triage && s.priority === p && !this.#watched.has(i) && this.#emptyUntil[i]! <= now,
      );
    const candidates = PRIORITIES.filter(open);
    let first: Priority | undefined;
    if (candidates.length > 1) {
      let total = 0;
      for (const p of candidates) {
        this.#current[p] += this.#weights[p];
        total += this.#weights[p];
        if (first === undefined || this.#current[p] > this.#current[first]) first = p;
      }
      this.#current[first!] -= total;
    }
    const levels = first ? [first, ...PRIORITIES.filter((p) => p !== first)] : [...PRIORITIES];
    const order: number[] = [];
    for (let i = 0; i < this.#sources.length; i++) if (this.#sources[i]!.triage) order.push(i);
    for (const p of levels) {
      for (let i = 0; i < this.#sources.length; i++) {
        const s = this.#sources[i]!;
        if (!s.triage && s.priority === p) order.push(i);
      }
    }
    return order;
  }

  #request(source: number, batch: number, longPoll: boolean): Promise<number> {
    const s = this.#sources[source]!;
    const id = nuid.next();
    if (longPoll) this.#watched.add(source);
    return new Promise<number>((resolve) => {
      const body = longPoll ? { batch, expires: this.#longPollMs * 1_000_000 } : { batch, no_wait: true };
      // If the server's answer is lost (reconnect, leader change) the request ends locally.
      const timer = setTimeout(() => this.#finish(id), (longPoll ? this.#longPollMs : 0) + 2000);
      this.#requests.set(id, { source, remaining: batch, delivered: 0, longPoll, timer, resolve });
      try {
        this.#nc.publish(
          `$JS.API.CONSUMER.MSG.NEXT.${s.stream}.${s.consumer}`,
          encoder.encode(JSON.stringify(body)),
          {
            reply: `${this.#inbox}.${id}`,
          },
        );
      } catch {
        this.#finish(id);
      }
    });
  }

  #finish(id: string): void {
    const req = this.#requests.get(id);
    if (!req) return;
    this.#requests.delete(id);
    clearTimeout(req.timer);
    if (req.longPoll) this.#watched.delete(req.source);
    req.resolve(req.delivered);
    this.#wake();
  }

  #onMessage(msg: Msg): void {
    const code = msg.headers?.code ?? 0;
    if (!msg.reply && code >= 100) {
      // Status messages come on the request's own reply subject.
      const id = msg.subject.slice(this.#inbox.length + 1);
      if (code === 100) return; // idle heartbeat
      // 404 no messages, 408 request expired, 409 limits (max ack pending, max waiting, ...), 503 no
      // consumer leader (a cluster electing one): look again a little later, not in a tight loop.
      const req = this.#requests.get(id);
      if (req && (code === 404 || code === 408)) this.#emptyUntil[req.source] = Date.now() + this.#emptyTtlMs;
      if (req && code === 503) {
        this.#emptyUntil[req.source] = Date.now() + NO_LEADER_PAUSE_MS;
        this.#noLeaderUntil[req.source] = Date.now() + NO_LEADER_PAUSE_MS;
      }
      this.#finish(id);
      return;
    }
    // Data messages keep their original subject; the ack subject names the consumer, and the server
    // fills a consumer's waiting requests in the order they arrived.
    const info = msg.reply ? parseAckSubject(msg.reply) : undefined;
    if (!info) return;
    const index = this.#byConsumer.get(`${info.stream}/${info.consumer}`);
    if (index === undefined) return;
    const source = this.#sources[index]!;
    const delivery = new TaskDelivery(this.#nc, msg, info, source);
    if (this.#closed) {
      delivery.nak();
    } else {
      this.#onReceive?.(delivery);
      // A plain submission to triage runs before anything else this agent holds.
      this.#ready[source.triage ? "high" : source.priority].push(delivery);
    }
    if (info.pending === 0) this.#emptyUntil[index] = Date.now() + this.#emptyTtlMs;
    for (const [id, req] of this.#requests) {
      if (req.source !== index) continue;
      req.delivered++;
      if (--req.remaining <= 0) this.#finish(id);
      break;
    }
    this.#wake();
  }
}
