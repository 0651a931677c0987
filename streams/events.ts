// Publishing swarm events (captured by the events stream; fire-and-forget on core NATS, because an
// event is a notification, never the source of truth). Subject: docswarm.events.<type>.<key>.
import type { NatsConnection } from "@nats-io/transport-node";
import type { SwarmEvent } from "../schemas/index.ts";
import { subjects } from "./names.ts";
import { jsonBytes } from "./wire.ts";

/** The last subject token(s): what the event is about. */
export function eventKey(event: SwarmEvent): string {
  if (event.type === "stage.waiting") return `${event.stage}.${event.docId}`;
  if (event.type === "storage.high" || event.type === "storage.ok") return event.name;
  if ("docId" in event) return event.docId;
  if ("agentId" in event) return event.agentId;
  if ("stage" in event) return event.stage;
  return "swarm";
}

export function publishEvent(nc: NatsConnection, event: SwarmEvent): void {
  try {
    nc.publish(subjects.event(event.type, eventKey(event)), jsonBytes(event));
  } catch {
    // A closed or reconnecting connection drops a notification; state lives in KV and streams.
  }
}
