// Publishing swarm events (captured by the events stream; fire-and-forget on core NATS, because an
// event is a notification, never the source of truth). Each is also counted in this process's metrics.
import type { NatsConnection } from "@nats-io/transport-node";
import { eventKey, recordSwarmEvent } from "../observability/index.ts";
import type { SwarmEvent } from "../schemas/index.ts";
import { jsonBytes, subjects } from "../streams/index.ts";

export function publishEvent(nc: NatsConnection, event: SwarmEvent): void {
  recordSwarmEvent(event);
  try {
    nc.publish(subjects.event(event.type, eventKey(event)), jsonBytes(event));
  } catch {
    // A closed or reconnecting connection drops a notification; state lives in KV and streams.
  }
}
