// The deployment guide's accounts and TLS (docs/deploy.md), as far as one machine can check them:
// `docswarm auth init` with TLS, the guide's node config with its include and its route TLS block on
// three loopback nodes that verify each other's route certificates, and the guide's `docswarm init
// --replicas 3` run as the admin over TLS.
import { spawn } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import test from "ava";
import { findNatsServer, SERVER_GUARD } from "../infra/index.ts";
import { REPO_ROOT, runCliWithEnv, tempDir } from "./support/cli.ts";
import { unusedPorts } from "./support/ports.ts";
import { waitFor } from "./support/wait.ts";

const read = (p: string) => readFile(join(REPO_ROOT, p), "utf8");

test("the guide's accounts and TLS: three nodes verify each other's routes; its docswarm init --replicas 3 runs as the admin over TLS", async (t) => {
  t.timeout(150_000);
  const guide = await read("docs/deploy.md");
  const dir = await tempDir(t, "deploy-tls");
  // The guide writes the auth directory where the nodes keep it: auth.conf names its files by path.
  const etc = join(dir, "etc");
  const made = await runCliWithEnv(["auth", "init", etc, "--tls", "--tls-host", "localhost"], {});
  t.is(made.code, 0, made.stderr);
  const blocks = [...guide.matchAll(/```conf\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const include = blocks.find((b) => b.trim().startsWith("include "));
  const routeTls = blocks.find((b) => b.trimStart().startsWith("tls {"));
  t.is(include?.trim(), 'include "auth.conf"');
  t.regex(routeTls ?? "", /verify: true/);
  const ports = await unusedPorts(9);
  const [client, route, http] = [ports.slice(0, 3), ports.slice(3, 6), ports.slice(6, 9)];
  const base = await read("infra/nats/cluster.conf");
  const logs: string[] = [];
  for (const i of [0, 1, 2]) {
    const name = `nats-${i + 1}`;
    // The guide's node config on loopback ports (three nodes, one machine), with its two additions.
    const conf = base
      .replace("0.0.0.0:4222", `127.0.0.1:${client[i]}`)
      .replace("0.0.0.0:6222", `127.0.0.1:${route[i]}`)
      .replace("0.0.0.0:8222", `127.0.0.1:${http[i]}`)
      .replace(
        /nats-route:\/\/nats-(\d):6222/g,
        (_, n: string) => `nats-route://localhost:${route[Number(n) - 1]}`,
      )
      .replace(/\n}\s*$/, `\n${routeTls!.replaceAll("/etc/docswarm", etc)}}\n`);
    const file = join(etc, `${name}.conf`);
    await writeFile(file, `${conf}\n${include}`);
    await mkdir(join(dir, name));
    const log = join(dir, `${name}.log`);
    logs.push(log);
    const child = spawn("bash", ["-c", SERVER_GUARD, "guard", findNatsServer().path, "-c", file, "-l", log], {
      env: { ...process.env, NATS_NODE_NAME: name, NATS_STORE_DIR: join(dir, name) },
      stdio: ["pipe", "ignore", "ignore"],
    });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    // Before the directory goes: the node writes to its store until it has stopped.
    t.teardown(async () => {
      child.kill("SIGTERM");
      await exited;
    });
  }
  // A route whose certificate fails verification is dropped: each node must see both others.
  const peers = () =>
    Promise.all(
      http.map((port) =>
        fetch(`http://127.0.0.1:${port}/routez`)
          .then((r) => r.json() as Promise<{ routes?: { remote_name: string }[] }>)
          .then((z) => new Set((z.routes ?? []).map((r) => r.remote_name)).size)
          .catch(() => 0),
      ),
    );
  await waitFor(async () => (await peers()).every((n) => n === 2), {
    message: "TLS routes between the three nodes",
    timeoutMs: 60_000,
  }).catch(async (err) => {
    for (const log of logs)
      t.log(
        (await readFile(log, "utf8").catch(() => ""))
          .split("\n")
          .filter((l) => /ERR/.test(l))
          .slice(-3)
          .join("\n"),
      );
    throw err;
  });
  const line = /^docswarm init --replicas 3 .*$/m.exec(guide)?.[0];
  t.truthy(line, "the guide shows docswarm init --replicas 3");
  const args = line!
    .split(/\s+/)
    .slice(1)
    .map((a) =>
      a.replaceAll("/etc/docswarm", etc).replace(/^tls:\/\/nats-1:4222$/, `tls://localhost:${client[0]}`),
    );
  t.true(args.includes(`tls://localhost:${client[0]}`), `the guide's init connects over TLS: ${line}`);
  const init = await runCliWithEnv(args, {}, 120_000);
  t.is(init.code, 0, `${init.stdout}\n${init.stderr}`);
  t.regex(init.stdout, /replicas|R3|3/);
});
