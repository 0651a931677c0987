// One agent of a host as the host tracks it: its thread, what it holds, and the counts its
// registration reports. The supervisor (host.ts) owns the slots; the registry and the scale follower
// read them.
import type { Worker } from "node:worker_threads";
import type { AgentStatus } from "../schemas/index.ts";
import type { LeasedTask } from "./leases.ts";

/** A task the agent holds: running, or pulled and waiting for a slot. */
export type Held = LeasedTask & {
  reply: string;
  lastAckAt: number;
  limitMs?: number;
};

export type AgentSlot = {
  id: string;
  /** Heap in use by the agent's thread at the last sample (worker.getHeapStatistics). */
  heapUsedBytes?: number;
  /** Stage names the agent reported when it started. */
  stages: string[] | undefined;
  worker: Worker | undefined;
  status: AgentStatus;
  held: Map<string, Held>;
  restarts: number;
  crashTimes: number[];
  startedAt: number;
  tasksDone: number;
  tasksFailed: number;
  stopping: boolean;
  ready: Promise<void> | undefined;
  exited: Promise<void> | undefined;
  restartTimer: NodeJS.Timeout | undefined;
};

export function newSlot(id: string): AgentSlot {
  return {
    id,
    stages: undefined,
    worker: undefined,
    status: "starting",
    held: new Map(),
    restarts: 0,
    crashTimes: [],
    startedAt: Date.now(),
    tasksDone: 0,
    tasksFailed: 0,
    stopping: false,
    ready: undefined,
    exited: undefined,
    restartTimer: undefined,
  };
}
