// Summarises V8 .cpuprofile files (node --cpu-prof writes one per thread): where the samples went,
// by package / folder and by function. Usage: node bench/profile-summary.ts <dir or files> [--top N]
//   [--from S --to S]: only samples in that window, in CLOCK_MONOTONIC seconds (profile-docs --marks
//   prints its measured window so; V8 stamps samples with the same clock)
import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";

type Node = {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
};
type Profile = { nodes: Node[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };

/** What a script URL belongs to: a package, a docswarm folder, node itself, or a V8 pseudo-frame. */
export function area(url: string, fn: string): string {
  if (!url) return fn.startsWith("(") ? fn : "(native)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith("node:")) return "node:internal";
  const own = /\/(schemas|streams|agents|coordinator|client|swarm|bench|infra|cli)\//.exec(url);
  return own ? `docswarm/${own[1]}` : url;
}

/** Inclusive time of docswarm's own functions (each sample counted once per function on its stack). */
function inclusiveOwn(p: Profile, byId: Map<number, Node>): Array<[string, number]> {
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const out = new Map<string, number>();
  p.samples.forEach((id, i) => {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur)!.callFrame;
      if (!f.url || f.url.includes("node_modules") || /^(node|wasm):/.test(f.url)) continue;
      const key = `${f.functionName || "(anonymous)"} ${f.url.replace(/^.*\/(?=[^/]+\/[^/]+$)/, "")}:${f.lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.set(key, (out.get(key) ?? 0) + (p.timeDeltas[i] ?? 0));
    }
  });
  return [...out].sort((x, y) => y[1] - x[1]);
}

/** Keeps only the samples taken between `fromS` and `toS` (monotonic seconds). */
function windowed(p: Profile, fromS: number, toS: number): Profile {
  const samples: number[] = [];
  const timeDeltas: number[] = [];
  let t = p.startTime;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    t += dt;
    if (t >= fromS * 1e6 && t <= toS * 1e6) {
      samples.push(id);
      timeDeltas.push(dt);
    }
  });
  return { ...p, samples, timeDeltas };
}

export async function summarise(
  file: string,
  top: number,
  window?: { fromS: number; toS: number },
): Promise<string> {
  const read = JSON.parse(await readFile(file, "utf8")) as Profile;
  const p = window ? windowed(read, window.fromS, window.toS) : read;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const areas = new Map<string, number>();
  const fns = new Map<string, number>();
  for (const [id, us] of self) {
    const n = byId.get(id)!;
    const a = area(n.callFrame.url, n.callFrame.functionName);
    areas.set(a, (areas.get(a) ?? 0) + us);
    const short = n.callFrame.url.replace(/^.*\/(node_modules\/)?/, "");
    const key = `${n.callFrame.functionName || "(anonymous)"} ${short}:${n.callFrame.lineNumber + 1}`;
    fns.set(key, (fns.get(key) ?? 0) + us);
  }
  const idle = areas.get("(idle)") ?? 0;
  const busy = total - idle;
  const pct = (us: number) =>
    `${(us / 1000).toFixed(0).padStart(6)} ms ${((100 * us) / busy).toFixed(1).padStart(5)} %`;
  const lines = [
    `${file}: ${(total / 1000).toFixed(0)} ms sampled, ${(busy / 1000).toFixed(0)} ms busy (percentages of busy)`,
  ];
  areas.delete("(idle)");
  fns.delete("(idle) :0");
  for (const [a, us] of [...areas].sort((x, y) => y[1] - x[1]).slice(0, top))
    lines.push(`  ${pct(us)}  ${a}`);
  lines.push("  top functions (self):");
  for (const [f, us] of [...fns].sort((x, y) => y[1] - x[1]).slice(0, top)) lines.push(`  ${pct(us)}  ${f}`);
  lines.push("  docswarm functions (inclusive):");
  for (const [f, us] of inclusiveOwn(p, byId).slice(0, top)) lines.push(`  ${pct(us)}  ${f}`);
  return lines.join("\n");
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: "string", default: "15" }, from: { type: "string" }, to: { type: "string" } },
  });
  for (const arg of positionals) {
    const files = (await stat(arg)).isDirectory()
      ? (await readdir(arg)).filter((f) => f.endsWith(".cpuprofile")).map((f) => join(arg, f))
      : [arg];
    const window =
      values.from !== undefined && values.to !== undefined
        ? { fromS: Number(values.from), toS: Number(values.to) }
        : undefined;
    for (const f of files.sort())
      process.stdout.write(`${await summarise(f, Number(values.top), window)}\n\n`);
  }
}
