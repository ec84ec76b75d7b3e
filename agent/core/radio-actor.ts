/**
 * The one owner of the radio (ARCHITECTURE.md principle 1). Every radio operation — scan, join, AP
 * up/down, status — is queued here and runs alone, in order. HTTP handlers, the control socket and
 * timers never touch the radio port directly.
 */
import type { RadioPort } from '../ports/radio';

export class RadioActor {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;
  private scanCache?: { at: number; results: Awaited<ReturnType<RadioPort['scan']>> };

  constructor(
    private readonly radio: RadioPort,
    private readonly now: () => number = Date.now,
    private readonly scanCacheMs = 10_000,
  ) {}

  /** Queue `op`; it starts when every earlier operation has settled. */
  run<T>(op: (radio: RadioPort) => Promise<T>): Promise<T> {
    this.pending++;
    const result = this.tail.then(() => op(this.radio));
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result.finally(() => {
      this.pending--;
    });
  }

  /** Operations queued or running. */
  get depth(): number {
    return this.pending;
  }

  /** Scan, reusing a result younger than `maxAgeMs` unless `force`: a scan costs the radio seconds. */
  async scan(force = false, maxAgeMs = this.scanCacheMs): Promise<Awaited<ReturnType<RadioPort['scan']>>> {
    const cached = this.scanCache;
    if (!force && cached && this.now() - cached.at < maxAgeMs) return cached.results;
    const results = await this.run((r) => r.scan());
    this.scanCache = { at: this.now(), results };
    return results;
  }

  invalidateScan(): void {
    this.scanCache = undefined;
  }
}
