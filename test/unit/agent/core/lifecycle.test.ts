import { describe, expect, it } from 'vitest';
import {
  initialContext,
  transition,
  type Context,
  type Effect,
  type Event,
  type Policy,
} from '../../../../agent/core/lifecycle';

const policy: Policy = {
  setupIdleMs: 900_000,
  retryKnownMs: 60_000,
  connectivityIntervalMs: 60_000,
  failuresBeforeLoss: 3,
  onLoss: 'reconnect',
  lingerMs: 0,
};

function run(
  ctx: Context,
  events: Event[],
  p: Policy = policy,
): { ctx: Context; effects: Effect[]; accepted: boolean[] } {
  const effects: Effect[] = [];
  const accepted: boolean[] = [];
  for (const e of events) {
    const r = transition(ctx, e, p);
    ctx = r.ctx;
    effects.push(...r.effects);
    accepted.push(r.accepted);
  }
  return { ctx, effects, accepted };
}

const types = (effects: Effect[]) => effects.map((e) => (e.type === 'enter' ? `enter:${e.state}` : e.type));
const timerGen = (effects: Effect[], kind: string) => {
  const t = [...effects].reverse().find((e) => e.type === 'startTimer' && e.kind === kind);
  return t && t.type === 'startTimer' ? t.gen : -1;
};

const fresh = (hasKnown = false, apSta = false) => initialContext(hasKnown, apSta);
const inSetup = (hasKnown = false, apSta = false) =>
  run(fresh(hasKnown, apSta), [{ type: 'start' }, { type: 'connectFailed' }]).ctx;
const online = () => run(fresh(true), [{ type: 'start' }, { type: 'connected', via: 'wifi' }]).ctx;
const applying = (from: Context, commit: 'auto' | 'confirm' = 'confirm') =>
  run(from, [{ type: 'apply', attemptId: 'a1', commit, failsafeMs: 300_000 }]).ctx;

