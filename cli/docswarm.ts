#!/usr/bin/env node
// docswarm: process PDFs with a swarm of agents coordinated through NATS JetStream.
import { startTracing } from "../observability/tracing.ts";
import { CONNECTION_HELP } from "./connection-help.ts";
import { clientErrorCode, UsageError } from "./errors.ts";
import { installSignalHandlers, runCleanups } from "./signals.ts";

const HELP = `docswarm: process PDFs with a swarm of agents on NATS JetStream

Usage:
  docswarm init [--replicas N] [--done-max-age 7d] [--done-max-bytes 2GiB] [--<limit> VALUE]... [--dry-run] [--json]
                                                create or migrate the topology (streams, buckets, consumers)
  docswarm process <files|folders...> [--agents N] [--out DIR] [--format json|txt|json,txt] [--json]
                   [--priority high|normal|low] [--stage ./my-stage.ts]... [--pipeline split,extract,my-stage,merge]
                   [--engine pdfium|pdfjs] [--password-file FILE]
  docswarm up [--agents N] [--port P] [--auth DIR] [--dashboard-port N] [--dashboard-token T] [--no-dashboard]
              [--no-dashboard-auth] [--show-text] [--metrics-port N]
                                                NATS + coordinator + agents + dashboard until Ctrl-C
  docswarm agent [--agents N] [--stages a,b] [--stage ./my-stage.ts]... [--slots N] [--metrics-port N]
                 [--heap-mb 2048] [--engine pdfium|pdfjs] [--autoscale --min N --max N]  agents against NATS_URL
  docswarm coordinator [--metrics-port N] [--autoscale --min N --max N --tasks-per-agent N]
                                                a coordinator against NATS_URL
  docswarm submit <files...> [--priority P] [--doc-id ID] [--pipeline P] [--engine E] [--password-file FILE]
                  [--wait] [--json]
  docswarm results <docId> [--timeout SECONDS]
  docswarm pipeline set <name> <stages> | get <name> | list | delete <name>
  docswarm status [--json]                      backlog, agents, coordinator, documents, warnings
  docswarm watch [--json] [--since 5m] [--type doc.failed] [--count N]   tail swarm events
  docswarm dashboard [--port 7070] [--host 127.0.0.1] [--dashboard-token T] [--no-auth] [--show-text]
                                                live web dashboard (token on every interface; text only with --show-text)
  docswarm dlq [list] [--stage S] [--limit N] [--json]   dead letters
  docswarm dlq requeue <seq>                    put one dead letter back to work
  docswarm server install [--force] | path      the nats-server of the embedded mode: fetch it, find it
  docswarm auth init DIR [--tls] [--tls-host H]... [--resolver memory|full] [--force]
                                                operator, accounts, a user per role, nats-server.conf
  docswarm auth add-user NAME --role submitter|agent|coordinator|observer|admin --dir DIR
  docswarm auth revoke NAME --dir DIR | list --dir DIR | permissions ROLE

${CONNECTION_HELP}'process' and 'up' start an embedded server unless one is named (with --auth DIR, it uses DIR's
accounts and TLS, and each role connects as its own user).
The embedded server's nats-server: DOCSWARM_NATS_SERVER, else one on PATH, else fetched once into
docswarm's cache ('docswarm server install' does it ahead of time).
DOCSWARM_LOG_LEVEL=debug|info|warn|error sets the log level (JSON lines; readable on a terminal).
--metrics-host (default 127.0.0.1) sets where --metrics-port listens.
Tracing: set OTEL_EXPORTER_OTLP_ENDPOINT (and OTEL_EXPORTER_OTLP_PROTOCOL, OTEL_SERVICE_NAME);
OTEL_SDK_DISABLED=true turns it off. Off unless an endpoint is set.
`;

type Command = (argv: string[]) => Promise<number>;

// Each command's module is loaded when it runs: `docswarm status` need not load the agents, PDFium
// glue, the dashboard or the auth tooling that `process` and `auth` bring.
const commands: Record<string, () => Promise<Command>> = {
  init: async () => (await import("./commands/init.ts")).initCommand,
  process: async () => (await import("./commands/process.ts")).processCommand,
  up: async () => (await import("./commands/serve.ts")).upCommand,
  agent: async () => (await import("./commands/serve.ts")).agentCommand,
  coordinator: async () => (await import("./commands/serve.ts")).coordinatorCommand,
  submit: async () => (await import("./commands/client.ts")).submitCommand,
  results: async () => (await import("./commands/client.ts")).resultsCommand,
  pipeline: async () => (await import("./commands/pipeline.ts")).pipelineCommand,
  status: async () => (await import("./commands/status.ts")).statusCommand,
  watch: async () => (await import("./commands/watch.ts")).watchCommand,
  dashboard: async () => (await import("./commands/dashboard.ts")).dashboardCommand,
  dlq: async () => (await import("./commands/dlq.ts")).dlqCommand,
  auth: async () => (await import("./commands/auth.ts")).authCommand,
  server: async () => (await import("./commands/server.ts")).serverCommand,
};

/** `docswarm <command> --help`: that command's lines of HELP, then the notes all commands share. */
function commandHelp(name: string): string {
  const usage: string[] = [];
  let inside = false;
  for (const line of HELP.split("\n")) {
    if (line.startsWith("  docswarm "))
      inside = line.startsWith(`  docswarm ${name} `) || line === `  docswarm ${name}`;
    else if (!line.startsWith("   ")) inside = false;
    if (inside) usage.push(line);
  }
  return `Usage:\n${usage.join("\n")}\n\n${HELP.slice(HELP.indexOf(CONNECTION_HELP))}`;
}

async function main(argv: string[]): Promise<number> {
  void installSignalHandlers();
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(HELP);
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) throw new UsageError(`unknown command '${name}'`);
  const options = rest.includes("--") ? rest.slice(0, rest.indexOf("--")) : rest;
  if (options.includes("--help") || options.includes("-h")) {
    process.stdout.write(commandHelp(name));
    return 0;
  }
  // Tracing (when OTEL_* asks for it) covers the whole command; spans are flushed before exit.
  const [command, tracing] = await Promise.all([load(), startTracing({ serviceName: `docswarm-${name}` })]);
  try {
    return await command(rest);
  } finally {
    await tracing.shutdown();
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  await runCleanups();
  if (err instanceof UsageError || (err as { code?: string }).code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    process.stderr.write(`docswarm: ${(err as Error).message}\n\n${HELP}`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`docswarm: ${clientErrorCode(err)}${(err as Error).message ?? String(err)}\n`);
    process.exitCode = 1;
  }
}
