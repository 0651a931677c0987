// Retrying JetStream calls through leader elections (streams/retry.ts), against a real server: a
// publish that finds no stream yet is retried until one exists, permanent errors fail at once, the
// budget bounds the wait, and timed-out writes are only retried when the caller says they may be.
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import test from "ava";
import { isTransient, retryJetStream, transientKind } from "../streams/index.ts";
import { connectTo, startServer } from "./support/server.ts";

test("a publish that finds no stream is retried until the stream exists", async (t) => {
  const server = await startServer(t);
  const nc = await connectTo(t, server.url, "docswarm-test", { reconnect: true });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const kinds: string[] = [];
  setTimeout(() => void jsm.streams.add({ name: "LATE", subjects: ["late.>"] }), 600);
  const ack = await retryJetStream(() => js.publish("late.one", "x"), {
    onRetry: (_attempt, err) => kinds.push(String(transientKind(err))),
  });
  t.is(ack.stream, "LATE");
  t.true(kinds.length >= 2, `retried ${kinds.length} times`);
  t.true(
    kinds.every((k) => k === "no-responders"),
    kinds.join(","),
  );
});

test("a permanent error fails at once; the budget bounds a transient one", async (t) => {
  const server = await startServer(t);
  const nc = await connectTo(t, server.url, "docswarm-test", { reconnect: true });
  const jsm = await jetstreamManager(nc);
  let calls = 0;
  const err = await t.throwsAsync(
    retryJetStream(() => {
      calls++;
      return jsm.streams.info("NO_SUCH_STREAM");
    }),
  );
  t.is(calls, 1, "stream not found (10059) is not retried");
  t.false(isTransient(err));

  calls = 0;
  const started = Date.now();
  const late = await t.throwsAsync(
    retryJetStream(
      () => {
        calls++;
        return jetstream(nc).publish("nobody.stores.this", "x");
      },
      { budgetMs: 800, firstDelayMs: 50 },
    ),
  );
  t.true(isTransient(late), "the last transient error is rethrown");
  t.true(calls >= 3, `${calls} attempts within the budget`);
  t.true(Date.now() - started < 5000);
});

test("a timed-out call is retried unless the caller says a repeat is unsafe", async (t) => {
  const server = await startServer(t);
  const nc = await connectTo(t, server.url, "docswarm-test", { reconnect: true });
  // A subscriber that never answers: every request times out.
  nc.subscribe("silent.service", { callback: () => {} });
  let calls = 0;
  const ask = () => {
    calls++;
    return nc.request("silent.service", "x", { timeout: 100 });
  };
  const err = await t.throwsAsync(retryJetStream(ask, { retryTimeouts: false }));
  t.is(transientKind(err), "timeout");
  t.is(calls, 1);
  calls = 0;
  await t.throwsAsync(retryJetStream(ask, { budgetMs: 700, firstDelayMs: 50 }));
  t.true(calls >= 2, `${calls} attempts`);
});
