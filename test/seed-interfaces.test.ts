// The seed's interfaces: Swarm (initialize, spawnAgent, submitTask, getStatus, shutdown), a Task with
// execute / canSplit / split / mergeResults, and DistributedProcessor (processDistributed, mapReduce).
import test from "ava";
import { DistributedProcessor, Swarm } from "../swarm/index.ts";
import { square, sum } from "./fixtures/stages/math.ts";
import rangeSum from "./fixtures/stages/range-sum.ts";
import { knownDoc } from "./support/pdf.ts";
import { stagePath } from "./support/server.ts";

function sumOfSquares(from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i++) s += i * i;
  return s;
}

test("Swarm: initialize, spawnAgent, submitTask, getStatus, shutdown", async (t) => {
  const swarm = await Swarm.initialize({ agents: 1 });
  t.teardown(() => swarm.shutdown());
  t.is(swarm.agentCount, 1);
  t.is((await swarm.spawnAgent(2)).length, 2);
  t.is(swarm.agentCount, 3);
  const doc = await knownDoc("seed-swarm", 3);
  const { docId } = await swarm.submitTask(doc.bytes, { docId: doc.docId });
  const r = await swarm.result(docId, { timeoutMs: 60_000 });
  t.is(r.status, "done");
  const status = await swarm.getStatus();
  t.true(status.agents.length >= 3);
  t.true(status.stages.some((s) => s.stage === "extract" && s.priority === "high"));
  await swarm.shutdown();
  t.is(swarm.agentCount, 0);
});

test("Task: canSplit/split divide the work, execute runs the parts, mergeResults joins them", async (t) => {
  t.true(rangeSum.split?.({ from: 0, to: 100 })?.length === 2);
  t.is(rangeSum.split?.({ from: 0, to: 3 }), undefined, "small ranges are not split");
  const swarm = await Swarm.initialize({ agents: 2, stages: [stagePath("range-sum")] });
  t.teardown(() => swarm.shutdown());
  const processor = new DistributedProcessor(swarm.client);
  t.is(
    await processor.processDistributed(rangeSum, { from: 0, to: 64 }, { timeoutMs: 60_000 }),
    sumOfSquares(0, 64),
  );
  t.is(
    await processor.processDistributed(rangeSum, { from: 5, to: 7 }, { timeoutMs: 60_000 }),
    sumOfSquares(5, 7),
  );
});

test("DistributedProcessor.mapReduce runs the mapper per input and the reducer over all outputs", async (t) => {
  const swarm = await Swarm.initialize({ agents: 2, stages: [stagePath("square"), stagePath("sum")] });
  t.teardown(() => swarm.shutdown());
  const processor = new DistributedProcessor(swarm.client);
  const inputs = Array.from({ length: 20 }, (_, i) => i);
  t.is(await processor.mapReduce(square, sum, inputs, { timeoutMs: 60_000 }), sumOfSquares(0, 20));
  const failed = await t.throwsAsync(processor.mapReduce("square", "sum", [1, -2], { timeoutMs: 60_000 }));
  t.regex(failed!.message, /negative input -2/);
});
