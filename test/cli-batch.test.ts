// `docswarm process` as a batch converter: folders of symbolic links, outputs named after their
// inputs in a mirror of the input tree, plain text with form feeds, and nothing to do said at once.
import { mkdir, readdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import test from "ava";
import { FinalResult } from "../schemas/index.ts";
import { natsServersUnder, runCli, tempDir } from "./support/cli.ts";
import { knownDoc } from "./support/pdf.ts";

type Line = { file: string; docId: string | null; status: string; error?: { code: string }; out?: string };

const parseLines = (stdout: string): Line[] =>
  stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Line);

test("a folder of symbolic links: linked files and folders are processed, a dangling link is reported", async (t) => {
  const tmp = await tempDir(t, "batch-links");
  const store = join(tmp, "store");
  const input = join(tmp, "in");
  const out = join(tmp, "out");
  await mkdir(join(store, "more"), { recursive: true });
  await mkdir(input);
  const x = await knownDoc("links-x", 3);
  const y = await knownDoc("links-y", 2);
  await writeFile(join(store, "x.pdf"), x.bytes);
  await writeFile(join(store, "more", "y.pdf"), y.bytes);
  await symlink(join(store, "x.pdf"), join(input, "report.pdf"));
  await symlink(join(store, "more"), join(input, "linked"));
  await symlink(join(store, "gone.pdf"), join(input, "dangling.pdf"));
  await symlink(input, join(input, "loop")); // a cycle is walked once

  const run = await runCli(
    t,
    ["process", input, "--json", "--out", out, "--format", "json,txt", "--agents", "1"],
    tmp,
  );
  t.is(run.code, 1, `the dangling link is a failure\n${run.stderr}`);
  const lines = parseLines(run.stdout);
  const byFile = new Map(lines.map((l) => [l.file, l]));
  t.is(lines.length, 3, run.stdout);
  t.like(byFile.get(join(input, "report.pdf")), { status: "done", out: join(out, "report.json") });
  t.like(byFile.get(join(input, "linked", "y.pdf")), { status: "done", out: join(out, "linked", "y.json") });
  t.like(byFile.get(join(input, "dangling.pdf")), { status: "failed", error: { code: "FILE_NOT_FOUND" } });

  t.deepEqual((await readdir(out, { recursive: true })).sort(), [
    "linked",
    join("linked", "y.json"),
    join("linked", "y.txt"),
    "report.json",
    "report.txt",
  ]);
  for (const [stem, doc] of [
    ["report", x],
    [join("linked", "y"), y],
  ] as const) {
    const result = FinalResult.parse(JSON.parse(await readFile(join(out, `${stem}.json`), "utf8")));
    t.is(result.docId, byFile.get(result.source!)?.docId ?? "", "the doc id is inside the JSON");
    // Text as pdftotext writes it: each page's text, a line break, a form feed.
    const text = await readFile(join(out, `${stem}.txt`), "utf8");
    const chunks = text.split("\f");
    t.is(chunks.pop(), "", "the last page ends with a form feed too");
    t.is(chunks.length, doc.pages.length, "one form feed per page");
    t.deepEqual(
      chunks,
      result.pages.map((p) => `${p.text.replace(/\n$/, "")}\n`),
    );
  }
});

test("outputs mirror the input tree: two folders with the same file names, --format txt only", async (t) => {
  const tmp = await tempDir(t, "batch-mirror");
  const out = join(tmp, "out");
  const docs = await Promise.all([knownDoc("mirror-a", 1), knownDoc("mirror-b", 2)]);
  for (const [i, name] of ["2024", "2025"].entries()) {
    await mkdir(join(tmp, "archive", name), { recursive: true });
    await writeFile(join(tmp, "archive", name, "report.PDF"), docs[i]!.bytes);
  }
  const run = await runCli(
    t,
    [
      "process",
      join(tmp, "archive", "2024"),
      join(tmp, "archive", "2025"),
      "--format",
      "txt",
      "--out",
      out,
      "--agents",
      "1",
    ],
    tmp,
  );
  t.is(run.code, 0, run.stderr);
  t.deepEqual((await readdir(out, { recursive: true })).sort(), [
    "2024",
    join("2024", "report.txt"),
    "2025",
    join("2025", "report.txt"),
  ]);
  t.regex(run.stdout, new RegExp(`-> ${join(out, "2025", "report.txt")}`));
  const text = await readFile(join(out, "2025", "report.txt"), "utf8");
  t.true(text.startsWith(`Page 1 of ${docs[1]!.docId}`), text.slice(0, 80));
});

test("a folder with no PDFs: 'no PDF files found in …', exit 2, nothing started", async (t) => {
  const tmp = await tempDir(t, "batch-empty");
  const empty = join(tmp, "scans");
  await mkdir(join(empty, "deeper"), { recursive: true });
  await writeFile(join(empty, "notes.txt"), "no PDF here\n");
  const out = join(tmp, "out");
  const run = await runCli(t, ["process", empty, "--out", out], tmp);
  t.is(run.code, 2, run.stderr);
  t.regex(run.stderr, new RegExp(`no PDF files found in ${empty}`));
  t.is(run.stdout, "", "no progress, no summary");
  t.deepEqual(await readdir(tmp), ["scans"], "no output folder, no embedded server's store");
  t.deepEqual(natsServersUnder(tmp), []);
});

test("forty files, four of them copies: each file gets one line and one result, a copy is the same document", async (t) => {
  const tmp = await tempDir(t, "batch-many");
  const input = join(tmp, "in");
  const out = join(tmp, "out");
  await mkdir(input);
  // The copies sort last, so they are submitted after their originals (maybe after those ended).
  const docs = await Promise.all(Array.from({ length: 36 }, (_, i) => knownDoc(`many-${i}`, 1 + (i % 2))));
  await Promise.all(
    docs.map((d, i) => writeFile(join(input, `f${String(i).padStart(2, "0")}.pdf`), d.bytes)),
  );
  for (const [i, copy] of [0, 1, 0, 1].entries())
    await writeFile(join(input, `z-copy${i}.pdf`), docs[copy]!.bytes);

  const run = await runCli(t, ["process", input, "--json", "--out", out, "--agents", "2"], tmp);
  t.is(run.code, 0, run.stderr);
  const lines = parseLines(run.stdout);
  t.is(lines.length, 40, "one line per file");
  t.is(new Set(lines.map((l) => l.file)).size, 40, "no file reported twice");
  t.true(lines.every((l) => l.status === "done"));
  t.is(new Set(lines.map((l) => l.docId)).size, 36, "a copy is the same document");
  const byFile = new Map(lines.map((l) => [l.file, l]));
  t.is(byFile.get(join(input, "z-copy2.pdf"))?.docId, byFile.get(join(input, "f00.pdf"))?.docId);
  t.is((await readdir(out)).length, 40, "a result file per input");
});
