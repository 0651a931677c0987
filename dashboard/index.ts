// The live web dashboard: a NATS client plus a small HTTP server with shipped assets.
export { type DeadLetter, readRecentDeadLetters } from "./dead-letters.ts";
export { DASHBOARD_ERROR_CODES, DashboardAuthError } from "./errors.ts";
export { Dashboard, type DashboardOptions, isLoopback } from "./server.ts";
export { type DashboardSnapshot, DashboardState, type SecondBucket } from "./state.ts";
