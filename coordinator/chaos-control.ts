// A control subject for failure drills, off unless the coordinator is started with it
// (`docswarm coordinator` with DOCSWARM_CHAOS=1): `docswarm.chaos.pid.<pid>` answers
//   {"op":"hold-job-write","ms":N} → the next job write waits N ms just before it is sent (after
//                                    the local fence), announced on `docswarm.chaos.holding.<pid>`
// so a drill can stop the leader with a write pending and see what the server does with it.
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { jsonBytes } from "../streams/index.ts";
import type { Coordinator } from "./coordinator.ts";

export function coordinatorChaosSubject(pid: number): string {
  return `docswarm.chaos.pid.${pid}`;
}

/** Where a held write is announced. */
export function holdingSubject(pid: number): string {
  return `docswarm.chaos.holding.${pid}`;
}

export function serveCoordinatorChaos(nc: NatsConnection, coordinator: Coordinator): Subscription {
  return nc.subscribe(coordinatorChaosSubject(process.pid), {
    callback: (err, m) => {
      if (err || !m.reply) return;
      let req: { op?: unknown; ms?: unknown } = {};
      try {
        req = m.json<{ op?: unknown; ms?: unknown }>() ?? {};
      } catch {
        // answered as an unknown op
      }
      const at = Date.now();
      let reply: Record<string, unknown>;
      if (req.op === "hold-job-write" && typeof req.ms === "number" && req.ms > 0) {
        coordinator.holdNextJobWrite(req.ms, () =>
          nc.publish(
            holdingSubject(process.pid),
            jsonBytes({ pid: process.pid, at: Date.now(), term: coordinator.term }),
          ),
        );
        reply = { pid: process.pid, at, armed: true, term: coordinator.term };
      } else reply = { error: "unknown op" };
      try {
        m.respond(jsonBytes(reply));
      } catch {
        // requester gone
      }
    },
  });
}
