// The outputs of a run: the environment it ran in, a markdown table of every figure with its
// reference, ratio and goal, the summary object for --json, and an SVG chart of scaling efficiency.
import { execFileSync } from "node:child_process";
import { cpus, loadavg, release, totalmem } from "node:os";
import type { Figure } from "./context.ts";
import type { ScalingPoint } from "./figures/scaling.ts";
import { round } from "./stats.ts";

export type Environment = {
  date: string;
  profile: string;
  machine: { cpu: string; cores: number; memoryGb: number; os: string };
  versions: {
    node: string;
    natsServer: string;
    docswarm: string;
    pdfjs: string;
    pdfium?: string;
    nats: string;
  };
  nats: "embedded" | "NATS_URL";
  load: { start: number[]; end: number[] };
  durationS: number;
};

function git(args: string[]): string {
  try {
    return execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "unknown";
  }
}

/** The code being measured, read at the start of a run (before the run writes its own outputs). */
export function codeVersion(): string {
  // The bench's own outputs (README's table, bench/results) do not count as changed code.
  const dirty =
    git(["status", "--porcelain", "--untracked-files=no", "--", ".", ":!README.md", ":!bench/results"]) !==
    "";
  return `${git(["rev-parse", "--short", "HEAD"])}${dirty ? "+changes" : ""}`;
}

export function environment(init: {
  profile: string;
  natsServer: string;
  embedded: boolean;
  loadStart: number[];
  startedAt: Date;
  docswarm: string;
  packages: { pdfjs: string; pdfium?: string; nats: string };
}): Environment {
  return {
    date: init.startedAt.toISOString(),
    profile: init.profile,
    machine: {
      cpu: cpus()[0]?.model ?? "unknown",
      cores: cpus().length,
      memoryGb: round(totalmem() / 1024 ** 3),
      os: `${process.platform} ${release()}`,
    },
    versions: {
      node: process.version,
      natsServer: init.natsServer,
      docswarm: init.docswarm,
      pdfjs: init.packages.pdfjs,
      ...(init.packages.pdfium && { pdfium: init.packages.pdfium }),
      nats: init.packages.nats,
    },
    nats: init.embedded ? "embedded" : "NATS_URL",
    load: { start: init.loadStart, end: loadavg() },
    durationS: round((Date.now() - init.startedAt.getTime()) / 1000),
  };
}

/** The keys `--json` must always carry (NaN when a figure was not run). */
export function summary(figures: Figure[]): Record<string, number> {
  const by = new Map(figures.map((f) => [f.key, f]));
  const v = (key: string) => by.get(key)?.value ?? Number.NaN;
  const n = by.get("pagesPerSecN");
  const out: Record<string, number> = {
    efficiency: n?.ratio ?? Number.NaN,
    pagesPerSec: n?.value ?? Number.NaN,
    barePagesPerSec: n?.reference?.value ?? Number.NaN,
    overheadMsP50: v("overheadMsP50"),
    overheadMsP99: v("overheadMsP99"),
    noopTasksPerSec: v("noopTasksPerSec"),
    scalingEfficiency64: v("scalingEfficiency64"),
    mbPerAgent: v("mbPerAgent"),
    recoveryMsMax: v("recoveryMsMax"),
    cpuUtilisation: v("cpuUtilisation"),
    smallDocEfficiency: by.get("smallDocPagesPerSec")?.ratio ?? Number.NaN,
    longDocEfficiency: by.get("longDocPagesPerSec")?.ratio ?? Number.NaN,
    mixedEfficiency: by.get("mixedDocPagesPerSec")?.ratio ?? Number.NaN,
    cpuMsPerDoc: v("cpuMsPerDoc"),
    bareCpuMsPerDoc: v("bareCpuMsPerDoc"),
  };
  for (const f of figures) if (!(f.key in out)) out[f.key] = f.value;
  return out;
}

function fmt(v: number | undefined, unit = ""): string {
  if (v === undefined || Number.isNaN(v)) return "–";
  const s = Math.abs(v) >= 1000 ? Math.round(v).toLocaleString("en-US") : String(round(v));
  return unit ? `${s} ${unit}` : s;
}

