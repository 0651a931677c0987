// A final result too large for one message lives in the results object store. Two writers of the
// same document (a merge run again after its first run published) each store their own object and
// only the writer the done stream accepts keeps it: the stored result always finds its object (a
// shared name let the second writer's putBlob remove the first one's chunks under a reader).
import { jetstream } from "@nats-io/jetstream";
import { getSha256Backend, Objm } from "@nats-io/obj";
import test from "ava";
import { endDocument, readFinal } from "../jobs/index.ts";
import type { FinalResult } from "../schemas/index.ts";
import { OBJECT_STORES, putObject, readObject } from "../streams/index.ts";
import { startTopology } from "./support/server.ts";

function bigFinal(docId: string, text: string): FinalResult {
  const pages = Array.from({ length: 20 }, (_, i) => ({
    page: i + 1,
    text: `${text} ${i} `.repeat(2000),
    chars: 0,
    words: 0,
  }));
  return {
    v: 1,
    kind: "document",
    docId,
    status: "done",
    source: null,
    pageCount: pages.length,
    pages,
    meta: null,
    timings: { submittedAt: 1, finishedAt: 2, totalMs: 1, stageMs: {} },
    chunks: 2,
  };
}

test("two writers of a large final result: one stored, its object readable, the refused writer's object removed", async (t) => {
  const { nc } = await startTopology(t);
  const js = jetstream(nc);
  // 80 KiB messages: the ~320 KB results go to the object store (below the per-result cap).
  const limits = { maxPayloadBytes: 80 * 1024, maxResultBytes: 64 * 1024 * 1024 };
  const outcomes = await Promise.all(
    ["a", "b", "c"].map((runId) =>
      endDocument(js, { kind: "document", final: bigFinal("big-doc", runId), runId }, limits),
    ),
  );
  t.deepEqual(outcomes.map((o) => o.outcome).sort(), ["exists", "exists", "published"]);
  t.true(outcomes.every((o) => !o.inline));
  const stored = await readFinal(js, "big-doc");
  t.is(stored?.pages.length, 20);
  t.truthy(stored?.pagesObject);
  // Only the stored result's object is left.
  const store = await new Objm(js).open(OBJECT_STORES.results);
  const names: string[] = [];
  for await (const o of await store.list()) if (!o.deleted) names.push(o.name);
  t.deepEqual(names, [stored!.pagesObject!.name]);
  t.true(stored!.pagesObject!.name.startsWith("big-doc."));
  // Stored and checked with node:crypto, not the library's pure-JS SHA-256 (~14x slower).
  t.is(getSha256Backend(), "native");
  const object = await store.info(stored!.pagesObject!.name);
  t.regex(object?.digest ?? "", /^SHA-256=/);
  t.truthy(await store.getBlob(stored!.pagesObject!.name), "its digest checks out when read");
});

test("putObject keeps chunks in flight and stores an object the library reads and checks", async (t) => {
  const { nc } = await startTopology(t);
  const js = jetstream(nc);
  // More chunks than are in flight at once (8), the last one short.
  const bytes = new Uint8Array(12 * 20 * 1024 + 777).map((_, i) => (i * 31) % 251);
  const name = `put-object.${nc.info?.server_id ?? "x"}`;
  const { size } = await putObject(js, OBJECT_STORES.results, name, bytes, 24 * 1024);
  t.is(size, bytes.length);
  const store = await new Objm(js).open(OBJECT_STORES.results);
  const info = await store.info(name);
  t.is(info?.size, bytes.length);
  t.is(info?.chunks, Math.ceil(bytes.length / (20 * 1024)));
  t.deepEqual(await store.getBlob(name), bytes, "the library's read checks the digest");
  t.deepEqual(await readObject(js, OBJECT_STORES.results, name), bytes);
  await store.delete(name);
  t.is(await readObject(js, OBJECT_STORES.results, name), null);
});
