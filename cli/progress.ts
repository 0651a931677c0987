// A one-line progress bar on stderr (only on a terminal): documents, pages, pages/s.
export class ProgressBar {
  readonly #enabled: boolean;
  readonly #startedAt = Date.now();
  #timer: NodeJS.Timeout | undefined;
  docsDone = 0;
  docsTotal = 0;
  pagesDone = 0;
  pagesTotal = 0;

  constructor(enabled: boolean) {
    this.#enabled = enabled;
    if (enabled) this.#timer = setInterval(() => this.render(), 200);
  }

  /** Whether it draws (stderr is a terminal and the output is not --json). */
  get enabled(): boolean {
    return this.#enabled;
  }

  get elapsedMs(): number {
    return Date.now() - this.#startedAt;
  }

  render(): void {
    if (!this.#enabled) return;
    const width = 24;
    const frac = this.docsTotal ? this.docsDone / this.docsTotal : 0;
    const filled = Math.round(frac * width);
    const rate = this.pagesDone / Math.max(0.001, this.elapsedMs / 1000);
    const line =
      `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ` +
      `${this.docsDone}/${this.docsTotal} docs  ${this.pagesDone}/${this.pagesTotal || "?"} pages  ${rate.toFixed(1)} pages/s`;
    process.stderr.write(`\r${line}\x1b[K`);
  }

  /** Prints a line above the bar. */
  log(line: string, stream: NodeJS.WriteStream = process.stdout): void {
    if (this.#enabled) process.stderr.write("\r\x1b[K");
    stream.write(`${line}\n`);
    this.render();
  }

  stop(): void {
    clearInterval(this.#timer);
    if (this.#enabled) process.stderr.write("\r\x1b[K");
  }
}
