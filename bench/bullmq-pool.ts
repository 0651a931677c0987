// The BullMQ reference of the documents figure (issue 10): BullMQ 6 on a Redis 7 of our own
// (Debian's redis-server, persistence off), one job per file whose data carries the file (base64:
// the bytes travel through the broker, as they do into docswarm), as many worker threads as agents,
// each one BullMQ Worker of concurrency 1 running the bare pool's extraction; page texts come back
// as the job's return value, read from QueueEvents' 'completed' events by the producer.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Worker as Thread } from "node:worker_threads";
import type { Queue, QueueEvents } from "bullmq";
import type { PageText } from "../schemas/index.ts";
import type { BullmqJob } from "./bullmq-worker.ts";
import type { CorpusDoc } from "./corpus.ts";

const workerUrl = new URL("./bullmq-worker.ts", import.meta.url);

/** redis-server's version line, or undefined when it is not installed. */
export function redisVersion(): string | undefined {
  const r = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  return r.status === 0 ? (r.stdout.match(/v=(\S+)/)?.[1] ?? r.stdout.trim()) : undefined;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** A throwaway redis-server on 127.0.0.1 (no RDB, no AOF, data in a temporary directory). */
class RedisServer {
  readonly port: number;
  readonly child: ChildProcess;
  readonly dir: string;

  private constructor(port: number, child: ChildProcess, dir: string) {
    this.port = port;
    this.child = child;
    this.dir = dir;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  static async start(): Promise<RedisServer> {
    const port = await freePort();
    const dir = await mkdtemp(join(tmpdir(), "docswarm-bench-redis-"));
    const args = [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
    ];
    const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000);
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        if (out.includes("Ready to accept connections")) {
          clearTimeout(t);
          resolve();
        }
      });
      child.once("exit", (code) => {
        clearTimeout(t);
        reject(new Error(`redis-server exited (${code}): ${out}`));
      });
    });
    child.stdout!.resume();
    child.stderr!.resume();
    return new RedisServer(port, child, dir);
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((r) => this.child.once("exit", r));
      this.child.kill("SIGTERM");
      await exited;
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

export type BullmqRun = { ms: number; texts: Map<string, PageText[]>; failed: number };

export class BullmqPool {
  readonly #redis: RedisServer;
  readonly #threads: Thread[];
  readonly #queue: Queue<BullmqJob, PageText[]>;
  readonly #events: QueueEvents;
  readonly version: string;
  #runs = 0;

  private constructor(
    redis: RedisServer,
    threads: Thread[],
    queue: Queue<BullmqJob, PageText[]>,
    events: QueueEvents,
    version: string,
  ) {
    this.#redis = redis;
    this.#threads = threads;
    this.#queue = queue;
    this.#events = events;
    this.version = version;
  }

  /** pid of redis-server (its CPU counts with BullMQ's). */
  get redisPid(): number | undefined {
    return this.#redis.pid;
  }

  static async start(threads: number): Promise<BullmqPool> {
    const bullmq = await import("bullmq");
    const { createRequire } = await import("node:module");
    const version = (createRequire(import.meta.url)("bullmq/package.json") as { version: string }).version;
    const redis = await RedisServer.start();
    const connection = { host: "127.0.0.1", port: redis.port, maxRetriesPerRequest: null };
    const name = "bench-documents";
    let queue: Queue<BullmqJob, PageText[]> | undefined;
    let events: QueueEvents | undefined;
    const workers: Thread[] = [];
    try {
      queue = new bullmq.Queue<BullmqJob, PageText[]>(name, {
        connection,
        defaultJobOptions: { removeOnComplete: true, removeOnFail: true, attempts: 1 },
      });
      events = new bullmq.QueueEvents(name, { connection });
      await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
      for (let i = 0; i < threads; i++)
        workers.push(
          new Thread(workerUrl, { name: `bullmq ${i}`, workerData: { port: redis.port, queue: name } }),
        );
      await Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve, reject) => {
              w.once("message", (m: { ready?: boolean; error?: string }) =>
                m.ready ? resolve() : reject(new Error(m.error)),
              );
              w.once("error", reject);
            }),
        ),
      );
    } catch (err) {
      await Promise.all(workers.map((w) => w.terminate()));
      await events?.close().catch(() => {});
      await queue?.close().catch(() => {});
      await redis.close();
      throw err;
    }
    return new BullmqPool(redis, workers, queue, events, version);
  }

  /** One job per document; resolves when every job's completion has reached the producer. */
  async run(docs: CorpusDoc[], timeoutMs = 600_000): Promise<BullmqRun> {
    const tag = `r${this.#runs++}`;
    const byId = new Map<string, CorpusDoc>();
    const texts = new Map<string, PageText[]>();
    let failed = 0;
    const started = performance.now();
    let last = started;
    const done = new Promise<void>((resolve, reject) => {
      const t = setTimeout(
        () => reject(new Error(`bullmq: ${docs.length - texts.size - failed} jobs unfinished`)),
        timeoutMs,
      );
      const settle = () => {
        last = performance.now();
        if (texts.size + failed < docs.length) return;
        clearTimeout(t);
        this.#events.off("completed", onCompleted);
        this.#events.off("failed", onFailed);
        resolve();
      };
      const onCompleted = ({ jobId, returnvalue }: { jobId: string; returnvalue: unknown }) => {
        const doc = byId.get(jobId);
        if (!doc) return;
        texts.set(doc.name, returnvalue as PageText[]);
        settle();
      };
      const onFailed = ({ jobId }: { jobId: string }) => {
        if (!byId.has(jobId)) return;
        failed++;
        settle();
      };
      this.#events.on("completed", onCompleted);
      this.#events.on("failed", onFailed);
    });
    const jobs = docs.map((d, i) => {
      const jobId = `${tag}-${i}`;
      byId.set(jobId, d);
      const data: BullmqJob = { name: d.name, pages: d.pages, b64: Buffer.from(d.bytes).toString("base64") };
      return { name: "extract", data, opts: { jobId } };
    });
    await this.#queue.addBulk(jobs);
    await done;
    return { ms: last - started, texts, failed };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.#threads.map(
        (w) =>
          new Promise<void>((resolve) => {
            w.once("exit", () => resolve());
            w.postMessage({ close: true });
          }),
      ),
    );
    await this.#events.close();
    await this.#queue.close();
    await this.#redis.close();
  }
}
