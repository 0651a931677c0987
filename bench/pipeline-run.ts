// Runs documents through the whole docswarm pipeline (submit → split → extract → merge → final
// result) and times them the way a user sees it: from the first submit to the last final result
// received on docswarm.done.<docId> (decoded and validated, as the client does).
import { jetstream } from "@nats-io/jetstream";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { DocswarmClient } from "../client/index.ts";
import { decodeFinal } from "../jobs/index.ts";
import type { FinalResult, Priority } from "../schemas/index.ts";
import { subjects } from "../streams/index.ts";
import type { CorpusDoc } from "./corpus.ts";

export type Arrival = { final: FinalResult; at: number };

/** Watches final results on core NATS (the done stream republishes what it stores). */
export class FinalWatcher {
  readonly arrivals = new Map<string, Arrival>();
  readonly #sub: Subscription;
  readonly #nc: NatsConnection;
  // Each waitAll's documents still to come: an arrival is checked against these once, so waiting
  // costs the same per document however many are outstanding (this process's CPU is docswarm's).
  readonly #waiting = new Set<{ missing: Set<string>; done: () => void }>();

  private constructor(nc: NatsConnection) {
    this.#nc = nc;
    const js = jetstream(nc);
    this.#sub = nc.subscribe(subjects.doneAll, {
      callback: (err, m) => {
        if (err) return;
        const at = performance.now();
        void decodeFinal(js, m.data).then((final) => {
          if (this.arrivals.has(final.docId)) return;
          this.arrivals.set(final.docId, { final, at });
          for (const w of this.#waiting) if (w.missing.delete(final.docId) && w.missing.size === 0) w.done();
        });
      },
    });
  }

  static async start(nc: NatsConnection): Promise<FinalWatcher> {
    const w = new FinalWatcher(nc);
    await nc.flush();
    return w;
  }

  async waitAll(docIds: string[], timeoutMs: number): Promise<Arrival[]> {
    const missing = new Set(docIds.filter((id) => !this.arrivals.has(id)));
    if (missing.size > 0) {
      const all = Promise.withResolvers<void>();
      const w = { missing, done: all.resolve };
      this.#waiting.add(w);
      const timer = setTimeout(
        () =>
          all.reject(
            new Error(`${missing.size} of ${docIds.length} documents unfinished after ${timeoutMs} ms`),
          ),
        timeoutMs,
      );
      try {
        await all.promise;
      } finally {
        clearTimeout(timer);
        this.#waiting.delete(w);
      }
    }
    return docIds.map((id) => this.arrivals.get(id)!);
  }

  close(): void {
    this.#sub.unsubscribe();
    void this.#nc;
  }
}

export type PipelineRun = { ms: number; pages: number; wrongPages: number; failed: number };

/** Pages whose number or text does not match the corpus (each page starts "Page n of <name>"). */
export function checkFinal(final: FinalResult, doc: CorpusDoc): number {
  if (final.status !== "done") return doc.pages;
  let wrong = Math.max(0, doc.pages - final.pages.length);
  final.pages.forEach((p, i) => {
    if (p.page !== i + 1 || !p.text.startsWith(`Page ${i + 1} of ${doc.name}`)) wrong++;
  });
  return wrong;
}

let runCounter = 0;

/** Submits `docs` (fresh doc ids) and waits for every final result. */
export async function runDocs(
  client: DocswarmClient,
  watcher: FinalWatcher,
  docs: CorpusDoc[],
  options: {
    priority?: Priority;
    tag?: string;
    timeoutMs?: number;
    /** Wrong pages of a final result (default: checkFinal's "Page n of <name>" lines). */
    check?: (final: FinalResult, doc: CorpusDoc) => number;
  } = {},
): Promise<PipelineRun & { arrivals: Arrival[]; startedAt: number }> {
  const tag = `${options.tag ?? "r"}${runCounter++}-${Date.now().toString(36)}`;
  const ids = docs.map((d) => `${d.name}-${tag}`);
  const startedAt = performance.now();
  await Promise.all(
    docs.map((d, i) =>
      client.submit(d.bytes, { docId: ids[i]!, priority: options.priority ?? "normal", source: d.name }),
    ),
  );
  const arrivals = await watcher.waitAll(ids, options.timeoutMs ?? 600_000);
  const last = Math.max(...arrivals.map((a) => a.at));
  let wrongPages = 0;
  let failed = 0;
  let pages = 0;
  arrivals.forEach((a, i) => {
    if (a.final.status !== "done") failed++;
    pages += a.final.pages.length;
    wrongPages += (options.check ?? checkFinal)(a.final, docs[i]!);
  });
  return { ms: last - startedAt, pages, wrongPages, failed, arrivals, startedAt };
}

export { DocswarmClient };
