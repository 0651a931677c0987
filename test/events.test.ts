// Swarm events on docswarm.events.>: agents joining, draining and being lost (registration expired),
// scaling, task and document failures; each valid against the SwarmEvent schema, and `docswarm
// watch` tails them readably and as JSON.
import { jetstream } from "@nats-io/jetstream";
import test from "ava";
import { AgentHost } from "../agents/index.ts";
import { DocswarmClient } from "../client/index.ts";
import { Coordinator } from "../coordinator/index.ts";
import { type AgentRegistration, decodeJson, SwarmEvent } from "../schemas/index.ts";
import { BUCKETS, connectNats, ensureTopology, kvPutWithTtl, subjects } from "../streams/index.ts";
import { runCliWithEnv as runCli } from "./support/cli.ts";
import { startServer } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

test("agent, scaling and failure events are published and `docswarm watch` shows them", async (t) => {
  const server = await startServer(t);
  const nc = await connectNats({ servers: server.url, name: "events-test" });
  t.teardown(() => nc.close());
  await ensureTopology(nc);
  const seen: SwarmEvent[] = [];
  const sub = nc.subscribe(subjects.eventsAll, {
    callback: (_err, m) => {
      const e = decodeJson(SwarmEvent, m.data);
      if (e.ok) seen.push(e.value);
      else t.fail(`invalid event on ${m.subject}: ${e.message}`);
    },
  });
  t.teardown(() => sub.unsubscribe());
  const coordinator = await Coordinator.start({ servers: server.url });
  t.teardown(() => coordinator.close());

  // Joined, then drained.
  const host = await AgentHost.start({ servers: server.url, agents: 2, stages: ["split"], hostId: "evhost" });
  t.teardown(() => host.close());
  const [first] = host.agentIds();
  await waitFor(() => seen.filter((e) => e.type === "agent.joined").length === 2, {
    message: "two agent.joined events",
  });
  await host.drain(first!);
  const drained = await waitFor(() => seen.find((e) => e.type === "agent.drained"), {
    message: "agent.drained",
  });
  t.like(drained, { agentId: first, hostId: "evhost", stages: ["split"] });

  // Lost: a registration whose host stops refreshing it expires (per-key TTL) without a goodbye.
  const ghost: AgentRegistration = {
    v: 1,
    agentId: "ghost",
    hostId: "gone-host",
    hostname: "nowhere",
    pid: 1,
    stages: ["extract"],
    status: "idle",
    concurrency: 1,
    currentTasks: [],
    tasksDone: 0,
    tasksFailed: 0,
    restarts: 0,
    startedAt: Date.now(),
    heartbeatAt: Date.now(),
    hostRssBytes: 1,
  };
  await kvPutWithTtl(jetstream(nc), BUCKETS.agents, "ghost", ghost, 1000);
  const lost = await waitFor(() => seen.find((e) => e.type === "agent.lost"), {
    message: "agent.lost",
    timeoutMs: 30_000,
  });
  t.deepEqual(lost, {
    type: "agent.lost",
    at: lost.at,
    agentId: "ghost",
    hostId: "gone-host",
    stages: ["extract"],
    lastHeartbeatAt: ghost.heartbeatAt,
    tasks: [],
  });
  // scale.changed follows agent.lost on the wire: wait for it, do not race it.
  const scale = await waitFor(
    () => {
      const changed = seen.filter((e) => e.type === "scale.changed");
      return (
        changed.some(
          (e) => e.stage === "extract" && e.reason === "agent.lost" && e.previous === 1 && e.agents === 0,
        ) && changed
      );
    },
    { message: "scale.changed after agent.lost" },
  );
  t.true(
    scale.some(
      (e) => e.stage === "split" && e.reason === "agent.drained" && e.previous === 2 && e.agents === 1,
    ),
  );

  // A document that is not a PDF fails at split: a task failure and a document failure.
  const client = new DocswarmClient(nc);
  await client.submit(new TextEncoder().encode("this is not a pdf"), { docId: "not-a-pdf" });
  const failed = await waitFor(() => seen.find((e) => e.type === "doc.failed"), { message: "doc.failed" });
  t.is(failed.type === "doc.failed" && failed.error?.code, "PDF_INVALID");
  const taskFailed = seen.find((e) => e.type === "task.failed");
  t.like(taskFailed, { type: "task.failed", docId: "not-a-pdf", stage: "split", delivery: 1 });

  // watch replays the stored recent past, as JSON lines and readably.
  const json = await runCli(["watch", "--json", "--since", "5m", "--count", String(seen.length)], {
    NATS_URL: server.url,
  });
  t.is(json.code, 0, json.stderr);
  const lines = json.stdout.trim().split("\n");
  t.is(lines.length, seen.length);
  for (const line of lines) t.true(decodeJson(SwarmEvent, line).ok, line);
  t.deepEqual(lines.map((l) => (JSON.parse(l) as SwarmEvent).type).sort(), seen.map((e) => e.type).sort());
  const readable = await runCli(["watch", "--since", "5m", "--type", "agent", "--count", "5"], {
    NATS_URL: server.url,
  });
  t.regex(readable.stdout, /agent\.lost\s+ghost {2}lost \(host gone-host; extract\)/);
  t.regex(readable.stdout, /agent\.drained/);
  t.notRegex(readable.stdout, /doc\./);
});
