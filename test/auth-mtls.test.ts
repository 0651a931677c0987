// Mutual TLS: a server that verifies client certificates (verify: true in tls {}) accepts a role that
// brings a certificate from the generated CA (--tls-cert/--tls-key, here through the library's auth
// options and through the CLI), and refuses one that does not.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import test from "ava";
import { EmbeddedNatsServer, embeddedAuthConfig, initAuthDir, issueCertificate } from "../infra/index.ts";
import { connectNats, ensureTopology, ROLES, type Role, rolePermissions } from "../streams/index.ts";
import { runCliWithEnv as runCli, tempDir } from "./support/cli.ts";

test("a server that verifies clients takes a role with a certificate from the CA and refuses one without", async (t) => {
  const dir = await tempDir(t, "docswarm-mtls-");
  await initAuthDir({
    dir,
    users: ROLES.map((r) => ({ name: r, role: r })),
    permissionsFor: (role, user) => rolePermissions(role as Role, user),
    tls: { hosts: ["localhost", "127.0.0.1"] },
  });
  const ca = {
    cert: await readFile(join(dir, "tls", "ca.pem"), "utf8"),
    key: await readFile(join(dir, "tls", "ca-key.pem"), "utf8"),
  };
  const client = issueCertificate(ca, "docswarm observer", [], "client");
  await writeFile(join(dir, "client.pem"), client.cert);
  await writeFile(join(dir, "client-key.pem"), client.key, { mode: 0o600 });
  const config = embeddedAuthConfig(dir).replace("  timeout: 5\n", "  timeout: 5\n  verify: true\n");
  t.true(config.includes("verify: true"));
  const server = await EmbeddedNatsServer.start({ extraConfig: config });
  t.teardown(() => server.close());

  const tls = {
    ca: join(dir, "tls", "ca.pem"),
    cert: join(dir, "client.pem"),
    key: join(dir, "client-key.pem"),
  };
  const admin = await connectNats({
    servers: server.url,
    name: "mtls-admin",
    creds: join(dir, "admin.creds"),
    tls,
  });
  await ensureTopology(admin).finally(() => admin.close());

  const status = await runCli(
    [
      "status",
      "--json",
      "-s",
      server.url,
      "--creds",
      join(dir, "observer.creds"),
      "--tls-ca",
      tls.ca,
      "--tls-cert",
      tls.cert,
      "--tls-key",
      tls.key,
    ],
    { NATS_URL: "" },
  );
  t.is(status.code, 0, status.stderr);
  t.truthy(JSON.parse(status.stdout).stages);

  await t.throwsAsync(
    connectNats({
      servers: server.url,
      name: "mtls-no-cert",
      creds: join(dir, "observer.creds"),
      tls: { ca: tls.ca },
    }).then((nc) => nc.close()),
  );
});
