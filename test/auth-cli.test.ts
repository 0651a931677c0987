// `docswarm auth` from the command line: init writes the operator, accounts, a .creds per role and a
// nats-server.conf that nats-server accepts; re-running keeps every key (JWTs are re-issued) unless
// --force; add-user adds a user that works at once; revoke refuses it after the server reloads.
// Commands take the creds as NATS tools do (--auth DIR, --creds, -s), and `process --auth DIR` runs
// its embedded server with DIR's accounts.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { connect, credsAuthenticator } from "@nats-io/transport-node";
import test, { type ExecutionContext } from "ava";
import { findNatsServer } from "../infra/index.ts";
import { connectNats, ensureTopology } from "../streams/index.ts";
import { refusal } from "./support/auth.ts";
import { runCliWithEnv as runCli, tempDir } from "./support/cli.ts";
import { knownDoc } from "./support/pdf.ts";
import { unusedPorts } from "./support/ports.ts";
import { waitFor } from "./support/wait.ts";

const ROLES = ["submitter", "agent", "coordinator", "observer", "admin"];
const read = (dir: string, f: string) => readFileSync(join(dir, f), "utf8");
const seed = (creds: string) => /SU[A-Z2-7]{50,}/.exec(creds)?.[0];

/** nats-server with DIR/nats-server.conf itself (as an operator would run it), on a free port. */
async function standalone(
  t: ExecutionContext,
  dir: string,
): Promise<{ url: string; child: ChildProcess; log: () => string }> {
  const [port] = await unusedPorts(1);
  const child = spawn(findNatsServer().path, ["-c", join(dir, "nats-server.conf"), "-p", String(port)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  child.stderr!.on("data", (c: Buffer) => {
    log += c.toString();
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  t.teardown(async () => {
    child.kill("SIGTERM");
    await exited; // before the temp dir (its store) goes
  });
  await waitFor(() => /Server is ready/.test(log), { message: "nats-server ready", timeoutMs: 20_000 });
  return { url: `nats://127.0.0.1:${port}`, child, log: () => log };
}

test("auth init writes creds per role and a config nats-server accepts; re-running keeps the keys", async (t) => {
  const dir = join(await tempDir(t, "auth-cli-"), "auth");
  const first = await runCli(["auth", "init", dir, "--json"], {});
  t.is(first.code, 0, first.stderr);
  for (const r of ROLES) {
    t.regex(read(dir, `${r}.creds`), /BEGIN NATS USER JWT/);
    t.is(statSync(join(dir, `${r}.creds`)).mode & 0o777, 0o600, `${r}.creds is private`);
  }
  t.is(statSync(join(dir, "keys", "account.nk")).mode & 0o777, 0o600);
  const check = spawnSync(findNatsServer().path, ["-c", join(dir, "nats-server.conf"), "-t"], {
    encoding: "utf8",
  });
  t.is(check.status, 0, check.stderr);
  t.regex(`${check.stdout}${check.stderr}`, /is valid/);
  const before = { account: read(dir, "keys/account.nk"), agent: seed(read(dir, "agent.creds")) };
  const again = await runCli(["auth", "init", dir], {});
  t.is(again.code, 0, again.stderr);
  t.regex(again.stdout, /refreshed\s+agent\.creds/);
  t.is(read(dir, "keys/account.nk"), before.account, "the account key is kept");
  t.is(seed(read(dir, "agent.creds")), before.agent, "the agent keeps its key");
  const forced = await runCli(["auth", "init", dir, "--force"], {});
  t.is(forced.code, 0, forced.stderr);
  t.not(read(dir, "keys/account.nk"), before.account, "--force replaces the keys");
  const perms = JSON.parse((await runCli(["auth", "permissions", "submitter"], {})).stdout);
  t.true(perms.pub.allow.includes("docswarm.submit"));
  t.false(perms.pub.allow.some((s: string) => s.startsWith("docswarm.result")));
});

test("add-user works at once; revoke refuses the user once the server reloads; commands take --auth and --creds", async (t) => {
  const dir = join(await tempDir(t, "auth-cli-"), "auth");
  t.is((await runCli(["auth", "init", dir], {})).code, 0);
  const { url, child, log } = await standalone(t, dir);
  const admin = await connectNats({ servers: url, name: "admin", creds: join(dir, "admin.creds") });
  await ensureTopology(admin).finally(() => admin.close());

  const add = await runCli(["auth", "add-user", "alice", "--role", "submitter", "--dir", dir], {});
  t.is(add.code, 0, add.stderr);
  const alicePublicKey = /(U[A-Z2-7]{55})/.exec(add.stdout)?.[1];
  t.truthy(alicePublicKey, add.stdout);
  t.is((await runCli(["auth", "add-user", "alice", "--role", "submitter", "--dir", dir], {})).code, 1);
  const alice = await connect({
    servers: url,
    authenticator: credsAuthenticator(readFileSync(join(dir, "alice.creds"))),
    inboxPrefix: "_INBOX_alice",
  });
  t.teardown(() => alice.close());
  t.truthy(
    await refusal(alice, () => alice.publish("docswarm.task.extract.normal"), "docswarm.task.extract.normal"),
  );

  // The CLI with an external server: --auth DIR picks each command's role, --creds names one file.
  const doc = await knownDoc("auth-cli", 2);
  const file = join(await tempDir(t, "auth-cli-doc-"), "doc.pdf");
  await writeFile(file, doc.bytes);
  const env = { NATS_URL: "" };
  const submitted = await runCli(
    ["submit", file, "--doc-id", doc.docId, "-s", url, "--creds", join(dir, "alice.creds")],
    env,
  );
  t.is(submitted.code, 0, submitted.stderr);
  const status = await runCli(["status", "--json", "-s", url, "--auth", dir], env);
  t.is(status.code, 0, status.stderr);
  t.truthy(JSON.parse(status.stdout).documents);
  // A nats CLI context naming the server and the observer's creds is all `status` needs.
  const home = await tempDir(t, "auth-cli-home-");
  await mkdir(join(home, "nats", "context"), { recursive: true });
  await writeFile(
    join(home, "nats", "context", "swarm.json"),
    JSON.stringify({ url, creds: join(dir, "observer.creds") }),
  );
  const viaContext = await runCli(["status", "--json", "--context", "swarm"], {
    ...env,
    XDG_CONFIG_HOME: home,
  });
  t.is(viaContext.code, 0, viaContext.stderr);
  const denied = await runCli(["status", "-s", url, "--creds", join(dir, "alice.creds")], env);
  t.is(denied.code, 1, "a submitter may not read the swarm's status");
  // Refused by the server (a permissions violation, or a read that never gets its answer).
  t.regex(denied.stderr, /permission|timeout/i);

  const revoke = await runCli(["auth", "revoke", "alice", "--dir", dir], {});
  t.is(revoke.code, 0, revoke.stderr);
  child.kill("SIGHUP"); // nats-server reloads its configuration, auth.conf included
  await waitFor(
    async () =>
      connect({
        servers: url,
        authenticator: credsAuthenticator(readFileSync(join(dir, "alice.creds"))),
      }).then(
        (nc) => nc.close().then(() => false),
        // The client sees an authorization error, or only the closed connection when the server
        // hangs up first; the server's log says which key it refused.
        () => log().includes(`authentication error - Nkey "${alicePublicKey}"`),
      ),
    { message: "alice refused after the reload", timeoutMs: 20_000 },
  ).catch((err) => {
    t.log(
      log()
        .split("\n")
        .filter((l) => /reload|revok|alice|ERR|WRN/i.test(l))
        .join("\n"),
    );
    throw err;
  });
  t.pass();
});

test("process --auth DIR runs its embedded server with DIR's accounts, each role as its own user", async (t) => {
  const tmp = await tempDir(t, "auth-cli-");
  const dir = join(tmp, "auth");
  t.is((await runCli(["auth", "init", dir, "--tls"], {})).code, 0);
  const doc = await knownDoc("auth-process", 3);
  const file = join(tmp, "doc.pdf");
  await writeFile(file, doc.bytes);
  const r = await runCli(
    ["process", file, "--auth", dir, "--agents", "1", "--out", join(tmp, "out"), "--json"],
    {
      NATS_URL: "",
    },
  );
  t.is(r.code, 0, r.stderr);
  const line = JSON.parse(r.stdout.trim().split("\n").pop()!);
  t.is(line.status, "done");
  t.is(line.pageCount, 3);
});

test("the full resolver: nats-server keeps the account JWTs in DIR/jwt and admits the role users", async (t) => {
  const dir = join(await tempDir(t, "auth-cli-"), "auth");
  const init = await runCli(["auth", "init", dir, "--resolver", "full"], {});
  t.is(init.code, 0, init.stderr);
  t.regex(read(dir, "auth.conf"), /type: full/);
  const { url } = await standalone(t, dir);
  const nc = await connectNats({ servers: url, name: "full-resolver", creds: join(dir, "admin.creds") });
  await ensureTopology(nc).finally(() => nc.close());
  const submitter = await connect({
    servers: url,
    authenticator: credsAuthenticator(readFileSync(join(dir, "submitter.creds"))),
    inboxPrefix: "_INBOX_submitter",
  });
  t.teardown(() => submitter.close());
  t.truthy(await refusal(submitter, () => submitter.publish("docswarm.final.x"), "docswarm.final.x"));
});
