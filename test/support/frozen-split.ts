// A split delivery that dies right after storing its final: the test takes the next normal-priority
// submission itself and runs split on it as an agent would (no agent registered), but the delivery
// is never acked, nak'ed or term'ed and any split result it would publish never goes out, as if
// the process had died there. Its redelivery, after the ack wait, goes to a real agent.
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { parseAckSubject, TaskDelivery } from "../../agents/delivery.ts";
import { builtinHandlers, chooseEngine } from "../../agents/index.ts";
import { createServices } from "../../agents/services.ts";
import { ProcessingConfig, TopologyConfig } from "../../schemas/index.ts";
import { openState, type TaskSource, taskSources } from "../../streams/index.ts";

class FrozenDelivery extends TaskDelivery {
  override ack() {}
  override nak() {}
  override term() {}
}

/** Starts the frozen split (not awaited: it never settles its delivery) and returns its delivery. */
export async function startFrozenSplit(
  nc: NatsConnection,
  processingInput: Partial<ProcessingConfig> = {},
): Promise<{ delivery: TaskDelivery; source: TaskSource }> {
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
  const publish = services.publisher.publish.bind(services.publisher);
  services.publisher.publish = (subject, data, opts) =>
    subject.startsWith("docswarm.result.") ? new Promise(() => {}) : publish(subject, data, opts);
  void builtinHandlers.split!.handle(delivery, services, new AbortController().signal);
  return { delivery, source };
}
