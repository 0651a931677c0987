// One error vocabulary: every error class of the product lives in its folder's errors.ts, carries a
// `code` and `retryable`, and its code is listed (the wire's ErrorCode, or its folder's
// *_ERROR_CODES, each code in one list only).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import test from "ava";
import { ClientError } from "../client/index.ts";
import { ERROR_CODES } from "../schemas/index.ts";
import { REPO, sourceFiles } from "./support/imports.ts";

const PRODUCT = [
  "agents",
  "client",
  "cli",
  "coordinator",
  "dashboard",
  "infra",
  "jobs",
  "observability",
  "schemas",
  "streams",
  "swarm",
];

/** Error classes not yet moved into their folder's errors.ts. */
const NOT_YET_IN_ERRORS_TS: string[] = [];

type ErrorClass = { file: string; name: string; body: string };

function errorClasses(): ErrorClass[] {
  const out: ErrorClass[] = [];
  for (const file of sourceFiles()) {
    if (!PRODUCT.includes(file.split("/")[0]!)) continue;
    const text = readFileSync(join(REPO, file), "utf8");
    for (const m of text.matchAll(/^export class (\w+) extends \w*Error\b[^{]*\{([\s\S]*?)^\}/gm))
      out.push({ file, name: m[1]!, body: m[2]! });
  }
  return out;
}

async function folderCodes(folder: string): Promise<string[]> {
  const mod = (await import(`../${folder}/errors.ts`)) as Record<string, unknown>;
  return Object.entries(mod)
    .filter(([k, v]) => k.endsWith("_ERROR_CODES") && Array.isArray(v))
    .flatMap(([, v]) => v as string[]);
}

const classes = errorClasses();

test("the error classes were found", (t) => {
  const names = classes.map((c) => c.name);
  for (const n of [
    "StageError",
    "ClientError",
    "NoStreamError",
    "NotLeaderError",
    "UsageError",
    "EmbeddedServerError",
  ])
    t.true(names.includes(n), n);
});

test("every error class lives in its folder's errors.ts", (t) => {
  const astray = classes
    .filter((c) => !c.file.endsWith("/errors.ts"))
    .map((c) => `${c.file} ${c.name}`)
    .filter((c) => !NOT_YET_IN_ERRORS_TS.includes(c));
  t.deepEqual(astray, []);
  const gone = NOT_YET_IN_ERRORS_TS.filter((c) => !classes.some((k) => `${k.file} ${k.name}` === c));
  t.deepEqual(gone, [], "moved: remove them from NOT_YET_IN_ERRORS_TS");
});

test("every error class has a code and says whether it is retryable", (t) => {
  for (const c of classes) {
    t.regex(c.body, /readonly code\b/, `${c.name} has a code`);
    if (!NOT_YET_IN_ERRORS_TS.includes(`${c.file} ${c.name}`))
      t.regex(c.body, /readonly retryable\b/, `${c.name} says whether trying again may succeed`);
  }
});

test("every fixed code is listed, and by one list only", async (t) => {
  const wire = new Set<string>(ERROR_CODES);
  const listedBy = new Map<string, string>();
  for (const folder of new Set(
    classes.filter((c) => c.file.endsWith("/errors.ts")).map((c) => c.file.split("/")[0]!),
  )) {
    for (const code of await folderCodes(folder)) {
      t.false(wire.has(code), `${folder} lists ${code}, a wire ErrorCode`);
      t.is(listedBy.get(code) ?? folder, folder, `${code} listed by ${listedBy.get(code)} and ${folder}`);
      listedBy.set(code, folder);
    }
  }
  for (const c of classes) {
    const fixed = /readonly code = "([A-Z_]+)"/.exec(c.body)?.[1];
    if (fixed) t.true(wire.has(fixed) || listedBy.has(fixed), `${c.name}: ${fixed} is listed`);
  }
});

test("a client error is retryable when waiting can help", (t) => {
  t.true(new ClientError("TIMEOUT", "no result yet").retryable);
  t.true(new ClientError("SWARM_FULL", "full").retryable);
  t.false(new ClientError("HEADER_INVALID", "bad header").retryable);
  t.false(new ClientError("NOT_FOUND", "no such entry").retryable);
});
