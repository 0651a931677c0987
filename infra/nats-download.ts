// Fetches a nats-server release into the user's cache: the archive for this platform and the
// release's SHA256SUMS, the archive checked against it, the binary unpacked with the system's tar
// and moved into place in one rename (two processes fetching at once both end with a whole file).
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { NatsDownloadError } from "./errors.ts";

/** Where releases are published; DOCSWARM_NATS_DOWNLOAD_URL names a mirror with the same layout. */
export const NATS_RELEASES_URL = "https://github.com/nats-io/nats-server/releases/download";

const GO_OS: Partial<Record<NodeJS.Platform, string>> = {
  linux: "linux",
  darwin: "darwin",
  win32: "windows",
  freebsd: "freebsd",
};
const GO_ARCH: Record<string, string> = {
  x64: "amd64",
  arm64: "arm64",
  ia32: "386",
  s390x: "s390x",
  ppc64: "ppc64le",
  riscv64: "riscv64",
  loong64: "loong64",
  mips64el: "mips64le",
};

export type ReleaseAsset = { name: string; dir: string; binary: string };

/** The release archive for a platform, as nats-server's release names them. */
export function releaseAsset(
  version: string,
  platform: NodeJS.Platform = process.platform,
  arch: string = process.arch,
): ReleaseAsset {
  const os = GO_OS[platform];
  const armVersion = Number((process.config.variables as { arm_version?: string }).arm_version ?? 7);
  const goArch = arch === "arm" ? (armVersion <= 6 ? "arm6" : "arm7") : GO_ARCH[arch];
  if (!os || !goArch) throw new NatsDownloadError(`nats-server publishes no build for ${platform}-${arch}`);
  const dir = `nats-server-v${version}-${os}-${goArch}`;
  const windows = platform === "win32";
  return {
    name: `${dir}.${windows ? "zip" : "tar.gz"}`,
    dir,
    binary: windows ? "nats-server.exe" : "nats-server",
  };
}

async function get(url: string): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(120_000), redirect: "follow" });
  } catch (err) {
    throw new NatsDownloadError(`cannot fetch ${url}: ${(err as Error).message}`, {
      cause: err,
      retryable: true,
    });
  }
  if (!res.ok)
    throw new NatsDownloadError(`cannot fetch ${url}: HTTP ${res.status}`, {
      retryable: res.status >= 500 || res.status === 429,
    });
  return new Uint8Array(await res.arrayBuffer());
}

/** The checksum SHA256SUMS lists for `name` (lines of `<hex>  <file>`). */
export function checksumFor(sums: string, name: string): string | undefined {
  for (const line of sums.split("\n")) {
    const [hash, file] = line.trim().split(/\s+\*?/);
    if (file === name && hash && /^[0-9a-f]{64}$/i.test(hash)) return hash.toLowerCase();
  }
  return undefined;
}

export type DownloadOptions = {
  version: string;
  /** Where the binary goes. */
  dest: string;
  baseUrl?: string;
  onProgress?: (message: string) => void;
};

/** Downloads, verifies and installs the release's binary at `dest`; returns `dest`. */
export async function downloadNatsServer(options: DownloadOptions): Promise<string> {
  const base = (options.baseUrl ?? process.env.DOCSWARM_NATS_DOWNLOAD_URL ?? NATS_RELEASES_URL).replace(
    /\/+$/,
    "",
  );
  const asset = releaseAsset(options.version);
  const release = `${base}/v${options.version}`;
  options.onProgress?.(
    `fetching nats-server v${options.version} (${asset.name}) into ${dirname(options.dest)}`,
  );
  const sums = new TextDecoder().decode(await get(`${release}/SHA256SUMS`));
  const expected = checksumFor(sums, asset.name);
  if (!expected) throw new NatsDownloadError(`${release}/SHA256SUMS lists no ${asset.name}`);
  const archive = await get(`${release}/${asset.name}`);
  const actual = createHash("sha256").update(archive).digest("hex");
  if (actual !== expected)
    throw new NatsDownloadError(
      `${asset.name}: SHA-256 is ${actual}, SHA256SUMS says ${expected}; not installed`,
    );

  await mkdir(dirname(options.dest), { recursive: true });
  const work = await mkdtemp(join(dirname(options.dest), ".fetch-"));
  try {
    const file = join(work, asset.name);
    await writeFile(file, archive);
    const flags = asset.name.endsWith(".zip") ? "-xf" : "-xzf";
    await promisify(execFile)("tar", [flags, file, "-C", work]).catch((err: Error) => {
      throw new NatsDownloadError(`cannot unpack ${asset.name} with tar: ${err.message}`, { cause: err });
    });
    const binary = join(work, asset.dir, asset.binary);
    await chmod(binary, 0o755).catch((err: Error) => {
      throw new NatsDownloadError(`${asset.name} holds no ${asset.dir}/${asset.binary}`, { cause: err });
    });
    await rename(binary, options.dest);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  options.onProgress?.(`installed nats-server v${options.version} at ${options.dest}`);
  return options.dest;
}
