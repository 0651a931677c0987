// The JSON Schemas in schemas/json/ are generated from the zod schemas; stale files fail here.
import { readdir, readFile } from "node:fs/promises";
import test from "ava";
import { JSON_SCHEMA_DIR, renderJsonSchemas } from "../scripts/gen-json-schema.ts";

test("committed JSON Schemas match the zod schemas (run `npm run schemas` after changing schemas/)", async (t) => {
  const expected = renderJsonSchemas();
  const committed = (await readdir(JSON_SCHEMA_DIR)).filter((f) => f.endsWith(".schema.json")).sort();
  t.deepEqual(committed, [...expected.keys()].sort(), "the set of schema files differs");
  for (const [file, text] of expected) {
    t.is(await readFile(new URL(file, JSON_SCHEMA_DIR), "utf8"), text, `${file} is stale`);
  }
});

test("every JSON Schema is draft 2020-12 and names its $id", (t) => {
  for (const [file, text] of renderJsonSchemas()) {
    const doc = JSON.parse(text) as { $schema?: string; $id?: string };
    t.is(doc.$schema, "https://json-schema.org/draft/2020-12/schema", file);
    t.true(doc.$id?.endsWith(file), file);
  }
});
