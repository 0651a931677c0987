// Leader election through the leases bucket. A candidate creates `leader.coordinator` (create fails
// while someone holds it) with a per-key TTL, then keeps it by updating with the last revision it
// wrote. The revision of the winning write is the term: it grows with every new leader. A leader that
// cannot renew in time, or finds someone else's revision there, is deposed; `fence()` lets it check
// before every write, against a local deadline that ends before the server lets the lease lapse.
import { hostname } from "node:os";
import type { JetStreamClient } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import type { LogFn } from "../observability/index.ts";
import { decodeJson, LeaderLease } from "../schemas/index.ts";
import {
  BUCKETS,
  closeSteps,
  isWrongLastSequence,
  jsonBytes,
  kvPutWithTtl,
  LEADER_KEY,
} from "../streams/index.ts";
import { NotLeaderError } from "./errors.ts";

export type LeaderElectionOptions = {
  js: JetStreamClient;
  /** The docswarm-leases bucket. */
  kv: KV;
  candidateId: string;
  ttlMs: number;
  renewMs: number;
  pollMs: number;
  /** Called (one transition at a time) when this candidate wins; term = the winning revision. */
  onElected: (term: number) => Promise<void> | void;
  /** Called when a leader loses the lease; it must stop acting at once. */
  onDeposed: (term: number, reason: string) => Promise<void> | void;
  onLog?: LogFn;
};

export class LeaderElection {
  readonly candidateId: string;
  readonly #o: LeaderElectionOptions;
  readonly #marginMs: number;
  readonly #log: LogFn;
  #leader = false;
  #term = 0;
  #revision = 0;
  #acquiredAt = 0;
  /** performance.now() after which this leader must assume its lease lapsed. */
  #validUntil = 0;
  #stopped = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #transitions: Promise<void> = Promise.resolve();
  #firstAttempt!: Promise<void>;
  #firstAttemptDone!: () => void;
  #closing: Promise<void> | undefined;

