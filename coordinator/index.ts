// The coordinator: progress from result events, merge release, final failures.

export { Autoscaler, decide } from "./autoscaler.ts";
export { Coordinator, type CoordinatorOptions } from "./coordinator.ts";
export { COORDINATOR_ERROR_CODES, NotLeaderError } from "./errors.ts";
