// Observability: tracing (OpenTelemetry, W3C trace context in NATS headers), metrics (Prometheus),
// structured logs, swarm status, and agent lifecycle events.
export { describeEvent, eventKey, formatEventLine } from "./event-format.ts";
export { LOG_LEVELS, type LogFn, type LogLevel } from "./log.ts";
export { createLogger, formatLogLine, type LoggerOptions, logLevelFromEnv } from "./logger.ts";
export {
  type AgentHostMetrics,
  type AgentThreadState,
  createAgentHostMetrics,
  type GaugeSnapshot,
  globalMeter,
  METER_NAME,
  observeTaskResult,
  recordSwarmEvent,
  registerSwarmGauges,
} from "./metrics.ts";
export {
  createPrometheusProvider,
  type MetricsServer,
  type MetricsServerOptions,
  type PrometheusProvider,
  startMetricsServer,
} from "./metrics-server.ts";
export {
  agentsByStage,
  agentViews,
  documentProgress,
  findWarnings,
  type ReadStatusOptions,
  readCoordinator,
  readDeadLetters,
  readDocumentsInProgress,
  readEventsSince,
  readGaugeSnapshot,
  readStages,
  readSubmitted,
  readSwarmStatus,
  readThroughput,
  ThroughputCounter,
} from "./status.ts";
export { readStorage, storageWarnings, usedShare } from "./storage.ts";
export { extractTraceContext, withTraceHeaders } from "./trace-headers.ts";
export {
  activeTraceIds,
  annotateSpan,
  isTracingConfigured,
  markSpanFailed,
  SpanKind,
  type SpanOptions,
  type StartTracingOptions,
  startTracing,
  TRACER_NAME,
  type Tracing,
  withSpan,
} from "./tracing.ts";
