// The nats-server of the embedded mode fetched into the user's cache: `docswarm server install`
// downloads the release archive, checks it against SHA256SUMS and installs the binary; a
// checksum that does not match installs nothing. (The first-use fetch, with no nats-server
// anywhere, runs in test/package.test.ts, from an installed package.)
import { existsSync } from "node:fs";
import { join } from "node:path";
import test from "ava";
import { checksumFor, NATS_SERVER_RELEASE, releaseAsset } from "../infra/index.ts";
import { runCliWithEnv, tempDir } from "./support/cli.ts";
import { startReleaseMirror } from "./support/nats-mirror.ts";

test("release archive names follow nats-server's releases", (t) => {
  t.is(releaseAsset("2.15.1", "linux", "x64").name, "nats-server-v2.15.1-linux-amd64.tar.gz");
  t.is(releaseAsset("2.15.1", "darwin", "arm64").name, "nats-server-v2.15.1-darwin-arm64.tar.gz");
  t.deepEqual(releaseAsset("2.15.1", "win32", "x64"), {
    name: "nats-server-v2.15.1-windows-amd64.zip",
    dir: "nats-server-v2.15.1-windows-amd64",
    binary: "nats-server.exe",
  });
  t.throws(() => releaseAsset("2.15.1", "aix", "ppc64"), { message: /no build for aix/ });
  const sums = `${"a".repeat(64)}  x.tar.gz\n${"b".repeat(64)} *y.zip\n`;
  t.is(checksumFor(sums, "y.zip"), "b".repeat(64));
  t.is(checksumFor(sums, "z.zip"), undefined);
});

test("docswarm server install fetches, verifies and caches the release", async (t) => {
  const tmp = await tempDir(t, "nats-fetch");
  const mirror = await startReleaseMirror(join(tmp, "mirror"));
  t.teardown(() => mirror.close());
  const cache = join(tmp, "cache");
  const env = { DOCSWARM_CACHE_DIR: cache, DOCSWARM_NATS_DOWNLOAD_URL: mirror.url };
  const installed = await runCliWithEnv(["server", "install", "--force"], env);
  t.is(installed.code, 0, installed.stderr);
  const binary = join(cache, "nats-server", `v${NATS_SERVER_RELEASE}`, "nats-server");
  t.regex(installed.stdout, new RegExp(`nats-server v${NATS_SERVER_RELEASE} at ${binary} \\(fetched`));
  t.regex(installed.stderr, /fetching nats-server/, "the fetch says what it does");
  t.deepEqual(mirror.requests, [
    `/v${NATS_SERVER_RELEASE}/SHA256SUMS`,
    `/v${NATS_SERVER_RELEASE}/${releaseAsset(NATS_SERVER_RELEASE).name}`,
  ]);
  t.true(existsSync(binary));
});

test("a release whose checksum does not match SHA256SUMS is not installed", async (t) => {
  const tmp = await tempDir(t, "nats-fetch-bad");
  const mirror = await startReleaseMirror(join(tmp, "mirror"), { corruptChecksum: true });
  t.teardown(() => mirror.close());
  const cache = join(tmp, "cache");
  const run = await runCliWithEnv(["server", "install", "--force"], {
    DOCSWARM_CACHE_DIR: cache,
    DOCSWARM_NATS_DOWNLOAD_URL: mirror.url,
  });
  t.is(run.code, 1);
  t.regex(
    run.stderr,
    /NATS_SERVER_DOWNLOAD_FAILED: .*SHA-256 is [0-9a-f]{64}, SHA256SUMS says [0-9a-f]{64}; not installed/,
  );
  t.false(existsSync(join(cache, "nats-server", `v${NATS_SERVER_RELEASE}`, "nats-server")));
});
