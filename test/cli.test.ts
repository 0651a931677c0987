// `docswarm process` as a user runs it: a folder of PDFs (one of them not a PDF) and a missing
// path, JSON lines on stdout, one result file per document named after it, the exit code,
// nothing left running.
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import test from "ava";
import { FinalResult } from "../schemas/index.ts";
import { assertDone } from "./support/assert.ts";
import { natsServersUnder, runCli, tempDir } from "./support/cli.ts";
import { knownDoc } from "./support/pdf.ts";

type Line = {
  file: string;
  docId: string | null;
  status: "done" | "failed";
  pageCount: number;
  error?: { code: string; message: string };
  out?: string;
};

function sha32(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex").slice(0, 32);
}

function parseLines(stdout: string): Line[] {
  return stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Line);
}

test("process <dir> --json: done, PDF_INVALID and FILE_NOT_FOUND lines, result files, exit 1", async (t) => {
  const tmp = await tempDir(t, "cli");
  const input = join(tmp, "in");
  const out = join(tmp, "out");
  await mkdir(join(input, "nested"), { recursive: true });
  const a = await knownDoc("cli-a", 3);
  const b = await knownDoc("cli-b", 18);
  const badBytes = new TextEncoder().encode(`not a pdf ${a.docId}\n`);
  const files = {
    a: join(input, "a.pdf"),
    b: join(input, "nested", "b.pdf"),
    bad: join(input, "bad.pdf"),
    missing: join(tmp, "missing.pdf"),
  };
  await writeFile(files.a, a.bytes);
  await writeFile(files.b, b.bytes);
  await writeFile(files.bad, badBytes);
  await writeFile(join(input, "notes.txt"), "not picked up: folders expand to their PDFs\n");

  const run = await runCli(
    t,
    ["process", input, files.missing, "--json", "--out", out, "--agents", "2"],
    tmp,
  );
  t.is(run.code, 1, `a failure is present\n${run.stderr}`);
  const lines = parseLines(run.stdout);
  t.deepEqual(lines.map((l) => l.file).sort(), Object.values(files).sort());
  const byFile = new Map(lines.map((l) => [l.file, l]));

  const expectations = [
    { file: files.a, doc: a, out: join(out, "a.json") },
    { file: files.b, doc: b, out: join(out, "nested", "b.json") },
  ];
  for (const { file, doc, out } of expectations) {
    const line = byFile.get(file)!;
    t.like(line, { docId: sha32(doc.bytes), status: "done", pageCount: doc.pages.length });
    t.is(line.error, undefined);
    t.is(line.out, out);
  }
  t.like(byFile.get(files.bad), { docId: sha32(badBytes), status: "failed", error: { code: "PDF_INVALID" } });
  t.like(byFile.get(files.missing), { docId: null, status: "failed", error: { code: "FILE_NOT_FOUND" } });
  t.regex(byFile.get(files.missing)!.error!.message, /missing\.pdf/);

  // One result file per submitted document, named after it (the input tree mirrored), each a
  // valid FinalResult with the doc id inside.
  const written = (await readdir(out, { recursive: true })).sort();
  t.deepEqual(written, ["a.json", "bad.json", "nested", join("nested", "b.json")]);
  for (const { file, doc, out } of expectations) {
    const json = JSON.parse(await readFile(out, "utf8")) as unknown;
    const r = assertDone(t, json, doc, sha32(doc.bytes));
    t.is(r.source, file);
  }
  const bad = FinalResult.parse(JSON.parse(await readFile(join(out, "bad.json"), "utf8")));
  t.is(bad.status, "failed");
  t.is(bad.error?.code, "PDF_INVALID");
  t.is(bad.source, files.bad);

  t.deepEqual(natsServersUnder(tmp), [], "the CLI left no nats-server running");
  t.deepEqual(
    (await readdir(tmp)).filter((d) => d.startsWith("docswarm-nats-")),
    [],
    "the embedded server's temp dir is removed",
  );
});

test("process with only good files exits 0", async (t) => {
  const tmp = await tempDir(t, "cli-good");
  const out = join(tmp, "out");
  const docs = await Promise.all([knownDoc("cli-good1", 1), knownDoc("cli-good2", 5)]);
  const paths = docs.map((_, i) => join(tmp, `good-${i}.pdf`));
  await Promise.all(docs.map((d, i) => writeFile(paths[i]!, d.bytes)));

  const run = await runCli(t, ["process", ...paths, "--json", "--out", out, "--agents", "2"], tmp);
  t.is(run.code, 0, run.stderr);
  const lines = parseLines(run.stdout);
  t.is(lines.length, 2);
  for (const [i, d] of docs.entries()) {
    t.like(
      lines.find((l) => l.file === paths[i]),
      { status: "done", docId: sha32(d.bytes), pageCount: d.pages.length },
    );
  }
  t.is((await readdir(out)).length, 2);
  t.deepEqual(natsServersUnder(tmp), [], "the CLI left no nats-server running");
});
