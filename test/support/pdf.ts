// The one PDF maker: PDFs with known text per page (pdf-lib) for the tests, the drills, the samples
// and the benchmark corpus. Deterministic: the same arguments give the same text (and the same
// bytes, dates fixed).
import { randomUUID } from "node:crypto";
import { PDFDocument, StandardFonts } from "pdf-lib";

export type PdfSpec = {
  /** Lines of text per page. */
  pages: string[][];
  title?: string;
  author?: string;
  fontSize?: number;
};

const FIXED_DATE = new Date("2026-01-01T00:00:00Z");

export async function makePdf(spec: PdfSpec): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  doc.setCreationDate(FIXED_DATE);
  doc.setModificationDate(FIXED_DATE);
  doc.setProducer("docswarm pdf-gen");
  doc.setCreator("docswarm");
  if (spec.title) doc.setTitle(spec.title);
  if (spec.author) doc.setAuthor(spec.author);
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const size = spec.fontSize ?? 10;
  for (const lines of spec.pages) {
    const page = doc.addPage([612, 792]);
    let y = 792 - 48;
    for (const line of lines) {
      page.drawText(line, { x: 48, y, size, font });
      y -= size * 1.25;
    }
  }
  return doc.save({ useObjectStreams: false });
}

const WORDS = (
  "swarm agent stream consumer subject chunk page merge split extract document result priority " +
  "lease heartbeat backlog replica cluster leader term fence ack delivery window object bucket " +
  "the of and to in is that for with as on by at from this it be are was were an or which"
).split(" ");

/** A seeded pseudo-random generator (mulberry32), so corpora are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Lines of pseudo-random words, about `chars` characters in all, `width` characters per line. */
export function denseLines(random: () => number, chars: number, width = 95): string[] {
  const lines: string[] = [];
  let line = "";
  let total = 0;
  while (total < chars) {
    const w = WORDS[Math.floor(random() * WORDS.length)]!;
    if (line.length + w.length + 1 > width) {
      lines.push(line);
      total += line.length;
      line = "";
    }
    line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines;
}

/** A document of `pageCount` dense pages; page n starts with the line "Page n of <id>". */
export function densePages(id: string, pageCount: number, seed: number, charsPerPage = 3300): string[][] {
  const random = rng(seed);
  return Array.from({ length: pageCount }, (_, i) => [
    `Page ${i + 1} of ${id}`,
    ...denseLines(random, charsPerPage),
  ]);
}

/** A generated document and the text drawn on it. */
export type KnownDoc = {
  docId: string;
  bytes: Uint8Array;
  /** The lines drawn on each page; page n starts with "Page n of <docId>". */
  pages: string[][];
  title: string;
  author?: string;
};

export type DenseDocOptions = {
  /** Seed of the filler text (default 1). */
  seed?: number;
  /** Characters of filler text per page (default 300: small keeps tests fast). */
  charsPerPage?: number;
  /** Default: the doc id. */
  title?: string;
  author?: string;
};

/** A document of `pageCount` dense pages whose page n starts with "Page n of <docId>". */
export async function denseDoc(
  docId: string,
  pageCount: number,
  opts: DenseDocOptions = {},
): Promise<KnownDoc> {
  const pages = densePages(docId, pageCount, opts.seed ?? 1, opts.charsPerPage ?? 300);
  const title = opts.title ?? docId;
  const bytes = await makePdf({ pages, title, ...(opts.author !== undefined && { author: opts.author }) });
  return { docId, bytes, pages, title, ...(opts.author !== undefined && { author: opts.author }) };
}

/** A unique, token-safe doc id: `<prefix>-<random>`. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${randomUUID().replaceAll("-", "").slice(0, 12)}`;
}

/**
 * A dense document under an id unique to this test run (also the id printed on every page), with
 * title and author derived from it, so a result's metadata can be checked.
 */
export function knownDoc(
  prefix: string,
  pageCount: number,
  opts: Pick<DenseDocOptions, "seed" | "charsPerPage"> & { id?: string } = {},
): Promise<KnownDoc> {
  const id = opts.id ?? uniqueId(prefix);
  return denseDoc(id, pageCount, {
    seed: opts.seed ?? pageCount,
    ...(opts.charsPerPage !== undefined && { charsPerPage: opts.charsPerPage }),
    title: `Title of ${id}`,
    author: `Author of ${id}`,
  });
}

/** The first line drawn on page n (1-based) of a dense document. */
export function firstLine(doc: KnownDoc, page: number): string {
  return `Page ${page} of ${doc.docId}`;
}

/** `n` dense documents of 1..maxPages pages (`<prefix>-<seed>-<i>`), the same for the same seed. */
export async function makeCorpus(
  n: number,
  options: { seed?: number; maxPages?: number; prefix?: string; charsPerPage?: number } = {},
): Promise<KnownDoc[]> {
  const seed = options.seed ?? 1;
  const random = rng(seed);
  const out: KnownDoc[] = [];
  for (let i = 0; i < n; i++) {
    const pages = 1 + Math.floor(random() * (options.maxPages ?? 5));
    out.push(
      await denseDoc(`${options.prefix ?? "doc"}-${seed}-${i}`, pages, {
        seed: seed * 1000 + i,
        ...(options.charsPerPage !== undefined && { charsPerPage: options.charsPerPage }),
      }),
    );
  }
  return out;
}
