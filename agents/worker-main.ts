// Entry of an agent thread: start the agent from workerData, obey the host's drain, report fatal errors.
// A thread has its own OpenTelemetry globals, so it starts its own tracing SDK (when OTEL_* asks for
// one; workers inherit the environment) and flushes it before it exits.
import { parentPort, threadId, workerData } from "node:worker_threads";
import { startTracing } from "../observability/index.ts";
import { AgentThreadConfig } from "../schemas/index.ts";
import type { AgentToHost, HostToAgent } from "./protocol.ts";
import { Agent } from "./runtime.ts";

if (!parentPort) throw new Error("agents/worker-main.ts runs as a worker thread");
const port = parentPort;
const post = (m: AgentToHost) => port.postMessage(m);

const config = AgentThreadConfig.parse(workerData);
const tracing = await startTracing({
  serviceName: "docswarm-agent",
  attributes: { "docswarm.agent.id": config.agentId, "thread.id": threadId },
});
const agent = await Agent.start(config, { post });
port.on("message", (m: HostToAgent) => {
  if (m.t === "drain") {
    void agent
      .close({ abandonPulls: m.abandonPulls })
      .then(() => tracing.shutdown())
      .then(() => process.exit(0));
  }
});
post({ t: "ready", stages: agent.stages });
