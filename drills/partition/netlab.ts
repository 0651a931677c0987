// A private network for the partition drill: a Linux bridge in the root namespace and one network
// namespace per member (NATS node, coordinator, agent host), each joined to the bridge by a veth
// pair, with addresses from 198.18.0.0/15 (RFC 2544's range for network tests) and no route
// anywhere else, so nothing leaves the machine. The root namespace (the drill itself: submitter and
// observer) reaches every member through the bridge and is never cut.
//
// Faults: per-namespace iptables rules that drop traffic between groups silently (as a real
// partition does: open connections hang, new ones time out), the bridge-side end of a member's link
// going down and up (a flapping link), and a delay/loss queue on a member's link (slow-link.py on
// NFQUEUE: this kernel has no netem qdisc). Rules live inside the namespaces, so they go with them.
//
// Names carry the drill's pid (`dsp<pid base 36>`): a later run removes what a crashed run left,
// and close() (also on SIGINT, SIGTERM, SIGHUP and exit) removes everything this run made.
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const PREFIX = "dsp";
const NETNS_ETC = "/etc/netns";
const SLOW_LINK = fileURLToPath(new URL("./slow-link.py", import.meta.url));
// Inside every namespace the member's end of its link is called eth0.
const IFACE = "eth0";

export type Member = { name: string; ns: string; ip: string; veth: string };

export type Degradation = { delayMs: number; lossPercent: number };

/** Why the drill cannot run here (not root, tools missing), or undefined when it can. */
export function netLabUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (network namespaces)";
  for (const tool of ["ip", "iptables-restore", "python3"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    } catch {
      return `needs ${tool} (${tool === "ip" ? "iproute2" : tool === "python3" ? "python3" : "iptables"})`;
    }
  }
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function quietly(cmd: string, args: string[]): void {
  try {
    execFileSync(cmd, args, { stdio: "ignore", timeout: 10_000 });
  } catch {}
}

/** Kills what runs in a namespace, then removes it (its veth and iptables rules go with it). */
function removeNamespace(ns: string): void {
  let pids = "";
  try {
    pids = execFileSync("ip", ["netns", "pids", ns], { encoding: "utf8", timeout: 10_000 });
  } catch {}
  for (const pid of pids.split(/\s+/).filter(Boolean)) {
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {}
  }
  quietly("ip", ["netns", "del", ns]);
  rmSync(join(NETNS_ETC, ns), { recursive: true, force: true });
}

/** Removes the namespaces, bridges and /etc/netns entries of earlier runs whose drill is gone. */
export function removeStaleLabs(log: (line: string) => void = () => {}): void {
  const mine = new RegExp(`^${PREFIX}([0-9a-z]+)-`);
  const stale = (name: string) => {
    const m = mine.exec(name);
    return m !== null && !alive(Number.parseInt(m[1]!, 36));
  };
  let namespaces: string[] = [];
  try {
    namespaces = execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
      .split("\n")
      .map((l) => l.split(" ")[0]!)
      .filter(Boolean);
  } catch {}
  for (const ns of namespaces.filter(stale)) {
    log(`removing namespace ${ns} left by an earlier run`);
    removeNamespace(ns);
  }
  if (existsSync(NETNS_ETC))
    for (const d of readdirSync(NETNS_ETC).filter(stale)) rmSync(join(NETNS_ETC, d), { recursive: true });
  let links: string[] = [];
  try {
    links = execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" })
      .split("\n")
      .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1] ?? "")
      .filter((n) => n.startsWith(PREFIX));
  } catch {}
  for (const link of links) {
    const m = new RegExp(`^${PREFIX}([0-9a-z]+?)(br|v\\d+)$`).exec(link);
    if (m && !alive(Number.parseInt(m[1]!, 36))) {
      log(`removing link ${link} left by an earlier run`);
      quietly("ip", ["link", "del", link]);
    }
  }
}

