// The document corpora of the throughput figures: many small documents (1-3 pages, the mix a
// mailbox or an archive has: twelve standard fonts, 7-16 pt, sparse to dense pages, some with an
// image), long documents (≥ 200 pages), and a mixed corpus of both (90 % small). Deterministic per
// seed; generated files are cached in .cache/bench-corpus/ like bench/corpus.ts's. Every page
// starts with the line "Page n of <name>", which the bench checks in every result.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { crc32, deflateSync } from "node:zlib";
import { PDFDocument, type PDFImage, StandardFonts } from "pdf-lib";
import { denseLines, rng } from "../test/support/pdf.ts";
import type { CorpusDoc } from "./corpus.ts";

const cacheDir = fileURLToPath(new URL("../.cache/bench-corpus/", import.meta.url));
const FIXED_DATE = new Date("2026-01-01T00:00:00Z");

// The Latin standard fonts (Symbol and ZapfDingbats have no letters).
const FONTS = [
  StandardFonts.Helvetica,
  StandardFonts.HelveticaBold,
  StandardFonts.HelveticaOblique,
  StandardFonts.HelveticaBoldOblique,
  StandardFonts.TimesRoman,
  StandardFonts.TimesRomanBold,
  StandardFonts.TimesRomanItalic,
  StandardFonts.TimesRomanBoldItalic,
  StandardFonts.Courier,
  StandardFonts.CourierBold,
  StandardFonts.CourierOblique,
  StandardFonts.CourierBoldOblique,
];

function chunk(type: string, data: Uint8Array): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
}

/** A small RGB gradient PNG (a letterhead logo, a stamp): the image share of a small document. */
export function gradientPng(width: number, height: number, seed: number): Uint8Array {
  const random = rng(seed);
  const [r0, g0, b0] = [random() * 255, random() * 255, random() * 255];
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    raw[row] = 0; // filter: none
    for (let x = 0; x < width; x++) {
      raw[row + 1 + x * 3] = (r0 + x * 3) & 255;
      raw[row + 2 + x * 3] = (g0 + y * 3) & 255;
      raw[row + 3 + x * 3] = (b0 + (x ^ y)) & 255;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(raw)),
    chunk("IEND", new Uint8Array()),
  ]);
}

type SmallSpec = { name: string; pages: number; seed: number };

/** One small document: its fonts, size, density and image drawn from its seed. */
async function makeSmallDoc(spec: SmallSpec): Promise<Uint8Array> {
  const random = rng(spec.seed);
  const doc = await PDFDocument.create();
  doc.setCreationDate(FIXED_DATE);
  doc.setModificationDate(FIXED_DATE);
  doc.setProducer(["docswarm pdf-gen", "Writer 7", "Scan2PDF", "LaTeX"][Math.floor(random() * 4)]!);
  doc.setTitle(spec.name);
  const body = await doc.embedFont(FONTS[Math.floor(random() * FONTS.length)]!);
  const heading = await doc.embedFont(FONTS[Math.floor(random() * FONTS.length)]!);
  const size = 7 + Math.floor(random() * 10);
  let image: PDFImage | undefined;
  if (random() < 0.3) {
    const side = 32 + Math.floor(random() * 96);
    image = await doc.embedPng(gradientPng(side, side, spec.seed));
  }
  const [w, h] = random() < 0.8 ? [612, 792] : [595, 842];
  for (let p = 0; p < spec.pages; p++) {
    const page = doc.addPage([w, h]);
    let y = h - 48;
    page.drawText(`Page ${p + 1} of ${spec.name}`, { x: 48, y, size: size + 2, font: heading });
    y -= (size + 2) * 1.6;
    if (image && p === 0) {
      page.drawImage(image, { x: w - 48 - 96, y: h - 48 - 96, width: 96, height: 96 });
    }
    // From a few lines (a cover letter) to a full page (a dense form), at this document's width.
    const width = Math.floor((w - 96) / (size * 0.55));
    const chars = 200 + Math.floor(random() * 3000);
    for (const line of denseLines(random, chars, width)) {
      if (y < 48) break;
      page.drawText(line, { x: 48, y, size, font: body });
      y -= size * 1.25;
    }
  }
  return doc.save({ useObjectStreams: random() < 0.5 });
}

async function cached(file: string, make: () => Promise<Uint8Array>): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(file));
  } catch {
    const bytes = await make();
    await writeFile(`${file}.tmp`, bytes);
    await rename(`${file}.tmp`, file);
    return bytes;
  }
}

/** `count` small documents of 1-3 pages (about 2 on average). */
export async function smallDocs(count: number, seed: number): Promise<CorpusDoc[]> {
  await mkdir(cacheDir, { recursive: true });
  const random = rng(seed);
  const out: CorpusDoc[] = [];
  for (let i = 0; i < count; i++) {
    const r = random();
    const pages = r < 0.35 ? 1 : r < 0.75 ? 2 : 3;
    const name = `s${seed}-${i}-p${pages}`;
    const docSeed = seed * 100_000 + i;
    const bytes = await cached(`${cacheDir}${name}-v1.pdf`, () =>
      makeSmallDoc({ name, pages, seed: docSeed }),
    );
    out.push({ name, pages, bytes });
  }
  return out;
}

/** Long documents (manuals): dense pages, one font, `pages` each. */
export async function longDocs(count: number, pages: number, seed: number): Promise<CorpusDoc[]> {
  const { loadCorpus } = await import("./corpus.ts");
  return loadCorpus({ pageCounts: Array(count).fill(pages), seed, charsPerPage: 2500 });
}

/** 90 % small, 10 % long documents, interleaved the way a mixed folder would be. */
export function mixed(small: CorpusDoc[], long: CorpusDoc[]): CorpusDoc[] {
  const out: CorpusDoc[] = [];
  const every = Math.max(1, Math.round(small.length / Math.max(1, long.length)));
  let l = 0;
  small.forEach((d, i) => {
    if (i % every === 0 && l < long.length) out.push(long[l++]!);
    out.push(d);
  });
  while (l < long.length) out.push(long[l++]!);
  return out;
}
