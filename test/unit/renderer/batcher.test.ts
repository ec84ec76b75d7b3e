import { describe, expect, it } from 'vitest';
import { createFrameBatcher, FALLBACK_FLUSH_MS, type FrameScheduler } from '../../../renderer/src/batcher';

/** Frames and timers that run only when the test says so. */
function fakeScheduler() {
  let next = 1;
  const frames = new Map<number, () => void>();
  const timers = new Map<number, { cb: () => void; ms: number }>();
  const s: FrameScheduler = {
    requestFrame: (cb) => {
      frames.set(next, cb);
      return next++;
    },
    cancelFrame: (h) => frames.delete(h as number),
    setTimeout: (cb, ms) => {
      timers.set(next, { cb, ms });
      return next++;
    },
    clearTimeout: (h) => timers.delete(h as number),
  };
  return {
    s,
    frames,
    timers,
    frame() {
      const cbs = [...frames.values()];
      frames.clear();
      for (const cb of cbs) cb();
    },
    timeout() {
      const cbs = [...timers.values()];
      timers.clear();
      for (const t of cbs) t.cb();
    },
  };
}

describe('frame batcher', () => {
  it('hands over everything pushed before a frame as one batch, in order', () => {
    const f = fakeScheduler();
    const batches: number[][] = [];
    const b = createFrameBatcher<number>(f.s, (items) => batches.push(items));
    for (let i = 0; i < 500; i++) b.push(i);
    expect(batches).toEqual([]);
    expect(f.frames.size).toBe(1); // one frame requested, not 500
    f.frame();
    expect(batches).toHaveLength(1);
    expect(batches[0]).toHaveLength(500);
    expect(batches[0]?.[499]).toBe(499);
    expect(f.timers.size).toBe(0); // the fallback timer was cancelled
  });

  it('a frame with nothing queued hands over nothing', () => {
    const f = fakeScheduler();
    let calls = 0;
    createFrameBatcher<number>(f.s, () => calls++);
    f.frame();
    expect(calls).toBe(0);
  });

  it('a hidden tab (no frames) is flushed by the fallback timer', () => {
    const f = fakeScheduler();
    const batches: number[][] = [];
    const b = createFrameBatcher<number>(f.s, (items) => batches.push(items));
    b.push(1);
    b.push(2);
    expect([...f.timers.values()][0]?.ms).toBe(FALLBACK_FLUSH_MS);
    f.timeout();
    expect(batches).toEqual([[1, 2]]);
    expect(f.frames.size).toBe(0);
    b.push(3);
    f.frame();
    expect(batches).toEqual([[1, 2], [3]]);
  });

  it('flush now, and nothing after dispose', () => {
    const f = fakeScheduler();
    const batches: number[][] = [];
    const b = createFrameBatcher<number>(f.s, (items) => batches.push(items));
    b.push(1);
    b.flush();
    expect(batches).toEqual([[1]]);
    b.push(2);
    b.dispose();
    b.push(3);
    f.frame();
    f.timeout();
    expect(batches).toEqual([[1]]);
    expect(b.size).toBe(0);
  });
});
