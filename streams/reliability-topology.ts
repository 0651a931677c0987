// The streams and consumers behind dead-lettering: JetStream's max-deliveries advisories are plain
// NATS messages, gone if no coordinator listens at that moment (a failover), so a stream keeps them
// until the leading coordinator has handled each one through its durable consumer.
import {
  AckPolicy,
  type ConsumerConfig,
  DeliverPolicy,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";
import type { TopologyConfig } from "../schemas/index.ts";
import { DEAD_LETTER_CONSUMER, STREAMS, subjects } from "./names.ts";

const MiB = 1024 * 1024;

export function advisoriesStreamConfig(c: TopologyConfig): Partial<StreamConfig> & { name: string } {
  return {
    name: STREAMS.advisories,
    subjects: [subjects.maxDeliveries(STREAMS.submit), subjects.maxDeliveries(STREAMS.tasks)],
    retention: RetentionPolicy.Limits,
    max_bytes: 64 * MiB,
    max_age: nanos(c.dlqMaxAgeMs),
    num_replicas: c.replicas,
    storage: c.memoryStorage ? StorageType.Memory : StorageType.File,
  };
}

export function deadLetterConsumerConfig(c: TopologyConfig): Partial<ConsumerConfig> {
  return {
    durable_name: DEAD_LETTER_CONSUMER,
    description: "docswarm coordinator: dead-letters tasks that ran out of deliveries",
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(c.coordinatorAckWaitMs),
    max_ack_pending: 256,
    num_replicas: c.replicas,
    mem_storage: c.memoryStorage,
  };
}
