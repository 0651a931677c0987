// Streams and subjects of the floor pipeline (bench/floor.ts), apart from docswarm's.
export const FLOOR = {
  tasks: "BENCH_FLOOR_TASKS",
  results: "BENCH_FLOOR_RESULTS",
  taskSubject: "benchfloor.task",
  resultSubject: "benchfloor.result",
  workers: "floor-workers",
} as const;

// Streams and subjects of the document floor (bench/doc-floor.ts), apart from docswarm's and the above.
export const DOC_FLOOR = {
  submissions: "BENCH_DOC_FLOOR_SUBMIT",
  results: "BENCH_DOC_FLOOR_DONE",
  submitSubject: "benchdocfloor.submit",
  resultSubject: "benchdocfloor.done",
  workers: "doc-floor-workers",
  /** Header of a submission: how many bytes its result must have (the size of docswarm's final). */
  resultBytes: "Bench-Result-Bytes",
} as const;
