// docswarm process --engine and --password-file: the engine every page names, the password that
// opens an encrypted document, and a clear usage error for an unknown engine.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import test from "ava";
import { FinalResult } from "../schemas/index.ts";
import { runCli, tempDir } from "./support/cli.ts";

test("process --engine pdfjs --password-file reads an encrypted document with pdf.js", async (t) => {
  const dir = await tempDir(t, "cli-engine");
  await writeFile(
    join(dir, "locked.pdf"),
    await readFile(new URL("./fixtures/encrypted.pdf", import.meta.url)),
  );
  await writeFile(join(dir, "pw.txt"), "user-pw\n");
  const out = join(dir, "out");
  const r = await runCli(
    t,
    [
      "process",
      join(dir, "locked.pdf"),
      "--engine",
      "pdfjs",
      "--password-file",
      join(dir, "pw.txt"),
      "--out",
      out,
      "--agents",
      "1",
    ],
    dir,
  );
  t.is(r.code, 0, r.stderr);
  const result = FinalResult.parse(JSON.parse(await readFile(join(out, "locked.json"), "utf8")));
  t.is(result.status, "done");
  t.deepEqual(
    result.pages.map((p) => p.engine),
    ["pdfjs"],
  );
  t.regex(result.pages[0]!.text, /Page 1 of encrypted-fixture/);
});

test("process --engine with an unknown engine is a usage error", async (t) => {
  const dir = await tempDir(t, "cli-engine-bad");
  const r = await runCli(t, ["process", dir, "--engine", "mupdf"], dir);
  t.is(r.code, 2);
  t.regex(r.stderr, /--engine must be one of pdfium, pdfjs/);
});
