// The host's shared document bytes: bounded LRU on the host, request/response from agents, and the
// document cache reading from it before the object store.
import type { ObjectStore } from "@nats-io/obj";
import test from "ava";
import { DocumentCache, type PdfDocument, type PdfEngine } from "../agents/index.ts";
import type { AgentToHost } from "../agents/protocol.ts";
import { SharedBytesClient, SharedBytesStore } from "../agents/shared-bytes.ts";

function sab(n: number, fill: number): SharedArrayBuffer {
  const b = new SharedArrayBuffer(n);
  new Uint8Array(b).fill(fill);
  return b;
}

test("the store drops least recently used buffers beyond its budget", (t) => {
  const store = new SharedBytesStore(10);
  store.put("a", sab(4, 1));
  store.put("b", sab(4, 2));
  t.truthy(store.get("a")); // a is now the most recent
  store.put("c", sab(4, 3));
  t.is(store.get("b"), undefined);
  t.truthy(store.get("a"));
  t.truthy(store.get("c"));
  t.is(store.size, 8);
  store.put("huge", sab(11, 4));
  t.is(store.get("huge"), undefined, "larger than the whole budget: not kept");
});

/** A client wired to a store the way worker-main.ts and the host wire them, minus the threads. */
function wired(store: SharedBytesStore): SharedBytesClient {
  const client: SharedBytesClient = new SharedBytesClient((m: AgentToHost) => {
    queueMicrotask(() => {
      if (m.t === "bytes-put") store.put(m.key, m.bytes, m.inflateChecked);
      if (m.t === "bytes-get") client.resolve(m.id, store.get(m.key));
    });
  });
  return client;
}

test("an agent reads what another agent of the host shared", async (t) => {
  const store = new SharedBytesStore(1024);
  const a = wired(store);
  const b = wired(store);
  const view = a.put("doc", new Uint8Array([1, 2, 3]));
  t.deepEqual([...view], [1, 2, 3]);
  await new Promise((r) => setTimeout(r, 0));
  t.deepEqual([...((await b.get("doc"))?.bytes ?? [])], [1, 2, 3]);
  t.is(await b.get("other"), undefined);
});

test("the document cache takes shared bytes before the object store, keyed by run", async (t) => {
  const store = new SharedBytesStore(1024);
  let fetched = 0;
  const objects = {
    getBlob: async () => {
      fetched++;
      return new Uint8Array([9, 9]);
    },
  } as unknown as ObjectStore;
  const opened: number[][] = [];
  const engine: PdfEngine = {
    name: "pdfjs",
    async open(bytes) {
      opened.push([...bytes]);
      return { pageCount: 1, close: async () => {} } as unknown as PdfDocument;
    },
  };
  const splitter = new DocumentCache(engine, (_bucket, name) => objects.getBlob(name), {
    shared: wired(store),
  });
  const extractor = new DocumentCache(engine, (_bucket, name) => objects.getBlob(name), {
    shared: wired(store),
  });
  const ref = { bucket: "docswarm-docs", name: "d1", size: 2 };
  splitter.share(ref, "r1", new Uint8Array([1, 2]));
  await new Promise((r) => setTimeout(r, 0));
  await extractor.open(ref, "r1");
  t.is(fetched, 0);
  t.deepEqual(opened, [[1, 2]]);
  await extractor.open(ref, "r2"); // processed again: other bytes, fetched
  t.is(fetched, 1);
  t.deepEqual(opened[1], [9, 9]);
});

test("bytes shared after an open carry the decompression cap they passed; fetched bytes carry none", async (t) => {
  const store = new SharedBytesStore(1024);
  const fetch = async () => new Uint8Array([9, 9]);
  const checked: Array<number | undefined> = [];
  const engine = (cap: number): PdfEngine => ({
    name: "pdfium",
    maxInflatedBytes: cap,
    async open(_bytes, options) {
      checked.push(options?.inflateChecked);
      return { pageCount: 1, close: async () => {} } as unknown as PdfDocument;
    },
  });
  const splitter = new DocumentCache(engine(100), fetch, { shared: wired(store) });
  const extractor = new DocumentCache(engine(200), fetch, { shared: wired(store) });
  const ref = { bucket: "docswarm-docs", name: "d1", size: 2 };
  const bytes = new Uint8Array([1, 2]);
  await splitter.use(ref, "r1", async () => {}, bytes);
  splitter.share(ref, "r1", bytes);
  await new Promise((r) => setTimeout(r, 0));
  await extractor.open(ref, "r1");
  // Fetched from the object store by the first agent that needs it: nobody checked it yet.
  await extractor.open(ref, "r2");
  await splitter.open(ref, "r2");
  t.deepEqual(checked, [undefined, 100, undefined, undefined]);
});

test("a document opened from the caller's bytes is reused, and forget() closes it", async (t) => {
  let fetched = 0;
  let closed = 0;
  const objects = {
    getBlob: async () => {
      fetched++;
      return new Uint8Array([9]);
    },
  } as unknown as ObjectStore;
  let opens = 0;
  const engine: PdfEngine = {
    name: "pdfjs",
    async open() {
      opens++;
      return {
        pageCount: 1,
        close: async () => {
          closed++;
        },
      } as unknown as PdfDocument;
    },
  };
  const cache = new DocumentCache(engine, (_bucket, name) => objects.getBlob(name));
  const ref = { bucket: "docswarm-docs", name: "d1", size: 1 };
  const a = await cache.open(ref, "r1", new Uint8Array([1]));
  t.is(await cache.open(ref, "r1"), a);
  t.is(opens, 1);
  t.is(fetched, 0);
  cache.forget(ref, "r1");
  await new Promise((r) => setTimeout(r, 0));
  t.is(closed, 1);
  await cache.open(ref, "r1");
  t.is(fetched, 1);
});

test("a document in use is not closed when other documents push it out of the cache", async (t) => {
  const objects = { getBlob: async () => new Uint8Array([1]) } as unknown as ObjectStore;
  const closed: string[] = [];
  let n = 0;
  const engine: PdfEngine = {
    name: "pdfjs",
    async open() {
      const id = `doc${n++}`;
      return {
        pageCount: 1,
        id,
        close: async () => {
          closed.push(id);
        },
      } as unknown as PdfDocument;
    },
  };
  const cache = new DocumentCache(engine, (_bucket, name) => objects.getBlob(name), { capacity: 1 });
  const ref = (name: string) => ({ bucket: "docswarm-docs", name, size: 1 });
  let release!: () => void;
  const held = new Promise<void>((r) => {
    release = r;
  });
  const long = cache.use(ref("a"), "r", async () => held);
  await new Promise((r) => setTimeout(r, 0));
  await cache.use(ref("b"), "r", async () => {});
  await cache.use(ref("c"), "r", async () => {});
  await new Promise((r) => setTimeout(r, 0));
  t.false(closed.includes("doc0"), "a is in use");
  release();
  await long;
  await new Promise((r) => setTimeout(r, 0));
  t.true(closed.includes("doc0"), "closed once its task is done and it is beyond capacity");
});
