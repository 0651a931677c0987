// A local stand-in for nats-server's release downloads (no internet here): the repository's
// nats-server packed as the release archive for this platform, with a SHA256SUMS, served on
// loopback in the releases' layout (`/v<version>/<archive>`, `/v<version>/SHA256SUMS`).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { findNatsServer, NATS_SERVER_RELEASE, releaseAsset } from "../../infra/index.ts";

export type Mirror = { url: string; requests: string[]; close(): Promise<void> };

export async function startReleaseMirror(
  dir: string,
  options: { corruptChecksum?: boolean } = {},
): Promise<Mirror> {
  const asset = releaseAsset(NATS_SERVER_RELEASE);
  const staging = join(dir, "staging", asset.dir);
  await mkdir(staging, { recursive: true });
  await copyFile(findNatsServer().path, join(staging, asset.binary));
  await writeFile(join(staging, "README.md"), "nats-server\n");
  const release = join(dir, `v${NATS_SERVER_RELEASE}`);
  await mkdir(release, { recursive: true });
  execFileSync("tar", ["-czf", join(release, asset.name), "-C", join(dir, "staging"), asset.dir]);
  const sha = createHash("sha256")
    .update(await readFile(join(release, asset.name)))
    .digest("hex");
  const listed = options.corruptChecksum ? sha.replace(/^./, (c) => (c === "0" ? "1" : "0")) : sha;
  await writeFile(join(release, "SHA256SUMS"), `${"0".repeat(64)}  other.tar.gz\n${listed}  ${asset.name}\n`);

  const requests: string[] = [];
  const server = createServer((req, res) => {
    requests.push(req.url ?? "");
    readFile(join(dir, decodeURIComponent(req.url ?? "/")))
      .then((body) => res.end(body))
      .catch(() => {
        res.statusCode = 404;
        res.end();
      });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
