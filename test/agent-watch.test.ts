// The coordinator watches agent registrations: an agent host started as its own process (before any
// coordinator) is seen as live; when it is killed with SIGKILL its heartbeats stop, its registration
// lapses, and the coordinator says so with an agent.lost event and in its status; a host that shuts
// down cleanly deregisters and shows as agent.drained. Also: `docswarm dlq list` from the command line.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import test from "ava";
import { Coordinator } from "../coordinator/index.ts";
import { CoordinatorStatus, decodeJson, SwarmEvent } from "../schemas/index.ts";
import { subjects } from "../streams/index.ts";
import { spawnRole, stopAll } from "./support/roles.ts";
import { startTopology } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

test("agents started as processes are watched: SIGKILL → agent.lost, clean stop → agent.drained", async (t) => {
  const { nc, url } = await startTopology(t);
  const events: SwarmEvent[] = [];
  nc.subscribe(subjects.eventsAll, {
    callback: (_e, m) => {
      const e = decodeJson(SwarmEvent, m.data);
      if (e.ok) events.push(e.value);
    },
  });
  // Agents first, the coordinator later: any order works.
  const doomed = spawnRole("agent", url, ["--agents", "2"]);
  const polite = spawnRole("agent", url, ["--agents", "1", "--heap-mb", "512"]);
  t.teardown(() => stopAll([doomed, polite], 2000));
  await Promise.all([doomed.ready, polite.ready]);
  const coordinator = await Coordinator.start({ servers: url });
  t.teardown(() => coordinator.close());

  const status = async () => {
    const reply = await nc.request(subjects.coordinatorStatus, new Uint8Array(), { timeout: 2000 });
    const s = decodeJson(CoordinatorStatus, reply.data);
    if (!s.ok) throw new Error(s.message);
    return s.value;
  };
  const live = await waitFor(async () => ((await status()).agents.live.length === 3 ? status() : undefined), {
    message: "three live agents in the coordinator's status",
  });
  const doomedAgents = live.agents.live
    .filter((a) => a.agentId.includes(`-${doomed.pid}-`))
    .map((a) => a.agentId);
  t.is(doomedAgents.length, 2);

  doomed.kill("SIGKILL");
  const lost = await waitFor(
    () => {
      const ids = events.filter((e) => e.type === "agent.lost").map((e) => ("agentId" in e ? e.agentId : ""));
      return doomedAgents.every((id) => ids.includes(id)) ? ids : undefined;
    },
    { message: "agent.lost for both killed agents", timeoutMs: 15_000 },
  );
  t.deepEqual(lost.sort(), [...doomedAgents].sort());
  const after = await status();
  t.deepEqual(
    after.agents.lost
      .filter((l) => l.reason === "lost")
      .map((l) => l.agentId)
      .sort(),
    [...doomedAgents].sort(),
  );
  t.is(after.agents.live.length, 1);

  polite.kill("SIGTERM");
  await polite.exited;
  await waitFor(() => events.some((e) => e.type === "agent.drained"), {
    message: "agent.drained on a clean stop",
  });
  t.false(events.some((e) => e.type === "agent.lost" && e.agentId.includes(`-${polite.pid}-`)));
});

test("docswarm dlq list prints dead letters as JSON lines", async (t) => {
  const { url } = await startTopology(t);
  const run = promisify(execFile);
  const cli = new URL("../cli/docswarm.ts", import.meta.url).pathname;
  const { stdout } = await run(process.execPath, [cli, "dlq", "list", "--json"], {
    env: { ...process.env, NATS_URL: url },
  });
  t.is(stdout, "");
  const text = await run(process.execPath, [cli, "dlq"], { env: { ...process.env, NATS_URL: url } });
  t.is(text.stdout.trim(), "no dead letters");
  const bad = await run(process.execPath, [cli, "dlq", "requeue", "99"], {
    env: { ...process.env, NATS_URL: url },
  }).catch((e: { code: number; stderr: string }) => e);
  t.is((bad as { code: number }).code, 1);
  t.regex((bad as { stderr: string }).stderr, /NOT_FOUND/);
});
