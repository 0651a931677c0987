// The process's Prometheus endpoint (--metrics-port): a MeterProvider with the OTel Prometheus
// exporter, registered as the global one so every instrument of this process reports through it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { metrics } from "@opentelemetry/api";
import type { MeterProvider } from "@opentelemetry/sdk-metrics";
import { closeSteps } from "../streams/close-steps.ts";

export type MetricsServer = {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
  /** Resolves once close() has run, whatever its outcome. */
  closed(): Promise<void>;
};

export type MetricsServerOptions = {
  port: number;
  /** Default 127.0.0.1; 0.0.0.0 to let a Prometheus on another host scrape it. */
  host?: string;
  serviceName: string;
};

/** A MeterProvider and the request handler of its Prometheus exporter. */
export type PrometheusProvider = {
  provider: MeterProvider;
  handle: (req: IncomingMessage, res: ServerResponse) => void;
};

/**
 * A MeterProvider whose Prometheus exporter answers `handle(req, res)`; not registered globally.
 * The metrics SDK, the exporter and resources (~100 modules) load here, when a process serves
 * metrics, not with every command that reaches this module through observability/'s index.
 */
export async function createPrometheusProvider(serviceName: string): Promise<PrometheusProvider> {
  const [{ PrometheusExporter }, { defaultResource, resourceFromAttributes }, { MeterProvider }] =
    await Promise.all([
      import("@opentelemetry/exporter-prometheus"),
      import("@opentelemetry/resources"),
      import("@opentelemetry/sdk-metrics"),
    ]);
  const exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true });
  const provider = new MeterProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({ "service.name": process.env.OTEL_SERVICE_NAME || serviceName }),
    ),
    readers: [exporter],
  });
  return { provider, handle: (req, res) => exporter.getMetricsRequestHandler(req, res) };
}

/** Serves GET /metrics on host:port (0 picks a free port) and registers the global MeterProvider. */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const { provider, handle } = await createPrometheusProvider(options.serviceName);
  const server: Server = createServer((req, res) => {
    if (req.method === "GET" && req.url?.split("?")[0] === "/metrics") return handle(req, res);
    res.writeHead(404, { "content-type": "text/plain" }).end("not found: try /metrics\n");
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => resolve());
  });
  if (!metrics.setGlobalMeterProvider(provider)) {
    // Another provider is registered (a second server in this process): replace it.
    metrics.disable();
    metrics.setGlobalMeterProvider(provider);
  }
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  let closing: Promise<void> | undefined;
  const done = Promise.withResolvers<void>();
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}/metrics`,
    port,
    close() {
      closing ??= closeSteps(
        () => {
          const closed = new Promise<void>((resolve) => server.close(() => resolve()));
          server.closeAllConnections();
          return closed;
        },
        () => metrics.disable(),
        () => provider.shutdown().catch(() => {}),
      ).finally(() => done.resolve());
      return closing;
    },
    closed: () => done.promise,
  };
}
