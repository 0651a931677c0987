// State visible and bounded: every stream, bucket and object store has a limit and a documented
// reason; `docswarm status` (text and JSON) shows each one's use against its limit; at 80 % of a
// limit status warns and the leading coordinator publishes storage.high once, and storage.ok once
// it is back below.
import { readFileSync } from "node:fs";
import { jetstream } from "@nats-io/jetstream";
import test from "ava";
import { INIT_FLAGS } from "../cli/commands/init.ts";
import { Coordinator } from "../coordinator/index.ts";
import { Dashboard } from "../dashboard/index.ts";
import { decodeJson, FinalResult, SwarmEvent, SwarmStatus, TopologyConfig } from "../schemas/index.ts";
import { ensureTopology, jsonBytes, resourceSpecs, STREAMS, subjects } from "../streams/index.ts";
import { runCliWithEnv } from "./support/cli.ts";
import { connectTo, startServer } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

const KiB = 1024;

function final(docId: string, text: string): FinalResult {
  return FinalResult.parse({
    v: 1,
    docId,
    status: "done",
    source: null,
    pageCount: 1,
    pages: [{ page: 1, text, chars: text.length, words: 1 }],
    meta: null,
    timings: { submittedAt: 1, finishedAt: 2, totalMs: 1, stageMs: {} },
    chunks: 1,
  });
}

test("every stream, bucket and object store has a limit and a reason", (t) => {
  const specs = resourceSpecs(TopologyConfig.parse({}), 1024 * 1024);
  t.is(specs.length, 14);
  for (const s of specs) {
    const c = s.config;
    t.true((c.max_bytes ?? -1) > 0, `${s.name}: max_bytes`);
    t.true(s.holds.length > 10 && s.atLimit.length > 10, `${s.name}: documented`);
  }
});

test("the README documents every docswarm init flag and every stream, bucket and object store", (t) => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  for (const f of INIT_FLAGS) t.true(readme.includes(`--${f.flag}`), `--${f.flag}`);
  const limits = readme.slice(readme.indexOf("### Limits"));
  for (const s of resourceSpecs(TopologyConfig.parse({}), 1024 * 1024))
    t.true(limits.includes(`\`${s.name}\``), s.name);
});

test("status shows use against limits; 80 % of the done stream warns and fires storage.high, then storage.ok", async (t) => {
  const server = await startServer(t);
  const nc = await connectTo(t, server.url, "docswarm-test", { reconnect: true });
  await ensureTopology(nc, { doneMaxBytes: 64 * KiB });
  const events: SwarmEvent[] = [];
  nc.subscribe(subjects.event("storage", ">"), {
    callback: (_e, m) => {
      const e = decodeJson(SwarmEvent, m.data);
      if (e.ok) events.push(e.value);
    },
  });
  const coordinator = await Coordinator.start({ servers: server.url, config: { storageCheckMs: 200 } });
  t.teardown(() => coordinator.close());
  const env = { NATS_URL: server.url };

  const status = async () => {
    const r = await runCliWithEnv(["status", "--json"], env);
    t.is(r.code, 0, r.stderr);
    return SwarmStatus.parse(JSON.parse(r.stdout));
  };
  const empty = await status();
  t.is(empty.storage.items.length, 14);
  const done = () => empty.storage.items.find((i) => i.name === STREAMS.done)!;
  t.is(done().maxBytes, 64 * KiB);
  t.true(done().holds.includes("final result"));
  t.false(empty.warnings.some((w) => w.code === "STORAGE_HIGH"));

  // Fill the done stream to about 85 % of its 64 KiB with 1 KB results.
  const js = jetstream(nc);
  for (let i = 0; i < 50; i++) {
    await js.publish(subjects.final(`doc-${i}`), jsonBytes(final(`doc-${i}`, "x".repeat(900))), {
      expect: { lastSubjectSequence: 0 },
    });
  }
  const high = await waitFor(() => events.find((e) => e.type === "storage.high"), {
    message: "a storage.high event",
    timeoutMs: 10_000,
  });
  t.like(high, {
    type: "storage.high",
    name: STREAMS.done,
    kind: "stream",
    limitedBy: "bytes",
    warnRatio: 0.8,
  });
  const full = await status();
  const item = full.storage.items.find((i) => i.name === STREAMS.done)!;
  t.true(item.used >= 0.8 && item.used <= 1, String(item.used));
  t.is(item.messages, 50);
  t.true(
    full.warnings.some((w) => w.code === "STORAGE_HIGH" && w.resource === STREAMS.done),
    JSON.stringify(full.warnings),
  );
  const text = await runCliWithEnv(["status"], env);
  t.regex(text.stdout, /Storage \(warns at 80 % of a limit\)/);
  t.regex(text.stdout, /DOCSWARM_DONE\s+stream\s+\d+(\.\d+)? KiB\s+64 KiB\s+\d+ % HIGH/);
  t.regex(text.stdout, /! DOCSWARM_DONE is at \d+ % of its limit/);

  // The dashboard shows the same (its snapshot, read every few seconds).
  const dashboard = await Dashboard.start({ servers: server.url, port: 0, noAuth: true });
  t.teardown(() => dashboard.close());
  const shown = await waitFor(
    async () => {
      const snap = (await (await fetch(new URL("/api/snapshot", dashboard.url))).json()) as {
        storage: { items: Array<{ name: string; used: number }> };
        warnings: Array<{ code: string; resource?: string }>;
      };
      return snap.storage.items.length === 14 && snap;
    },
    { message: "the dashboard's storage table" },
  );
  t.true(shown.storage.items.find((i) => i.name === STREAMS.done)!.used >= 0.8);
  t.true(shown.warnings.some((w) => w.code === "STORAGE_HIGH" && w.resource === STREAMS.done));

  // Still high on later looks: one event per crossing, not one per look.
  await new Promise((r) => setTimeout(r, 1000));
  t.is(events.filter((e) => e.type === "storage.high").length, 1);

  // Back below: purge most results.
  await (await js.jetstreamManager()).streams.purge(STREAMS.done, { keep: 5 });
  await waitFor(() => events.some((e) => e.type === "storage.ok"), {
    message: "storage.ok",
    timeoutMs: 10_000,
  });
});