/** A free /24 in 198.18.0.0/15 for this run (derived from the pid, skipping ones in use). */
function pickSubnet(): string {
  const routes = execFileSync("ip", ["-4", "route", "show"], { encoding: "utf8" });
  for (let i = 0; i < 512; i++) {
    const n = (process.pid + i) % 512;
    const net = `198.${18 + (n >> 8)}.${n & 255}`;
    if (!routes.includes(`${net}.`)) return net;
  }
  throw new Error("no free /24 in 198.18.0.0/15");
}

const live = new Set<NetLab>();
let hooksInstalled = false;
function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on("exit", () => {
    for (const lab of live) lab.removeNow();
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      for (const lab of live) lab.removeNow();
      process.kill(process.pid, signal);
    });
  }
}

export class NetLab {
  readonly id: string;
  readonly bridge: string;
  /** The bridge's address: where the drill itself sits. */
  readonly gateway: string;
  readonly members: ReadonlyMap<string, Member>;
  readonly #children = new Set<ChildProcess>();
  /** Unordered pairs of member names that cannot reach each other. */
  #blocked = new Set<string>();
  readonly #degraded = new Map<string, { queue: number; process: ChildProcess }>();
  #removed = false;

  private constructor(id: string, net: string, names: string[]) {
    this.id = id;
    this.bridge = `${id}br`;
    this.gateway = `${net}.1`;
    this.members = new Map(
      names.map((name, i) => [
        name,
        { name, ns: `${id}-${name}`, ip: `${net}.${10 + i}`, veth: `${id}v${i}` },
      ]),
    );
  }

  /** Creates the bridge and one namespace per name; names resolve to members' addresses inside them. */
  static async create(names: string[], log: (line: string) => void = () => {}): Promise<NetLab> {
    // Names derive from the pid: one lab per process at a time.
    if (live.size > 0) throw new Error("a network lab is already running in this process");
    removeStaleLabs(log);
    const lab = new NetLab(`${PREFIX}${process.pid.toString(36)}`, pickSubnet(), names);
    live.add(lab);
    installHooks();
    try {
      await lab.#build();
    } catch (err) {
      lab.removeNow();
      throw err;
    }
    return lab;
  }

