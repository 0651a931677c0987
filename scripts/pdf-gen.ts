// Generates PDFs with known text per page (pdf-lib), for samples, tests and the benchmark corpus.
// Deterministic: the same arguments give the same text (and the same bytes, dates fixed).
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
