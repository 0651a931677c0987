// Capability discovery from the coordinator's side: which stages have live agents. When tasks are
// released for a stage nobody serves, the document is visibly waiting (a stage.waiting event),
// not silently stuck.
import type { JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { AgentRegistration, TopologyOptions } from "../schemas/index.ts";
import { BUILTIN_STAGES, countServing, ensureStage, listAgents } from "../streams/index.ts";
import { publishEvent } from "./events.ts";

export class Capabilities {
  readonly #nc: NatsConnection;
  readonly #jsm: JetStreamManager;
  readonly #topology: TopologyOptions;
  readonly #known = new Set<string>(BUILTIN_STAGES);
  #agents: { at: number; list: Promise<AgentRegistration[]> } | undefined;

  constructor(nc: NatsConnection, jsm: JetStreamManager, topology: TopologyOptions = {}) {
    this.#nc = nc;
    this.#jsm = jsm;
    this.#topology = topology;
  }

  async serving(stage: string): Promise<number> {
    if (!this.#agents || Date.now() - this.#agents.at > 1000) {
      this.#agents = { at: Date.now(), list: listAgents(this.#jsm).catch(() => []) };
    }
    return countServing(await this.#agents.list, stage);
  }

  /** Emits stage.waiting for each released stage that no live agent serves. */
  async check(docId: string, released: Array<{ stage: string }>): Promise<void> {
    const counts = new Map<string, number>();
    for (const t of released) counts.set(t.stage, (counts.get(t.stage) ?? 0) + 1);
    for (const [stage, tasks] of counts) {
      // A stage's consumers exist from its first use, so its backlog shows even before an agent
      // serving it has ever started.
      if (!this.#known.has(stage)) {
        await ensureStage(this.#nc, stage, this.#topology);
        this.#known.add(stage);
      }
      if ((await this.serving(stage)) === 0) {
        publishEvent(this.#nc, { type: "stage.waiting", at: Date.now(), stage, docId, tasks });
      }
    }
  }
}
