// Clean shutdown: the library's Swarm and the long-running `docswarm up` stop everything they
// started, the embedded nats-server included.
import { existsSync } from "node:fs";
import { jetstreamManager } from "@nats-io/jetstream";
import test from "ava";
import { Swarm } from "../swarm/index.ts";
import { assertDone } from "./support/assert.ts";
import { natsServersUnder, processExists, startCli, tempDir } from "./support/cli.ts";
import { knownDoc } from "./support/pdf.ts";
import { acceptsConnections, connectTo, findEmbeddedServer } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

test("Swarm.shutdown stops the embedded server, removes its store, and can be called twice", async (t) => {
  const swarm = await Swarm.initialize({ agents: 1 });
  t.teardown(() => swarm.shutdown());
  const server = await findEmbeddedServer(swarm.url);
  if (!server) return t.fail(`no embedded server found for ${swarm.url}`);
  t.true(processExists(server.pid), "the embedded server runs");

  const doc = await knownDoc("shutdown-lib", 2);
  await swarm.submit(doc.bytes, { docId: doc.docId });
  assertDone(t, await swarm.result(doc.docId, { timeoutMs: 60_000 }), doc);

  await t.notThrowsAsync(swarm.shutdown());
  t.false(processExists(server.pid), `nats-server ${server.pid} is gone`);
  t.false(await acceptsConnections(swarm.url), "nothing listens on its port");
  t.false(existsSync(server.dir), "its temp dir and store are removed");
  await t.notThrowsAsync(swarm.shutdown(), "a second shutdown is fine");
});

test("Swarm.shutdown without agents or documents is clean too", async (t) => {
  const swarm = await Swarm.initialize({ agents: 0 });
  t.teardown(() => swarm.shutdown());
  const server = await findEmbeddedServer(swarm.url);
  if (!server) return t.fail(`no embedded server found for ${swarm.url}`);
  await Promise.all([swarm.shutdown(), swarm.shutdown()]);
  t.false(processExists(server.pid), `nats-server ${server.pid} is gone`);
});

test("docswarm up stops on SIGINT and leaves no nats-server behind", async (t) => {
  // A bound so a hung shutdown fails this test instead of the whole run; nothing is measured.
  t.timeout(20_000, "docswarm up did not start and stop in time");
  const tmp = await tempDir(t, "up");
  const run = startCli(t, ["up", "--agents", "1"], tmp);
  const url = await Promise.race([
    waitFor(() => /NATS_URL=(\S+)/.exec(run.stdout())?.[1], {
      timeoutMs: 15_000,
      message: "docswarm up to print its NATS_URL",
    }),
    run.exited.then(({ code }) => {
      throw new Error(`docswarm up exited early with ${code}: ${run.stderr()}`);
    }),
  ]);
  const server = await findEmbeddedServer(url, tmp);
  if (!server) return t.fail(`no embedded server for ${url} under ${tmp}`);
  t.true(processExists(server.pid));
  t.not(natsServersUnder(tmp).length, 0, "its nats-server runs under the test's TMPDIR");
  // It serves: the topology is there.
  const nc = await connectTo(t, url, "up-probe");
  const jsm = await jetstreamManager(nc);
  t.is((await jsm.streams.info("DOCSWARM_SUBMIT")).config.name, "DOCSWARM_SUBMIT");
  await nc.close();

  run.child.kill("SIGINT");
  const { code } = await run.exited;
  t.is(code, 0, run.stderr());
  t.false(processExists(server.pid), `nats-server ${server.pid} is gone`);
  t.deepEqual(natsServersUnder(tmp), [], "no nats-server or guard left");
  t.false(await acceptsConnections(url), "nothing listens on its port");
  t.false(existsSync(server.dir), "its temp dir is removed");
});
