// The repository's import graph, read from the sources (static imports and re-exports, type-only
// ones included, and literal dynamic imports): what the layout test checks against DESIGN.md's
// folder rules and for cycles.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO = fileURLToPath(new URL("../..", import.meta.url));

// dist/: the package build (npm pack); tools/: the repository's toolchain workspace.
const SKIP = new Set([
  "node_modules",
  ".git",
  ".cache",
  "test-artifacts",
  "samples",
  "json",
  "vendor",
  "dist",
  "tools",
]);

/** Every .ts / .mjs file under the repository, as repo-relative paths with forward slashes. */
export function sourceFiles(root = REPO): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      if (SKIP.has(name) || name.startsWith(".")) continue;
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (/\.(ts|mts|mjs)$/.test(name) && !name.endsWith(".d.ts")) out.push(relative(root, path));
    }
  };
  walk(root);
  return out.sort();
}

// Comments out, so an import written in a comment is not one; strings stay (specifiers are strings).
function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
}

const STATIC = /^\s*(?:import|export)\s+(type\s+)?(?:[^;"'`]*?\sfrom\s*)?["']([^"']+)["']/gm;
const DYNAMIC = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

export type ImportEdge = { from: string; to: string; typeOnly: boolean };

/** The relative imports of `file` (repo-relative), resolved to repo-relative paths. */
export function importsOf(file: string, root = REPO): ImportEdge[] {
  const text = stripComments(readFileSync(join(root, file), "utf8"));
  const edges: ImportEdge[] = [];
  const add = (spec: string, typeOnly: boolean) => {
    if (!spec.startsWith(".")) return;
    const to = relative(root, resolve(join(root, dirname(file)), spec));
    edges.push({ from: file, to, typeOnly });
  };
  for (const m of text.matchAll(STATIC)) add(m[2]!, Boolean(m[1]));
  for (const m of text.matchAll(DYNAMIC)) add(m[1]!, false);
  return edges;
}

/** The graph of every source file's relative imports. */
export function importGraph(root = REPO): Map<string, ImportEdge[]> {
  return new Map(sourceFiles(root).map((f) => [f, importsOf(f, root)]));
}

/**
 * Import cycles (each as the files around it, first file repeated at the end), found by a depth-first
 * search that reports every back edge once.
 */
export function findCycles(graph: Map<string, ImportEdge[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, "open");
    stack.push(file);
    for (const { to } of graph.get(file) ?? []) {
      if (!graph.has(to)) continue;
      const s = state.get(to);
      if (s === "open") cycles.push([...stack.slice(stack.indexOf(to)), to]);
      else if (s === undefined) visit(to);
    }
    stack.pop();
    state.set(file, "done");
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return cycles;
}
