// Generated PDFs with known text ("Page n of <docId>" as each page's first line), deterministic per
// seed: the chaos, soak and load runs and the tests use them.
import { densePages, makePdf, rng } from "../pdf-gen.ts";

export type GeneratedDoc = { docId: string; bytes: Uint8Array; pages: string[][] };

export async function makeDoc(docId: string, pageCount: number, seed = 1, charsPerPage = 300) {
  const pages = densePages(docId, pageCount, seed, charsPerPage);
  return { docId, bytes: await makePdf({ title: docId, pages }), pages } satisfies GeneratedDoc;
}

/** `n` documents of 1..maxPages pages, the same for the same seed. */
export async function makeCorpus(
  n: number,
  options: { seed?: number; maxPages?: number; prefix?: string; charsPerPage?: number } = {},
): Promise<GeneratedDoc[]> {
  const seed = options.seed ?? 1;
  const random = rng(seed);
  const out: GeneratedDoc[] = [];
  for (let i = 0; i < n; i++) {
    const pages = 1 + Math.floor(random() * (options.maxPages ?? 5));
    out.push(
      await makeDoc(`${options.prefix ?? "doc"}-${seed}-${i}`, pages, seed * 1000 + i, options.charsPerPage),
    );
  }
  return out;
}
