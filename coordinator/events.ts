// Publishing swarm events from the coordinator: each is also counted in this process's metrics.
import type { NatsConnection } from "@nats-io/transport-node";
import { recordSwarmEvent } from "../observability/index.ts";
import type { SwarmEvent } from "../schemas/index.ts";
import { publishEvent as publish } from "../streams/index.ts";

export function publishEvent(nc: NatsConnection, event: SwarmEvent): void {
  recordSwarmEvent(event);
  publish(nc, event);
}
