// The engines, side by side (issue 12): text fidelity against poppler's pdftotext, and pages/s with
// CPU per document in a bare pool of as many threads as cores. Fidelity is the share of documents
// whose non-whitespace character count is within 15 % of pdftotext's, for each engine alone and for
// the default chain (engine + fallback), on the fidelity corpus (CJK, RTL, combining marks, repaired
// files, passwords, a broken page) and on the bench's realistic corpora (bench/corpora/).
import { spawnSync } from "node:child_process";
import { chooseEngine, ENGINE_BY_NAME } from "../../agents/index.ts";
import type { PdfEngine } from "../../agents/pdf/engine.ts";
import { extractPages } from "../../agents/pdf/extract-pages.ts";
import { DEFAULT_ENGINE, ENGINES, type EngineName, ProcessingConfig } from "../../schemas/index.ts";
import { BarePool } from "../bare-pool.ts";
import type { BenchContext, Figure } from "../context.ts";
import { fidelityCorpus } from "../corpora/fidelity.ts";
import { type RealDoc, realCorpus } from "../corpora/index.ts";
import { CpuWindow, load } from "../cpu.ts";
import { round } from "../stats.ts";

type Doc = { name: string; corpus: string; bytes: Uint8Array; pages: number; password?: string };
const TOLERANCE = 0.15;
const nonWhitespace = (s: string) => s.replace(/\s/g, "").length;

/** pdftotext's character count, or undefined when poppler cannot read it (then it does not count). */
function oracle(doc: Doc): number | undefined {
  const args = ["-q", ...(doc.password ? ["-upw", doc.password] : []), "-", "-"];
  const r = spawnSync("pdftotext", args, { input: doc.bytes, encoding: "utf8", maxBuffer: 1 << 30 });
  return r.status === 0 ? nonWhitespace(r.stdout) : undefined;
}

async function characters(engine: PdfEngine, doc: Doc): Promise<number> {
  try {
    const opened = await engine.open(doc.bytes, doc.password ? { password: doc.password } : {});
    try {
      const { pages } = await extractPages(opened, { firstPage: 1, lastPage: opened.pageCount });
      return pages.reduce((n, p) => n + nonWhitespace(p.text), 0);
    } finally {
      await opened.close();
    }
  } catch {
    return 0;
  }
}

const within = (n: number, ref: number) => (ref === 0 ? n <= 10 : Math.abs(n - ref) / ref <= TOLERANCE);

export type EngineFidelity = {
  reader: string;
  corpus: string;
  docs: number;
  within: number;
  misses: string[];
};
export type EngineSpeed = {
  engine: EngineName;
  corpus: string;
  docs: number;
  pages: number;
  pagesPerSec: number;
  cpuMsPerDoc: number;
  load: string;
};

async function corpora(ctx: BenchContext): Promise<Record<string, Doc[]>> {
  const p = ctx.profile.engines;
  const real = (docs: RealDoc[], corpus: string) => docs.map((d) => ({ ...d, corpus }));
  const fidelity = (await fidelityCorpus()).map((d) => ({
    name: d.name,
    corpus: "fidelity",
    bytes: d.bytes,
    pages: 0,
    ...(d.password && { password: d.password }),
  }));
  return {
    fidelity,
    small: real(await realCorpus("small", { count: p.small, seed: 12 }), "small"),
    long: real(await realCorpus("long", { count: p.long, seed: 12, longPages: p.longPages }), "long"),
    cjk: real(await realCorpus("cjk", { count: p.cjk, seed: 12 }), "cjk"),
  };
}

