// docswarm process <files|folders...>: the main job. Runs NATS (embedded unless NATS_URL is set),
// a coordinator and agents in this process, submits every PDF, shows progress, writes each
// document's result next to where its input sits in the tree (cli/outputs.ts), and exits non-zero
// when any document failed (2 when there was nothing to process).
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { jetstream } from "@nats-io/jetstream";
import { ClientError } from "../../client/index.ts";
import { readFinal } from "../../jobs/index.ts";
import {
  decodeJson,
  type ErrorInfo,
  type FinalResult,
  ProcessCommandOptions,
  SwarmEvent,
  validate,
} from "../../schemas/index.ts";
import { subjects } from "../../streams/index.ts";
import { Swarm } from "../../swarm/index.ts";
import { CONNECTION_OPTIONS, commandConnection } from "../connection-flags.ts";
import { ENGINE_OPTIONS, engineOption, passwordOption } from "../engine-options.ts";
import { UsageError } from "../errors.ts";
import { expandInputs } from "../files.ts";
import { createLogger } from "../log.ts";
import { outputStems, writeOutputs } from "../outputs.ts";
import { ProgressBar } from "../progress.ts";
import { exitOnSignal, onShutdown, runCleanups } from "../signals.ts";
import { stageList, swarmAuth } from "./serve.ts";

type Line = {
  file: string;
  docId: string | null;
  status: "done" | "failed";
  pageCount: number;
  error?: ErrorInfo;
  out?: string;
};

