// Expands the paths given on the command line: folders to the PDFs inside them (recursively,
// following symbolic links to files and folders), files as given (a file that is not a PDF still
// gets its clear failure), missing paths and dangling links reported, folders without PDFs named.
import { readdir, realpath, stat } from "node:fs/promises";
import { join, resolve } from "node:path";

export type InputFile = {
  file: string;
  /** The argument (a folder, or the file itself) the file was found through. */
  root: string;
  /** Whether `root` is a folder. */
  rootIsDir: boolean;
};
export type MissingInput = { file: string; reason: string };

export type ExpandedInputs = {
  files: InputFile[];
  missing: MissingInput[];
  /** Folders given on the command line in which no PDF was found. */
  empty: string[];
};

const isPdfName = (name: string) => /\.pdf$/i.test(name);

async function walk(dir: string, root: string, seen: Set<string>, out: ExpandedInputs): Promise<void> {
  // A link back up the tree (or two links to one folder) is walked once.
  const real = await realpath(dir);
  if (seen.has(real)) return;
  seen.add(real);
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, root, seen, out);
    else if (e.isFile()) {
      if (isPdfName(e.name)) out.files.push({ file: p, root, rootIsDir: true });
    } else if (e.isSymbolicLink()) {
      const target = await stat(p).catch(() => undefined);
      if (target?.isDirectory()) await walk(p, root, seen, out);
      else if (isPdfName(e.name)) {
        if (target?.isFile()) out.files.push({ file: p, root, rootIsDir: true });
        else out.missing.push({ file: p, reason: `dangling symbolic link: ${p}` });
      }
    }
  }
}

export async function expandInputs(paths: string[]): Promise<ExpandedInputs> {
  const out: ExpandedInputs = { files: [], missing: [], empty: [] };
  for (const p of paths) {
    const s = await stat(p).catch(() => undefined);
    if (!s) out.missing.push({ file: p, reason: `no such file or folder: ${p}` });
    else if (s.isDirectory()) {
      const before = out.files.length;
      await walk(p, p, new Set(), out);
      if (out.files.length === before) out.empty.push(p);
    } else out.files.push({ file: p, root: p, rootIsDir: false });
  }
  // The same file named twice (`docs docs/a.pdf`) is one input; two links to one file are two.
  const unique = new Map<string, InputFile>();
  for (const f of out.files) if (!unique.has(resolve(f.file))) unique.set(resolve(f.file), f);
  out.files = [...unique.values()];
  return out;
}
