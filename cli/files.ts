// Expands the paths given on the command line: folders to the PDFs inside them (recursively),
// files as given (a file that is not a PDF still gets its clear failure), missing paths reported.
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";

export type InputFile = { file: string } | { file: string; missing: true };

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (e.isFile() && /\.pdf$/i.test(e.name)) out.push(p);
  }
}

export async function expandInputs(paths: string[]): Promise<InputFile[]> {
  const out: InputFile[] = [];
  for (const p of paths) {
    const s = await stat(p).catch(() => undefined);
    if (!s) out.push({ file: p, missing: true });
    else if (s.isDirectory()) {
      const found: string[] = [];
      await walk(p, found);
      for (const file of found) out.push({ file });
    } else out.push({ file: p });
  }
  return out;
}
