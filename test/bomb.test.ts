// Untrusted input cannot take a host down: a 1 MB file whose one content stream inflates to 1 GB
// (a deflate bomb) fails with PDF_RESOURCE_LIMIT before either engine decodes it, while the host's
// agents go on serving. Unguarded, one such document took an agent thread to 1.3 GB (PDFium, which
// then aborted) or 2.6 GB (pdf.js) of RSS. The bound: a document's streams are inflated at most to
// maxInflatedBytes (the output dropped at once), so the host's extra memory per document in flight
// is at most that plus the document's bytes. The RSS figure is logged; the assertion is generous.
// An LZW bomb is refused the same way (LZW is counted with every other filter an engine runs for text).
import { createDeflate } from "node:zlib";
import test from "ava";
import { filteredPagePdf, lzwBomb, rawPdf } from "./support/hostile-pdfs.ts";
import { knownDoc, uniqueId } from "./support/pdf.ts";
import { startSwarm } from "./support/server.ts";

async function deflateBomb(megabytes: number): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  const z = createDeflate({ level: 9 });
  z.on("data", (c: Buffer) => parts.push(c));
  const ended = new Promise((r) => z.on("end", r));
  const block = Buffer.alloc(16 * 1024 * 1024, 0x20);
  for (let i = 0; i < megabytes / 16; i++) z.write(block);
  z.end();
  await ended;
  const data = Buffer.concat(parts);
  const head = Buffer.from(`<< /Filter /FlateDecode /Length ${data.length} >>\nstream\n`, "latin1");
  return rawPdf([
    "<< /Type /Catalog /Pages 2 0 R >>",
    "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
    Buffer.concat([head, data, Buffer.from("\nendstream", "latin1")]),
  ]);
}

test("a deflate bomb fails with PDF_RESOURCE_LIMIT, host memory stays bounded, good documents go on", async (t) => {
  const limit = 64 * 1024 * 1024;
  const swarm = await startSwarm(t, { agents: 2, processing: { maxInflatedBytes: limit } });
  const bomb = await deflateBomb(1024);
  t.true(bomb.length < 1.1e6, `${bomb.length} bytes`);
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  t.teardown(() => clearInterval(sampler));
  const ids = [uniqueId("bomb"), uniqueId("bomb")];
  await Promise.all(ids.map((docId) => swarm.client.submit(bomb, { docId, reprocess: true })));
  for (const docId of ids) {
    const r = await swarm.client.result(docId, { timeoutMs: 60_000 });
    t.is(r.status, "failed");
    t.is(r.error?.code, "PDF_RESOURCE_LIMIT", r.error?.message);
  }
  clearInterval(sampler);
  const grewMb = (peak - before) / 1e6;
  t.log(
    `host RSS ${(before / 1e6).toFixed(0)} MB before, peak ${(peak / 1e6).toFixed(0)} MB (+${grewMb.toFixed(0)} MB) for two 1 GB bombs with a ${limit / 1e6} MB budget`,
  );
  // Two agents, each at most the budget plus the file: far below the gigabytes unguarded.
  t.true(grewMb < 2 * (limit / 1e6) + 200, `grew ${grewMb} MB`);
  t.is(swarm.host.size, 2, "no agent thread was lost");
  const good = await knownDoc("after-bomb", 2);
  await swarm.client.submit(good.bytes, { docId: good.docId });
  t.is((await swarm.client.result(good.docId, { timeoutMs: 30_000 })).status, "done");
});

test("an LZW bomb (1 GiB from 413 KB) fails with PDF_RESOURCE_LIMIT through the swarm", async (t) => {
  // Before the cap counted LZW, it reached the engines: PDFium grew +945 MB of RSS on a 512 MiB one
  // and aborted, pdf.js +1.1 GB (test/decompression-cap.test.ts has the unit cases).
  const swarm = await startSwarm(t, { agents: 1, processing: { maxInflatedBytes: 64 * 1024 * 1024 } });
  const bomb = filteredPagePdf("/LZWDecode", lzwBomb(1024 * 1024 * 1024));
  const docId = uniqueId("lzw-bomb");
  await swarm.client.submit(bomb, { docId });
  const r = await swarm.client.result(docId, { timeoutMs: 60_000 });
  t.is(r.status, "failed");
  t.is(r.error?.code, "PDF_RESOURCE_LIMIT", r.error?.message);
  // Refused by the cap before an engine saw it (PDFium's own abort on it maps to the same code).
  t.regex(r.error?.message ?? "", /refused as a decompression bomb/);
  t.is(swarm.host.size, 1, "the agent thread is still there");
});
