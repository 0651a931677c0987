// `npm run docs`: the API reference in docs/api/, made by TypeDoc (typedoc.json) from the package's
// entry points: index.ts (docswarm), stage.ts (docswarm/stage), schemas/index.ts (docswarm/schemas).
// TypeDoc reads the sources with the TypeScript 6 of tools/ (its own peer; it has no TypeScript 7
// support yet); its warnings (a broken {@link}, a bad tag) are errors.
// The files are committed; test/api-docs.test.ts fails when they are stale.
import { execFile } from "node:child_process";
import { rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

export const API_DOCS_DIR = fileURLToPath(new URL("../docs/api/", import.meta.url));
const root = fileURLToPath(new URL("..", import.meta.url));
const typedoc = fileURLToPath(new URL("../tools/node_modules/typedoc/bin/typedoc", import.meta.url));

/** Writes the reference into `outDir` (emptied first). */
export async function renderApiDocs(outDir: string): Promise<void> {
  await rm(outDir, { recursive: true, force: true });
  await promisify(execFile)(process.execPath, [typedoc, "--out", outDir, "--logLevel", "Warn"], {
    cwd: root,
    maxBuffer: 16 * 1024 * 1024,
  }).catch((err: { stdout?: string; stderr?: string; message: string }) => {
    const out = `${err.stdout ?? ""}${err.stderr ?? ""}`.trim() || err.message;
    throw new Error(`typedoc failed:\n${out}`);
  });
}

if (import.meta.main) {
  await renderApiDocs(API_DOCS_DIR);
  console.log("wrote the API reference to docs/api/");
}
