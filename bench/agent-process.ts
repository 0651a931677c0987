// An agent host in its own process, for the figures that need one: RSS per agent, and recovery
// when a whole process is SIGKILLed. Driven over IPC by bench/agent-child.ts; exits when told to,
// and by itself when the parent goes away (IPC disconnect), so nothing outlives the bench.
import { AgentHost, type AgentHostOptions } from "../agents/index.ts";

type Request = { t: "rss" } | { t: "stop" };
export type ChildReply = { t: "ready"; hostId: string; pid: number } | { t: "rss"; rss: number };

const options = JSON.parse(process.argv[2] ?? "{}") as AgentHostOptions;
const send = (m: ChildReply) => process.send?.(m);
const host = await AgentHost.start(options);
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await host.close({ abandonPulls: true }).catch(() => {});
  process.exit(0);
};
process.on("disconnect", () => void stop());
process.on("SIGTERM", () => void stop());
process.on("message", (m: Request) => {
  if (m.t === "rss") send({ t: "rss", rss: process.memoryUsage.rss() });
  else if (m.t === "stop") void stop();
});
send({ t: "ready", hostId: host.hostId, pid: process.pid });
