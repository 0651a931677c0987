// Headless Chromium (Debian's `chromium` package) driven by playwright-core; nothing downloads a
// browser. Returns undefined, with the reason, when no Chromium is installed.
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ExecutionContext } from "ava";
import { type BrowserContext, chromium } from "playwright-core";

export const CHROMIUM_PATH = process.env.DOCSWARM_CHROMIUM ?? "/usr/bin/chromium";

export async function launchChromium(t: ExecutionContext): Promise<BrowserContext | { missing: string }> {
  if (!existsSync(CHROMIUM_PATH)) {
    return {
      missing:
        `no Chromium at ${CHROMIUM_PATH}: install Debian's package (apt-get install -y chromium; .ci/run does) ` +
        "or point DOCSWARM_CHROMIUM at a Chromium binary",
    };
  }
  const profile = await mkdtemp(join(tmpdir(), "docswarm-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
    viewport: { width: 1400, height: 1000 },
  });
  t.teardown(async () => {
    await context.close().catch(() => {});
    await rm(profile, { recursive: true, force: true });
  });
  return context;
}
