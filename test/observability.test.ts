// Unit checks of the observability helpers: structured logs and their level, readable lines on a
// terminal, when tracing turns on, and how events read in `docswarm watch`.
import test from "ava";
import { createLogger, describeEvent, formatLogLine, isTracingConfigured } from "../observability/index.ts";

function capture() {
  const lines: string[] = [];
  return { lines, destination: { write: (s: string) => lines.push(...s.split("\n").filter(Boolean)) } };
}

test("logs are JSON lines with their fields, filtered by DOCSWARM_LOG_LEVEL", (t) => {
  const out = capture();
  const log = createLogger({
    destination: out.destination,
    pretty: false,
    env: { DOCSWARM_LOG_LEVEL: "warn" },
    base: { role: "agent" },
  });
  log("info", "dropped below the level");
  log("warn", "task exceeded its time limit", { agentId: "h-a0", taskId: "d.1.extract.0", docId: "d" });
  t.is(out.lines.length, 1);
  const line = JSON.parse(out.lines[0]!) as Record<string, unknown>;
  t.like(line, {
    level: "warn",
    msg: "task exceeded its time limit",
    agentId: "h-a0",
    taskId: "d.1.extract.0",
    docId: "d",
    role: "agent",
    pid: process.pid,
  });
  t.is(typeof line.time, "number");
});

test("an unknown DOCSWARM_LOG_LEVEL falls back to the command's default", (t) => {
  const out = capture();
  const log = createLogger({
    destination: out.destination,
    pretty: false,
    defaultLevel: "info",
    env: { DOCSWARM_LOG_LEVEL: "loud" },
  });
  log("debug", "no");
  log("info", "yes");
  t.deepEqual(
    out.lines.map((l) => (JSON.parse(l) as { msg: string }).msg),
    ["yes"],
  );
});

test("on a terminal the same line reads as time, level, message and fields", (t) => {
  const text = formatLogLine(
    JSON.stringify({
      level: "info",
      time: Date.UTC(2026, 0, 1, 12, 0, 1, 234),
      msg: "agent host started",
      pid: 1,
      hostId: "h",
    }),
    false,
  );
  t.is(text, "12:00:01.234 info  agent host started  hostId=h\n");
});

test("tracing is on only when an OTLP endpoint is set and nothing disables it", (t) => {
  t.false(isTracingConfigured({}));
  t.true(isTracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" }));
  t.true(isTracingConfigured({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://127.0.0.1:4318/v1/traces" }));
  t.false(isTracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://x:4318", OTEL_SDK_DISABLED: "true" }));
  t.false(
    isTracingConfigured({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://x:4318", OTEL_TRACES_EXPORTER: "none" }),
  );
});

test("events read as one line each", (t) => {
  t.is(
    describeEvent({
      type: "agent.lost",
      at: 0,
      agentId: "h-a1",
      hostId: "h",
      stages: ["extract", "merge"],
      lastHeartbeatAt: null,
      tasks: [],
    }),
    "h-a1  lost (host h; extract, merge)",
  );
  t.is(
    describeEvent({
      type: "doc.progress",
      at: 0,
      docId: "d",
      stage: "extract",
      done: 2,
      total: 4,
      pagesDone: 20,
      pageCount: 40,
      chunkPages: 10,
    }),
    "d  extract 2/4 chunks, 20/40 pages (50%)",
  );
});
