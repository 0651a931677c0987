// The coordinator: progress from result events, merge release, final failures.
export { Coordinator, type CoordinatorOptions } from "./coordinator.ts";
