// What the coordinator's rooms share: its connection, the swarm's state, the job store and the
// fence that stops a deposed leader from writing.
import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { FinalLimits, JobStore } from "../jobs/index.ts";
import type { LogFn } from "../observability/index.ts";
import type { Job, TaskKey } from "../schemas/index.ts";
import type { SwarmState } from "../streams/index.ts";
import type { Capabilities } from "./capabilities.ts";

export type CoordinatorContext = {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  state: SwarmState;
  jobs: JobStore;
  capabilities: Capabilities;
  maxPayloadBytes: number;
  /** What a final result may take (the max payload, the topology's per-result cap). */
  finalLimits: FinalLimits;
  log: LogFn;
  /** Throws NotLeaderError when this coordinator may no longer write (it was deposed). */
  fence(): void;
  /** Publishes released tasks of a job (fenced; the trace context of the active span goes along). */
  publishTasks(job: Job, keys: readonly TaskKey[]): Promise<void>;
};
