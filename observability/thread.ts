// What agent threads use of observability: the OpenTelemetry API helpers, W3C trace context in NATS
// headers, and the log vocabulary. Nothing here loads pino, the metrics SDK or an exporter, which
// the barrel (index.ts, for main threads) does: each agent thread would pay for them in memory
// (an idle agent measured 45 MB with them, 36 MB without). test/layout.test.ts holds thread code to it.
export { LOG_LEVELS, type LogFn, type LogLevel } from "./log.ts";
export { extractTraceContext, withTraceHeaders } from "./trace-headers.ts";
export {
  annotateSpan,
  markSpanFailed,
  SpanKind,
  type SpanOptions,
  startTracing,
  withSpan,
} from "./tracing.ts";
