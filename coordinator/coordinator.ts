// The coordinator's leadership room: campaigns for the leader lease, and while it leads, follows the
// results stream and the DAG job submissions with durable consumers (so whoever leads next resumes
// exactly where the last one stopped), runs the leader's duties (agent watch, dead letters,
// autoscaling) and stands down when deposed. What a result does to its job is job progress
// (coordinator/progress.ts). Its job writes carry its term (jobs/store.ts): on election it raises
// the term of every running job before it consumes, and a write refused for a newer term deposes it.

import { hostname } from "node:os";
import type { JetStreamManager } from "@nats-io/jetstream";
import { type Consumer, type JsMsg, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { JobStore, publishTasks, readJobs, StaleTermError, type Versioned } from "../jobs/index.ts";
import {
  extractTraceContext,
  type LogFn,
  readGaugeSnapshot,
  registerSwarmGauges,
  SpanKind,
  withSpan,
  withTraceHeaders,
} from "../observability/index.ts";
import {
  type AutoscalerOptions,
  CoordinatorConfig,
  type CoordinatorOptionsInput,
  type CoordinatorStatus,
  HEADERS,
  type NatsAuth,
  TopologyConfig,
  type TopologyOptions,
} from "../schemas/index.ts";
import {
  ApiCodes,
  BUCKETS,
  COORDINATOR_CONSUMER,
  closeSteps,
  connectNats,
  drainConnection,
  FINALS_CONSUMER,
  isApiError,
  JOBS_CONSUMER,
  kvStream,
  openState,
  publisherFor,
  retryJetStream,
  STREAMS,
  type SwarmState,
} from "../streams/index.ts";
import { Autoscaler } from "./autoscaler.ts";
import { Capabilities } from "./capabilities.ts";
import type { CoordinatorContext } from "./context.ts";
import { acceptJobSpec } from "./dag-jobs.ts";
import { LeaderDuties } from "./duties.ts";
import { NotLeaderError } from "./errors.ts";
import { publishEvent } from "./events.ts";
import { LeaderElection } from "./leader.ts";
import { JobProgress } from "./progress.ts";

export type CoordinatorOptions = {
  servers: string | string[];
  /** Credentials and TLS (the coordinator role). */
  auth?: NatsAuth;
  /** This coordinator's name in the leader lease; unique per process by default. */
  id?: string;
  /** Leader lease timing, unknown-stage grace, ... */
  config?: CoordinatorOptionsInput;
  /** Run the autoscaler (decisions into the scale bucket) with these settings. */
  autoscale?: AutoscalerOptions;
  /** The topology's settings in force (docswarm init's): finished-job window, per-result cap. */
  topology?: TopologyOptions;
  /**
   * How often a leader on a layout before 4 looks for the finals consumer `docswarm init` creates
   * (default 10 s). For tests of an upgrade under a running coordinator.
   * @internal
   */
  finalsPollMs?: number;
  onLog?: LogFn;
};

let coordinatorCounter = 0;

/** How often a leader on a layout without the finals consumer looks for it again (unless finalsPollMs says). */
const FINALS_POLL_MS = 10_000;

export class Coordinator {
  readonly #ctx: CoordinatorContext;
  readonly #progress: JobProgress;
  readonly #options: CoordinatorOptions;
  readonly #config: CoordinatorConfig;
  readonly #election: LeaderElection;
  #duties: LeaderDuties | undefined;
  #consumers: Array<Awaited<ReturnType<Consumer["consume"]>>> = [];
  #loops: Promise<void>[] = [];
  #closing: Promise<void> | undefined;
  readonly #closed = Promise.withResolvers<void>();
  #autoscaler: Autoscaler | undefined;
  #unregisterGauges: (() => void) | undefined;
  /** A failure drill's hold on the next job write (holdNextJobWrite). */
  #writeHold: { ms: number; onHold: () => void } | undefined;

  private constructor(
    nc: NatsConnection,
    jsm: JetStreamManager,
    state: SwarmState,
    options: CoordinatorOptions,
  ) {
    const js = jetstream(nc);
    const log = options.onLog ?? (() => {});
    this.#options = options;
    this.#config = CoordinatorConfig.parse(options.config ?? {});
    this.#election = new LeaderElection({
      js,
      kv: state.leases,
      candidateId:
        options.id ?? `${hostname().replace(/[^A-Za-z0-9_-]/g, "_")}-${process.pid}-c${coordinatorCounter++}`,
      ttlMs: this.#config.leaderTtlMs,
      renewMs: this.#config.leaderRenewMs,
      pollMs: this.#config.standbyPollMs,
      onElected: (term) => this.#lead(term),
      onDeposed: (term, reason) => this.#standDown(term, reason),
      onLog: log,
    });
    const fence = () => this.#election.fence();
    const topology = TopologyConfig.parse(options.topology ?? {});
    const maxPayloadBytes = nc.info?.max_payload ?? 1024 * 1024;
    this.#ctx = {
      nc,
      js,
      jsm,
      state,
      jobs: new JobStore(state.jobs, {
        maxCached: 10_000,
        fence,
        term: () => this.#election.term,
        beforeWrite: () => this.#holdWrite(),
        leader: jsm,
        finished: { js, ttlMs: topology.jobsFinishedTtlMs },
      }),
      capabilities: new Capabilities(nc, jsm),
      maxPayloadBytes,
      finalLimits: { maxPayloadBytes, maxResultBytes: topology.doneMaxResultBytes },
      log,
      fence,
      publishTasks: async (job, keys) => {
        if (keys.length === 0) return;
        fence();
        // Released tasks continue the trace of the result that released them (the gather span).
        await publishTasks(publisherFor(nc), job, keys, withTraceHeaders);
      },
    };
    this.#progress = new JobProgress(this.#ctx);
  }

  /**
   * Connects and campaigns; resolves once the first election round is over (leader or standby).
   * Several coordinators may run: one leads (consumes results and job submissions, watches agents,
   * dead-letters, autoscales), the others wait to take over.
   */
  static async start(options: CoordinatorOptions): Promise<Coordinator> {
    const nc = await connectNats({
      ...options.auth,
      servers: options.servers,
      name: "docswarm-coordinator",
      ...(options.onLog && { log: options.onLog }),
    });
    try {
      const js = jetstream(nc);
      // A cluster may be electing leaders as we start: wait that out instead of dying.
      const c = new Coordinator(
        nc,
        await retryJetStream(() => jetstreamManager(nc)),
        await retryJetStream(() => openState(js)),
        options,
      );
      // Swarm-wide gauges are read at scrape time from NATS, on any coordinator.
      c.#unregisterGauges = registerSwarmGauges(() => readGaugeSnapshot(c.#ctx.jsm));
      await c.#election.start();
      return c;
    } catch (err) {
      await nc.close();
      throw err;
    }
  }

  get id(): string {
    return this.#election.candidateId;
  }

  /** True while this coordinator leads (holds an unexpired leader lease). */
  get isLeader(): boolean {
    return this.#election.isLeader;
  }

  get term(): number {
    return this.#election.term;
  }

  async #lead(term: number): Promise<void> {
    if (this.#closing) return;
    try {
      if ((await this.#startLeading(term)) === "terms reset") {
        // Nothing was started: campaign again, for a term above every job's.
        await this.#election.resign("the leases bucket was re-created; terms moved past the jobs'");
        return;
      }
    } catch (err) {
      this.#ctx.log("error", "could not start leading; resigning", { err: (err as Error).message });
      await this.#standDown(term, "could not start leading").catch(() => {});
      await this.#election.resign("could not start leading");
    }
  }

  async #startLeading(term: number): Promise<"terms reset" | undefined> {
    const c = this.#ctx;
    // Before anything is consumed: from here on a deposed leader's write to any running job is
    // refused by the server (compare-and-set on a revision this write replaced).
    const startedAt = Date.now();
    const jobs = await retryJetStream(() => readJobs(c.jsm));
    if (await this.#termsReset(term, jobs)) return "terms reset";
    const raised = await c.jobs.raiseTerm(jobs);
    c.log("info", "running jobs fenced with the new term", {
      term,
      jobs: raised,
      ms: Date.now() - startedAt,
    });
    // The gather span continues the trace of the task that produced each result.
    await this.#consume(STREAMS.results, COORDINATOR_CONSUMER, (m) =>
      withSpan("docswarm.gather", { kind: SpanKind.CONSUMER, parent: extractTraceContext(m.headers) }, () =>
        this.#progress.onResult(m),
      ),
    );
    await this.#consume(STREAMS.submit, JOBS_CONSUMER, (m) => acceptJobSpec(c, m));
    await this.#consumeFinals();
    if (this.#options.autoscale)
      this.#autoscaler = new Autoscaler(c.nc, c.jsm, c.state.scale, this.#options.autoscale);
    this.#duties = await LeaderDuties.start({
      nc: c.nc,
      js: c.js,
      jsm: c.jsm,
      state: c.state,
      config: this.#config,
      coordinatorId: this.id,
      term,
      leaderSince: this.#election.leaderSince ?? Date.now(),
      fence: c.fence,
      claim: async (docId) => {
        await c.jobs.update(docId, (job) => (job.status === "running" ? job : undefined));
      },
      log: c.log,
    });
    publishEvent(c.nc, { type: "coordinator.elected", at: Date.now(), coordinatorId: this.id, term });
  }

  /**
   * Terms are revisions of the leases bucket, so they start again at 1 when the bucket is deleted
   * and created again, while jobs keep the terms their leaders stamped: every write of this leader
   * would be refused for a "newer" term until its revisions passed theirs. A job stamped with a term
   * at or above ours, while the lease is still ours (so no later leader wrote it), says so: the
   * bucket's sequence is moved past that term (its leases go: the bucket is new, and task leases
   * are advisory), and the next election's term is above every job's.
   */
  async #termsReset(term: number, jobs: Versioned[]): Promise<boolean> {
    const highest = jobs.reduce((n, v) => Math.max(n, v.job.term ?? 0), 0);
    if (highest < term) return false;
    const lease = await this.#election.current();
    if (lease?.holderId !== this.id || lease.term !== term) return false;
    this.#ctx.log("warn", "jobs carry terms above this leader's: the leases bucket was re-created", {
      term,
      highest,
    });
    await this.#ctx.jsm.streams.purge(kvStream(BUCKETS.leases), { seq: highest + 1 });
    return true;
  }

  /** Stops acting as leader: nothing more consumed, no more writes. */
  async #standDown(term: number, reason: string): Promise<void> {
    const consumers = this.#consumers.splice(0);
    await Promise.all(consumers.map((m) => m.close().catch(() => {})));
    await Promise.allSettled(this.#loops.splice(0));
    await this.#autoscaler?.close();
    this.#autoscaler = undefined;
    await this.#duties?.close();
    this.#duties = undefined;
    publishEvent(this.#ctx.nc, {
      type: "coordinator.deposed",
      at: Date.now(),
      coordinatorId: this.id,
      term,
      reason,
    });
  }

  /**
   * The done stream's finals, from layout 4 on. On an older layout the consumer is missing and
   * agents announce through split results; it is looked for again every FINALS_POLL_MS while this
   * coordinator leads, so `docswarm init` takes effect without a restart (agents switch within
   * 30 s of it, after this).
   */
  async #consumeFinals(): Promise<void> {
    const term = this.#election.term;
    try {
      // A final that announces its document continues the trace of split, which wrote it.
      await this.#consume(STREAMS.done, FINALS_CONSUMER, (m) =>
        m.headers?.has(HEADERS.summary)
          ? withSpan(
              "docswarm.gather",
              { kind: SpanKind.CONSUMER, parent: extractTraceContext(m.headers) },
              () => this.#progress.onFinal(m),
            )
          : this.#progress.onFinal(m),
      );
    } catch (err) {
      if (!isApiError(err, ApiCodes.ConsumerNotFound)) throw err;
      this.#ctx.log("info", "no finals consumer (topology before layout 4): split results announce", {});
      const timer = setTimeout(() => {
        if (this.#election.isLeader && this.#election.term === term && !this.#closing && this.#duties)
          void this.#consumeFinals().catch((e: Error) =>
            this.#ctx.log("warn", "could not follow finals", { err: e.message }),
          );
      }, this.#options.finalsPollMs ?? FINALS_POLL_MS);
      timer.unref();
    }
  }

  async #consume(stream: string, durable: string, handle: (m: JsMsg) => Promise<void>): Promise<void> {
    const consumer = await this.#ctx.js.consumers.get(stream, durable);
    // Small batches: what a crashed leader had pulled waits out the ack wait before its successor
    // gets it, and handling a batch must stay well inside that ack wait.
    // Pull requests expire after 5 s: one lost with its consumer's leader (a cluster node died) is
    // noticed after two missed heartbeats, 5 s, instead of the client's default 30 s.
    const messages = await consumer.consume({ max_messages: 64, expires: 5000 });
    this.#consumers.push(messages);
    this.#loops.push(
      (async () => {
        for await (const m of messages) {
          if (!this.#election.isLeader) {
            // Deposed (or our lease may have lapsed): hand it straight to the next leader.
            m.nak();
            continue;
          }
          try {
            await handle(m);
            m.ack();
            // Every message followed through (drills keep debug logs to trace a document).
            this.#ctx.log("debug", "message handled", {
              stream,
              subject: m.subject,
              seq: m.seq,
              deliveries: m.info.deliveryCount,
            });
          } catch (err) {
            if (err instanceof NotLeaderError) {
              m.nak();
              continue;
            }
            if (err instanceof StaleTermError) {
              // The server refused our write: a newer leader has written this job. Stop leading now.
              this.#ctx.log("warn", "job write refused: a newer term wrote the job; standing down", {
                term: err.term,
                jobTerm: err.jobTerm,
                err: err.message,
              });
              m.nak();
              this.#election.depose(`a newer term (${err.jobTerm}) wrote a job`);
              continue;
            }
            this.#ctx.log("error", "could not process a message; it will be redelivered", {
              stream,
              err: (err as Error).message,
            });
            m.nak(1000);
          }
        }
      })(),
    );
  }

  /**
   * Failure drills (DOCSWARM_CHAOS): the next job write waits `ms` after passing the local fence,
   * just before it is sent, and `onHold` says when it started waiting (so a drill can pause the
   * process with a write pending).
   */
  holdNextJobWrite(ms: number, onHold: () => void): void {
    this.#writeHold = { ms, onHold };
  }

  async #holdWrite(): Promise<void> {
    const hold = this.#writeHold;
    if (!hold) return;
    this.#writeHold = undefined;
    hold.onHold();
    await new Promise((resolve) => setTimeout(resolve, hold.ms));
  }

  /** The leader's status (agents live and lost, dead letters); undefined on a standby. */
  status(): CoordinatorStatus | undefined {
    return this.#duties?.status();
  }

  /**
   * Stops. By default a leader stands down and releases its lease so a standby takes over at once;
   * `releaseLeadership: false` leaves the lease to lapse, as a crash would (for failover tests).
   */
  close(options: { releaseLeadership?: boolean } = {}): Promise<void> {
    const standDown = async () => {
      // Standing down while closing may meet a connection that is already gone: say so, carry on.
      if (this.#consumers.length > 0 || this.#duties)
        await this.#standDown(this.#election.term, "closed").catch((err: Error) =>
          this.#ctx.log("warn", "standing down on close failed", { err: err.message }),
        );
    };
    this.#closing ??= (
      options.releaseLeadership === false
        ? closeSteps(
            () => this.#unregisterGauges?.(),
            () => this.#election.close({ release: false }),
            standDown,
            () => drainConnection(this.#ctx.nc),
          )
        : closeSteps(
            () => this.#unregisterGauges?.(),
            standDown,
            () => this.#election.close({ release: true }),
            () => drainConnection(this.#ctx.nc),
          )
    ).finally(() => this.#closed.resolve());
    return this.#closing;
  }

  /** Resolves once close() has run all its steps (whoever called it). */
  closed(): Promise<void> {
    return this.#closed.promise;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
