// Publishing swarm events (captured by the events stream; fire-and-forget on core NATS, because an
// event is a notification, never the source of truth).
import type { NatsConnection } from "@nats-io/transport-node";
import type { SwarmEvent } from "../schemas/index.ts";
import { jsonBytes, subjects } from "../streams/index.ts";

export function publishEvent(nc: NatsConnection, event: SwarmEvent): void {
  const key = "docId" in event ? event.docId : "agentId" in event ? event.agentId : "swarm";
  try {
    nc.publish(subjects.event(event.type, key), jsonBytes(event));
  } catch {
    // A closed or reconnecting connection drops a notification; state lives in KV and streams.
  }
}