  async #build(): Promise<void> {
    const root = [`link add ${this.bridge} type bridge`, `addr add ${this.gateway}/24 dev ${this.bridge}`];
    root.push(`link set ${this.bridge} up`);
    for (const m of this.members.values()) {
      root.push(`netns add ${m.ns}`, `link add ${m.veth} type veth peer name ${IFACE} netns ${m.ns}`);
      root.push(`link set ${m.veth} master ${this.bridge} up`);
    }
    await batch(undefined, root);
    const hosts = ["127.0.0.1 localhost", ...[...this.members.values()].map((m) => `${m.ip} ${m.name}`)];
    for (const m of this.members.values()) {
      await batch(m.ns, ["link set lo up", `addr add ${m.ip}/24 dev ${IFACE}`, `link set ${IFACE} up`]);
      mkdirSync(join(NETNS_ETC, m.ns), { recursive: true });
      writeFileSync(join(NETNS_ETC, m.ns, "hosts"), `${hosts.join("\n")}\n`);
    }
  }

  member(name: string): Member {
    const m = this.members.get(name);
    if (!m) throw new Error(`no member '${name}' in the lab`);
    return m;
  }

  /** Runs a command inside a member's namespace (as a direct child: `ip netns exec` execs it). */
  spawn(
    name: string,
    command: string,
    args: string[],
    options: { env?: NodeJS.ProcessEnv; stdio?: Array<"pipe" | "ignore"> } = {},
  ): ChildProcess {
    const child = spawn("ip", ["netns", "exec", this.member(name).ns, command, ...args], {
      env: options.env ?? process.env,
      stdio: options.stdio ?? ["ignore", "ignore", "pipe"],
    });
    this.#children.add(child);
    child.once("exit", () => this.#children.delete(child));
    return child;
  }

  /** Only members in the same group reach each other (members in no group keep every link). */
  async partition(groups: string[][]): Promise<void> {
    const blocked = new Set<string>();
    for (let i = 0; i < groups.length; i++)
      for (let j = i + 1; j < groups.length; j++)
        for (const a of groups[i]!) for (const b of groups[j]!) blocked.add(pairKey(a, b));
    this.#blocked = blocked;
    await this.#applyRules();
  }

  /** Cuts one member off from every other member. */
  cut(name: string): Promise<void> {
    return this.partition([[name], [...this.members.keys()].filter((n) => n !== name)]);
  }

  /** Removes every partition (degradations and link state are separate). */
  heal(): Promise<void> {
    return this.partition([]);
  }

  /** Brings the bridge side of a member's link down or up (a cable pulled, a switch port flapping). */
  async setLink(name: string, up: boolean): Promise<void> {
    await run("ip", ["link", "set", this.member(name).veth, up ? "up" : "down"]);
  }

  /** Delays and drops packets in both directions of a member's link. */
  async degrade(name: string, d: Degradation): Promise<void> {
    if (this.#degraded.has(name)) await this.restore(name);
    const queue = [...this.members.keys()].indexOf(name) + 1;
    const child = this.spawn(
      name,
      "python3",
      [SLOW_LINK, String(queue), String(d.delayMs), String(d.lossPercent)],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout?.setEncoding("utf8");
      child.stdout?.on("data", (s: string) => s.includes("ready") && resolve());
      child.once("exit", (code) => reject(new Error(`slow-link.py exited (${code}) before it was ready`)));
    });
    this.#degraded.set(name, { queue, process: child });
    await this.#applyRules();
  }

  /** Ends a member's degradation: its rules go first, then the queue lets what it holds through. */
  async restore(name: string): Promise<void> {
    const d = this.#degraded.get(name);
    if (!d) return;
    this.#degraded.delete(name);
    await this.#applyRules();
    const exited = new Promise((resolve) => d.process.once("exit", resolve));
    d.process.kill("SIGTERM");
    await exited;
  }

  /** Writes each namespace's filter table in one atomic iptables-restore. */
  async #applyRules(): Promise<void> {
    await Promise.all(
      [...this.members.values()].map(async (m) => {
        const lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"];
        for (const other of this.members.values()) {
          if (other === m || !this.#blocked.has(pairKey(m.name, other.name))) continue;
          lines.push(`-A INPUT -s ${other.ip} -j DROP`, `-A OUTPUT -d ${other.ip} -j DROP`);
        }
        const d = this.#degraded.get(m.name);
        if (d) {
          const q = `-j NFQUEUE --queue-num ${d.queue} --queue-bypass`;
          lines.push(`-A INPUT -i ${IFACE} ${q}`, `-A OUTPUT -o ${IFACE} ${q}`);
        }
        lines.push("COMMIT", "");
        await runWithInput("ip", ["netns", "exec", m.ns, "iptables-restore"], lines.join("\n"));
      }),
    );
  }

  /** Stops what runs in the namespaces and removes everything this lab made (synchronous). */
  removeNow(): void {
    if (this.#removed) return;
    this.#removed = true;
    live.delete(this);
    for (const child of this.#children) child.kill("SIGKILL");
    for (const m of this.members.values()) {
      // Deleting the root end removes the pair at once; the namespace's removal frees it only later.
      quietly("ip", ["link", "del", m.veth]);
      removeNamespace(m.ns);
    }
    quietly("ip", ["link", "del", this.bridge]);
  }

  /** Stops what runs in the namespaces (SIGTERM, then SIGKILL after graceMs) and removes the lab. */
  async close(graceMs = 3000): Promise<void> {
    if (this.#removed) return;
    await Promise.all(
      [...this.#children].map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        await exited;
        clearTimeout(timer);
      }),
    );
    this.removeNow();
  }
}

function pairKey(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`;
}

async function batch(ns: string | undefined, commands: string[]): Promise<void> {
  await runWithInput("ip", [...(ns ? ["-n", ns] : []), "-batch", "-"], `${commands.join("\n")}\n`);
}

function runWithInput(cmd: string, args: string[], input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (s: string) => {
      stderr += s;
    });
    child.once("error", reject);
    child.once("exit", (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${cmd} ${args.join(" ")} failed (${code}): ${stderr.trim()}`)),
    );
    child.stdin.end(input);
  });
}
