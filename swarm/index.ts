// Everything wired together for one process.

export { type DistributedOptions, DistributedProcessor } from "./distributed.ts";
export { readCoordinatorStatus, readStatus, type StageStatus, type SwarmStatus } from "./status.ts";
export { Swarm, type SwarmOptions, type SwarmTimings } from "./swarm.ts";
