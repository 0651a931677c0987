// Entry of an agent thread: start the agent from workerData, obey the host's drain, report fatal errors.
import { parentPort, workerData } from "node:worker_threads";
import { AgentThreadConfig } from "../schemas/index.ts";
import type { AgentWorkerData } from "./host.ts";
import type { AgentToHost, HostToAgent } from "./protocol.ts";
import { Agent } from "./runtime.ts";
import { SharedBytesClient } from "./shared-bytes.ts";

if (!parentPort) throw new Error("agents/worker-main.ts runs as a worker thread");
const port = parentPort;
const post = (m: AgentToHost) => port.postMessage(m);

const config = AgentThreadConfig.parse((workerData as AgentWorkerData).config);
const shared = new SharedBytesClient(post);
port.on("message", (m: HostToAgent) => {
  if (m.t === "bytes") shared.resolve(m.id, m.bytes);
});
const agent = await Agent.start(config, { post, shared });
port.on("message", (m: HostToAgent) => {
  if (m.t === "drain") {
    void agent.close({ abandonPulls: m.abandonPulls }).then(() => process.exit(0));
  }
});
post({ t: "ready" });
