// Writes schemas/json/<Name>.schema.json from the zod schemas (npm run schemas). The files are
// committed; test/json-schema.test.ts fails when they are stale.
import { mkdir, writeFile } from "node:fs/promises";
import { JSON_SCHEMA_CATALOG, jsonSchemas } from "../schemas/index.ts";

export const JSON_SCHEMA_DIR = new URL("../schemas/json/", import.meta.url);

export function renderJsonSchemas(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, doc] of Object.entries(jsonSchemas())) {
    out.set(`${name}.schema.json`, `${JSON.stringify(doc, null, 2)}\n`);
  }
  return out;
}

if (import.meta.main) {
  await mkdir(JSON_SCHEMA_DIR, { recursive: true });
  for (const [file, text] of renderJsonSchemas()) await writeFile(new URL(file, JSON_SCHEMA_DIR), text);
  console.log(`wrote ${JSON_SCHEMA_CATALOG.length} JSON Schemas to schemas/json/`);
}
