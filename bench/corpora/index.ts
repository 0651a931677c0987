// The realistic benchmark corpora (issue 10's small, long and mixed corpora, and CJK), generated
// once per seed into .cache/bench-corpora/ and read from there afterwards: the same seed always
// gives the same files, so runs are comparable across machines and commits.
//
//   small  1-3 page letters, invoices, AcroForm forms, reports with 4-8 embedded TTF/OTF fonts,
//          images in some, varied producers and page sizes; 5 % Japanese or Chinese
//   long   manuals of ≥ 200 pages: chapters, tables, code, figures
//   mixed  90 % small, 10 % long (by document)
//   cjk    Japanese and Chinese documents, embedded and non-embedded fonts
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { rng } from "../../test/support/pdf.ts";
import { type Built, cjkEmbedded, cjkNonEmbedded, manual, smallDocument } from "./documents.ts";
import { int, type Random } from "./text.ts";

/** Bump when a builder changes what it draws: cached files of older versions are not reused. */
const GENERATOR_VERSION = 2;
const cacheDir = fileURLToPath(new URL(`../../.cache/bench-corpora/v${GENERATOR_VERSION}/`, import.meta.url));

export const CORPUS_KINDS = ["small", "long", "mixed", "cjk"] as const;
export type CorpusKind = (typeof CORPUS_KINDS)[number];

export type RealDoc = { name: string; kind: string; pages: number; bytes: Uint8Array };

export type CorpusOptions = {
  count: number;
  seed?: number /** Minimum pages of a long manual. */;
  longPages?: number;
};

type Recipe = { kind: string; build: (random: Random, name: string) => Promise<Built> };

function cjkRecipe(random: Random): Recipe {
  const lang = random() < 0.5 ? "ja" : "zh";
  const embedded = random() < 0.5;
  return {
    kind: `cjk-${lang}-${embedded ? "embedded" : "cmap"}`,
    build: (r, name) => (embedded ? cjkEmbedded(r, name, lang) : cjkNonEmbedded(r, name, lang)),
  };
}

/** What document `i` of a corpus is: decided from the corpus seed alone, before anything is built. */
function recipe(kind: CorpusKind, random: Random, longPages: number): Recipe {
  const small = (): Recipe => (random() < 0.05 ? cjkRecipe(random) : { kind: "small", build: smallDocument });
  const long = (): Recipe => {
    const pages = longPages + int(random, 0, longPages / 2);
    return { kind: "long", build: (r, name) => manual(r, name, pages) };
  };
  if (kind === "small") return small();
  if (kind === "long") return long();
  if (kind === "cjk") return cjkRecipe(random);
  return random() < 0.1 ? long() : small();
}

/**
 * The corpus's documents, built on first use (a few ms per page; long manuals ~1 s each) and cached.
 * Deterministic: document i depends only on (kind, seed, i).
 */
export async function realCorpus(kind: CorpusKind, options: CorpusOptions): Promise<RealDoc[]> {
  const seed = options.seed ?? 1;
  const longPages = options.longPages ?? 200;
  await mkdir(cacheDir, { recursive: true });
  const plan = rng(seed * 7919 + CORPUS_KINDS.indexOf(kind));
  const docs: RealDoc[] = [];
  for (let i = 0; i < options.count; i++) {
    const r = recipe(kind, plan, longPages);
    const name = `${kind}-${seed}-${i}-${r.kind}`;
    const prefix = `${cacheDir}${name}-l${longPages}`;
    const index = `${prefix}.pages`;
    let pages = Number(await readFile(index, "utf8").catch(() => "0"));
    let bytes: Uint8Array | undefined =
      pages > 0 ? new Uint8Array(await readFile(`${prefix}.pdf`).catch(() => new Uint8Array())) : undefined;
    if (!bytes || bytes.length === 0) {
      const built = await r.build(rng(seed * 1_000_003 + i), name);
      ({ bytes, pages } = built);
      await writeFile(`${prefix}.pdf.tmp`, bytes);
      await rename(`${prefix}.pdf.tmp`, `${prefix}.pdf`);
      await writeFile(index, String(pages));
    }
    docs.push({ name, kind: r.kind, pages, bytes });
  }
  return docs;
}

/** 90 % small, 10 % long documents, the long ones spread through the small ones as in a mixed folder. */
export function interleave(small: RealDoc[], long: RealDoc[]): RealDoc[] {
  const out: RealDoc[] = [];
  const every = Math.max(1, Math.round(small.length / Math.max(1, long.length)));
  let l = 0;
  small.forEach((d, i) => {
    if (i % every === 0 && l < long.length) out.push(long[l++]!);
    out.push(d);
  });
  while (l < long.length) out.push(long[l++]!);
  return out;
}

export type DocumentCorporaSizes = {
  small: number;
  long: number;
  /** Minimum pages of a manual (each has 1-1.5 times that). */
  longPages: number;
  mixedSmall: number;
  mixedLong: number;
};

/**
 * The documents figure's corpora (and bench/profile-docs.ts's): small, long, and mixed built from
 * its own seeds (no file of it is also in small or long), plus a warm-up set of other seeds.
 */
export async function documentCorpora(
  p: DocumentCorporaSizes,
): Promise<{ small: RealDoc[]; long: RealDoc[]; mixed: RealDoc[]; warm: RealDoc[] }> {
  const long = (count: number, seed: number, longPages = p.longPages) =>
    realCorpus("long", { count, seed, longPages });
  return {
    small: await realCorpus("small", { count: p.small, seed: 1 }),
    long: await long(p.long, 31),
    mixed: interleave(
      await realCorpus("small", { count: p.mixedSmall, seed: 2 }),
      await long(p.mixedLong, 32),
    ),
    warm: [
      ...(await realCorpus("small", { count: p.small > 0 && p.small < 40 ? p.small : 40, seed: 9 })),
      // A manual of the measured size: its upload, chunked job and object-stored final run (and
      // compile) before the measured window, as they would in a swarm that has been running.
      ...(await long(1, 9)),
    ],
  };
}

// node bench/corpora/index.ts <kind> <count> [seed] [dir]: builds a corpus and, with a dir, writes
// its files there (to try `docswarm process` or pdftotext on it).
if (import.meta.main) {
  const [kind = "small", count = "20", seed = "1", dir] = process.argv.slice(2);
  if (!(CORPUS_KINDS as readonly string[]).includes(kind)) throw new Error(`kind: ${CORPUS_KINDS.join("|")}`);
  const started = performance.now();
  const docs = await realCorpus(kind as CorpusKind, { count: Number(count), seed: Number(seed) });
  if (dir) {
    await mkdir(dir, { recursive: true });
    for (const d of docs) await writeFile(`${dir}/${d.name}.pdf`, d.bytes);
  }
  const pages = docs.reduce((n, d) => n + d.pages, 0);
  const bytes = docs.reduce((n, d) => n + d.bytes.length, 0);
  process.stderr.write(
    `${docs.length} ${kind} documents, ${pages} pages, ${(bytes / 1e6).toFixed(1)} MB in ${((performance.now() - started) / 1000).toFixed(1)} s${dir ? ` -> ${dir}` : ""}\n`,
  );
}
