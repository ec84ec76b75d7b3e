/**
 * Time for the station engine: a monotonic clock for step timings and deadlines, wall time for
 * records, and sleeping. The runner takes it as a port so tests can run a job on fake time.
 */
import { performance } from 'node:perf_hooks';

export interface StationClock {
  /** Monotonic milliseconds: for durations and deadlines, never for records. */
  now(): number;
  /** Wall time as ISO 8601, for journal records and reports. */
  wall(): string;
  /** Wall time as epoch milliseconds, for events. */
  epochMs(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: StationClock = {
  now: () => performance.now(),
  wall: () => new Date().toISOString(),
  epochMs: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};
