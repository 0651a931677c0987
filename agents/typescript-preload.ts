// Agent threads run our TypeScript like the main thread does, but stripping types in a thread loads
// Node's type stripper (a WebAssembly module) into that thread: ~11 MB of RSS per agent, measured
// with `npm run bench` (memory figure). So the host strips the agent's modules once, here, and each
// thread serves them from memory through a module load hook (agents/worker-entry.mjs); a module
// not found here is still loaded (and stripped) the ordinary way.
import { readFileSync } from "node:fs";
import { stripTypeScriptTypes } from "node:module";
import { pathToFileURL } from "node:url";

/** Stripped sources by file URL. */
export type PreloadedSources = Record<string, string>;

// Relative specifiers of .ts modules in static imports/exports and literal dynamic imports.
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*)["'](\.{1,2}\/[^"']+\.ts)["']/g;

const memo = new Map<string, PreloadedSources>();

function strip(code: string): string {
  // The function is marked experimental and says so once per process; the CLI should not.
  const emitWarning = process.emitWarning;
  process.emitWarning = () => {};
  try {
    return stripTypeScriptTypes(code);
  } finally {
    process.emitWarning = emitWarning;
  }
}

/** The stripped sources of `roots` (file URLs or paths of .ts modules) and every .ts module they import. */
export function preloadTypeScript(roots: Array<string | URL>): PreloadedSources {
  const urls = roots
    .map((r) => (r instanceof URL ? r : /^[a-z]+:/.test(r) ? new URL(r) : pathToFileURL(r)))
    .filter((u) => u.protocol === "file:" && u.pathname.endsWith(".ts"))
    .map((u) => u.href);
  const key = urls.join("\n");
  const hit = memo.get(key);
  if (hit) return hit;
  const out: PreloadedSources = {};
  const queue = [...urls];
  try {
    for (let url = queue.pop(); url !== undefined; url = queue.pop()) {
      if (out[url] !== undefined) continue;
      const js = strip(readFileSync(new URL(url), "utf8"));
      out[url] = js;
      for (const m of js.matchAll(IMPORT)) queue.push(new URL(m[1]!, url).href);
    }
  } catch {
    // Unreadable or unstrippable: the threads load everything the ordinary way.
    return {};
  }
  memo.set(key, out);
  return out;
}
