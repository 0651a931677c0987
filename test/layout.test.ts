// The folder rules of DESIGN.md and DEVELOPERS.md ("Layout rules"), checked on the sources: which
// folder may import which, and no import cycles. Type-only imports count: a type from the
// coordinator in an agent is the same coupling at the next refactor.
import test from "ava";
import { findCycles, type ImportEdge, importGraph, importsOf } from "./support/imports.ts";

/** What each product folder may import besides itself. */
const MAY_IMPORT: Record<string, readonly string[]> = {
  schemas: [],
  streams: ["schemas"],
  jobs: ["streams", "schemas"],
  observability: ["streams", "schemas"],
  infra: ["streams", "schemas"],
  agents: ["jobs", "observability", "streams", "schemas"],
  coordinator: ["jobs", "observability", "streams", "schemas"],
  client: ["jobs", "observability", "streams", "schemas"],
  dashboard: ["client", "jobs", "observability", "streams", "schemas", "infra"],
  // The wiring: the library entry, the swarm facade and the CLI put everything together.
  swarm: [
    "agents",
    "coordinator",
    "client",
    "dashboard",
    "jobs",
    "observability",
    "streams",
    "schemas",
    "infra",
  ],
  cli: [
    "swarm",
    "agents",
    "coordinator",
    "client",
    "dashboard",
    "jobs",
    "observability",
    "streams",
    "schemas",
    "infra",
  ],
  "index.ts": [
    "swarm",
    "agents",
    "coordinator",
    "client",
    "dashboard",
    "jobs",
    "observability",
    "streams",
    "schemas",
    "infra",
  ],
};
const PRODUCT = new Set(Object.keys(MAY_IMPORT));

/** Top-level folder of a repo-relative path; "test/support" is its own area (the test kit). */
function area(path: string): string {
  if (path.startsWith("test/support/")) return "test/support";
  return path.split("/")[0]!;
}

function allowed(from: string, to: string): boolean {
  const a = area(from);
  const b = area(to);
  if (a === b) return true;
  if (PRODUCT.has(a)) return MAY_IMPORT[a]!.includes(b);
  // Outside the product: tests, bench, drills, scripts and examples use the product freely, and
  // the test kit serves them all, so it imports none of them.
  if (PRODUCT.has(b)) return true;
  if (a === "test/support") return false;
  if (b === "test/support") return true;
  // A test may run a drill, the bench, a script or an example; those stay out of each other.
  return a === "test" && ["drills", "bench", "scripts", "examples"].includes(b);
}

/**
 * Cycles that exist today and are being removed; the test fails once one is gone, so the list
 * shrinks with the fix. coordinator.ts <-> dag-jobs.ts: the coordinator context type moves to
 * coordinator/context.ts with helper life's coordinator split (issue 11, outcome 2).
 */
const KNOWN_CYCLES: string[] = [];

const graph = importGraph();
const edges: ImportEdge[] = [...graph.values()].flat();

test("the import graph was read", (t) => {
  t.true(graph.size > 200, `${graph.size} source files`);
  t.true(
    edges.some((e) => e.from === "agents/host.ts" && e.to.startsWith("streams/")),
    "agents/host.ts imports streams/",
  );
  t.true(
    edges.every((e) => graph.has(e.to) || !/\.(ts|mjs)$/.test(e.to)),
    "every import resolves to a file",
  );
});

test("every folder imports only the folders DESIGN.md allows", (t) => {
  const bad = edges
    .filter((e) => !allowed(e.from, e.to))
    .map((e) => `${e.from} imports ${e.to}${e.typeOnly ? " (type)" : ""}`);
  t.deepEqual(bad, [], `imports against the layout rules:\n${bad.join("\n")}`);
});

test("product code never imports tests, the bench, the drills or scripts", (t) => {
  const bad = edges.filter((e) => PRODUCT.has(area(e.from)) && !PRODUCT.has(area(e.to)));
  t.deepEqual(bad, []);
});

test("there are no import cycles", (t) => {
  const cycles = findCycles(graph).map((c) => c.join(" -> "));
  const fresh = cycles.filter((c) => !KNOWN_CYCLES.includes(c));
  t.deepEqual(fresh, [], `import cycles:\n${fresh.join("\n")}`);
  const gone = KNOWN_CYCLES.filter((c) => !cycles.includes(c));
  t.deepEqual(gone, [], "known cycles that are gone: remove them from KNOWN_CYCLES");
});

/** Files whose thread-side imports of observability predate observability/thread.ts. */
const THREAD_IMPORT_EXCEPTIONS: string[] = [];

test("agent threads load observability through its light entry only", (t) => {
  // What a worker thread evaluates: the closure of its entry over imports that survive type stripping.
  const seen = new Set<string>();
  const todo = ["agents/worker-main.ts"];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file) || !graph.has(file)) continue;
    seen.add(file);
    for (const e of graph.get(file)!) if (!e.typeOnly) todo.push(e.to);
  }
  t.true(seen.has("agents/runtime.ts") && seen.has("observability/thread.ts"), [...seen].join(", "));
  const heavy = [...seen]
    .filter((f) => f.startsWith("observability/"))
    .filter(
      (f) =>
        ![
          "observability/thread.ts",
          "observability/log.ts",
          "observability/tracing.ts",
          "observability/trace-headers.ts",
        ].includes(f),
    );
  t.deepEqual(heavy, [], "modules that load pino, the metrics SDK or exporters");
  const around = edges
    .filter((e) => seen.has(e.from) && area(e.from) === "agents" && area(e.to) === "observability")
    .filter((e) => e.to !== "observability/thread.ts" && !THREAD_IMPORT_EXCEPTIONS.includes(e.from))
    .map((e) => `${e.from} imports ${e.to}`);
  t.deepEqual(around, [], "thread code imports observability/thread.ts");
});

test("the checker finds cycles and reads every import form", (t) => {
  const edge = (from: string, to: string) => ({ from, to, typeOnly: false });
  const g = new Map([
    ["a.ts", [edge("a.ts", "b.ts")]],
    ["b.ts", [edge("b.ts", "c.ts")]],
    ["c.ts", [edge("c.ts", "a.ts"), edge("c.ts", "d.ts")]],
    ["d.ts", []],
  ]);
  t.deepEqual(findCycles(g), [["a.ts", "b.ts", "c.ts", "a.ts"]]);
  t.deepEqual(findCycles(new Map([["d.ts", []]])), []);
  const self = importsOf("test/layout.test.ts");
  t.true(self.some((e) => e.to === "test/support/imports.ts" && !e.typeOnly));
  const kit = importsOf("test/support/server.ts");
  t.true(
    kit.some((e) => e.to === "agents/index.ts" && !e.typeOnly),
    "a named import",
  );
  t.true(
    kit.some((e) => e.to === "schemas/index.ts" && e.typeOnly),
    "an `import type`",
  );
  t.true(
    importsOf("agents/host.ts").some((e) => e.to === "schemas/index.ts" && !e.typeOnly),
    "an import over several lines",
  );
  t.false(allowed("agents/host.ts", "coordinator/index.ts"), "agents and the coordinator never meet");
  t.false(allowed("jobs/store.ts", "agents/index.ts"), "jobs/ sits below agents/");
  t.false(allowed("schemas/index.ts", "streams/index.ts"), "schemas/ imports nothing of ours");
  t.false(allowed("test/support/pdf.ts", "bench/corpus.ts"), "the test kit imports no bench");
  t.true(allowed("bench/corpus.ts", "test/support/pdf.ts"));
  t.false(allowed("agents/host.ts", "test/support/wait.ts"), "product code imports no test kit");
});
