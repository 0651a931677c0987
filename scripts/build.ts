// `npm run build` (run by prepack): the package's JavaScript and declarations in dist/, plus the
// files tsc does not emit (the agent threads' JavaScript entry, the dashboard's assets). The
// repository itself never needs it: it runs its TypeScript sources.
import { execFileSync } from "node:child_process";
import { cp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const tsc = join(dirname(createRequire(import.meta.url).resolve("typescript/package.json")), "bin", "tsc");

export async function build(): Promise<void> {
  await rm(`${root}/dist`, { recursive: true, force: true });
  execFileSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
  await cp(`${root}/agents/worker-entry.mjs`, `${root}/dist/agents/worker-entry.mjs`);
  await cp(`${root}/dashboard/assets`, `${root}/dist/dashboard/assets`, { recursive: true });
}

if (import.meta.main) {
  await build();
  console.log("built dist/");
}
