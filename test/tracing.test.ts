// One trace per document across threads and processes: a small OTLP/HTTP receiver collects the spans
// of the main thread (client submit, coordinator gather) and of every agent thread (split, extract,
// merge), and a raw submission carrying its own traceparent has its trace continued (a small one,
// which split extracts itself: its extract span sits under split's).
import { headers } from "@nats-io/transport-node";
import test from "ava";
import { startTracing } from "../observability/index.ts";
import { HEADERS } from "../schemas/index.ts";
import { subjects } from "../streams/index.ts";
import { Swarm } from "../swarm/index.ts";
import { startOtlpReceiver } from "./support/otlp-receiver.ts";
import { denseDoc } from "./support/pdf.ts";
import { waitFor } from "./support/wait.ts";

test("a document's trace holds submit, split, every extract chunk, gather and merge, from several threads", async (t) => {
  const receiver = await startOtlpReceiver();
  t.teardown(() => receiver.close());
  // Agent threads inherit the environment, so each starts its own SDK exporting here.
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = "http/json";
  process.env.OTEL_BSP_SCHEDULE_DELAY = "100";
  const tracing = await startTracing({ serviceName: "docswarm-test" });
  t.teardown(() => tracing.shutdown());
  t.true(tracing.enabled);

  const swarm = await Swarm.initialize({ agents: 2 });
  t.teardown(() => swarm.shutdown());
  // More pages than one chunk holds: chunks on several agents, then merge.
  const { docId } = await swarm.submit((await denseDoc("traced", 20, { charsPerPage: 600 })).bytes, {
    docId: "traced-doc",
  });
  // A raw client's submission with its own trace context.
  const rawTraceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  const rawParent = "00f067aa0ba902b7";
  const h = headers();
  h.set(HEADERS.docId, "raw-traced");
  h.set("traceparent", `00-${rawTraceId}-${rawParent}-01`);
  await swarm.client.nc.request(subjects.submit, (await denseDoc("raw", 3, { charsPerPage: 600 })).bytes, {
    headers: h,
    timeout: 5000,
  });

  const done = await swarm.result(docId, { timeoutMs: 60_000 });
  t.is(done.status, "done");
  t.is((await swarm.result("raw-traced", { timeoutMs: 60_000 })).status, "done");
  // Agents flush their spans when they drain; the main thread when its SDK shuts down.
  await swarm.shutdown();
  await tracing.shutdown();

  const submit = await waitFor(
    () =>
      receiver.spans.find((s) => s.name === "docswarm.submit" && s.attributes["docswarm.doc.id"] === docId),
    { message: "the submit span" },
  );
  const trace = () => receiver.spans.filter((s) => s.traceId === submit.traceId);
  const extracts = await waitFor(
    () => {
      const e = trace().filter((s) => s.name === "docswarm.extract");
      return e.length >= done.chunks && e;
    },
    { message: "every extract chunk span" },
  );
  const names = new Set(trace().map((s) => s.name));
  for (const name of ["docswarm.split", "docswarm.extract", "docswarm.gather", "docswarm.merge"]) {
    t.true(names.has(name), `${name} is in the trace (have ${[...names].join(", ")})`);
  }
  // Extract spans say which agent ran which pages on which delivery.
  for (const e of extracts) {
    t.is(e.attributes["docswarm.doc.id"], docId);
    t.is(typeof e.attributes["docswarm.agent.id"], "string");
    t.is(typeof e.attributes["docswarm.page.first"], "number");
    t.is(typeof e.attributes["docswarm.page.last"], "number");
    t.true(Number(e.attributes["docswarm.delivery"]) >= 1);
  }
  // Spans came from the agent threads and from the main thread (gather, submit).
  const threads = new Set(trace().map((s) => `${s.resource["docswarm.agent.id"] ?? "main"}`));
  t.true(threads.has("main"), "main thread spans");
  t.true(threads.size >= 2, `spans from several threads: ${[...threads].join(", ")}`);
  // Parent links hold the trace together: split under submit, merge under a gather.
  const byId = new Map(trace().map((s) => [s.spanId, s]));
  const split = trace().find((s) => s.name === "docswarm.split")!;
  t.is(split.parentSpanId, submit.spanId);
  const merge = trace().find((s) => s.name === "docswarm.merge")!;
  t.is(byId.get(merge.parentSpanId)?.name, "docswarm.gather");

  // The raw client's trace was continued.
  const rawSplit = await waitFor(
    () => receiver.spans.find((s) => s.name === "docswarm.split" && s.traceId === rawTraceId),
    { message: "the raw submission's split span" },
  );
  t.is(rawSplit.parentSpanId, rawParent);
  const rawSpans = receiver.spans.filter((s) => s.traceId === rawTraceId);
  const rawExtract = rawSpans.find((s) => s.name === "docswarm.extract");
  t.is(rawExtract?.parentSpanId, rawSplit.spanId, "split's extraction is its child span");
  t.like(rawExtract?.attributes, {
    "docswarm.doc.id": "raw-traced",
    "docswarm.page.first": 1,
    "docswarm.page.last": 3,
  });
  t.true(rawSpans.some((s) => s.name === "docswarm.gather" && s.parentSpanId === rawSplit.spanId));
  t.false(
    rawSpans.some((s) => s.name === "docswarm.merge"),
    "no merge task for a document split ended",
  );
});
