// Tracing. Code everywhere uses the OpenTelemetry API only (a no-op until a provider is registered);
// startTracing() starts the SDK in this thread (one per process and one per agent thread: each
// worker thread has its own module graph and globals) when the standard OTEL_* variables name an
// OTLP endpoint. Off by default: no SDK is loaded, spans are non-recording and no header is added.
import {
  type Attributes,
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";

export const TRACER_NAME = "docswarm";

/** Tracing is on when an OTLP endpoint is set and neither OTEL_SDK_DISABLED nor OTEL_TRACES_EXPORTER=none says no. */
export function isTracingConfigured(env: NodeJS.ProcessEnv = process.env): boolean {
  if ((env.OTEL_SDK_DISABLED ?? "").trim().toLowerCase() === "true") return false;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? "").split(",").map((s) => s.trim().toLowerCase());
  if (exporters.includes("none")) return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim() || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim());
}

export type Tracing = {
  readonly enabled: boolean;
  /** Flushes spans still buffered and stops the SDK (idempotent). */
  shutdown(): Promise<void>;
};

const OFF: Tracing = { enabled: false, shutdown: async () => {} };
let started: Promise<Tracing> | undefined;

export type StartTracingOptions = {
  /** Used when OTEL_SERVICE_NAME is unset. */
  serviceName: string;
  /** Extra resource attributes (role, agent id, thread). */
  attributes?: Attributes;
  env?: NodeJS.ProcessEnv;
};

/**
 * Starts the OpenTelemetry SDK for this thread when OTEL_* configures an OTLP endpoint: traces
 * only (metrics have their own Prometheus reader, see metrics-server.ts), exporter and protocol
 * from OTEL_EXPORTER_OTLP_* (grpc, http/protobuf, http/json), batching from OTEL_BSP_*.
 * Calling it again in the same thread returns the first handle.
 */
export function startTracing(options: StartTracingOptions): Promise<Tracing> {
  const env = options.env ?? process.env;
  if (!isTracingConfigured(env)) return Promise.resolve(OFF);
  started ??= (async () => {
    // Loaded only when on, so a swarm without tracing never pays for the SDK's modules.
    const [{ NodeSDK }, { defaultResource, resourceFromAttributes }] = await Promise.all([
      import("@opentelemetry/sdk-node"),
      import("@opentelemetry/resources"),
    ]);
    const sdk = new NodeSDK({
      ...(env.OTEL_SERVICE_NAME ? {} : { serviceName: options.serviceName }),
      resource: defaultResource().merge(resourceFromAttributes(options.attributes ?? {})),
      metricReaders: [],
      logRecordProcessors: [],
      instrumentations: [],
    });
    sdk.start();
    let stopping: Promise<void> | undefined;
    return {
      enabled: true,
      shutdown: () => {
        // After a flush the thread is untraced again (and startTracing may start a new SDK).
        stopping ??= sdk
          .shutdown()
          .catch(() => {})
          .then(() => {
            trace.disable();
            propagation.disable();
            context.disable();
            started = undefined;
          });
        return stopping;
      },
    };
  })();
  return started;
}

function tracer() {
  return trace.getTracer(TRACER_NAME);
}

export type SpanOptions = {
  kind?: SpanKind;
  attributes?: Attributes;
  /** Continue this trace (from extractTraceContext) instead of the active one. */
  parent?: ReturnType<typeof context.active>;
};

/**
 * Runs fn inside a new active span; the span ends when fn settles and records an error it throws.
 * With no SDK registered this is a non-recording span and costs next to nothing.
 */
export async function withSpan<T>(
  name: string,
  options: SpanOptions,
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = options.parent ?? context.active();
  return tracer().startActiveSpan(
    name,
    {
      kind: options.kind ?? SpanKind.INTERNAL,
      ...(options.attributes && { attributes: options.attributes }),
    },
    parent,
    async (span) => {
      try {
        return await fn(span);
      } catch (err) {
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
        throw err;
      } finally {
        span.end();
      }
    },
  );
}

/** Adds attributes to the active span, if there is a recording one. */
export function annotateSpan(attributes: Attributes): void {
  const span = trace.getActiveSpan();
  if (span?.isRecording()) span.setAttributes(attributes);
}

/** Marks the active span as failed with a stable error code (without throwing). */
export function markSpanFailed(code: string, message: string): void {
  const span = trace.getActiveSpan();
  if (!span?.isRecording()) return;
  span.setAttribute("docswarm.error.code", code);
  span.setStatus({ code: SpanStatusCode.ERROR, message: `${code}: ${message}` });
}

/** The active trace and span id, for log lines; undefined when nothing is being traced. */
export function activeTraceIds(): { traceId: string; spanId: string } | undefined {
  const sc = trace.getActiveSpan()?.spanContext();
  if (!sc || !trace.isSpanContextValid(sc)) return undefined;
  return { traceId: sc.traceId, spanId: sc.spanId };
}

export { propagation, SpanKind };
