// Bad input ends in a `failed` final result with a stable code and a clear message, at once, and
// does not hold up good documents submitted with it.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import test, { type ExecutionContext } from "ava";
import { ClientError } from "../client/index.ts";
import type { ErrorCode } from "../schemas/index.ts";
import { assertDone, assertFailed } from "./support/assert.ts";
import { runCli, tempDir } from "./support/cli.ts";
import { knownDoc, uniqueId } from "./support/pdf.ts";
import { startSwarm } from "./support/server.ts";

const TIMEOUT_MS = 60_000;
const ENCRYPTED_FIXTURE = new URL("./fixtures/encrypted.pdf", import.meta.url);

/** Submits `bad` and a good document together; the bad one fails with `code`, the good one completes. */
async function failsWhileGoodCompletes(
  t: ExecutionContext,
  name: string,
  bad: Uint8Array,
  code: ErrorCode,
  message: RegExp,
): Promise<void> {
  const swarm = await startSwarm(t, { agents: 2 });
  const good = await knownDoc(`bad-${name}-good`, 20);
  const badId = uniqueId(`bad-${name}`);
  await Promise.all([
    swarm.client.submit(bad, { docId: badId, source: `${name}.pdf` }),
    swarm.client.submit(good.bytes, { docId: good.docId }),
  ]);
  const [badResult, goodResult] = await Promise.all([
    swarm.client.result(badId, { timeoutMs: TIMEOUT_MS }),
    swarm.client.result(good.docId, { timeoutMs: TIMEOUT_MS }),
  ]);
  const r = assertFailed(t, badResult, badId, code, message);
  t.is(r.source, `${name}.pdf`, "the failure names the document");
  t.is(r.pageCount, 0);
  assertDone(t, goodResult, good);
}

test("an empty file fails with PDF_EMPTY", async (t) => {
  await failsWhileGoodCompletes(t, "empty", new Uint8Array(), "PDF_EMPTY", /empty/i);
});

test("a text file fails with PDF_INVALID", async (t) => {
  const text = new TextEncoder().encode("Dear reader,\nthis is plain text, not a PDF.\n");
  await failsWhileGoodCompletes(t, "text", text, "PDF_INVALID", /not a PDF/i);
});

test("the first half of a PDF fails with PDF_TRUNCATED", async (t) => {
  const { bytes } = await knownDoc("bad-truncated-src", 6);
  const half = bytes.slice(0, Math.floor(bytes.length / 2));
  await failsWhileGoodCompletes(t, "truncated", half, "PDF_TRUNCATED", /truncated/i);
});

test("an encrypted PDF without its password fails with PDF_PASSWORD_REQUIRED", async (t) => {
  // Made once with qpdf (see fixtures/README.md): AES-256, user password "user-pw".
  const encrypted = new Uint8Array(await readFile(ENCRYPTED_FIXTURE));
  await failsWhileGoodCompletes(t, "encrypted", encrypted, "PDF_PASSWORD_REQUIRED", /needs a password/i);
});

test("the client refuses a missing path with FILE_NOT_FOUND before submitting", async (t) => {
  const swarm = await startSwarm(t, { agents: 1 });
  const dir = await tempDir(t, "missing");
  const error = await t.throwsAsync(swarm.client.submit(join(dir, "nowhere.pdf")), {
    instanceOf: ClientError,
  });
  t.is(error?.code, "FILE_NOT_FOUND");
  t.regex(error?.message ?? "", /nowhere\.pdf/);
  const submit = await swarm.jsm.streams.info("DOCSWARM_SUBMIT");
  t.is(submit.state.messages, 0, "nothing was submitted");
});

test("the CLI reports a missing path as FILE_NOT_FOUND without submitting, next to a good file", async (t) => {
  const dir = await tempDir(t, "cli-missing");
  const good = await knownDoc("bad-cli-good", 3);
  const goodPath = join(dir, "good.pdf");
  await writeFile(goodPath, good.bytes);
  const missing = join(dir, "does-not-exist.pdf");
  const out = join(dir, "out");
  const run = await runCli(t, ["process", missing, goodPath, "--json", "--agents", "1", "--out", out], dir);
  t.is(run.code, 1, run.stderr);
  const lines = run.stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const missingLine = lines.find((l) => l.file === missing);
  t.like(missingLine, { docId: null, status: "failed", pageCount: 0, error: { code: "FILE_NOT_FOUND" } });
  t.regex((missingLine?.error as { message?: string } | undefined)?.message ?? "", /does-not-exist\.pdf/);
  t.like(
    lines.find((l) => l.file === goodPath),
    { status: "done", pageCount: 3 },
  );
});
