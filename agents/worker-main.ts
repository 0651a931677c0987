// Entry of an agent thread: start the agent from workerData, obey the host's drain, report fatal errors.
// A thread has its own OpenTelemetry globals, so it starts its own tracing SDK (when OTEL_* asks for
// one; workers inherit the environment) and flushes it before it exits.
import { parentPort, threadId, workerData } from "node:worker_threads";
import { startTracing } from "../observability/thread.ts";
import { AgentThreadConfig } from "../schemas/index.ts";
import type { AgentWorkerData } from "./host.ts";
import { IdleBoard } from "./idle-board.ts";
import { usePdfiumModule } from "./pdf/pdfium-engine.ts";
import { isPdfiumModule } from "./pdf/pdfium-module.ts";
import type { AgentToHost, HostToAgent } from "./protocol.ts";
import { Agent } from "./runtime.ts";
import { SharedBytesClient } from "./shared-bytes.ts";

if (!parentPort) throw new Error("agents/worker-main.ts runs as a worker thread");
const port = parentPort;

// hold, end and status are bookkeeping (the host's keep-alive and registrations): they travel
// together with the next message that must go at once (run, right before a handler starts, so the
// watchdog always knows what runs) or at the end of this turn of the event loop. One postMessage
// per task instead of five (hold, busy, run, end, idle); the host takes an array as a batch.
let queued: AgentToHost[] = [];
let flushing = false;
function flush(): void {
  flushing = false;
  if (queued.length === 0) return;
  const batch = queued;
  queued = [];
  port.postMessage(batch);
}
const post = (m: AgentToHost) => {
  if (m.t === "hold" || m.t === "end" || m.t === "status") {
    queued.push(m);
    if (!flushing) {
      flushing = true;
      setImmediate(flush);
    }
    return;
  }
  if (queued.length === 0) return port.postMessage(m);
  queued.push(m);
  flush();
};

const config = AgentThreadConfig.parse((workerData as AgentWorkerData).config);
const { pdfium, layoutTtlMs, idle } = workerData as AgentWorkerData;
if (isPdfiumModule(pdfium)) usePdfiumModule(pdfium);
const tracing = await startTracing({
  serviceName: "docswarm-agent",
  attributes: { "docswarm.agent.id": config.agentId, "thread.id": threadId },
});
const shared = new SharedBytesClient(post);
// One listener from the start: a drain can arrive while the agent is still starting (the host
// closing during a restart after a crash), and a message no listener takes is gone, so it is kept
// until the agent can close.
const drain = Promise.withResolvers<{ abandonPulls: boolean }>();
port.on("message", (m: HostToAgent) => {
  if (m.t === "bytes") shared.resolve(m.id, m.bytes && { bytes: m.bytes, inflateChecked: m.inflateChecked });
  else if (m.t === "drain") drain.resolve({ abandonPulls: m.abandonPulls });
});
const agent = await Agent.start(
  config,
  { post, shared, ...(idle && { idle: new IdleBoard(idle) }) },
  layoutTtlMs === undefined ? {} : { layoutTtlMs },
);
void drain.promise
  .then((options) => agent.close(options))
  .then(() => tracing.shutdown())
  .then(() => {
    flush();
    process.exit(0);
  });
post({ t: "ready", stages: agent.stages });
