// docswarm on a three-node NATS cluster (loopback only), as when one machine is not enough: the
// topology with three replicas, agents and the coordinator connected to different nodes, and the
// node leading the task stream killed mid-run. Every document still ends with exactly one result.
import { jetstreamManager } from "@nats-io/jetstream";
import test from "ava";
import { AgentHost } from "../agents/index.ts";
import { DocswarmClient } from "../client/index.ts";
import { Coordinator } from "../coordinator/index.ts";
import { EmbeddedNatsServer } from "../infra/index.ts";
import { connectNats, ensureTopology, STREAMS } from "../streams/index.ts";
import { assertDone } from "./support/assert.ts";
import { knownDoc } from "./support/pdf.ts";
import { unusedPorts } from "./support/ports.ts";
import { waitFor } from "./support/wait.ts";

test("a three-node cluster with R3 streams loses no document when the task stream's leader dies", async (t) => {
  const [c0, c1, c2, r0, r1, r2] = await unusedPorts(6);
  const clientPorts = [c0!, c1!, c2!];
  const routes = [r0!, r1!, r2!];
  const nodes = await Promise.all(
    clientPorts.map((port, i) =>
      EmbeddedNatsServer.start({
        port,
        serverName: `n${i}`,
        extraConfig: [
          "cluster {",
          "  name: docswarm-test",
          `  listen: "127.0.0.1:${routes[i]}"`,
          `  routes: [${routes.map((r) => `"nats-route://127.0.0.1:${r}"`).join(", ")}]`,
          "}",
        ].join("\n"),
      }),
    ),
  );
  t.teardown(() => Promise.all(nodes.map((n) => n.close())).then(() => {}));
  const urls = nodes.map((n) => n.url);

  const nc = await connectNats({ servers: urls, name: "cluster-test" });
  t.teardown(() => nc.close());
  const topology = { replicas: 3 };
  // JetStream answers once the cluster has elected its meta leader.
  await waitFor(
    () =>
      ensureTopology(nc, topology).then(
        () => true,
        () => false,
      ),
    { timeoutMs: 30_000, intervalMs: 250, message: "the topology created with three replicas" },
  );
  const jsm = await jetstreamManager(nc);
  t.is((await jsm.streams.info(STREAMS.tasks)).config.num_replicas, 3);

  // Different nodes first for different roles; each has the whole list to fail over to.
  // The coordinator is not told the replica count: what it creates follows the streams.
  const coordinator = await Coordinator.start({ servers: [urls[1]!, urls[0]!, urls[2]!] });
  t.teardown(() => coordinator.close());
  const host = await AgentHost.start({ servers: [urls[2]!, urls[0]!, urls[1]!], agents: 2, topology });
  t.teardown(() => host.close({ abandonPulls: true }));

  const docs = await Promise.all(Array.from({ length: 6 }, (_, i) => knownDoc(`cluster-${i}`, 20 + i)));
  const client = new DocswarmClient(nc);
  for (const doc of docs.slice(0, 3)) await client.submit(doc.bytes, { docId: doc.docId });
  assertDone(t, await client.result(docs[0]!.docId, { timeoutMs: 60_000 }), docs[0]!);

  // Kill the node that leads the task stream (every connection has the others to fail over to).
  const leader = (await jsm.streams.info(STREAMS.tasks)).cluster?.leader;
  const victim = nodes.find((_n, i) => `n${i}` === leader) ?? nodes[1]!;
  t.log(`task stream leader ${leader}; killing ${victim.url}`);
  for (const doc of docs.slice(3)) await client.submit(doc.bytes, { docId: doc.docId });
  await victim.close();

  const killedAt = Date.now();
  for (const doc of docs) {
    assertDone(t, await client.result(doc.docId, { timeoutMs: 60_000 }), doc);
    t.log(`${doc.docId} done ${Date.now() - killedAt} ms after the kill`);
  }
  const done = await jsm.streams.info(STREAMS.done);
  t.is(done.state.messages, docs.length, "exactly one stored final result per document");
  // The coordinator created or updated stage consumers with its default replica count of 1.
  for await (const c of jsm.consumers.list(STREAMS.tasks)) {
    t.is(c.cluster?.replicas?.length, 2, `consumer ${c.name}: two peers besides its leader`);
  }
});
