// A control subject for chaos tests and failure drills, off unless the host is started with it
// (`docswarm agent` with DOCSWARM_CHAOS=1): `docswarm.chaos.pid.<pid>` answers
//   {"op":"held"}                      → the tasks this host's agents hold
//   {"op":"crash-agent","agentId"?}    → crashes one agent thread (a busy one unless named)
// so a chaos run can kill a thread, or learn what a process holds right before it kills it.
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { jsonBytes } from "../streams/index.ts";
import type { AgentHost } from "./host.ts";

export function chaosSubject(pid: number): string {
  return `docswarm.chaos.pid.${pid}`;
}

export function serveChaosControl(nc: NatsConnection, host: AgentHost): Subscription {
  return nc.subscribe(chaosSubject(process.pid), {
    callback: (err, m) => {
      if (err || !m.reply) return;
      let op: unknown;
      let agentId: unknown;
      try {
        ({ op, agentId } = m.json<{ op?: unknown; agentId?: unknown }>() ?? {});
      } catch {
        op = undefined;
      }
      const at = Date.now();
      const reply =
        op === "held"
          ? { hostId: host.hostId, pid: process.pid, at, tasks: host.heldTasks() }
          : op === "crash-agent"
            ? {
                hostId: host.hostId,
                pid: process.pid,
                at,
                crashed: host.crashAgent(typeof agentId === "string" ? agentId : undefined) ?? null,
              }
            : { error: "unknown op" };
      try {
        m.respond(jsonBytes(reply));
      } catch {
        // requester gone
      }
    },
  });
}
