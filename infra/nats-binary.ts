// Finds a nats-server binary new enough for docswarm (per-message TTL, priority groups, batch
// publish), and fetches the pinned release into the user's cache when there is none: never at
// install time (a dependency's install script), only when an embedded server is first needed or
// when `docswarm server install` asks for it.
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { NatsServerNotFoundError } from "./errors.ts";
import { downloadNatsServer } from "./nats-download.ts";

export const MIN_NATS_SERVER = { major: 2, minor: 12 } as const;
/** The release fetched when no nats-server is found: the one the project is tested with. */
export const NATS_SERVER_RELEASE = "2.15.1";

export type NatsServerBinary = {
  path: string;
  version: string;
  /** How it was found. */
  source: "DOCSWARM_NATS_SERVER" | "PATH" | "repository" | "cache";
};

const exe = process.platform === "win32" ? "nats-server.exe" : "nats-server";
// What this repository's `npm ci` fetches (infra/get-nats-server.sh); absent in an installed package.
const repositoryCopy = fileURLToPath(new URL("../.cache/nats-server/nats-server", import.meta.url));

/** docswarm's cache folder: DOCSWARM_CACHE_DIR, else the platform's per-user cache. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.DOCSWARM_CACHE_DIR) return env.DOCSWARM_CACHE_DIR;
  if (process.platform === "darwin") return join(homedir(), "Library", "Caches", "docswarm");
  if (process.platform === "win32")
    return join(env.LOCALAPPDATA ?? join(homedir(), "AppData", "Local"), "docswarm", "Cache");
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "docswarm");
}

/** Where the fetched release lives. */
export function cachedNatsServerPath(version = NATS_SERVER_RELEASE): string {
  return join(cacheDir(), "nats-server", `v${version}`, exe);
}

// Parses "nats-server: v2.15.1" into [2, 15, 1].
export function parseNatsServerVersion(text: string): [number, number, number] | undefined {
  const m = /v(\d+)\.(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function probe(path: string, source: NatsServerBinary["source"]): NatsServerBinary | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const out = execFileSync(path, ["--version"], { encoding: "utf8", timeout: 5000 }).trim();
    const v = parseNatsServerVersion(out);
    if (!v) return undefined;
    const [major, minor] = v;
    const newEnough =
      major > MIN_NATS_SERVER.major || (major === MIN_NATS_SERVER.major && minor >= MIN_NATS_SERVER.minor);
    return newEnough ? { path, version: v.join("."), source } : undefined;
  } catch {
    return undefined;
  }
}

function onPath(): string[] {
  return (process.env.PATH ?? "").split(delimiter).map((dir) => join(dir, exe));
}

const MIN_TEXT = `${MIN_NATS_SERVER.major}.${MIN_NATS_SERVER.minor}`;

/**
 * The nats-server to run, without fetching: DOCSWARM_NATS_SERVER (which must then be good), a new
 * enough one on PATH, this repository's copy, the fetched release in the cache.
 */
export function findNatsServer(): NatsServerBinary {
  // Every embedded server start asks; the answer stands while the environment does.
  const key = `${process.env.DOCSWARM_NATS_SERVER}\0${process.env.PATH}\0${cacheDir()}`;
  if (found?.key === key && existsSync(found.binary.path)) return found.binary;
  const binary = search();
  found = { key, binary };
  return binary;
}

let found: { key: string; binary: NatsServerBinary } | undefined;

function search(): NatsServerBinary {
  const explicit = process.env.DOCSWARM_NATS_SERVER;
  if (explicit) {
    const found = probe(explicit, "DOCSWARM_NATS_SERVER");
    if (!found)
      throw new NatsServerNotFoundError(
        `DOCSWARM_NATS_SERVER='${explicit}' is not a nats-server >= ${MIN_TEXT}`,
      );
    return found;
  }
  const candidates: Array<[string, NatsServerBinary["source"]]> = [
    ...onPath().map((p): [string, NatsServerBinary["source"]] => [p, "PATH"]),
    [repositoryCopy, "repository"],
    [cachedNatsServerPath(), "cache"],
  ];
  for (const [path, source] of candidates) {
    const found = probe(path, source);
    if (found) return found;
  }
  throw new NatsServerNotFoundError(
    `no nats-server >= ${MIN_TEXT} found: run 'docswarm server install', put one on PATH, or set DOCSWARM_NATS_SERVER`,
  );
}

export type EnsureOptions = {
  /** Fetch into the cache even when one is found elsewhere. */
  force?: boolean;
  /** Progress lines of a fetch (default: stderr). */
  onProgress?: (message: string) => void;
};

let fetching: Promise<NatsServerBinary> | undefined;

/**
 * findNatsServer(), or else the pinned release fetched into the cache (unless DOCSWARM_NATS_DOWNLOAD=0).
 * DOCSWARM_NATS_DOWNLOAD_URL names a mirror laid out as the releases are (`v<version>/<archive>`,
 * `v<version>/SHA256SUMS`).
 */
export async function ensureNatsServer(options: EnsureOptions = {}): Promise<NatsServerBinary> {
  if (!options.force) {
    try {
      return findNatsServer();
    } catch (err) {
      if (process.env.DOCSWARM_NATS_SERVER || process.env.DOCSWARM_NATS_DOWNLOAD === "0") throw err;
    }
  }
  fetching ??= (async () => {
    const dest = cachedNatsServerPath();
    const say = options.onProgress ?? ((m: string) => process.stderr.write(`docswarm: ${m}\n`));
    await downloadNatsServer({ version: NATS_SERVER_RELEASE, dest, onProgress: say });
    const found = probe(dest, "cache");
    if (!found)
      throw new NatsServerNotFoundError(`the fetched ${dest} does not run as a nats-server >= ${MIN_TEXT}`);
    return found;
  })().finally(() => {
    fetching = undefined;
  });
  return fetching;
}
