// A split delivery whose process dies at a publish: the test takes the next normal-priority
// submission itself and runs split on it as an agent would (no agent registered), but the delivery
// is never acked, nak'ed or term'ed and the first publish it `holds` (split's result by default)
// never goes out, as if the process had died there. Its redelivery, after the ack wait, goes to a
// real agent.
import { type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { parseAckSubject, TaskDelivery } from "../../agents/delivery.ts";
import { builtinHandlers, chooseEngine } from "../../agents/index.ts";
import { type AgentServices, createServices } from "../../agents/services.ts";
import { ProcessingConfig, TopologyConfig } from "../../schemas/index.ts";
import { openState, STREAMS, type TaskSource, taskSources } from "../../streams/index.ts";
import { waitFor } from "./wait.ts";

class FrozenDelivery extends TaskDelivery {
  override ack() {}
  override nak() {}
  override term() {}
}

export type FrozenSplitOptions = {
  /** The publishes that never go out (split's result by default): the process dies at the first. */
  holds?: (subject: string) => boolean;
  /** Adjusts the services before split starts (a test's view of the agent, e.g. heldAhead). */
  prepare?: (services: AgentServices) => void;
};

/**
 * Starts the frozen split (not awaited: it never settles its delivery) and returns its delivery;
 * `froze()` says whether it reached a held publish yet.
 */
export async function startFrozenSplit(
  nc: NatsConnection,
  processingInput: Partial<ProcessingConfig> = {},
  { holds = (subject) => subject.startsWith("docswarm.result."), prepare }: FrozenSplitOptions = {},
): Promise<{ delivery: TaskDelivery; source: TaskSource; froze: () => boolean }> {
  const source = taskSources("split").find((s) => s.priority === "normal")!;
  const msg = await nc.request(
    `$JS.API.CONSUMER.MSG.NEXT.${source.stream}.${source.consumer}`,
    JSON.stringify({ batch: 1, expires: 5_000_000_000 }),
    // A delivery's subject is its own, not the reply inbox: only a dedicated subscription gets it.
    { timeout: 10_000, noMux: true },
  );
  const delivery = new FrozenDelivery(nc, msg, parseAckSubject(msg.reply!)!, source);
  const processing = ProcessingConfig.parse(processingInput);
  const js = jetstream(nc);
  const services = createServices({
    agentId: "frozen-agent",
    stages: ["split", "extract", "merge"],
    nc,
    js,
    jsm: await jetstreamManager(nc),
    state: await openState(js),
    topology: TopologyConfig.parse({}),
    processing,
    maxPayloadBytes: nc.info?.max_payload ?? 1024 * 1024,
    engine: chooseEngine({ preferred: processing.engine, fallback: processing.fallback }),
    log: () => {},
  });
  prepare?.(services);
  const publish = services.publisher.publish.bind(services.publisher);
  let froze = false;
  services.publisher.publish = (subject, data, opts) => {
    if (!holds(subject)) return publish(subject, data, opts);
    froze = true;
    return new Promise(() => {});
  };
  void builtinHandlers.split!.handle(delivery, services, new AbortController().signal);
  return { delivery, source, froze: () => froze };
}

/** Waits until the frozen submission's redelivery is acked: nothing pending or unacked on its consumer. */
export function waitRedeliveryAcked(jsm: JetStreamManager, source: TaskSource, timeoutMs?: number) {
  return waitFor(
    async () => {
      const ci = await jsm.consumers.info(STREAMS.submit, source.consumer);
      return ci.num_pending === 0 && ci.num_ack_pending === 0;
    },
    { message: "the redelivered submission acked", ...(timeoutMs && { timeoutMs }) },
  );
}
