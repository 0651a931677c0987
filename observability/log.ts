// The one logging vocabulary: levels and the callback every long-lived object takes (`onLog`).
// No logger here (that is logger.ts, on pino), so agent threads can use the types for free.

export const LOG_LEVELS = ["debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The logging callback the agent host, the coordinator and the dashboard take. */
export type LogFn = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;
