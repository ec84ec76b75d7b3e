/** Time, behind a port so tests can drive it. */
export interface TimerHandle {
  cancel(): void;
}

export interface ClockPort {
  now(): number;
  setTimer(ms: number, fn: () => void): TimerHandle;
}

export const systemClock: ClockPort = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};
