// Finds a nats-server binary new enough for docswarm (per-message TTL, priority groups, batch publish).
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { NatsServerNotFoundError } from "./errors.ts";

export const MIN_NATS_SERVER = { major: 2, minor: 12 } as const;

export type NatsServerBinary = { path: string; version: string };

const projectCopy = fileURLToPath(new URL("../.cache/nats-server/nats-server", import.meta.url));

// Parses "nats-server: v2.15.1" into [2, 15, 1].
export function parseNatsServerVersion(text: string): [number, number, number] | undefined {
  const m = /v(\d+)\.(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

function probe(path: string): NatsServerBinary | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const out = execFileSync(path, ["--version"], { encoding: "utf8", timeout: 5000 }).trim();
    const v = parseNatsServerVersion(out);
    if (!v) return undefined;
    const [major, minor] = v;
    const newEnough =
      major > MIN_NATS_SERVER.major || (major === MIN_NATS_SERVER.major && minor >= MIN_NATS_SERVER.minor);
    return newEnough ? { path, version: v.join(".") } : undefined;
  } catch {
    return undefined;
  }
}

function onPath(name: string): string[] {
  return (process.env.PATH ?? "").split(delimiter).map((dir) => join(dir, name));
}

let cached: NatsServerBinary | undefined;

// Order: DOCSWARM_NATS_SERVER, a new enough nats-server on PATH, the copy `npm install` fetched.
export function findNatsServer(): NatsServerBinary {
  if (cached) return cached;
  const explicit = process.env.DOCSWARM_NATS_SERVER;
  if (explicit) {
    const found = probe(explicit);
    if (!found)
      throw new NatsServerNotFoundError(
        `DOCSWARM_NATS_SERVER='${explicit}' is not a nats-server >= ${MIN_NATS_SERVER.major}.${MIN_NATS_SERVER.minor}`,
      );
    cached = found;
    return found;
  }
  for (const candidate of [...onPath("nats-server"), projectCopy]) {
    const found = probe(candidate);
    if (found) {
      cached = found;
      return found;
    }
  }
  throw new NatsServerNotFoundError(
    `no nats-server >= ${MIN_NATS_SERVER.major}.${MIN_NATS_SERVER.minor} found: run 'npm install' (it fetches one into .cache/), ` +
      "put one on PATH, or set DOCSWARM_NATS_SERVER",
  );
}
