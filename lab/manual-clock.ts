/** A clock that moves only when told: tests and the lab drive fail-safe and retry timers with it. */
import type { ClockPort, TimerHandle } from '../agent/ports/clock';

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
}

export class ManualClock implements ClockPort {
  private t: number;
  private seq = 0;
  private readonly timers = new Set<Pending>();

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const p: Pending = { at: this.t + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.add(p);
    return { cancel: () => this.timers.delete(p) };
  }

  /** Move time forward by `ms`, firing due timers in order (each may schedule more). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: Pending | undefined;
      for (const p of this.timers)
        if (p.at <= end && (!next || p.at < next.at || (p.at === next.at && p.seq < next.seq))) next = p;
      if (!next) break;
      this.timers.delete(next);
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }

  get pendingTimers(): number {
    return this.timers.size;
  }
}
