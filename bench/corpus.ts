// The benchmark corpus: deterministic dense-text PDFs (test/support/pdf.ts) of chosen page counts,
// ~3,300 characters per page. The same spec always gives the same bytes, so runs are comparable;
// generated files are kept in .cache/bench-corpus/ because pdf-lib needs ~3 ms per page.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { denseDoc } from "../test/support/pdf.ts";

export type CorpusSpec = {
  /** Page count of each document, in order. */
  pageCounts: number[];
  seed: number;
  charsPerPage: number;
};

export type CorpusDoc = { name: string; pages: number; bytes: Uint8Array };

const cacheDir = fileURLToPath(new URL("../.cache/bench-corpus/", import.meta.url));

/** `counts` repeated until `total` pages are reached (the last document may be shorter). */
export function pageCountsFor(total: number, counts: readonly number[]): number[] {
  const out: number[] = [];
  let sum = 0;
  for (let i = 0; sum < total; i++) {
    const n = Math.min(counts[i % counts.length]!, total - sum);
    out.push(n);
    sum += n;
  }
  return out;
}

export async function loadCorpus(spec: CorpusSpec): Promise<CorpusDoc[]> {
  await mkdir(cacheDir, { recursive: true });
  const docs: CorpusDoc[] = [];
  for (let i = 0; i < spec.pageCounts.length; i++) {
    const pages = spec.pageCounts[i]!;
    const seed = spec.seed * 1000 + i;
    const name = `c${spec.seed}-${i}-p${pages}`;
    const file = `${cacheDir}${name}-s${seed}-c${spec.charsPerPage}.pdf`;
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(file));
    } catch {
      ({ bytes } = await denseDoc(name, pages, {
        seed,
        charsPerPage: spec.charsPerPage,
        author: "docswarm bench",
      }));
      await writeFile(`${file}.tmp`, bytes);
      await rename(`${file}.tmp`, file);
    }
    docs.push({ name, pages, bytes });
  }
  return docs;
}

export function totalPages(docs: readonly CorpusDoc[]): number {
  return docs.reduce((n, d) => n + d.pages, 0);
}
