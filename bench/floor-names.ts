// Streams and subjects of the floor pipeline (bench/floor.ts), apart from docswarm's.
export const FLOOR = {
  tasks: "BENCH_FLOOR_TASKS",
  results: "BENCH_FLOOR_RESULTS",
  taskSubject: "benchfloor.task",
  resultSubject: "benchfloor.result",
  workers: "floor-workers",
} as const;