export async function engineFigures(
  ctx: BenchContext,
): Promise<{ figures: Figure[]; fidelity: EngineFidelity[]; speed: EngineSpeed[] }> {
  const figures: Figure[] = [];
  const fidelity: EngineFidelity[] = [];
  const speed: EngineSpeed[] = [];
  const sets = await corpora(ctx);
  const hasPoppler = spawnSync("pdftotext", ["-v"]).status === 0;
  if (!hasPoppler)
    ctx.log("engines: pdftotext missing (bash scripts/debian-packages.sh): no fidelity figure");
  else {
    const version = spawnSync("pdftotext", ["-v"], { encoding: "utf8" }).stderr ?? "";
    ctx.log(`engines: fidelity oracle ${version.trim().split("\n")[0] ?? "pdftotext"}`);
    const readers: Record<string, PdfEngine> = {
      ...Object.fromEntries(ENGINES.map((e) => [e, ENGINE_BY_NAME[e]])),
      [`${DEFAULT_ENGINE}+fallback`]: chooseEngine(),
    };
    const refs = new Map<Doc, number | undefined>();
    for (const docs of Object.values(sets)) for (const d of docs) refs.set(d, oracle(d));
    for (const [reader, engine] of Object.entries(readers)) {
      let all = 0;
      let ok = 0;
      for (const [corpus, docs] of Object.entries(sets)) {
        const row: EngineFidelity = { reader, corpus, docs: 0, within: 0, misses: [] };
        for (const d of docs) {
          const ref = refs.get(d);
          if (ref === undefined) continue;
          const n = await characters(engine, d);
          row.docs++;
          if (within(n, ref)) row.within++;
          else row.misses.push(`${d.name} (${n} vs ${ref})`);
        }
        fidelity.push(row);
        all += row.docs;
        ok += row.within;
        ctx.log(
          `engines: ${reader} on ${corpus}: ${row.within}/${row.docs} within 15 %${row.misses.length ? `; misses ${row.misses.join(", ")}` : ""}`,
        );
      }
      figures.push({
        key: `fidelity.${reader}`,
        figure: `text fidelity, ${reader}: documents within 15 % of pdftotext's characters`,
        value: round((100 * ok) / Math.max(1, all), 1),
        unit: "%",
        goal: { label: "≥ 98 %", met: ok / Math.max(1, all) >= 0.98 },
        note: `${ok}/${all} documents: fidelity, small, long, CJK corpora`,
      });
    }
  }
  const processing = ProcessingConfig.parse({});
  for (const engine of ENGINES) {
    const pool = new BarePool(ctx.cores, { engine });
    try {
      for (const corpus of ["small", "long"] as const) {
        const docs = sets[corpus]!;
        await pool.run(docs.slice(0, Math.min(docs.length, 8)), processing, { wholeFiles: true }); // warm
        const l = load();
        const cpu = new CpuWindow(undefined);
        const r = await pool.run(docs, processing, { wholeFiles: true });
        const used = cpu.end();
        const pages = docs.reduce((n, d) => n + d.pages, 0);
        const s: EngineSpeed = {
          engine,
          corpus,
          docs: docs.length,
          pages,
          pagesPerSec: round((pages / r.ms) * 1000, 0),
          cpuMsPerDoc: round((used.processCores * used.wallMs) / docs.length, 2),
          load: l,
        };
        speed.push(s);
        ctx.log(
          `engines: ${engine} ${corpus}: ${s.pagesPerSec} pages/s, ${s.cpuMsPerDoc} CPU ms/doc (load ${l})`,
        );
        figures.push({
          key: `engine.${engine}.${corpus}`,
          figure: `${engine}, ${corpus} documents, bare pool of ${ctx.cores} threads`,
          value: s.pagesPerSec,
          unit: "pages/s",
          note: `${s.cpuMsPerDoc} CPU ms per document; ${docs.length} documents, ${pages} pages; load ${l}`,
        });
      }
    } finally {
      await pool.close();
    }
  }
  for (const corpus of ["small", "long"]) {
    const [a, b] = ENGINES.map((e) => speed.find((s) => s.engine === e && s.corpus === corpus)!);
    figures.push({
      key: `engine.ratio.${corpus}`,
      figure: `${a!.engine} ÷ ${b!.engine} pages/s, ${corpus} documents (same run)`,
      value: round(a!.pagesPerSec / b!.pagesPerSec, 2),
      unit: "×",
    });
  }
  return { figures, fidelity, speed };
}
