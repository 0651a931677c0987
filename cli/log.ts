// A small leveled logger for the CLI: JSON lines, or readable lines on a terminal.
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof LEVELS;

export type LogFn = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

export function createLogger(defaultLevel: LogLevel = "info"): LogFn {
  const env = process.env.DOCSWARM_LOG_LEVEL as LogLevel | undefined;
  const min = LEVELS[env && env in LEVELS ? env : defaultLevel];
  const pretty = process.stderr.isTTY;
  return (level, msg, fields) => {
    if (LEVELS[level] < min) return;
    if (pretty) {
      const extra = fields && Object.keys(fields).length ? ` ${JSON.stringify(fields)}` : "";
      process.stderr.write(`${new Date().toISOString().slice(11, 23)} ${level.padEnd(5)} ${msg}${extra}\n`);
    } else {
      process.stderr.write(`${JSON.stringify({ time: Date.now(), level, msg, ...fields })}\n`);
    }
  };
}
