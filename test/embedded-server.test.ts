// The embedded nats-server launcher: free ports, parallel starts, clean close.
import { existsSync, readFileSync } from "node:fs";
import test from "ava";
import { defaultServerProcs, EmbeddedNatsServer } from "../infra/index.ts";
import { processExists } from "./support/cli.ts";
import { acceptsConnections, findEmbeddedServer } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

test("port 0 picks a free port (nats-server itself would take 0 to mean 4222)", async (t) => {
  const a = await EmbeddedNatsServer.start({ port: 0 });
  t.teardown(() => a.close());
  const b = await EmbeddedNatsServer.start({ port: 0 });
  t.teardown(() => b.close());
  t.not(a.port, 4222);
  t.not(b.port, 4222);
  t.not(a.port, b.port);
});

test("many servers started at once all come up (the ports file may be read half-written)", async (t) => {
  const starts = await Promise.allSettled(Array.from({ length: 10 }, () => EmbeddedNatsServer.start()));
  for (const s of starts) if (s.status === "fulfilled") t.teardown(() => s.value.close());
  const failures = starts.flatMap((s) => (s.status === "rejected" ? [String(s.reason)] : []));
  t.deepEqual(failures, []);
  const ports = starts.flatMap((s) => (s.status === "fulfilled" ? [s.value.port] : []));
  t.is(new Set(ports).size, ports.length, "distinct ports");
});

test("the server runs on the Go threads asked for (GOMAXPROCS), half the cores by default", async (t) => {
  const environ = async (server: EmbeddedNatsServer) => {
    const found = await findEmbeddedServer(server.url);
    if (!found) throw new Error(`no ports file for ${server.url}`);
    return readFileSync(`/proc/${found.pid}/environ`, "utf8").split("\0");
  };
  const one = await EmbeddedNatsServer.start({ maxProcs: 1 });
  t.teardown(() => one.close());
  t.true((await environ(one)).includes("GOMAXPROCS=1"));
  const byDefault = await EmbeddedNatsServer.start();
  t.teardown(() => byDefault.close());
  const expected = defaultServerProcs();
  const env = await environ(byDefault);
  if (expected === undefined) t.true(env.includes(`GOMAXPROCS=${process.env.GOMAXPROCS}`));
  else t.true(env.includes(`GOMAXPROCS=${expected}`));
  t.is(defaultServerProcs({ GOMAXPROCS: "3" }), undefined, "the environment's GOMAXPROCS wins");
  t.true((defaultServerProcs({}) ?? 0) >= 1);
});

test("close stops the server process and removes its temp dir", async (t) => {
  const server = await EmbeddedNatsServer.start();
  t.teardown(() => server.close());
  const found = await findEmbeddedServer(server.url);
  if (!found) return t.fail(`no ports file for ${server.url}`);
  t.is(found.dir, server.dir);
  t.true(processExists(found.pid));
  t.true(await acceptsConnections(server.url));
  await server.close();
  t.false(processExists(found.pid), `nats-server ${found.pid} is gone`);
  t.false(existsSync(server.dir));
  t.false(await acceptsConnections(server.url));
  await t.notThrowsAsync(server.close(), "close twice is fine");
});

test("a hangup sent to the guard stops the server too (nats-server alone takes HUP as 'reload')", async (t) => {
  const server = await EmbeddedNatsServer.start();
  t.teardown(() => server.close());
  const found = await findEmbeddedServer(server.url);
  if (!found || !server.pid) return t.fail(`no ports file for ${server.url}`);
  process.kill(server.pid, "SIGHUP");
  await server.closed();
  await waitFor(() => !processExists(found.pid), {
    timeoutMs: 10_000,
    message: `nats-server ${found.pid} to stop`,
  });
  t.false(await acceptsConnections(server.url));
});
