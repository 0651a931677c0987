// Closing the terminal a docswarm command runs in (the hangup every process on it gets) leaves no
// process behind: each command runs in a real pseudo-terminal (util-linux `script`), which is then
// killed as a terminal emulator's window would be, and the command, its embedded nats-server and
// the server's guard must all be gone.
import { type ChildProcess, spawn } from "node:child_process";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import test, { type ExecutionContext } from "ava";
import { BUCKETS, listAgents } from "../streams/index.ts";
import { CLI, natsServersUnder, processExists, REPO_ROOT, tempDir } from "./support/cli.ts";
import { knownDoc } from "./support/pdf.ts";
import { connectTo, stagePath, startServer } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

type Terminal = { script: ChildProcess; screen(): string; pid: Promise<number> };

/** Runs `docswarm <args>` as the only program in a new terminal; `screen()` is what it showed. */
function inTerminal(t: ExecutionContext, args: string[], tmp: string, env: NodeJS.ProcessEnv = {}): Terminal {
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
  const childEnv: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp, DOCSWARM_LOG_LEVEL: "info", ...env };
  if (!env.NATS_URL) delete childEnv.NATS_URL;
  // `exec` makes the CLI the terminal's session leader, as a shell's foreground job would be.
  const script = spawn("script", ["-q", "-f", "-e", "-c", `echo "pid=$$"; exec ${quoted}`, "/dev/null"], {
    cwd: REPO_ROOT,
    env: childEnv,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let screen = "";
  script.stdout!.setEncoding("utf8").on("data", (s: string) => {
    screen += s;
  });
  script.stderr!.resume();
  t.teardown(() => {
    if (script.exitCode === null && script.signalCode === null) script.kill("SIGKILL");
  });
  const pid = waitFor(() => Number(/pid=(\d+)/.exec(screen)?.[1]), { message: "the command's pid" });
  t.teardown(async () => {
    // Whatever happened, nothing of this test outlives it.
    const p = await pid.catch(() => undefined);
    if (p && processExists(p)) process.kill(p, "SIGKILL");
  });
  return { script, screen: () => screen, pid };
}

/** Closes the terminal and waits until the command and every nats-server under `tmp` are gone. */
async function hangUp(t: ExecutionContext, term: Terminal, tmp: string): Promise<void> {
  const pid = await term.pid;
  t.true(processExists(pid), "the command runs until the terminal closes");
  term.script.kill("SIGKILL");
  await waitFor(() => !processExists(pid), { timeoutMs: 20_000, message: `docswarm (pid ${pid}) to exit` });
  await waitFor(() => natsServersUnder(tmp).length === 0, {
    timeoutMs: 10_000,
    message: "no nats-server or guard left",
  });
  t.deepEqual(natsServersUnder(tmp), []);
}

test("process: closing its terminal mid-run stops it, its agents and its embedded nats-server", async (t) => {
  const tmp = await tempDir(t, "hup-process");
  const doc = await knownDoc("hup-process", 4);
  const file = join(tmp, "report.pdf");
  await writeFile(file, doc.bytes);
  const term = inTerminal(
    t,
    [
      "process",
      file,
      "--out",
      join(tmp, "out"),
      "--agents",
      "1",
      "--stage",
      stagePath("linger"),
      "--pipeline",
      "split,extract,linger,merge",
    ],
    tmp,
    { DOCSWARM_LINGER_MS: "4000" },
  );
  // Busy: the progress bar is up and the server runs.
  await waitFor(() => /0\/1 docs/.test(term.screen()) && natsServersUnder(tmp).length > 0, {
    timeoutMs: 30_000,
    message: "the run to be under way",
  });
  await hangUp(t, term, tmp);
  t.deepEqual(
    (await readdir(tmp)).filter((d) => d.startsWith("docswarm-nats-")),
    [],
    "the embedded server's temp dir is removed: the command shut down, it was not just killed",
  );
});

test("up: closing its terminal stops it and its embedded nats-server", async (t) => {
  const tmp = await tempDir(t, "hup-up");
  const term = inTerminal(t, ["up", "--agents", "1", "--no-dashboard"], tmp);
  await waitFor(() => /docswarm is up/.test(term.screen()), { timeoutMs: 30_000, message: "docswarm up" });
  await hangUp(t, term, tmp);
  t.deepEqual(
    (await readdir(tmp)).filter((d) => d.startsWith("docswarm-nats-")),
    [],
    "the embedded server's temp dir is removed: up shut down",
  );
});

test("agent: closing its terminal drains it (its agents deregister) and stops it", async (t) => {
  const tmp = await tempDir(t, "hup-agent");
  const server = await startServer(t);
  const term = inTerminal(t, ["agent", "--agents", "1"], tmp, { NATS_URL: server.url });
  const nc = await connectTo(t, server.url, "hup-agent-probe");
  const jsm = await jetstreamManager(nc);
  await waitFor(async () => (await listAgents(jsm)).length === 1, {
    timeoutMs: 30_000,
    message: "the agent to register",
  });
  await hangUp(t, term, tmp);
  // A host that was just killed leaves its registrations to lapse by TTL; a drained one deletes them.
  t.deepEqual(await listAgents(jsm), [], "the agent deregistered: a clean shutdown");
});

test("coordinator: closing its terminal stops it and it gives up its leadership", async (t) => {
  const tmp = await tempDir(t, "hup-coordinator");
  const server = await startServer(t);
  const term = inTerminal(t, ["coordinator"], tmp, { NATS_URL: server.url });
  const nc = await connectTo(t, server.url, "hup-coordinator-probe");
  const leases = await waitFor(() => new Kvm(nc).open(BUCKETS.leases), { message: "the leases bucket" });
  const leader = async () => (await leases.get("leader.coordinator"))?.operation === "PUT";
  await waitFor(leader, { timeoutMs: 30_000, message: "the coordinator to lead" });
  await hangUp(t, term, tmp);
  // A killed leader's lease lapses after its TTL; a coordinator shutting down deletes it.
  t.false(await leader(), "the lease was released: a clean shutdown");
});
