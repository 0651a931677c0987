// What the leading coordinator does besides following results: watch agents, dead-letter tasks that
// ran out of deliveries or that no stage serves, and answer status requests. Started on election,
// closed when the coordinator steps down.
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import type { LogFn } from "../observability/index.ts";
import type { CoordinatorConfig, CoordinatorStatus } from "../schemas/index.ts";
import { closeSteps, jsonBytes, type SwarmState, subjects } from "../streams/index.ts";
import { AgentWatch } from "./agent-watch.ts";
import { AdvisoryListener, DeadLetterer } from "./dead-letters.ts";
import { StorageWatch } from "./storage-watch.ts";
import { UnknownStageSweeper } from "./unknown-stages.ts";

export type DutiesContext = {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  state: SwarmState;
  config: CoordinatorConfig;
  coordinatorId: string;
  term: number;
  leaderSince: number;
  fence: () => void;
  /** Writes a document's job with this leader's term before it is dead-lettered (see dead-letters.ts). */
  claim?: (docId: string) => Promise<void>;
  log: LogFn;
};

export class LeaderDuties {
  readonly agents: AgentWatch;
  readonly deadLetters: DeadLetterer;
  readonly #advisories: AdvisoryListener;
  readonly #sweeper: UnknownStageSweeper;
  readonly #storage: StorageWatch;
  readonly #statusSub: Subscription;
  readonly #ctx: DutiesContext;
  #closing: Promise<void> | undefined;

  private constructor(
    ctx: DutiesContext,
    agents: AgentWatch,
    dl: DeadLetterer,
    advisories: AdvisoryListener,
    sweeper: UnknownStageSweeper,
  ) {
    this.#ctx = ctx;
    this.agents = agents;
    this.deadLetters = dl;
    this.#advisories = advisories;
    this.#sweeper = sweeper;
    this.#storage = new StorageWatch(ctx.nc, ctx.jsm, { everyMs: ctx.config.storageCheckMs, log: ctx.log });
    this.#statusSub = ctx.nc.subscribe(subjects.coordinatorStatus, {
      callback: (err, m) => {
        if (err || !m.reply) return;
        try {
          m.respond(jsonBytes(this.status()));
        } catch {
          // the requester went away
        }
      },
    });
  }

  static async start(ctx: DutiesContext): Promise<LeaderDuties> {
    const agents = await AgentWatch.start(ctx.nc, ctx.state.agents, ctx.log);
    const dl = new DeadLetterer(ctx.nc, ctx.js, ctx.jsm, ctx.fence, ctx.log, ctx.claim);
    let advisories: AdvisoryListener;
    try {
      advisories = await AdvisoryListener.start(ctx.js, dl, ctx.log);
    } catch (err) {
      await agents.close();
      throw err;
    }
    const sweeper = new UnknownStageSweeper(ctx.jsm, dl, {
      graceMs: ctx.config.unknownStageGraceMs,
      everyMs: ctx.config.unknownStageCheckMs,
      log: ctx.log,
    });
    return new LeaderDuties(ctx, agents, dl, advisories, sweeper);
  }

  status(): CoordinatorStatus {
    return {
      v: 1,
      coordinatorId: this.#ctx.coordinatorId,
      role: "leader",
      term: this.#ctx.term,
      leaderSince: this.#ctx.leaderSince,
      agents: {
        live: this.agents.live().map((a) => ({ agentId: a.agentId, hostId: a.hostId, stages: a.stages })),
        lost: this.agents.lost(),
      },
      deadLettered: this.deadLetters.count,
    };
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await closeSteps(
        () => this.#statusSub.unsubscribe(),
        () =>
          Promise.allSettled([
            this.#sweeper.close(),
            this.#storage.close(),
            this.#advisories.close(),
            this.agents.close(),
          ]),
      );
    })();
    return this.#closing;
  }
}
