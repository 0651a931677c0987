// Shutting down: close() runs every step even when one fails, and the public long-lived objects
// tell when they are closed (closed()).
import test from "ava";
import { AgentHost } from "../agents/index.ts";
import { DocswarmClient } from "../client/index.ts";
import { Dashboard } from "../dashboard/index.ts";
import { startMetricsServer } from "../observability/index.ts";
import { closeSteps } from "../streams/index.ts";
import { Swarm } from "../swarm/index.ts";
import { startTopology } from "./support/server.ts";

test("closeSteps runs every step in order, whatever fails, then rethrows", async (t) => {
  const ran: number[] = [];
  const boom = new Error("step 2 failed");
  const err = await t.throwsAsync(
    closeSteps(
      () => ran.push(1),
      () => {
        ran.push(2);
        throw boom;
      },
      async () => {
        ran.push(3);
      },
    ),
  );
  t.is(err, boom);
  t.deepEqual(ran, [1, 2, 3]);

  const several = await t.throwsAsync(
    closeSteps(
      () => Promise.reject(new Error("a")),
      () => {
        throw new Error("b");
      },
      () => ran.push(4),
    ),
    { instanceOf: AggregateError },
  );
  t.deepEqual(
    (several as AggregateError).errors.map((e: Error) => e.message),
    ["a", "b"],
  );
  t.is(ran.at(-1), 4);
  await t.notThrowsAsync(closeSteps());
});

test("an agent host closes all the way when its server is gone first, and says so", async (t) => {
  const { server } = await startTopology(t);
  const host = await AgentHost.start({ servers: server.url, agents: 2, stages: ["extract"] });
  let closed = false;
  void host.closed().then(() => {
    closed = true;
  });
  await server.close();
  await host.close({ abandonPulls: true });
  await host.closed();
  t.true(closed);
  t.is(host.size, 0, "every agent thread stopped");
});

test("an agent host closes while an agent thread is still starting (as after a crash, mid-restart)", async (t) => {
  const { server } = await startTopology(t);
  const host = await AgentHost.start({ servers: server.url, agents: 1, stages: ["extract"] });
  // The drain reaches the new thread before its agent is ready: it must be kept, not dropped.
  const starting = host.spawn(1).catch(() => []);
  const closing = host.close();
  const bounded = await Promise.race([
    closing.then(() => "closed"),
    new Promise((resolve) => setTimeout(resolve, 30_000, "still closing after 30 s")).then(String),
  ]);
  t.is(bounded, "closed");
  await starting;
  t.is(host.size, 0, "every agent thread stopped");
});

test("client, dashboard, metrics server and swarm resolve closed() once closed", async (t) => {
  const { url } = await startTopology(t);
  const client = await DocswarmClient.connect(url);
  await client.close();
  await client.closed();

  const dashboard = await Dashboard.start({ servers: url, port: 0 });
  await dashboard.close();
  await dashboard.closed();

  const metrics = await startMetricsServer({ port: 0, serviceName: "close-test" });
  await metrics.close();
  await metrics.closed();

  const swarm = await Swarm.initialize({ natsUrl: url, agents: 1 });
  await swarm.shutdown();
  await swarm.closed();
  t.pass();
});
