#!/usr/bin/env node
import { resultsCommand, submitCommand } from "./commands/client.ts";
import { dlqCommand } from "./commands/dlq.ts";
import { processCommand } from "./commands/process.ts";
import { agentCommand, coordinatorCommand, upCommand } from "./commands/serve.ts";
// docswarm: process PDFs with a swarm of agents coordinated through NATS JetStream.
import { clientErrorCode } from "./errors.ts";
import { runCleanups } from "./signals.ts";
import { UsageError } from "./usage.ts";

const HELP = `docswarm: process PDFs with a swarm of agents on NATS JetStream

Usage:
  docswarm process <files|folders...> [--agents N] [--out DIR] [--json] [--priority high|normal|low]
  docswarm up [--agents N] [--port P]          NATS + coordinator + agents until Ctrl-C
  docswarm agent [--agents N] [--stages a,b] [--slots N]   agents against NATS_URL
  docswarm coordinator                          a coordinator against NATS_URL
  docswarm submit <files...> [--priority P] [--doc-id ID] [--wait] [--json]
  docswarm results <docId> [--timeout SECONDS]
  docswarm dlq [list] [--stage S] [--limit N] [--json]   dead letters
  docswarm dlq requeue <seq>                    put one dead letter back to work

NATS_URL selects a NATS server or cluster; 'process' starts an embedded one when it is unset.
DOCSWARM_LOG_LEVEL=debug|info|warn|error sets the log level.
`;

const commands: Record<string, (argv: string[]) => Promise<number>> = {
  process: processCommand,
  up: upCommand,
  agent: agentCommand,
  coordinator: coordinatorCommand,
  submit: submitCommand,
  results: resultsCommand,
  dlq: dlqCommand,
};

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(HELP);
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) throw new UsageError(`unknown command '${name}'`);
  return command(rest);
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
