// Small generated PDFs with known text for the reliability tests ("Page n of <docId>" first lines).
import { densePages, makePdf, rng } from "../../scripts/pdf-gen.ts";

export type GeneratedDoc = { docId: string; bytes: Uint8Array; pages: string[][] };

export async function makeDoc(docId: string, pageCount: number, seed = 1, charsPerPage = 300) {
  const pages = densePages(docId, pageCount, seed, charsPerPage);
  return { docId, bytes: await makePdf({ title: docId, pages }), pages } satisfies GeneratedDoc;
}

/** `n` documents of 1..maxPages pages, the same for the same seed. */
export async function makeCorpus(
  n: number,
  options: { seed?: number; maxPages?: number; prefix?: string } = {},
): Promise<GeneratedDoc[]> {
  const seed = options.seed ?? 1;
  const random = rng(seed);
  const out: GeneratedDoc[] = [];
  for (let i = 0; i < n; i++) {
    const pages = 1 + Math.floor(random() * (options.maxPages ?? 5));
    out.push(await makeDoc(`${options.prefix ?? "doc"}-${seed}-${i}`, pages, seed * 1000 + i));
  }
  return out;
}
