// Pure functions of the pipeline: chunk planning, ack subjects, doc ids,
// and how pdf.js text items become lines.
import test from "ava";
import { planChunks } from "../agents/chunking.ts";
import { parseAckSubject } from "../agents/delivery.ts";
import { joinTextItems } from "../agents/pdf/pdfjs-engine.ts";
import { defaultDocId } from "../streams/doc-id.ts";

// --- planChunks -------------------------------------------------------------------------------

const PAGE_COUNTS = [1, 2, 3, 5, 7, 15, 16, 17, 31, 32, 33, 45, 100, 101, 999, 10_000];
const PLANS = [
  { agents: 1, chunkMaxPages: 16, chunksPerAgent: 3 },
  { agents: 2, chunkMaxPages: 16, chunksPerAgent: 3 },
  { agents: 3, chunkMaxPages: 4, chunksPerAgent: 2 },
  { agents: 8, chunkMaxPages: 10, chunksPerAgent: 3 },
  { agents: 64, chunkMaxPages: 16, chunksPerAgent: 1 },
  { agents: 0, chunkMaxPages: 1, chunksPerAgent: 3 },
];

test("planChunks covers every page exactly once, in contiguous ranges with indexes 0..n-1", (t) => {
  for (const pages of PAGE_COUNTS) {
    for (const opts of PLANS) {
      const chunks = planChunks(pages, opts);
      const label = `${pages} pages, ${JSON.stringify(opts)}`;
      t.deepEqual(
        chunks.map((c) => c.index),
        chunks.map((_, i) => i),
        label,
      );
      t.is(chunks[0]?.firstPage, 1, label);
      t.is(chunks.at(-1)?.lastPage, pages, label);
      for (let i = 0; i < chunks.length; i++) {
        const c = chunks[i]!;
        t.true(c.lastPage >= c.firstPage, `${label}: chunk ${i} is empty`);
        if (i > 0) t.is(c.firstPage, chunks[i - 1]!.lastPage + 1, `${label}: gap or overlap at ${i}`);
      }
      const covered = chunks.reduce((n, c) => n + c.lastPage - c.firstPage + 1, 0);
      t.is(covered, pages, label);
    }
  }
});

test("planChunks sizes differ by at most one page and none exceeds chunkMaxPages", (t) => {
  for (const pages of PAGE_COUNTS) {
    for (const opts of PLANS) {
      const sizes = planChunks(pages, opts).map((c) => c.lastPage - c.firstPage + 1);
      const label = `${pages} pages, ${JSON.stringify(opts)}`;
      t.true(Math.max(...sizes) - Math.min(...sizes) <= 1, `${label}: sizes ${sizes.join(",")}`);
      t.true(Math.max(...sizes) <= opts.chunkMaxPages, `${label}: sizes ${sizes.join(",")}`);
    }
  }
});

test("planChunks gives every agent its share of chunks when the pages allow", (t) => {
  for (const pages of PAGE_COUNTS) {
    for (const opts of PLANS) {
      const n = planChunks(pages, opts).length;
      const wanted = Math.max(1, opts.agents) * opts.chunksPerAgent;
      const label = `${pages} pages, ${JSON.stringify(opts)}`;
      if (pages >= wanted) t.true(n >= wanted, `${label}: ${n} chunks`);
      else t.is(n, pages, `${label}: one page per chunk when pages are scarce`);
    }
  }
});

test("planChunks of a 45-page document with the defaults and 2 agents", (t) => {
  const chunks = planChunks(45, { agents: 2, chunkMaxPages: 16, chunksPerAgent: 3 });
  t.deepEqual(chunks, [
    { index: 0, firstPage: 1, lastPage: 8 },
    { index: 1, firstPage: 9, lastPage: 16 },
    { index: 2, firstPage: 17, lastPage: 24 },
    { index: 3, firstPage: 25, lastPage: 31 },
    { index: 4, firstPage: 32, lastPage: 38 },
    { index: 5, firstPage: 39, lastPage: 45 },
  ]);
});

test("planChunks of no pages is no chunks", (t) => {
  t.deepEqual(planChunks(0, { agents: 2, chunkMaxPages: 16, chunksPerAgent: 3 }), []);
});

// --- parseAckSubject --------------------------------------------------------------------------

test("parseAckSubject reads the 9-token ack subject", (t) => {
  const ts = 1_767_225_600_123_456_789n; // ns since the epoch
  const info = parseAckSubject(`$JS.ACK.DOCSWARM_TASKS.extract-high.3.1042.77.${ts}.5`);
  t.deepEqual(info, {
    stream: "DOCSWARM_TASKS",
    consumer: "extract-high",
    delivered: 3,
    streamSeq: 1042,
    storedAt: 1_767_225_600_123,
    pending: 5,
  });
});

test("parseAckSubject reads the 12-token ack subject with domain and account", (t) => {
  const info = parseAckSubject(
    "$JS.ACK.hub.ACCHASH123.DOCSWARM_SUBMIT.split-normal.1.9.9.1767225600000000000.0.Xyz12",
  );
  t.deepEqual(info, {
    stream: "DOCSWARM_SUBMIT",
    consumer: "split-normal",
    delivered: 1,
    streamSeq: 9,
    storedAt: 1_767_225_600_000,
    pending: 0,
  });
});

test("parseAckSubject rejects subjects that are not JetStream acks", (t) => {
  t.is(parseAckSubject("_INBOX.abc.def"), undefined);
  t.is(parseAckSubject("$JS.API.CONSUMER.INFO.S.C"), undefined);
  t.is(parseAckSubject("$JS.ACK.S.C.1.2.3.4"), undefined, "8 tokens");
  t.is(parseAckSubject("$JS.ACK.S.C.1.2.3.4.5.6"), undefined, "10 tokens");
  t.is(parseAckSubject(""), undefined);
});

// --- defaultDocId -----------------------------------------------------------------------------

test("defaultDocId is the first 32 hex characters of SHA-256", (t) => {
  // Known SHA-256 test vectors.
  t.is(defaultDocId(new TextEncoder().encode("abc")), "ba7816bf8f01cfea414140de5dae2223");
  t.is(defaultDocId(new Uint8Array()), "e3b0c44298fc1c149afbf4c8996fb924");
  t.regex(defaultDocId(new Uint8Array([1, 2, 3])), /^[0-9a-f]{32}$/);
});

// --- joinTextItems ----------------------------------------------------------------------------

test("joinTextItems joins items into lines at hasEOL and skips marked-content items", (t) => {
  const items = [
    { type: "beginMarkedContent", tag: "P" },
    { str: "Page 1", hasEOL: false },
    { str: " of x", hasEOL: true },
    { type: "endMarkedContent" },
    { str: "second line", hasEOL: true },
    { str: "", hasEOL: true },
    { str: "last", hasEOL: false },
  ];
  t.is(joinTextItems(items), "Page 1 of x\nsecond line\n\nlast");
  t.is(joinTextItems([]), "");
});
