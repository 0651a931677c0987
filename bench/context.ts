// What every figure gets: the NATS server, the cleanups, a log, the profile, and the bench stages.
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import type { AgentHostOptions } from "../agents/index.ts";
import type { BenchNats, Cleanups } from "./lifecycle.ts";
import type { Profile } from "./profile.ts";

export type BenchContext = {
  nats: BenchNats;
  cleanups: Cleanups;
  profile: Profile;
  cores: number;
  log: (line: string) => void;
};

export const STAGES = {
  noop: { name: "bench-noop", path: fileURLToPath(new URL("./stages/noop.ts", import.meta.url)) },
  sleep: { name: "bench-sleep", path: fileURLToPath(new URL("./stages/sleep.ts", import.meta.url)) },
} as const;

export function coreCount(): number {
  return availableParallelism();
}

/** One line of the results table: a figure, what it is compared with, and the goal. */
export type Figure = {
  key: string;
  figure: string;
  value: number;
  unit: string;
  reference?: { label: string; value: number; unit: string };
  /** value ÷ reference (or as defined by the figure's note). */
  ratio?: number;
  goal?: { label: string; met: boolean };
  seedBar?: string;
  note?: string;
};

/** Warnings and errors of an agent host into the bench's log (a crash or timeout shows up there). */
export function hostLog(ctx: BenchContext): AgentHostOptions["onLog"] {
  return (level, msg, fields) => {
    if (level === "warn" || level === "error")
      ctx.log(`agents: ${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  };
}