export async function processCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      agents: { type: "string", short: "a", default: String(availableParallelism()) },
      out: { type: "string", short: "o", default: "docswarm-out" },
      format: { type: "string", short: "f", default: "json" },
      json: { type: "boolean", default: false },
      priority: { type: "string", short: "p", default: "normal" },
      pipeline: { type: "string" },
      stage: { type: "string", multiple: true, default: [] },
      ...CONNECTION_OPTIONS,
      ...ENGINE_OPTIONS,
    },
  });
  const { stage: extraStages, pipeline, engine: engineName, "password-file": passwordFile, ...rest } = values;
  const engine = engineOption(engineName);
  const password = await passwordOption(passwordFile);
  const parsed = validate(ProcessCommandOptions, { ...rest, paths: positionals });
  if (!parsed.ok) throw new UsageError(parsed.message);
  const opts = parsed.value;
  const log = createLogger("warn");
  exitOnSignal();

  const inputs = await expandInputs(opts.paths);
  const lines: Line[] = [];
  const bar = new ProgressBar(process.stderr.isTTY === true && !opts.json);
  const emit = (line: Line) => {
    lines.push(line);
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(line)}\n`);
      return;
    }
    const text =
      line.status === "done"
        ? `ok    ${line.file}  ${line.pageCount} pages  -> ${line.out}`
        : `FAIL  ${line.file}  ${line.error?.code}: ${line.error?.message}`;
    bar.log(text);
  };
  for (const m of inputs.missing) {
    emit({
      file: m.file,
      docId: null,
      status: "failed",
      pageCount: 0,
      error: { code: "FILE_NOT_FOUND", message: m.reason, retryable: false },
    });
  }
  for (const dir of inputs.empty) process.stderr.write(`docswarm: no PDF files found in ${dir}\n`);
  if (inputs.files.length === 0) {
    // Nothing to start a swarm for.
    bar.stop();
    if (inputs.empty.length === 0) process.stderr.write("docswarm: no PDF files to process\n");
    return 2;
  }
  const files = inputs.files.map((i) => i.file);
  const stems = outputStems(inputs.files, opts.out);

  // Embedded NATS unless a server is named (--server, NATS_URL or a nats CLI context).
  const conn = commandConnection(values, "admin");
  const swarm = await Swarm.initialize({
    ...(conn.explicitServer && { natsUrl: conn.config.servers.join(",") }),
    ...swarmAuth(conn),
    agents: opts.agents,
    stages: stageList("split,extract,merge", extraStages),
    ...(engine && { processing: { engine } }),
    onLog: log,
  });
  onShutdown(() => swarm.shutdown());
  bar.docsTotal = files.length;

  // Listen before submitting, so no result can slip between a submit and the subscription.
  const pending = new Map<string, string[]>();
  // The bar's page counts, kept as sums: recounting every document on each event made a folder
  // of n files cost n² on this thread.
  const pagesByDoc = new Map<string, { done: number; total: number }>();
  const setPages = (docId: string, done: number, total: number) => {
    const was = pagesByDoc.get(docId);
    bar.pagesDone += done - (was?.done ?? 0);
    bar.pagesTotal += total - (was?.total ?? 0);
    pagesByDoc.set(docId, { done, total });
  };
  const abort = new AbortController();
  let resolveAll!: () => void;
  const allDone = new Promise<void>((r) => {
    resolveAll = r;
  });
  const madeDirs = new Set<string>();
  const finish = async (final: FinalResult) => {
    const files = pending.get(final.docId);
    if (!files) return;
    pending.delete(final.docId);
    for (const file of files) {
      const [out] = await writeOutputs(final, stems.get(file)!, opts.format, madeDirs);
      bar.docsDone++;
      emit({
        file,
        docId: final.docId,
        status: final.status,
        pageCount: final.pageCount,
        ...(final.error && { error: final.error }),
        ...(out && { out }),
      });
    }
    setPages(final.docId, final.pageCount, final.pageCount);
    if (pending.size === 0 && submitted) resolveAll();
  };
  let submitted = false;
  const results = swarm.client.results({ signal: abort.signal });
  const watching = (async () => {
    for await (const final of results) await finish(final);
  })().catch(() => {});
  // Document events only: what the submitter's user may read. They feed the bar's page count
  // alone, so without a bar (--json, no terminal) they are not taken (three per document, each
  // decoded and validated on this thread, which the agents share the cores with).
  const events = bar.enabled
    ? swarm.client.nc.subscribe(`${subjects.eventsAll.slice(0, -1)}doc.>`, {
        callback: (_err, m) => {
          const e = decodeJson(SwarmEvent, m.data);
          if (!e.ok || !("docId" in e.value) || !pending.has(e.value.docId)) return;
          if (e.value.type === "doc.accepted") setPages(e.value.docId, 0, e.value.pageCount);
          else if (e.value.type === "doc.progress")
            setPages(e.value.docId, e.value.pagesDone, e.value.pageCount);
        },
      })
    : undefined;

  const started = Date.now();
  for (const file of files) {
    try {
      const sub = await swarm.submit(file, {
        priority: opts.priority,
        source: file,
        ...(pipeline && { pipeline }),
        ...(password !== undefined && { password }),
      });
      pending.set(sub.docId, [...(pending.get(sub.docId) ?? []), file]);
    } catch (err) {
      const code =
        err instanceof ClientError && err.code !== "TIMEOUT" && err.code !== "NOT_FOUND"
          ? err.code
          : "INTERNAL";
      bar.docsDone++;
      emit({
        file,
        docId: null,
        status: "failed",
        pageCount: 0,
        error: { code, message: (err as Error).message, retryable: false },
      });
    }
  }
  submitted = true;
  // Documents that already had a final result publish nothing new: on a shared NATS_URL, or a
  // file whose copy (the same bytes, so the same document) finished before it was submitted.
  const js = jetstream(swarm.client.nc);
  for (const docId of [...pending.keys()]) {
    const existing = await readFinal(js, docId).catch(() => undefined);
    if (existing) await finish(existing);
  }
  if (pending.size > 0) await allDone;
  const elapsedMs = Date.now() - started;
  abort.abort();
  events?.unsubscribe();
  await watching;
  bar.stop();
  await runCleanups();

  const failed = lines.filter((l) => l.status === "failed").length;
  const pages = lines.filter((l) => l.status === "done").reduce((n, l) => n + l.pageCount, 0);
  // Start-up and shutdown apart from the documents' time, on stderr (stdout keeps one line per file).
  const { startup, shutdown } = swarm.timings;
  const sum = (o: Record<string, number>) => Object.values(o).reduce((n, v) => n + v, 0);
  if (opts.json)
    process.stderr.write(`${JSON.stringify({ timings: { startup, processingMs: elapsedMs, shutdown } })}\n`);
  else
    process.stderr.write(
      `docswarm: start-up ${sum(startup)} ms (server ${startup.serverMs}, streams ${startup.topologyMs}, ` +
        `coordinator ${startup.coordinatorMs}, agents ${startup.agentsMs}); shutdown ${sum(shutdown)} ms ` +
        `(agents ${shutdown.agentsMs}, coordinator ${shutdown.coordinatorMs}, connections ${shutdown.connectionsMs}, ` +
        `server ${shutdown.serverMs})\n`,
    );
  if (!opts.json) {
    const rate = pages / Math.max(0.001, elapsedMs / 1000);
    process.stdout.write(
      `${lines.length} documents: ${lines.length - failed} done, ${failed} failed; ${pages} pages in ` +
        `${(elapsedMs / 1000).toFixed(2)} s (${rate.toFixed(1)} pages/s); results in ${opts.out}/\n`,
    );
  }
  return failed > 0 ? 1 : 0;
}
