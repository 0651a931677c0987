// Structured logs (pino): one JSON object per line on stderr with the fields that tie a line to the
// work (docId, taskId, agentId) and, inside a traced span, traceId and spanId. DOCSWARM_LOG_LEVEL
// sets the level; on a terminal the lines are printed readably instead.
import { pino } from "pino";
import { LOG_LEVELS, type LogFn, type LogLevel } from "./log.ts";
import { activeTraceIds } from "./tracing.ts";

export type LoggerOptions = {
  /** Used when DOCSWARM_LOG_LEVEL is unset or not a level. */
  defaultLevel?: LogLevel;
  /** Where lines go (default stderr). */
  destination?: { write(line: string): unknown };
  /** Readable lines instead of JSON (default: stderr is a terminal). */
  pretty?: boolean;
  /** Fields on every line (role, hostId, ...). */
  base?: Record<string, unknown>;
  env?: NodeJS.ProcessEnv;
};

export function logLevelFromEnv(defaultLevel: LogLevel, env: NodeJS.ProcessEnv = process.env): LogLevel {
  const v = env.DOCSWARM_LOG_LEVEL?.trim().toLowerCase();
  return (LOG_LEVELS as readonly string[]).includes(v ?? "") ? (v as LogLevel) : defaultLevel;
}

export function createLogger(options: LoggerOptions = {}): LogFn {
  const level = logLevelFromEnv(options.defaultLevel ?? "info", options.env);
  const pretty = options.pretty ?? process.stderr.isTTY === true;
  const out = options.destination ?? stderrDestination();
  const logger = pino(
    {
      level,
      base: { pid: process.pid, ...options.base },
      formatters: { level: (label) => ({ level: label }) },
      // Lines written inside a traced span carry its ids, so logs and traces join up.
      mixin: () => activeTraceIds() ?? {},
    },
    pretty ? prettyStream(out) : out,
  );
  return (lvl, msg, fields) => logger[lvl](fields ?? {}, msg);
}

/** Stderr, synchronously; a write that fails (the terminal closed: EIO) is dropped, not thrown. */
function stderrDestination(): ReturnType<typeof pino.destination> {
  const dest = pino.destination({ dest: 2, sync: true });
  dest.on("error", () => {});
  return dest;
}

const COLORS: Record<string, string> = {
  debug: "\x1b[90m",
  info: "\x1b[36m",
  warn: "\x1b[33m",
  error: "\x1b[31m",
};
const HIDDEN = new Set(["level", "time", "msg", "pid", "hostname"]);

/** Formats pino's JSON lines as `12:00:01.234 info  message  key=value ...`. */
export function formatLogLine(line: string, color: boolean): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const time = new Date(typeof o.time === "number" ? o.time : Date.now()).toISOString().slice(11, 23);
  const level = String(o.level ?? "info");
  const fields = Object.entries(o)
    .filter(([k]) => !HIDDEN.has(k))
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
  const lv = color ? `${COLORS[level] ?? ""}${level.padEnd(5)}\x1b[0m` : level.padEnd(5);
  return `${time} ${lv} ${String(o.msg ?? "")}${fields ? `  ${fields}` : ""}\n`;
}

function prettyStream(out: { write(line: string): unknown }): { write(line: string): void } {
  const color = out === undefined || process.stderr.isTTY === true;
  return {
    write(chunk: string) {
      for (const line of chunk.split("\n")) if (line) out.write(formatLogLine(line, color));
    },
  };
}
