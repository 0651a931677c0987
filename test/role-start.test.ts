// Roles started before their NATS server: `docswarm agent` and `docswarm coordinator` wait for it
// (and say so), then work once it is up; Ctrl-C while waiting ends the role at once.
import test from "ava";
import { DocswarmClient } from "../client/index.ts";
import { assertDone } from "./support/assert.ts";
import { knownDoc } from "./support/pdf.ts";
import { unusedPorts } from "./support/ports.ts";
import { spawnRole, stopAll } from "./support/roles.ts";
import { connectTo, startServer } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

const waiting = (logs: Array<Record<string, unknown>>) => logs.some((l) => l.msg === "waiting for NATS");

test("an agent host and a coordinator started before NATS wait for it, then process documents", async (t) => {
  const [port] = await unusedPorts(1);
  const url = `nats://127.0.0.1:${port}`;
  const agent = spawnRole("agent", url, ["--agents", "1"]);
  const coordinator = spawnRole("coordinator", url);
  t.teardown(() => stopAll([agent, coordinator], 2000));
  await waitFor(() => waiting(agent.logs) && waiting(coordinator.logs), {
    message: "both roles saying they wait for NATS",
  });

  const server = await startServer(t, { port, kind: "local" });
  await Promise.all([agent.ready, coordinator.ready]);
  const nc = await connectTo(t, server.url, "docswarm-test", { reconnect: true });
  const doc = await knownDoc("late-server", 3);
  const client = new DocswarmClient(nc);
  await client.submit(doc.bytes, { docId: doc.docId });
  assertDone(t, await client.result(doc.docId, { timeoutMs: 30_000 }), doc);
});

test("Ctrl-C while a role waits for NATS ends it with 130 and no error", async (t) => {
  const [port] = await unusedPorts(1);
  const url = `nats://127.0.0.1:${port}`;
  const agent = spawnRole("agent", url, ["--agents", "1"]);
  t.teardown(() => stopAll([agent], 500));
  await waitFor(() => waiting(agent.logs), { message: "the agent saying it waits for NATS" });
  agent.kill("SIGINT");
  t.is(await agent.exited, 130);
  t.false(
    agent.logs.some((l) => l.level === "error" || /^docswarm: (?!SIGINT)/.test(String(l.msg))),
    JSON.stringify(agent.logs),
  );
});
