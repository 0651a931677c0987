// Reading real-world PDFs through the whole swarm: warnings in the final result, a bad page that
// fails nothing else, passwords by header (right, wrong, missing), the engine by header with the
// fallback saying which engine produced each page, and the document size cap.
import { readFile } from "node:fs/promises";
import test from "ava";
import { fidelityCorpus, missingLines } from "../bench/corpora/fidelity.ts";
import { FinalResult } from "../schemas/index.ts";
import { uniqueId } from "./support/pdf.ts";
import { startSwarm } from "./support/server.ts";

const corpus = Object.fromEntries((await fidelityCorpus()).map((d) => [d.name, d]));
const TIMEOUT = { timeoutMs: 60_000 };

test("repaired files are processed with warnings; a broken page gets an error and the rest is read", async (t) => {
  const swarm = await startSwarm(t, { agents: 2 });
  const names = ["no-eof", "leading-junk", "no-header", "broken-page", "ja-cmap", "empty-password"];
  const ids = Object.fromEntries(names.map((n) => [n, uniqueId(n)]));
  await Promise.all(names.map((n) => swarm.client.submit(corpus[n]!.bytes, { docId: ids[n]! })));
  for (const name of names) {
    const doc = corpus[name]!;
    const r = FinalResult.parse(await swarm.client.result(ids[name]!, TIMEOUT));
    t.is(r.status, "done", `${name}: ${r.error?.code} ${r.error?.message}`);
    t.deepEqual(missingLines(doc, r.pages.map((p) => p.text).join("\n")), [], name);
    const codes = (r.warnings ?? []).map((w) => w.code);
    for (const code of doc.warnings ?? []) t.true(codes.includes(code), `${name}: ${code} in ${codes}`);
    t.deepEqual(
      r.pages.filter((p) => p.error).map((p) => p.page),
      doc.brokenPages ?? [],
      `${name}: broken pages`,
    );
    if (name === "broken-page") {
      t.like(r.pages[1], { text: "", error: { code: "PDF_PAGE_CORRUPT" } });
      t.deepEqual(r.warnings?.find((w) => w.code === "PDF_PAGE_FAILED")?.pages, [2]);
    }
    if (name === "no-header") {
      // PDFium (the default) refuses a file without a header; pdf.js reads it, and says so.
      t.true(codes.includes("PDF_ENGINE_FALLBACK"));
      t.true(r.pages.every((p) => p.engine === "pdfjs"));
    }
  }
});

test("passwords by header: right opens, wrong and missing fail with their own codes", async (t) => {
  const swarm = await startSwarm(t, { agents: 1 });
  const bytes = corpus.password!.bytes;
  const cases = [
    { password: "user-pw", status: "done" },
    { password: "not-it", status: "failed", code: "PDF_PASSWORD_WRONG" },
    { status: "failed", code: "PDF_PASSWORD_REQUIRED" },
  ] as const;
  for (const c of cases) {
    const docId = uniqueId("pw");
    await swarm.client.submit(bytes, { docId, ...("password" in c && { password: c.password }) });
    const r = await swarm.client.result(docId, TIMEOUT);
    t.is(r.status, c.status, `${JSON.stringify(c)}: ${r.error?.code}`);
    if ("code" in c) t.is(r.error?.code, c.code);
    else t.regex(r.pages[0]!.text, /Page 1 of encrypted-fixture/);
    // The password never shows in a result.
    t.false(JSON.stringify(r).includes("user-pw"));
  }
});

test("the engine by header, and by agent config; each page says which engine produced it", async (t) => {
  const swarm = await startSwarm(t, { agents: 1, processing: { engine: "pdfjs" } });
  const bytes = corpus["zh-embedded"]!.bytes;
  const viaConfig = uniqueId("eng-config");
  const viaHeader = uniqueId("eng-header");
  await swarm.client.submit(bytes, { docId: viaConfig });
  await swarm.client.submit(bytes, { docId: viaHeader, engine: "pdfium" });
  const a = await swarm.client.result(viaConfig, TIMEOUT);
  const b = await swarm.client.result(viaHeader, TIMEOUT);
  t.true(a.pages.every((p) => p.engine === "pdfjs"));
  t.true(b.pages.every((p) => p.engine === "pdfium"));
  t.is(a.meta?.pdfVersion, b.meta?.pdfVersion);
  t.is(a.meta?.title, b.meta?.title);
  t.is(a.meta?.producer, b.meta?.producer);
});

test("a document above maxDocumentBytes fails with PDF_TOO_LARGE before it is read or stored", async (t) => {
  const swarm = await startSwarm(t, { agents: 1, processing: { maxDocumentBytes: 4096 } });
  const big = new Uint8Array(await readFile(new URL("./fixtures/encrypted.pdf", import.meta.url)));
  const padded = new Uint8Array(big.length + 8192).fill(0x20);
  padded.set(big);
  const docId = uniqueId("too-large");
  await swarm.client.submit(padded, { docId });
  const r = await swarm.client.result(docId, TIMEOUT);
  t.is(r.error?.code, "PDF_TOO_LARGE");
  const docs = await swarm.jsm.streams.info("OBJ_docswarm-docs").catch(() => undefined);
  t.is(docs?.state.messages ?? 0, 0, "nothing stored in the object store");
});
