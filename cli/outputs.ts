// Where `docswarm process` writes a document's result: named after its input (report.pdf ->
// report.json), the input tree mirrored under --out, as JSON (the whole FinalResult, doc id
// included) and/or plain text (pages separated by form feeds, as pdftotext writes them).
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import type { FinalResult, OutputFormat } from "../schemas/index.ts";
import type { InputFile } from "./files.ts";

/** The deepest folder that holds every argument: folders count as themselves, files as their folder. */
function commonFolder(folders: string[]): string {
  const split = folders.map((f) => f.split(sep));
  const first = split[0] ?? [];
  let n = first.length;
  for (const parts of split) {
    let i = 0;
    while (i < n && i < parts.length && parts[i] === first[i]) i++;
    n = i;
  }
  return first.slice(0, n).join(sep) || sep;
}

/**
 * Output paths without extension, by input file: the input's path relative to the common folder
 * of the arguments, under `outDir`, `.pdf` dropped. Names that would collide (`a.pdf` and `a.PDF`)
 * get `-2`, `-3`, ...
 */
export function outputStems(files: InputFile[], outDir: string): Map<string, string> {
  const base = commonFolder(files.map((f) => (f.rootIsDir ? resolve(f.root) : dirname(resolve(f.root)))));
  const taken = new Set<string>();
  const stems = new Map<string, string>();
  for (const f of files) {
    const stem = join(outDir, relative(base, resolve(f.file)).replace(/\.pdf$/i, ""));
    let unique = stem;
    for (let n = 2; taken.has(unique.toLowerCase()); n++) unique = `${stem}-${n}`;
    taken.add(unique.toLowerCase());
    stems.set(f.file, unique);
  }
  return stems;
}

/** The document's text as pdftotext prints it: every page ends with a line break and a form feed. */
export function resultText(final: FinalResult): string {
  return final.pages.map((p) => `${p.text}${p.text === "" || p.text.endsWith("\n") ? "" : "\n"}\f`).join("");
}

/**
 * Writes the result in each format (text only for documents that are done); returns the paths.
 * `made` holds the folders this run has created already: a mkdir per document cost the CLI's main
 * thread more than writing the file.
 */
export async function writeOutputs(
  final: FinalResult,
  stem: string,
  formats: readonly OutputFormat[],
  made: Set<string> = new Set(),
): Promise<string[]> {
  const dir = dirname(stem);
  if (!made.has(dir)) {
    await mkdir(dir, { recursive: true });
    made.add(dir);
  }
  const written: string[] = [];
  for (const format of formats) {
    if (format === "txt" && final.status !== "done") continue;
    const path = `${stem}.${format}`;
    await writeFile(path, format === "json" ? `${JSON.stringify(final, null, 2)}\n` : resultText(final));
    written.push(path);
  }
  return written;
}
