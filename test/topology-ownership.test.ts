// The topology belongs to the operator: `docswarm init` sets replicas and limits; roles started
// later (agents, coordinators, `pipeline set`, `process`) only check it and never lower what was
// set. Roles started before any topology exists do not die: those that may create it do (saying
// so), those that only read it wait for it (saying so).
import { spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import test from "ava";
import { connectNats, STREAMS, subjects, TOPOLOGY_VERSION } from "../streams/index.ts";
import { startAuthServer } from "./support/auth.ts";
import { CLI, REPO_ROOT, runCliWithEnv, tempDir } from "./support/cli.ts";
import { startCluster } from "./support/cluster.ts";
import { knownDoc } from "./support/pdf.ts";
import { spawnRole, stopAll } from "./support/roles.ts";
import { connectTo, startServer } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

const GiB = 1024 ** 3;

test("roles started after docswarm init --replicas 3 keep the operator's replicas and limits", async (t) => {
  t.timeout(150_000);
  const { urls } = await startCluster(t);
  const env = { NATS_URL: urls.join(","), DOCSWARM_LOG_LEVEL: "info" };
  const init = await waitFor(
    async () => {
      const r = await runCliWithEnv(
        ["init", "--replicas", "3", "--done-max-bytes", "3GiB", "--done-max-age", "3d", "--ack-wait", "4s"],
        env,
      );
      return r.code === 0 ? r : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500, message: "docswarm init on the cluster" },
  );
  t.regex(init.stdout, new RegExp(`topology version ${TOPOLOGY_VERSION} \\(found none\\)`));
  const nc = await connectNats({ servers: urls, name: "ownership-test" });
  t.teardown(() => nc.close());
  const jsm = await jetstreamManager(nc);
  const snapshot = async () => {
    const out: Record<string, { replicas: number; maxBytes: number; maxAge: number }> = {};
    for await (const si of jsm.streams.list())
      out[si.config.name] = {
        replicas: si.config.num_replicas,
        maxBytes: si.config.max_bytes,
        maxAge: si.config.max_age,
      };
    const split = await jsm.consumers.info(STREAMS.submit, "split-normal");
    return { streams: out, splitAckWait: split.config.ack_wait };
  };
  const before = await snapshot();
  t.is(Object.keys(before.streams).length, 14);
  for (const [name, s] of Object.entries(before.streams)) t.is(s.replicas, 3, name);
  t.is(before.streams[STREAMS.done]!.maxBytes, 3 * GiB);
  t.is(before.streams[STREAMS.done]!.maxAge, 3 * 86_400 * 1e9);
  t.is(before.splitAckWait, 4e9);

  // Every kind of role, with its defaults (an agent even asks for one replica).
  const roles = [
    spawnRole("coordinator", urls.join(",")),
    spawnRole("agent", urls.join(","), ["--agents", "1", "--replicas", "1"]),
  ];
  t.teardown(() => stopAll(roles, 5000));
  await Promise.all(roles.map((r) => r.ready));
  t.is((await runCliWithEnv(["pipeline", "set", "plain", "split,extract,merge"], env)).code, 0);
  const dir = await tempDir(t, "ownership");
  const file = join(dir, "doc.pdf");
  await writeFile(file, (await knownDoc("ownership", 2)).bytes);
  const submitted = await runCliWithEnv(["submit", "--wait", file], env);
  t.is(submitted.code, 0, submitted.stderr);
  t.regex(submitted.stdout, /done {2}2 pages/);
  // `process` against the cluster runs its own coordinator and agents: roles too.
  const processed = await runCliWithEnv(["process", file, "--agents", "1", "--out", dir], env);
  t.is(processed.code, 0, processed.stderr);
  t.is((await runCliWithEnv(["status", "--json"], env)).code, 0);

  const after = await snapshot();
  t.deepEqual(after, before, "no role changed a replica count, a limit or a consumer setting");
  // The agent was told so: the operator's replicas stand over its --replicas 1.
  const agentLogs = roles[1]!.logs.map((l) => String(l.msg));
  t.false(
    agentLogs.some((m) => m.includes("created what was missing")),
    "nothing was missing",
  );
  t.true(
    roles.every((r) => r.child.exitCode === null),
    "every role is still running",
  );
});

test("a dashboard started before any topology waits for it; agents and coordinators create it", async (t) => {
  t.timeout(120_000);
  const server = await startServer(t);
  const env = { NATS_URL: server.url, DOCSWARM_LOG_LEVEL: "info" };

  // A dashboard only reads: it waits, and says so.
  const dashboard = spawn(process.execPath, [CLI, "dashboard", "--port", "0"], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  t.teardown(() => {
    if (dashboard.exitCode === null) dashboard.kill("SIGKILL");
  });
  let stdout = "";
  let stderr = "";
  dashboard.stdout.setEncoding("utf8").on("data", (s: string) => {
    stdout += s;
  });
  dashboard.stderr.setEncoding("utf8").on("data", (s: string) => {
    stderr += s;
  });
  await waitFor(() => stderr.includes("waiting for the docswarm topology"), {
    timeoutMs: 30_000,
    message: "the dashboard to say it waits for the topology",
  });
  t.is(dashboard.exitCode, null, "the dashboard did not exit");

  // Status, a one-shot, says what is missing instead of failing obscurely.
  const status = await runCliWithEnv(["status"], env);
  t.is(status.code, 1);
  t.regex(status.stdout + status.stderr, /no docswarm topology.*docswarm init/s);

  // An agent host may create it: it does, and says so.
  const agent = spawnRole("agent", server.url, ["--agents", "1"]);
  t.teardown(() => stopAll([agent], 5000));
  await agent.ready;
  const created = agent.logs.find((l) => String(l.msg).includes("created what was missing"));
  t.truthy(created, "the agent host says what it created");
  t.true(((created?.created ?? []) as string[]).includes(STREAMS.done));

  // The dashboard notices and serves.
  const url = await waitFor(() => /docswarm dashboard: (http\S+)/.exec(stdout)?.[1], {
    timeoutMs: 30_000,
    message: "the dashboard to start serving",
  });
  const page = await fetch(url);
  t.is(page.status, 200);

  // What the agent created is what docswarm init would: init finds nothing to change.
  const init = await runCliWithEnv(["init"], env);
  t.is(init.code, 0, init.stderr);
  t.regex(init.stdout, /Nothing to change/);
  const nc = await connectTo(t, server.url, "docswarm-test", { reconnect: true });
  const done = await (await jetstreamManager(nc)).streams.info(STREAMS.done);
  t.is(done.config.metadata?.["docswarm.version"], String(TOPOLOGY_VERSION));
  t.deepEqual(done.config.subjects, [subjects.final("*"), subjects.reprocess("*")]);
});

test("an agent whose NATS user may not create the topology waits for the admin's docswarm init", async (t) => {
  t.timeout(120_000);
  const s = await startAuthServer(t, { topology: false });
  const agent = spawnRole("agent", s.url, ["--agents", "1", "--auth", s.dir]);
  t.teardown(() => stopAll([agent], 5000));
  const waiting = await waitFor(
    () => agent.logs.find((l) => String(l.msg).includes("waiting for the docswarm topology")),
    { message: "the agent to say it waits for the topology", timeoutMs: 60_000 },
  );
  t.is(waiting.reason, "this user may not create it");
  t.is(agent.child.exitCode, null, "the agent did not exit");
  const init = await runCliWithEnv(["init", "--auth", s.dir], { NATS_URL: s.url });
  t.is(init.code, 0, `${init.stdout}\n${init.stderr}`);
  await agent.ready;
  // What the server refused it was only creating: the agent read nothing it may not.
  const refused = await s.violations();
  t.true(
    refused.every((l) => /STREAM\.CREATE|CONSUMER\.(DURABLE\.)?CREATE/.test(l)),
    refused.join("\n"),
  );
});
