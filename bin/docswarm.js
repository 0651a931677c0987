#!/usr/bin/env node
// The `docswarm` command. An installed package runs its build (dist/); this repository, which
// ships no build, runs its TypeScript sources. Plain JavaScript with no imports of ours, so that
// an old Node gets a clear message instead of a syntax error.
import { existsSync } from "node:fs";

const MIN = [22, 16];
const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
if (major < MIN[0] || (major === MIN[0] && minor < MIN[1])) {
  process.stderr.write(`docswarm needs Node.js ${MIN.join(".")} or newer; this is ${process.version}\n`);
  process.exit(1);
}
const source = new URL("../cli/docswarm.ts", import.meta.url);
await import(existsSync(source) ? source.href : "../dist/cli/docswarm.js");
