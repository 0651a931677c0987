// The CLI's logger: structured JSON lines (pino) on stderr, readable on a terminal; see observability/logger.ts.
import { createLogger as createStructuredLogger, type LogFn, type LogLevel } from "../observability/index.ts";

export type { LogFn, LogLevel };

export function createLogger(defaultLevel: LogLevel = "info", base?: Record<string, unknown>): LogFn {
  return createStructuredLogger({ defaultLevel, ...(base && { base }) });
}
