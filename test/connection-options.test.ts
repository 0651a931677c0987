// Connection options as the nats CLI takes them: flags over NATS_* variables over a nats CLI context
// over nats://127.0.0.1:4222; `docswarm status` with nothing set goes to that default (no usage
// error), and a context file (named, NATS_CONTEXT, or the selected one) is enough to reach a server.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import test from "ava";
import { DEFAULT_NATS_URL } from "../schemas/index.ts";
import {
  connectNats,
  displayServers,
  ensureTopology,
  inboxPrefixFromCreds,
  resolveConnection,
} from "../streams/index.ts";
import { runCliWithEnv as runCli, tempDir } from "./support/cli.ts";
import { startServer } from "./support/server.ts";

async function natsHome(
  t: Parameters<typeof tempDir>[0],
  contexts: Record<string, object>,
  selected?: string,
) {
  const home = await tempDir(t, "nats-home-");
  const dir = join(home, "nats", "context");
  await mkdir(dir, { recursive: true });
  for (const [name, body] of Object.entries(contexts))
    await writeFile(join(dir, `${name}.json`), JSON.stringify(body));
  if (selected) await writeFile(join(home, "nats", "context.txt"), selected);
  return home;
}

test("with nothing set, the nats CLI's default server", (t) => {
  const r = resolveConnection({}, { HOME: "/nonexistent" });
  t.deepEqual(r.config, { servers: [DEFAULT_NATS_URL] });
  t.false(r.explicitServer);
});

test("flags win over NATS_* variables, which win over the context", async (t) => {
  const home = await natsHome(t, {
    prod: { url: "nats://ctx:4222", creds: "~/ctx.creds", ca: "/ctx/ca.pem", inbox_prefix: "_INBOX_ctx" },
  });
  const env = { XDG_CONFIG_HOME: home, HOME: "/home/u", NATS_CREDS: "/env.creds" };
  const fromCtx = resolveConnection({ context: "prod" }, env);
  t.deepEqual(fromCtx.config, {
    servers: ["nats://ctx:4222"],
    creds: "/env.creds",
    inboxPrefix: "_INBOX_ctx",
    tls: { ca: "/ctx/ca.pem" },
  });
  t.true(fromCtx.explicitServer);
  const flags = resolveConnection(
    { context: "prod", server: "nats://a:1,nats://b:2", creds: "/flag.creds", tlsCa: "/flag/ca.pem" },
    env,
  );
  t.deepEqual(flags.config.servers, ["nats://a:1", "nats://b:2"]);
  t.is(flags.config.creds, "/flag.creds");
  t.is(flags.config.tls?.ca, "/flag/ca.pem");
  // ~ in a context path means the user's home.
  t.is(
    resolveConnection({ context: "prod" }, { XDG_CONFIG_HOME: home, HOME: "/home/u" }).config.creds,
    "/home/u/ctx.creds",
  );
});

test("the selected context (context.txt) and NATS_CONTEXT are read; a named context must exist", async (t) => {
  const home = await natsHome(
    t,
    { a: { url: "nats://a:4222" }, b: { url: "nats://b:4222", user: "u", password: "p" } },
    "a",
  );
  t.deepEqual(resolveConnection({}, { XDG_CONFIG_HOME: home }).config.servers, ["nats://a:4222"]);
  const b = resolveConnection({}, { XDG_CONFIG_HOME: home, NATS_CONTEXT: "b" }).config;
  t.deepEqual(b, { servers: ["nats://b:4222"], user: "u", password: "p" });
  t.throws(() => resolveConnection({ context: "missing" }, { XDG_CONFIG_HOME: home }), {
    message: /missing\.json/,
  });
});

test("credentials in a URL are refused, so they are never shown where the URL is", (t) => {
  t.throws(() => resolveConnection({ server: "nats://me:secret@host:4222" }, {}), {
    message: /credentials in a server URL/,
  });
  t.is(displayServers(["nats://me:secret@h:1", "nats://h2:2"]), "nats://***@h:1,nats://h2:2");
  t.throws(() => resolveConnection({ tlsCert: "/c.pem" }, {}), { message: /needs its key/ });
});

test("a user allowed only its own inbox gets that inbox prefix from its creds", (t) => {
  const claims = (allow: string[]) =>
    Buffer.from(JSON.stringify({ name: "u", nats: { sub: { allow } } })).toString("base64url");
  const creds = (allow: string[]) =>
    `-----BEGIN NATS USER JWT-----\neyJ0eXAiOiJKV1QifQ.${claims(allow)}.sig\n------END NATS USER JWT------\n`;
  t.is(inboxPrefixFromCreds(creds(["_INBOX_u.>", "docswarm.done.>"])), "_INBOX_u");
  t.is(inboxPrefixFromCreds(creds(["_INBOX.>", "_INBOX_u.>"])), undefined);
  t.is(inboxPrefixFromCreds(creds([">"])), undefined);
  t.is(inboxPrefixFromCreds("not a creds file"), undefined);
});

test("docswarm status: no NATS_URL is no usage error; --server, NATS_URL and a context all reach the server", async (t) => {
  const server = await startServer(t);
  const nc = await connectNats({ servers: server.url, name: "topology" });
  await ensureTopology(nc).finally(() => nc.close());
  const empty = await natsHome(t, {});
  // Nothing set: it tries the default server (nothing listens there in this test, or something does).
  const none = await runCli(["status", "--json"], { NATS_URL: "", XDG_CONFIG_HOME: empty });
  t.not(none.code, 2, none.stderr);
  if (none.code !== 0) t.regex(none.stderr, /127\.0\.0\.1:4222|ECONNREFUSED|connect/i);
  for (const [args, env] of [
    [["status", "--json", "--server", server.url], { NATS_URL: "", XDG_CONFIG_HOME: empty }],
    [["status", "--json", "-s", server.url], { NATS_URL: "", XDG_CONFIG_HOME: empty }],
    [["status", "--json"], { NATS_URL: server.url, XDG_CONFIG_HOME: empty }],
  ] as const) {
    const r = await runCli([...args], env);
    t.is(r.code, 0, `${args.join(" ")}: ${r.stderr}`);
    t.truthy(JSON.parse(r.stdout).stages);
  }
  const home = await natsHome(t, { swarm: { url: server.url } });
  const named = await runCli(["status", "--json", "--context", "swarm"], {
    NATS_URL: "",
    XDG_CONFIG_HOME: home,
  });
  t.is(named.code, 0, named.stderr);
  const selected = await natsHome(t, { swarm: { url: server.url } }, "swarm");
  const sel = await runCli(["status"], { NATS_URL: "", XDG_CONFIG_HOME: selected });
  t.is(sel.code, 0, sel.stderr);
  t.true(sel.stdout.includes(server.url));
});
