// Reading document bytes and waiting for results must not leave consumers behind on the server:
// ephemeral consumers linger for minutes, and at pipeline rates they pile up until the server
// refuses new ones and tasks fail ("maximum consumers limit reached").
import { jetstreamManager } from "@nats-io/jetstream";
import test from "ava";
import { Swarm } from "../swarm/index.ts";
import { makeCorpus } from "./support/pdf.ts";

test("processing documents and waiting for each result leaves no consumers behind", async (t) => {
  const swarm = await Swarm.initialize({ agents: 2 });
  t.teardown(() => swarm.shutdown());
  const jsm = await jetstreamManager(swarm.client.nc);
  const count = async () => {
    const out: Record<string, number> = {};
    for await (const si of jsm.streams.list()) out[si.config.name] = si.state.consumer_count;
    return out;
  };
  const before = await count();
  const docs = await makeCorpus(20, { seed: 5, maxPages: 4 });
  for (const d of docs) await swarm.submit(d.bytes, { docId: d.docId });
  for (const d of docs) t.is((await swarm.result(d.docId, { timeoutMs: 30_000 })).status, "done");
  const after = await count();
  t.deepEqual(after, before);
});