describe('lifecycle', () => {
  it('boots into connecting and tries known networks', () => {
    const r = run(fresh(true), [{ type: 'start' }]);
    expect(r.ctx.state).toBe('connecting');
    expect(types(r.effects)).toEqual(['enter:connecting', 'connectKnown']);
  });

  it('connecting → online starts connectivity checks', () => {
    const r = run(fresh(true), [{ type: 'start' }, { type: 'connected', via: 'ethernet' }]);
    expect(r.ctx).toMatchObject({ state: 'online', via: 'ethernet' });
    expect(r.effects).toContainEqual({ type: 'startTimer', kind: 'connectivity', ms: 60_000, gen: 1 });
  });

  it('connecting → setup raises the AP; retry timer only when networks are known', () => {
    const none = run(fresh(false), [{ type: 'start' }, { type: 'connectFailed' }]);
    expect(none.ctx).toMatchObject({ state: 'setup', apUp: true });
    expect(types(none.effects)).toContain('apUp');
    expect(none.effects.some((e) => e.type === 'startTimer' && e.kind === 'retryKnown')).toBe(false);
    const known = run(fresh(true), [{ type: 'start' }, { type: 'connectFailed' }]);
    expect(known.effects).toContainEqual(
      expect.objectContaining({ type: 'startTimer', kind: 'retryKnown', ms: 60_000 }),
    );
  });

  it('setup: the retry timer probes for known networks and re-arms itself', () => {
    const r0 = run(fresh(true), [{ type: 'start' }, { type: 'connectFailed' }]);
    const gen = timerGen(r0.effects, 'retryKnown');
    const r = run(r0.ctx, [{ type: 'timer', kind: 'retryKnown', gen }]);
    expect(types(r.effects)).toEqual(['startTimer', 'probeKnown']);
    expect(r.ctx.state).toBe('setup');
  });

  it('setup → online when a known network returns; the AP goes down', () => {
    const r = run(inSetup(true), [{ type: 'knownReturned', via: 'wifi' }]);
    expect(r.ctx).toMatchObject({ state: 'online', apUp: false });
    expect(types(r.effects)).toContain('apDown');
  });

  it('setup idle timeout: with known networks it retries them; without, it stays in setup', () => {
    const withKnown = run(fresh(true), [{ type: 'start' }, { type: 'connectFailed' }]);
    const r = run(withKnown.ctx, [
      { type: 'timer', kind: 'setupIdle', gen: timerGen(withKnown.effects, 'setupIdle') },
    ]);
    expect(r.ctx.state).toBe('connecting');
    expect(types(r.effects)).toEqual(['apDown', 'enter:connecting', 'connectKnown']);
    const none = run(fresh(false), [{ type: 'start' }, { type: 'connectFailed' }]);
    const r2 = run(none.ctx, [
      { type: 'timer', kind: 'setupIdle', gen: timerGen(none.effects, 'setupIdle') },
    ]);
    expect(r2.ctx.state).toBe('setup');
    expect(types(r2.effects)).toEqual(['startTimer']);
  });

  it('ignores stale timers: a timer from a state we left does nothing', () => {
    const r0 = run(fresh(true), [{ type: 'start' }, { type: 'connectFailed' }]);
    const staleIdle = timerGen(r0.effects, 'setupIdle');
    const staleRetry = timerGen(r0.effects, 'retryKnown');
    const r1 = run(r0.ctx, [{ type: 'knownReturned', via: 'wifi' }]);
    const r2 = run(r1.ctx, [
      { type: 'timer', kind: 'setupIdle', gen: staleIdle },
      { type: 'timer', kind: 'retryKnown', gen: staleRetry },
    ]);
    expect(r2.accepted).toEqual([false, false]);
    expect(r2.effects).toEqual([]);
    expect(r2.ctx.state).toBe('online');
  });

  it('ignores a stale timer even when we are back in the same state', () => {
    const r0 = run(fresh(true), [{ type: 'start' }, { type: 'connectFailed' }]);
    const stale = timerGen(r0.effects, 'retryKnown');
    const r1 = run(r0.ctx, [
      { type: 'knownReturned', via: 'wifi' },
      { type: 'linkLost' },
      { type: 'connectFailed' },
    ]);
    expect(r1.ctx.state).toBe('setup');
    expect(run(r1.ctx, [{ type: 'timer', kind: 'retryKnown', gen: stale }]).accepted).toEqual([false]);
    expect(
      run(r1.ctx, [{ type: 'timer', kind: 'retryKnown', gen: timerGen(r1.effects, 'retryKnown') }]).accepted,
    ).toEqual([true]);
  });

  it('apply from setup without AP+STA takes the AP down after answering', () => {
    const r = run(inSetup(), [{ type: 'apply', attemptId: 'a1', commit: 'confirm', failsafeMs: 300_000 }]);
    expect(r.ctx.state).toBe('applying');
    expect(r.effects).toContainEqual({ type: 'apDown', afterAnswer: true });
    expect(r.effects).toContainEqual({ type: 'apply', attemptId: 'a1', keepAp: false });
  });

  it('apply from setup with AP+STA keeps the AP up', () => {
    const r = run(inSetup(false, true), [
      { type: 'apply', attemptId: 'a1', commit: 'confirm', failsafeMs: 300_000 },
    ]);
    expect(types(r.effects)).not.toContain('apDown');
    expect(r.effects).toContainEqual({ type: 'apply', attemptId: 'a1', keepAp: true });
  });

  it('applying → failsafe (confirm) arms the fail-safe timer; commit makes it online', () => {
    const r = run(applying(inSetup()), [{ type: 'applyOk', via: 'wifi' }]);
    expect(r.ctx.state).toBe('failsafe');
    expect(r.effects).toContainEqual({ type: 'armFailsafe', attemptId: 'a1', ms: 300_000 });
    expect(r.effects).toContainEqual(
      expect.objectContaining({ type: 'startTimer', kind: 'failsafe', ms: 300_000 }),
    );
    const c = run(r.ctx, [{ type: 'commit' }]);
    expect(c.ctx.state).toBe('online');
    expect(c.effects).toContainEqual({ type: 'commitAttempt', attemptId: 'a1' });
    // The fail-safe timer is now stale.
    expect(
      run(c.ctx, [{ type: 'timer', kind: 'failsafe', gen: timerGen(r.effects, 'failsafe') }]).accepted,
    ).toEqual([false]);
  });

  it('applying → online directly with commit auto', () => {
    const r = run(applying(inSetup(), 'auto'), [{ type: 'applyOk', via: 'wifi' }]);
    expect(r.ctx.state).toBe('online');
    expect(r.effects).toContainEqual({ type: 'commitAttempt', attemptId: 'a1' });
  });

  it('fail-safe timeout reverts and reconnects', () => {
    const r0 = run(applying(inSetup()), [{ type: 'applyOk', via: 'wifi' }]);
    const r = run(r0.ctx, [{ type: 'timer', kind: 'failsafe', gen: timerGen(r0.effects, 'failsafe') }]);
    expect(r.ctx.state).toBe('connecting');
    expect(types(r.effects)).toEqual(['revertAttempt', 'enter:connecting', 'connectKnown']);
  });

  it('a failed apply from setup reverts and reopens the AP; from online it reconnects', () => {
    const fromSetup = run(applying(inSetup()), [{ type: 'applyFailed' }]);
    expect(fromSetup.ctx).toMatchObject({ state: 'setup', apUp: true });
    expect(types(fromSetup.effects)).toEqual(['revertAttempt', 'enter:setup', 'apUp', 'startTimer']);
    const fromOnline = run(applying(online()), [{ type: 'applyFailed' }]);
    expect(fromOnline.ctx.state).toBe('connecting');
    expect(types(fromOnline.effects)).toEqual(['revertAttempt', 'enter:connecting', 'connectKnown']);
  });

  it('refuses a second apply while applying, and apply before start', () => {
    const a = applying(inSetup());
    expect(run(a, [{ type: 'apply', attemptId: 'a2', commit: 'auto', failsafeMs: 1 }]).accepted).toEqual([
      false,
    ]);
    expect(
      run(fresh(), [{ type: 'apply', attemptId: 'a2', commit: 'auto', failsafeMs: 1 }]).accepted,
    ).toEqual([false]);
  });

  it('a new apply during a trial replaces it (same fallback, no double revert)', () => {
    const r0 = run(applying(inSetup()), [{ type: 'applyOk', via: 'wifi' }]);
    const r = run(r0.ctx, [{ type: 'apply', attemptId: 'a2', commit: 'confirm', failsafeMs: 60_000 }]);
    expect(r.ctx).toMatchObject({ state: 'applying', attempt: { id: 'a2', from: 'online' } });
    expect(types(r.effects)).not.toContain('revertAttempt');
    expect(
      run(r.ctx, [{ type: 'timer', kind: 'failsafe', gen: timerGen(r0.effects, 'failsafe') }]).accepted,
    ).toEqual([false]);
  });

  it('connectivity loss: reconnect policy after N failures; setup policy opens setup; ignore does nothing', () => {
    const lose = (p: Policy) =>
      run(
        online(),
        [1, 2, 3].map(() => ({ type: 'connectivity', ok: false })),
        p,
      );
    expect(lose(policy).ctx.state).toBe('connecting');
    expect(lose({ ...policy, onLoss: 'setup' }).ctx.state).toBe('setup');
    expect(lose({ ...policy, onLoss: 'ignore' }).ctx.state).toBe('online');
    const recovered = run(online(), [
      { type: 'connectivity', ok: false },
      { type: 'connectivity', ok: false },
      { type: 'connectivity', ok: true },
      { type: 'connectivity', ok: false },
    ]);
    expect(recovered.ctx).toMatchObject({ state: 'online', connectivityFailures: 1 });
  });

  it('online link loss → connecting', () => {
    expect(run(online(), [{ type: 'linkLost' }]).ctx.state).toBe('connecting');
  });

  it('ap.start pins setup (no idle timeout) until ap.stop; ap.stop from setup reconnects', () => {
    const r = run(online(), [{ type: 'apStart' }]);
    expect(r.ctx).toMatchObject({ state: 'setup', apPinned: true, apUp: true });
    expect(r.effects.some((e) => e.type === 'startTimer' && e.kind === 'setupIdle')).toBe(false);
    const s = run(r.ctx, [{ type: 'apStop' }]);
    expect(s.ctx).toMatchObject({ state: 'connecting', apUp: false, apPinned: false });
    expect(types(s.effects)).toEqual(['apDown', 'enter:connecting', 'connectKnown']);
  });

  it('ap.start during a trial reverts it', () => {
    const r0 = run(applying(inSetup()), [{ type: 'applyOk', via: 'wifi' }]);
    const r = run(r0.ctx, [{ type: 'apStart' }]);
    expect(r.ctx.state).toBe('setup');
    expect(types(r.effects)).toContain('revertAttempt');
  });

  it('AP lingers after success with AP+STA, then goes down on the linger timer', () => {
    const p = { ...policy, lingerMs: 15_000 };
    const r0 = run(
      inSetup(false, true),
      [
        { type: 'apply', attemptId: 'a1', commit: 'confirm', failsafeMs: 300_000 },
        { type: 'applyOk', via: 'wifi' },
      ],
      p,
    );
    expect(r0.ctx).toMatchObject({ state: 'failsafe', apUp: true });
    const r = run(r0.ctx, [{ type: 'timer', kind: 'linger', gen: timerGen(r0.effects, 'linger') }], p);
    expect(r.ctx.apUp).toBe(false);
    expect(types(r.effects)).toEqual(['apDown']);
  });

  it('resumes a trial after reboot: connected → failsafe with the remaining time; not connecting → revert', () => {
    const r = run(fresh(true), [
      { type: 'start', resume: { attemptId: 'a1', remainingMs: 42_000 } },
      { type: 'connected', via: 'wifi' },
    ]);
    expect(r.ctx.state).toBe('failsafe');
    expect(r.effects).toContainEqual(
      expect.objectContaining({ type: 'startTimer', kind: 'failsafe', ms: 42_000 }),
    );
    const f = run(fresh(true), [
      { type: 'start', resume: { attemptId: 'a1', remainingMs: 42_000 } },
      { type: 'connectFailed' },
    ]);
    expect(f.ctx.state).toBe('connecting');
    expect(types(f.effects)).toContain('revertAttempt');
  });

  it('rejects events that do not apply to the state', () => {
    const s = fresh();
    for (const e of [
      { type: 'connected', via: 'wifi' },
      { type: 'connectFailed' },
      { type: 'linkLost' },
      { type: 'commit' },
      { type: 'applyOk', via: 'wifi' },
      { type: 'applyFailed' },
      { type: 'knownReturned', via: 'wifi' },
    ] as Event[]) {
      expect(transition(s, e, policy).accepted, e.type).toBe(false);
    }
  });
});
