// The partition drill's network lab (drills/partition/netlab.ts): a partition really cuts members
// off and healing really restores them, a degraded link is slow, and nothing outlives the run —
// not on SIGTERM, and what a SIGKILLed run left is removed by the next one. Needs root (CI runs
// as root); elsewhere it says NOT RUN and passes.
import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import test, { type ExecutionContext } from "ava";
import { NetLab, netLabUnavailable } from "../drills/partition/netlab.ts";

const NETLAB = fileURLToPath(new URL("../drills/partition/netlab.ts", import.meta.url));
const unavailable = netLabUnavailable();
/** A serial test that needs root; elsewhere it says NOT RUN (and fails in CI, which must run it). */
function labTest(title: string, fn: (t: ExecutionContext) => Promise<void>): void {
  test.serial(title, async (t) => {
    if (!unavailable) return fn(t);
    if (process.env.CI) t.fail(`${unavailable}, and CI must run it`);
    else t.log(`NOT RUN: ${unavailable}`);
    t.pass();
  });
}

const namespaces = () => execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
const links = () => execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" });

/** Milliseconds for a TCP connect + one echoed line from `from` to `to`'s port 7000, or "refused"/"timeout". */
async function probe(lab: NetLab, from: string, to: string, timeoutMs = 3000): Promise<number | string> {
  const script = `
const net = require("node:net"); const t0 = Date.now();
const s = net.connect({ host: "${lab.member(to).ip}", port: 7000 });
s.setTimeout(${timeoutMs}, () => { console.log("timeout"); process.exit(0); });
s.on("connect", () => s.write("ping\\n"));
s.on("data", () => { console.log(Date.now() - t0); process.exit(0); });
s.on("error", (e) => { console.log(e.code); process.exit(0); });`;
  const child = lab.spawn(from, process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
  });
  await new Promise((r) => child.once("exit", r));
  const v = out.trim();
  return /^\d+$/.test(v) ? Number(v) : v;
}

labTest("partitions cut members off, healing restores them, a degraded link is slow", async (t) => {
  const lab = await NetLab.create(["a", "b", "c"]);
  t.teardown(() => lab.close());
  for (const name of ["b", "c"]) {
    const echo = lab.spawn(
      name,
      process.execPath,
      ["-e", 'require("node:net").createServer((s) => s.pipe(s)).listen(7000, () => console.log("up"))'],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    await new Promise((r) => echo.stdout?.once("data", r));
  }
  t.is(typeof (await probe(lab, "a", "b")), "number", "a reaches b");
  await lab.partition([["a"], ["b", "c"]]);
  t.is(await probe(lab, "a", "b", 1500), "timeout", "a cannot reach b: packets are dropped, not refused");
  t.is(typeof (await probe(lab, "c", "b")), "number", "b and c, on the same side, still talk");
  await lab.heal();
  t.is(typeof (await probe(lab, "a", "b")), "number", "healed");
  await lab.setLink("b", false);
  t.is(await probe(lab, "a", "b", 1500), "timeout", "b's link is down");
  await lab.setLink("b", true);
  t.is(typeof (await probe(lab, "a", "b")), "number", "b's link is up again");
  await lab.degrade("b", { delayMs: 200, lossPercent: 0 });
  const slow = await probe(lab, "a", "b", 5000);
  // Connect and echo are two round trips through b's link, each 200 ms in and 200 ms out.
  t.true(typeof slow === "number" && slow >= 700, `two round trips through the slow link took ${slow} ms`);
  await lab.restore("b");
  const fast = await probe(lab, "a", "b");
  t.true(typeof fast === "number" && fast < 400, `restored: ${fast} ms`);
});

/** A child process that builds a lab and prints its id, then waits. */
function labProcess() {
  const child = spawn(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `import { NetLab } from ${JSON.stringify(NETLAB)};
       const lab = await NetLab.create(["x", "y"]);
       console.log(lab.id);
       setInterval(() => {}, 1000);`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  const id = new Promise<string>((resolve) =>
    child.stdout.once("data", (d: Buffer) => resolve(d.toString().trim())),
  );
  const exited = new Promise((r) => child.once("exit", r));
  return { child, id, exited };
}

labTest("a run stopped by SIGTERM leaves no namespace, link or /etc/netns entry behind", async (t) => {
  const run = labProcess();
  const id = await run.id;
  t.true(namespaces().includes(`${id}-x`));
  run.child.kill("SIGTERM");
  await run.exited;
  t.false(namespaces().includes(id), "namespaces removed");
  t.false(links().includes(`${id}br`), "bridge removed");
  t.false(existsSync(`/etc/netns/${id}-x`), "/etc/netns entry removed");
});

labTest("what a SIGKILLed run left is removed by the next run", async (t) => {
  const run = labProcess();
  const id = await run.id;
  run.child.kill("SIGKILL");
  await run.exited;
  t.true(namespaces().includes(`${id}-x`), "a killed run cannot clean up");
  const lab = await NetLab.create(["z"]);
  t.teardown(() => lab.close());
  t.false(namespaces().includes(id), "the next run removed the stale namespaces");
  t.false(links().includes(`${id}br`), "and the stale bridge");
});
