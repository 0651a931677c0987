// pdf.js 6 removed the `isEvalSupported` option together with the font compiler that used eval.
// This guards that for the pdf.js build we ship: hostile PDFs must never reach a code generator.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import test from "ava";

const require = createRequire(import.meta.url);
const BUILD_FILES = ["pdfjs-dist/legacy/build/pdf.mjs", "pdfjs-dist/legacy/build/pdf.worker.mjs"];

// core-js's globalThis polyfill: `... || Function('return this')()`, reached only where globalThis
// is missing (never in Node 24). It compiles a constant, not input.
const ALLOWED_FUNCTION_CALLS = new Set(["Function('return this')"]);

for (const file of BUILD_FILES) {
  test(`${file} contains no eval( and no new Function(`, async (t) => {
    const source = await readFile(require.resolve(file), "utf8");
    t.true(source.length > 100_000, "the build file looks truncated");
    t.false(source.includes("eval("), "eval( found");
    t.false(source.includes("new Function("), "new Function( found");
    t.deepEqual(source.match(/(?<![\w$.])eval\s*\(/g), null, "an eval call (with spacing) found");
    t.deepEqual(source.match(/\bnew\s+Function\s*\(/g), null, "a Function constructor call found");
  });

  test(`${file} calls the Function constructor only in the known globalThis fallback`, async (t) => {
    const source = await readFile(require.resolve(file), "utf8");
    const calls = [...source.matchAll(/(?<![\w$.])Function\s*\([^)]*\)/g)].map((m) => m[0]);
    for (const call of calls) t.true(ALLOWED_FUNCTION_CALLS.has(call), `unexpected ${call}`);
  });
}

test("the pdf.js we ship is version 6 or later (no isEvalSupported code path)", async (t) => {
  const pkg = JSON.parse(await readFile(require.resolve("pdfjs-dist/package.json"), "utf8")) as {
    version: string;
  };
  t.true(Number(pkg.version.split(".")[0]) >= 6, `pdfjs-dist ${pkg.version}`);
});
