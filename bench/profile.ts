// How much work each figure does: `full` for the committed table, `quick` for a run under ~3 minutes,
// `smoke` for the test that checks the bench runs end to end (tiny, meaningless numbers).
export type Profile = {
  name: "full" | "quick" | "smoke";
  pages: { totalPages: number; docPages: number[]; reps: number; warmPages: number };
  /** The small / long / mixed corpora (bench/corpora/, documentCorpora); mixed is 90 % small by count. */
  documents: {
    small: number;
    long: number;
    longPages: number;
    mixedSmall: number;
    mixedLong: number;
    reps: number;
  };
  overhead: { rate: number; latencyTasks: number; throughputTasks: number; slots: number; reps: number };
  scaling: { steps: number[]; waitMs: number; tasksPerAgent: number };
  memory: { steps: number[] };
  recovery: { threadKills: number; processKills: number };
  priority: { backlogDocs: number; docPages: number; reps: number };
  /** The engines figure (bench/figures/engines.ts): realistic corpora sizes. */
  engines: { small: number; long: number; longPages: number; cjk: number };
  /** `docswarm process` runs timed for start-up and shutdown (bench/figures/lifecycle.ts). */
  lifecycle: { runs: number };
};

export const PROFILES: Record<Profile["name"], Profile> = {
  full: {
    name: "full",
    pages: { totalPages: 2400, docPages: [24, 48, 96, 144], reps: 3, warmPages: 96 },
    documents: { small: 600, long: 4, longPages: 200, mixedSmall: 180, mixedLong: 20, reps: 3 },
    overhead: { rate: 200, latencyTasks: 2000, throughputTasks: 20_000, slots: 64, reps: 3 },
    scaling: { steps: [1, 2, 4, 8, 16, 32, 64], waitMs: 100, tasksPerAgent: 20 },
    memory: { steps: [1, 16, 64] },
    recovery: { threadKills: 8, processKills: 5 },
    priority: { backlogDocs: 24, docPages: 40, reps: 3 },
    engines: { small: 300, long: 3, longPages: 200, cjk: 20 },
    lifecycle: { runs: 5 },
  },
  quick: {
    name: "quick",
    pages: { totalPages: 720, docPages: [24, 48, 96, 144], reps: 2, warmPages: 48 },
    documents: { small: 500, long: 2, longPages: 200, mixedSmall: 90, mixedLong: 10, reps: 1 },
    overhead: { rate: 200, latencyTasks: 600, throughputTasks: 6000, slots: 64, reps: 2 },
    scaling: { steps: [1, 2, 4, 8, 16, 32, 64], waitMs: 100, tasksPerAgent: 8 },
    memory: { steps: [1, 8, 16] },
    recovery: { threadKills: 4, processKills: 2 },
    priority: { backlogDocs: 12, docPages: 40, reps: 1 },
    engines: { small: 100, long: 1, longPages: 200, cjk: 10 },
    lifecycle: { runs: 3 },
  },
  smoke: {
    name: "smoke",
    pages: { totalPages: 24, docPages: [8, 16], reps: 1, warmPages: 4 },
    documents: { small: 12, long: 1, longPages: 24, mixedSmall: 9, mixedLong: 1, reps: 1 },
    overhead: { rate: 100, latencyTasks: 40, throughputTasks: 200, slots: 8, reps: 1 },
    scaling: { steps: [1, 2], waitMs: 20, tasksPerAgent: 3 },
    memory: { steps: [1, 2] },
    recovery: { threadKills: 1, processKills: 1 },
    priority: { backlogDocs: 2, docPages: 8, reps: 1 },
    engines: { small: 6, long: 1, longPages: 12, cjk: 2 },
    lifecycle: { runs: 1 },
  },
};