  constructor(options: LeaderElectionOptions) {
    this.#o = options;
    this.candidateId = options.candidateId;
    this.#marginMs = Math.max(250, Math.floor(options.ttlMs / 6));
    this.#log = options.onLog ?? (() => {});
    this.#firstAttempt = new Promise((resolve) => {
      this.#firstAttemptDone = resolve;
    });
  }

  /** Starts campaigning; resolves after the first attempt (a lone coordinator leads by then). */
  async start(): Promise<void> {
    this.#loop ??= this.#run();
    await this.#firstAttempt;
    await this.#transitions;
  }

  /** True while this candidate holds a lease that has certainly not lapsed on the server. */
  get isLeader(): boolean {
    return this.#leader && performance.now() < this.#validUntil;
  }

  get term(): number {
    return this.#term;
  }

  get leaderSince(): number | null {
    return this.#leader ? this.#acquiredAt : null;
  }

  /** Throws NotLeaderError unless this candidate leads: call it before every write a leader makes. */
  fence(): void {
    if (!this.isLeader)
      throw new NotLeaderError(`coordinator ${this.candidateId} is not the leader (term ${this.#term})`);
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      try {
        if (this.#leader) await this.#renew();
        else await this.#tryAcquire();
      } catch (err) {
        this.#log("warn", "leader election: NATS request failed", { err: (err as Error).message });
        if (this.#leader && performance.now() >= this.#validUntil) this.depose("could not renew the lease");
      }
      this.#firstAttemptDone();
      if (this.#stopped) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.#leader ? this.#o.renewMs : this.#o.pollMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  #lease(term: number, now: number): LeaderLease {
    return {
      v: 1,
      holderId: this.candidateId,
      hostname: hostname(),
      pid: process.pid,
      term,
      acquiredAt: this.#acquiredAt || now,
      renewedAt: now,
      expiresAt: now + this.#o.ttlMs,
    };
  }

  async #tryAcquire(): Promise<void> {
    const current = await this.#o.kv.get(LEADER_KEY);
    if (current?.operation === "PUT" && current.value.length > 0) return;
    const sentAt = performance.now();
    const now = Date.now();
    let revision: number;
    try {
      revision = await this.#o.kv.create(LEADER_KEY, jsonBytes(this.#lease(0, now)), `${this.#o.ttlMs}ms`);
    } catch (err) {
      if (isWrongLastSequence(err)) return; // another candidate won this round
      throw err;
    }
    this.#leader = true;
    this.#term = revision;
    this.#revision = revision;
    this.#acquiredAt = now;
    this.#validUntil = sentAt + this.#o.ttlMs - this.#marginMs;
    // Record the term in the lease itself, so observers see it.
    await this.#renew();
    if (!this.#leader) return;
    const term = this.#term;
    this.#log("info", "elected leader", { coordinatorId: this.candidateId, term });
    this.#transition(() => this.#o.onElected(term));
  }

  async #renew(): Promise<void> {
    const sentAt = performance.now();
    try {
      this.#revision = await kvPutWithTtl(
        this.#o.js,
        BUCKETS.leases,
        LEADER_KEY,
        this.#lease(this.#term, Date.now()),
        this.#o.ttlMs,
        this.#revision,
        Math.max(500, this.#o.renewMs),
      );
      this.#validUntil = sentAt + this.#o.ttlMs - this.#marginMs;
    } catch (err) {
      if (isWrongLastSequence(err)) {
        this.depose("another coordinator holds the lease");
        return;
      }
      throw err;
    }
  }

  /**
   * Stops leading at once (the lease lapsed, someone else holds it, or the server refused a write
   * because a newer term has written there); keeps campaigning.
   */
  depose(reason: string): void {
    if (!this.#leader) return;
    this.#leader = false;
    this.#validUntil = 0;
    const term = this.#term;
    this.#log("warn", "deposed", { coordinatorId: this.candidateId, term, reason });
    this.#transition(() => this.#o.onDeposed(term, reason));
  }

  #transition(fn: () => Promise<void> | void): void {
    this.#transitions = this.#transitions
      .then(fn)
      .catch((err) => this.#log("error", "leadership transition failed", { err: (err as Error).message }));
  }

  /**
   * Gives the lease up (deleting it) but keeps campaigning: for a leader that could not start its
   * duties. It may win again on a later round.
   */
  async resign(reason: string): Promise<void> {
    if (!this.#leader) return;
    this.#leader = false;
    this.#validUntil = 0;
    this.#log("warn", "resigning leadership", { coordinatorId: this.candidateId, term: this.#term, reason });
    await this.#o.kv.delete(LEADER_KEY, { previousSeq: this.#revision }).catch(() => {});
  }

  /** The current lease, decoded (undefined when nobody leads). */
  async current(): Promise<LeaderLease | undefined> {
    const e = await this.#o.kv.get(LEADER_KEY);
    if (e?.operation !== "PUT" || e.value.length === 0) return undefined;
    const d = decodeJson(LeaderLease, e.value);
    return d.ok ? d.value : undefined;
  }

  /**
   * Stops campaigning. With `release` (the default) a leader deletes its lease so a standby takes
   * over at once instead of waiting for the TTL; without, it behaves like a crash (for tests).
   */
  close(options: { release?: boolean } = {}): Promise<void> {
    this.#closing ??= (async () => {
      this.#stopped = true;
      this.#wake?.();
      this.#firstAttemptDone();
      await closeSteps(
        () => this.#loop,
        () => this.#transitions,
        async () => {
          const wasLeader = this.#leader;
          this.#leader = false;
          this.#validUntil = 0;
          if (wasLeader && options.release !== false)
            await this.#o.kv.delete(LEADER_KEY, { previousSeq: this.#revision }).catch(() => {});
        },
      );
    })();
    return this.#closing;
  }
}
