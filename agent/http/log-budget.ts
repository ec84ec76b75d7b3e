/**
 * A budget for log lines a client can cause: at most `perWindow` in each `windowMs`. A client that
 * triggers the same failure thousands of times must not fill the journal (or wear an SD card); the
 * lines left out are counted and reported on the next line that is written.
 */
export class LogBudget {
  private windowStart = Number.NEGATIVE_INFINITY;
  private used = 0;
  private skipped = 0;

  constructor(
    private readonly perWindow = 10,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether to write this line, and if so how many were left out before it. */
  take(): { write: true; suppressed: number } | { write: false } {
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) {
      this.windowStart = t;
      this.used = 0;
    }
    if (this.used >= this.perWindow) {
      this.skipped++;
      return { write: false };
    }
    this.used++;
    const suppressed = this.skipped;
    this.skipped = 0;
    return { write: true, suppressed };
  }
}
