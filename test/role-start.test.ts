// Roles started before their NATS server: `docswarm agent` and `docswarm coordinator` wait for it
// (and say so), then work once it is up; Ctrl-C while waiting ends the role at once.
import test from "ava";
import { DocswarmClient } from "../client/index.ts";
import { spawnRole, stopAll } from "../scripts/lib/roles.ts";
import { assertDone } from "./helpers/assert.ts";
import { knownDoc } from "./helpers/pdfs.ts";
import { unusedPorts } from "./helpers/ports.ts";
import { connectFor, startServer, waitFor } from "./helpers/rel-server.ts";

const waiting = (logs: Array<Record<string, unknown>>) => logs.some((l) => l.msg === "waiting for NATS");

test("an agent host and a coordinator started before NATS wait for it, then process documents", async (t) => {
  const [port] = await unusedPorts(1);
  const url = `nats://127.0.0.1:${port}`;
  const agent = spawnRole("agent", url, ["--agents", "1"]);
  const coordinator = spawnRole("coordinator", url);
  t.teardown(() => stopAll([agent, coordinator], 2000));
  await waitFor(() => waiting(agent.logs) && waiting(coordinator.logs), {
    what: "both roles saying they wait for NATS",
  });

  const server = await startServer(t, { port });
  await Promise.all([agent.ready, coordinator.ready]);
  const nc = await connectFor(t, server.url);
  const doc = await knownDoc("late-server", 3);
  const client = new DocswarmClient(nc);
  await client.submit(doc.bytes, { docId: doc.id });
  assertDone(t, await client.result(doc.id, { timeoutMs: 30_000 }), doc);
});

test("Ctrl-C while a role waits for NATS ends it with 130 and no error", async (t) => {
  const [port] = await unusedPorts(1);
  const url = `nats://127.0.0.1:${port}`;
  const agent = spawnRole("agent", url, ["--agents", "1"]);
  t.teardown(() => stopAll([agent], 500));
  await waitFor(() => waiting(agent.logs), { what: "the agent saying it waits for NATS" });
  agent.kill("SIGINT");
  t.is(await agent.exited, 130);
  t.false(
    agent.logs.some((l) => l.level === "error" || /^docswarm: (?!SIGINT)/.test(String(l.msg))),
    JSON.stringify(agent.logs),
  );
});
