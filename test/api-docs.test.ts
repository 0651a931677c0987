// The committed API reference (docs/api/) is what TypeDoc makes of the current sources, and
// TypeDoc finds nothing wrong (every type a public signature names is exported).
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import test from "ava";
import { API_DOCS_DIR, renderApiDocs } from "../scripts/api-docs.ts";
import { tempDir } from "./support/cli.ts";

const files = async (dir: string) =>
  (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length).replace(/^\//, ""))
    .sort();

test("docs/api is current: run `npm run docs` after changing the public API", async (t) => {
  const out = join(await tempDir(t, "api-docs"), "api");
  await renderApiDocs(out);
  const expected = await files(out);
  t.deepEqual(await files(API_DOCS_DIR), expected, "the same pages");
  for (const f of expected) {
    t.is(
      await readFile(join(API_DOCS_DIR, f), "utf8"),
      await readFile(join(out, f), "utf8"),
      `${f} is stale`,
    );
  }
});