export function markdownTable(env: Environment, figures: Figure[]): string {
  const l1 = env.load.start.map((x) => x.toFixed(2)).join(" ");
  const l2 = env.load.end.map((x) => x.toFixed(2)).join(" ");
  const lines = [
    `Profile \`${env.profile}\`, ${env.date}: ${env.machine.cores} × ${env.machine.cpu}, ` +
      `${env.machine.memoryGb} GB, ${env.machine.os}; Node ${env.versions.node}, nats-server ` +
      `${env.versions.natsServer} (${env.nats}), pdfjs-dist ${env.versions.pdfjs}, ` +
      `${env.versions.pdfium ? `@embedpdf/pdfium ${env.versions.pdfium}, ` : ""}docswarm ${env.versions.docswarm}. ` +
      `Load average (1, 5, 15 min) ${l1} at the start, ${l2} at the end; ${env.durationS} s.`,
    "",
    "| figure | docswarm | reference | ratio | goal | met | seed's bar |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const f of figures) {
    const ref = f.reference ? `${fmt(f.reference.value, f.reference.unit)} (${f.reference.label})` : "–";
    const met = f.goal ? (f.goal.met ? "yes" : "**no**") : "–";
    lines.push(
      `| ${f.figure} | ${fmt(f.value, f.unit)} | ${ref} | ${fmt(f.ratio)} | ${f.goal?.label ?? "–"} | ${met} | ${f.seedBar ?? "–"} |`,
    );
  }
  lines.push("", "Notes:", "");
  for (const f of figures) if (f.note) lines.push(`- **${f.figure}**: ${f.note}`);
  return `${lines.join("\n")}\n`;
}

/** A line chart of scaling efficiency against agents (log2 axis), with the 90 % goal. */
export function scalingSvg(points: ScalingPoint[], title: string): string {
  const W = 640;
  const H = 360;
  const m = { l: 56, r: 24, t: 40, b: 48 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const maxAgents = Math.max(2, ...points.map((p) => p.agents));
  const lx = (a: number) => m.l + (Math.log2(a) / Math.log2(maxAgents)) * pw;
  const ly = (e: number) => m.t + (1 - Math.min(1.05, Math.max(0, e)) / 1.05) * ph;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
  ];
  for (const e of [0, 0.2, 0.4, 0.6, 0.8, 1]) {
    out.push(
      `<line x1="${m.l}" x2="${W - m.r}" y1="${ly(e)}" y2="${ly(e)}" stroke="#e5e5e5"/>`,
      `<text x="${m.l - 8}" y="${ly(e) + 4}" text-anchor="end">${Math.round(e * 100)} %</text>`,
    );
  }
  for (let a = 1; a <= maxAgents; a *= 2) {
    out.push(`<text x="${lx(a)}" y="${H - m.b + 18}" text-anchor="middle">${a}</text>`);
  }
  out.push(
    `<text x="${m.l + pw / 2}" y="${H - 10}" text-anchor="middle">agents (one slot each)</text>`,
    `<text x="16" y="${m.t + ph / 2}" text-anchor="middle" transform="rotate(-90 16 ${m.t + ph / 2})">throughput ÷ ideal</text>`,
    `<line x1="${m.l}" x2="${W - m.r}" y1="${ly(0.9)}" y2="${ly(0.9)}" stroke="#c0392b" stroke-dasharray="6 4"/>`,
    `<text x="${W - m.r}" y="${ly(0.9) - 6}" text-anchor="end" fill="#c0392b">goal 90 %</text>`,
    `<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${m.t + ph}" stroke="#333"/>`,
    `<line x1="${m.l}" x2="${W - m.r}" y1="${m.t + ph}" y2="${m.t + ph}" stroke="#333"/>`,
  );
  const path = points.map(
    (p, i) => `${i === 0 ? "M" : "L"}${lx(p.agents).toFixed(1)},${ly(p.efficiency).toFixed(1)}`,
  );
  out.push(`<path d="${path.join(" ")}" fill="none" stroke="#2c6fbb" stroke-width="2"/>`);
  for (const p of points) {
    out.push(
      `<circle cx="${lx(p.agents).toFixed(1)}" cy="${ly(p.efficiency).toFixed(1)}" r="4" fill="#2c6fbb"/>`,
      `<text x="${lx(p.agents).toFixed(1)}" y="${(ly(p.efficiency) - 10).toFixed(1)}" text-anchor="middle">${(100 * p.efficiency).toFixed(0)} %</text>`,
    );
  }
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}
