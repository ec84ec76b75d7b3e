import { describe, expect, it } from 'vitest';
import {
  initialContext,
  transition,
  type Context,
  type Effect,
  type Event,
  type Links,
  type Policy,
} from '../../../../agent/core/lifecycle';
import type { CheckResult } from '../../../../agent/ports/connectivity';

const policy: Policy = {
  setupIdleMs: 900_000,
  retryKnownMs: 60_000,
  connectivityIntervalMs: 60_000,
  failuresBeforeLoss: 3,
  onLoss: 'reconnect',
  lingerMs: 0,
  teardownMs: 0,
  apRetryMs: 15_000,
  stationQuietMs: 60_000,
  checkInternetOnJoin: false,
  apHoldMs: 30_000,
};

/** An event, or one made from the context it is fed to (for the generation of work in flight). */
type Step = Event | ((ctx: Context) => Event);

function run(
  ctx: Context,
  events: Step[],
  p: Policy = policy,
): { ctx: Context; effects: Effect[]; accepted: boolean[] } {
  const effects: Effect[] = [];
  const accepted: boolean[] = [];
  for (const step of events) {
    const e = typeof step === 'function' ? step(ctx) : step;
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

const NONE: Links = { wifi: false, ethernet: false, cellular: false };
const WIFI: Links = { ...NONE, wifi: true };

// Completions of the machine's work, with the generation the work was started under.
const linksRead =
  (links: Links = NONE): Step =>
  (c) => ({ type: 'linksRead', gen: c.gen.connect, links });
const knownTried =
  (joined: boolean, links: Links = joined ? WIFI : NONE): Step =>
  (c) => ({ type: 'knownTried', gen: c.gen.connect, joined, links });
/** Connecting found nothing (no Ethernet, no saved network joined, no cellular). */
const connectFailed: Step = (c) =>
  c.hasKnown
    ? { type: 'knownTried', gen: c.gen.connect, joined: false, links: NONE }
    : { type: 'linksRead', gen: c.gen.connect, links: NONE };
const connectedWifi = knownTried(true);
const applied =
  (joined: boolean, more: Partial<Extract<Event, { type: 'applied' }>> = {}) =>
  (c: Context): Event => ({
    type: 'applied',
    gen: c.gen.apply,
    attemptId: c.attempt?.id ?? '',
    reason: 'auth_failed',
    ssidHex: '4c61624e6574',
    ...(joined ? { joined: { networkId: 'n1', ssidHex: '4c61624e6574', ip: '192.168.50.20' } } : {}),
    ...more,
  });
const applyOk = applied(true);
const applyFailed = applied(false);
const timer =
  (kind: Extract<Event, { type: 'timer' }>['kind']): Step =>
  (c) => ({ type: 'timer', kind, gen: c.gen[kind] });
const ok = (id: CheckResult['id']): CheckResult => ({ id, target: 'x', state: 'ok' });
const failed = (id: CheckResult['id']): CheckResult => ({ id, target: 'x', state: 'failed' });
const skipped = (id: CheckResult['id']): CheckResult => ({ id, target: '', state: 'skipped' });
/** One connectivity round: the timer fires, the links are read, the checks answer. */
const check = (checks: CheckResult[] | undefined, links: Links = WIFI): Step[] => [
  timer('connectivity'),
  (c) => ({ type: 'checkLinks', gen: c.gen.connectivity, links }),
  (c) => ({ type: 'checked', gen: c.gen.connectivity, ...(checks ? { checks } : {}) }),
];
const checkOk = check([ok('gateway')]);
const checkFailed = check([failed('gateway')]);
const probed =
  (candidates: number, apClients = 0, sinceStationSpokeMs = 3_600_000): Step =>
  (c) => ({ type: 'probed', gen: c.gen.probe, candidates, apClients, sinceStationSpokeMs });
const returnTried =
  (joined: boolean): Step =>
  (c) => ({ type: 'returnTried', gen: c.gen.probe, joined });

const fresh = (hasKnown = false, apSta = false) => initialContext(hasKnown, apSta);
const inSetup = (hasKnown = false, apSta = false) =>
  run(fresh(hasKnown, apSta), [{ type: 'start' }, connectFailed]).ctx;
const online = () => run(fresh(true), [{ type: 'start' }, connectedWifi]).ctx;
const applying = (from: Context, commit: 'auto' | 'confirm' = 'confirm', p: Policy = policy) =>
  run(from, [{ type: 'apply', attemptId: 'a1', commit, failsafeMs: 300_000 }], p).ctx;

describe('lifecycle', () => {
  it('boots into connecting and tries known networks', () => {
    const r = run(fresh(true), [{ type: 'start' }]);
    expect(r.ctx.state).toBe('connecting');
    expect(types(r.effects)).toEqual(['enter:connecting', 'connectKnown']);
  });

  it('connecting → online starts connectivity checks', () => {
    const r = run(fresh(true), [{ type: 'start' }, linksRead({ ...NONE, ethernet: true })]);
    expect(r.ctx).toMatchObject({ state: 'online', via: 'ethernet' });
    expect(r.effects).toContainEqual({ type: 'startTimer', kind: 'connectivity', ms: 60_000, gen: 1 });
  });

  it('connecting: Ethernet first, then saved Wi-Fi networks, then cellular', () => {
    const wired = run(fresh(true), [
      { type: 'start' },
      linksRead({ wifi: true, ethernet: true, cellular: true }),
    ]);
    expect(wired.ctx).toMatchObject({ state: 'online', via: 'ethernet' });
    expect(types(wired.effects)).not.toContain('joinKnown');

    const r = run(fresh(true), [{ type: 'start' }, linksRead({ ...NONE, cellular: true })]);
    expect(r.ctx.state).toBe('connecting');
    expect(r.effects.at(-1)).toEqual({ type: 'joinKnown', gen: r.ctx.gen.connect });
    expect(run(r.ctx, [knownTried(true)]).ctx).toMatchObject({ state: 'online', via: 'wifi' });
    expect(run(r.ctx, [knownTried(false, { ...NONE, cellular: true })]).ctx).toMatchObject({
      state: 'online',
      via: 'cellular',
    });
    expect(run(r.ctx, [knownTried(false)]).ctx.state).toBe('setup');

    // Nothing saved: no Wi-Fi is tried, cellular or setup at once.
    expect(run(fresh(false), [{ type: 'start' }, linksRead({ ...NONE, cellular: true })]).ctx).toMatchObject({
      state: 'online',
      via: 'cellular',
    });
  });

  it('a connect that threw is a connect that failed', () => {
    const r = run(fresh(true), [{ type: 'start' }, (c) => ({ type: 'connectCrashed', gen: c.gen.connect })]);
    expect(r.ctx.state).toBe('setup');
  });

  it('connecting → setup raises the AP; retry timer only when networks are known', () => {
    const none = run(fresh(false), [{ type: 'start' }, connectFailed]);
    expect(none.ctx).toMatchObject({ state: 'setup', apUp: true });
    expect(types(none.effects)).toContain('apUp');
    expect(none.effects.some((e) => e.type === 'startTimer' && e.kind === 'retryKnown')).toBe(false);
    const known = run(fresh(true), [{ type: 'start' }, connectFailed]);
    expect(known.effects).toContainEqual(
      expect.objectContaining({ type: 'startTimer', kind: 'retryKnown', ms: 60_000 }),
    );
  });

  it('setup: the retry timer probes for known networks and re-arms itself', () => {
    const r0 = run(fresh(true), [{ type: 'start' }, connectFailed]);
    const gen = timerGen(r0.effects, 'retryKnown');
    const r = run(r0.ctx, [{ type: 'timer', kind: 'retryKnown', gen }]);
    expect(types(r.effects)).toEqual(['startTimer', 'probeKnown']);
    expect(r.ctx.state).toBe('setup');
  });

  it('setup → online when a known network returns; the AP goes down', () => {
    const r = run(inSetup(true), [probed(1), returnTried(true)]);
    expect(r.ctx).toMatchObject({ state: 'online', apUp: false });
    expect(types(r.effects)).toContain('apDown');
  });

  it('setup idle timeout: with known networks it retries them; without, it stays in setup', () => {
    const withKnown = run(fresh(true), [{ type: 'start' }, connectFailed]);
    const r = run(withKnown.ctx, [
      { type: 'timer', kind: 'setupIdle', gen: timerGen(withKnown.effects, 'setupIdle') },
    ]);
    expect(r.ctx.state).toBe('connecting');
    expect(types(r.effects)).toEqual(['apDown', 'enter:connecting', 'connectKnown']);
    const none = run(fresh(false), [{ type: 'start' }, connectFailed]);
    const r2 = run(none.ctx, [
      { type: 'timer', kind: 'setupIdle', gen: timerGen(none.effects, 'setupIdle') },
    ]);
    expect(r2.ctx.state).toBe('setup');
    expect(types(r2.effects)).toEqual(['startTimer']);
  });

  it('ignores stale timers: a timer from a state we left does nothing', () => {
    const r0 = run(fresh(true), [{ type: 'start' }, connectFailed]);
    const staleIdle = timerGen(r0.effects, 'setupIdle');
    const staleRetry = timerGen(r0.effects, 'retryKnown');
    const r1 = run(r0.ctx, [probed(1), returnTried(true)]);
    const r2 = run(r1.ctx, [
      { type: 'timer', kind: 'setupIdle', gen: staleIdle },
      { type: 'timer', kind: 'retryKnown', gen: staleRetry },
    ]);
    expect(r2.accepted).toEqual([false, false]);
    expect(r2.effects).toEqual([]);
    expect(r2.ctx.state).toBe('online');
  });

  it('ignores a stale timer even when we are back in the same state', () => {
    const r0 = run(fresh(true), [{ type: 'start' }, connectFailed]);
    const stale = timerGen(r0.effects, 'retryKnown');
    const r1 = run(r0.ctx, [probed(1), returnTried(true), ...check(undefined, NONE), connectFailed]);
    expect(r1.ctx.state).toBe('setup');
    expect(run(r1.ctx, [{ type: 'timer', kind: 'retryKnown', gen: stale }]).accepted).toEqual([false]);
    expect(
      run(r1.ctx, [{ type: 'timer', kind: 'retryKnown', gen: timerGen(r1.effects, 'retryKnown') }]).accepted,
    ).toEqual([true]);
  });

  it('apply from setup without AP+STA takes the AP down after answering', () => {
    const r = run(inSetup(), [{ type: 'apply', attemptId: 'a1', commit: 'confirm', failsafeMs: 300_000 }]);
    expect(r.ctx.state).toBe('applying');
    expect(types(r.effects)).toEqual(['enter:applying', 'apDown', 'apply']);
    expect(r.effects).toContainEqual(
      expect.objectContaining({ type: 'apply', attemptId: 'a1', keepAp: false }),
    );
  });

  it('with a teardown delay the AP goes, and the join starts, on the timer (nothing waits inside the radio)', () => {
    const p = { ...policy, teardownMs: 500 };
    const r = run(inSetup(), [{ type: 'apply', attemptId: 'a1', commit: 'confirm', failsafeMs: 300_000 }], p);
    expect(r.ctx).toMatchObject({ state: 'applying', apUp: true });
    expect(types(r.effects)).toEqual(['enter:applying', 'startTimer']);
    expect(r.effects).toContainEqual(
      expect.objectContaining({ type: 'startTimer', kind: 'teardown', ms: 500 }),
    );
    const t = run(r.ctx, [timer('teardown')], p);
    expect(types(t.effects)).toEqual(['apDown', 'apply']);
    expect(t.effects[1]).toEqual({
      type: 'apply',
      gen: r.ctx.gen.apply,
      attemptId: 'a1',
      keepAp: false,
      checkInternet: false,
    });
    expect(t.ctx.apUp).toBe(false);
  });

  it('apply from setup with AP+STA keeps the AP up', () => {
    const r = run(inSetup(false, true), [
      { type: 'apply', attemptId: 'a1', commit: 'confirm', failsafeMs: 300_000 },
    ]);
    expect(types(r.effects)).not.toContain('apDown');
    expect(r.effects).toContainEqual(
      expect.objectContaining({ type: 'apply', attemptId: 'a1', keepAp: true }),
    );
  });

  it('apply asks for the connectivity checks when the policy requires internet on join', () => {
    const p = { ...policy, checkInternetOnJoin: true };
    const r = run(online(), [{ type: 'apply', attemptId: 'a1', commit: 'confirm', failsafeMs: 1 }], p);
    expect(r.effects).toContainEqual(expect.objectContaining({ type: 'apply', checkInternet: true }));
  });

  it('applying → failsafe (confirm) arms the fail-safe timer; commit makes it online', () => {
    const r = run(applying(inSetup()), [applyOk]);
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

  it('a join is on record (and the network marked connected) before the state changes', () => {
    const r = run(applying(inSetup()), [applyOk]);
    expect(types(r.effects).slice(0, 3)).toEqual(['markConnected', 'recordAttempt', 'enter:failsafe']);
    expect(r.effects[1]).toEqual({
      type: 'recordAttempt',
      attempt: { id: 'a1', result: 'ok', ssidHex: '4c61624e6574', ip: '192.168.50.20' },
    });
  });

  it('applying → online directly with commit auto', () => {
    const r = run(applying(inSetup(), 'auto'), [applyOk]);
    expect(r.ctx.state).toBe('online');
    expect(r.effects).toContainEqual({ type: 'commitAttempt', attemptId: 'a1' });
  });

  it('fail-safe timeout reverts (not confirmed) and reconnects', () => {
    const r0 = run(applying(inSetup()), [applyOk]);
    const r = run(r0.ctx, [{ type: 'timer', kind: 'failsafe', gen: timerGen(r0.effects, 'failsafe') }]);
    expect(r.ctx.state).toBe('connecting');
    expect(types(r.effects)).toEqual(['revertAttempt', 'enter:connecting', 'connectKnown']);
    expect(r.effects[0]).toEqual({ type: 'revertAttempt', attemptId: 'a1', reason: 'not_confirmed' });
  });

  it('a failed apply from setup reverts and reopens the AP; from online it reconnects', () => {
    const fromSetup = run(applying(inSetup()), [applyFailed]);
    expect(fromSetup.ctx).toMatchObject({ state: 'setup', apUp: true });
    expect(types(fromSetup.effects)).toEqual([
      'recordAttempt',
      'revertAttempt',
      'enter:setup',
      'apUp',
      'startTimer',
    ]);
    expect(fromSetup.effects[0]).toEqual({
      type: 'recordAttempt',
      attempt: { id: 'a1', result: 'failed', reason: 'auth_failed', ssidHex: '4c61624e6574' },
    });
    expect(fromSetup.effects[1]).toEqual({ type: 'revertAttempt', attemptId: 'a1' });
    const fromOnline = run(applying(online()), [applyFailed]);
    expect(fromOnline.ctx.state).toBe('connecting');
    expect(types(fromOnline.effects)).toEqual([
      'recordAttempt',
      'revertAttempt',
      'enter:connecting',
      'connectKnown',
    ]);
  });

  it('joined, but every connectivity check failed: no_internet, the link dropped, the old list back', () => {
    const r = run(applying(inSetup()), [
      applied(true, { checks: [failed('gateway'), failed('dns'), skipped('url')] }),
    ]);
    expect(r.ctx.state).toBe('setup');
    expect(types(r.effects).slice(0, 4)).toEqual(['leave', 'recordAttempt', 'revertAttempt', 'enter:setup']);
    expect(r.effects[1]).toEqual({
      type: 'recordAttempt',
      attempt: { id: 'a1', result: 'failed', reason: 'no_internet', ssidHex: '4c61624e6574' },
    });
    expect(types(r.effects)).not.toContain('markConnected');
  });

  it('joined with a target answering, or none that ran: the join stands', () => {
    for (const checks of [
      [failed('gateway'), ok('dns')],
      [ok('gateway'), skipped('dns')],
      [skipped('dns')],
      [],
    ]) {
      const r = run(applying(inSetup()), [applied(true, { checks })]);
      expect(r.ctx.state, JSON.stringify(checks)).toBe('failsafe');
    }
  });

  it('joined behind a gateway that answers while every target fails: no_internet', () => {
    const r = run(applying(inSetup()), [applied(true, { checks: [ok('gateway'), failed('dns')] })]);
    expect(r.ctx.state).toBe('setup');
    expect(r.effects).toContainEqual({
      type: 'recordAttempt',
      attempt: { id: 'a1', result: 'failed', reason: 'no_internet', ssidHex: '4c61624e6574' },
    });
  });

  it('an apply outcome for another attempt, or from an earlier apply, is ignored', () => {
    const a = applying(inSetup());
    expect(run(a, [applied(false, { attemptId: 'other' })]).accepted).toEqual([false]);
    expect(run(a, [(c) => ({ ...applied(false)(c), gen: c.gen.apply - 1 }) as Event]).accepted).toEqual([
      false,
    ]);
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
    const r0 = run(applying(inSetup()), [applyOk]);
    const r = run(r0.ctx, [{ type: 'apply', attemptId: 'a2', commit: 'confirm', failsafeMs: 60_000 }]);
    expect(r.ctx).toMatchObject({ state: 'applying', attempt: { id: 'a2', from: 'online' } });
    expect(types(r.effects)).not.toContain('revertAttempt');
    expect(
      run(r.ctx, [{ type: 'timer', kind: 'failsafe', gen: timerGen(r0.effects, 'failsafe') }]).accepted,
    ).toEqual([false]);
  });

  it('connectivity loss: reconnect policy after N failures; setup policy opens setup; ignore does nothing', () => {
    const lose = (p: Policy) => run(online(), [...checkFailed, ...checkFailed, ...checkFailed], p);
    expect(lose(policy).ctx.state).toBe('connecting');
    expect(lose({ ...policy, onLoss: 'setup' }).ctx.state).toBe('setup');
    expect(lose({ ...policy, onLoss: 'ignore' }).ctx.state).toBe('online');
    const recovered = run(online(), [...checkFailed, ...checkFailed, ...checkOk, ...checkFailed]);
    expect(recovered.ctx).toMatchObject({ state: 'online', connectivityFailures: 1 });
  });

  it('a connectivity verdict: the configured targets decide; the gateway only without any; nothing run passes', () => {
    const after = (checks: CheckResult[] | undefined) =>
      run(online(), check(checks)).ctx.connectivityFailures;
    // The internet down behind a working gateway (conman's case) is a failure.
    expect(after([ok('gateway'), failed('dns')])).toBe(1);
    expect(after([ok('gateway'), failed('dns'), failed('url')])).toBe(1);
    expect(after([failed('gateway'), ok('url')])).toBe(0);
    expect(after([ok('gateway'), failed('dns'), ok('ntp')])).toBe(0);
    expect(after([ok('gateway'), skipped('dns')])).toBe(0);
    expect(after([skipped('gateway'), skipped('dns')])).toBe(0);
    expect(after([failed('gateway'), skipped('dns')])).toBe(1);
    expect(after(undefined)).toBe(1);
  });

  it('online link loss → connecting', () => {
    const r = run(online(), check(undefined, NONE).slice(0, 2));
    expect(r.ctx.state).toBe('connecting');
    expect(types(r.effects)).not.toContain('runChecks');
  });

  it('Ethernet back while online on Wi-Fi: the device moves onto it, and the checks go on', () => {
    const r = run(online(), check([ok('gateway')], { ...WIFI, ethernet: true }));
    expect(r.ctx).toMatchObject({ state: 'online', via: 'ethernet' });
    expect(types(r.effects)).toEqual(['checkConnectivity', 'runChecks', 'startTimer']);
  });

  it('on trial the link check does not end the trial; only the checks count', () => {
    const trial = run(applying(inSetup()), [applyOk]).ctx;
    const r = run(trial, check(undefined, NONE));
    expect(r.ctx).toMatchObject({ state: 'failsafe', via: 'wifi', connectivityFailures: 1 });
  });

  it('a check that finishes after the state moved on is ignored', () => {
    const o = online();
    const t = run(o, [timer('connectivity')]);
    const gen = o.gen.connectivity;
    const moved = run(t.ctx, [
      { type: 'apply', attemptId: 'a1', commit: 'auto', failsafeMs: 1 },
      applyOk,
    ]).ctx;
    expect(moved.state).toBe('online');
    expect(run(moved, [{ type: 'checkLinks', gen, links: NONE }]).accepted).toEqual([false]);
    expect(run(moved, [{ type: 'checked', gen }]).accepted).toEqual([false]);
  });

  it('ap.start pins setup (no idle timeout) until ap.stop; ap.stop from setup reconnects', () => {
    const r = run(online(), [{ type: 'apStart' }]);
    expect(r.ctx).toMatchObject({ state: 'setup', apPinned: true, apUp: true });
    expect(r.effects.some((e) => e.type === 'startTimer' && e.kind === 'setupIdle')).toBe(false);
    const s = run(r.ctx, [{ type: 'apStop' }]);
    expect(s.ctx).toMatchObject({ state: 'connecting', apUp: false, apPinned: false, apHeld: true });
    expect(types(s.effects)).toEqual(['apDown', 'startTimer', 'enter:connecting', 'connectKnown']);
  });

  it('ap.start during a trial reverts it (not confirmed)', () => {
    const r0 = run(applying(inSetup()), [applyOk]);
    const r = run(r0.ctx, [{ type: 'apStart' }]);
    expect(r.ctx.state).toBe('setup');
    expect(r.effects).toContainEqual({ type: 'revertAttempt', attemptId: 'a1', reason: 'not_confirmed' });
  });

  it('AP lingers after success with AP+STA, then goes down on the linger timer', () => {
    const p = { ...policy, lingerMs: 15_000 };
    const r0 = run(
      inSetup(false, true),
      [{ type: 'apply', attemptId: 'a1', commit: 'confirm', failsafeMs: 300_000 }, applyOk],
      p,
    );
    expect(r0.ctx).toMatchObject({ state: 'failsafe', apUp: true });
    const r = run(r0.ctx, [{ type: 'timer', kind: 'linger', gen: timerGen(r0.effects, 'linger') }], p);
    expect(r.ctx.apUp).toBe(false);
    expect(types(r.effects)).toEqual(['apDown']);
  });

  it('resumes a trial after reboot: connected → failsafe with the remaining time; not connecting → revert', () => {
    const r = run(fresh(true), [
      { type: 'start', trial: { attemptId: 'a1', remainingMs: 42_000 } },
      connectedWifi,
    ]);
    expect(r.ctx.state).toBe('failsafe');
    expect(r.effects).toContainEqual(
      expect.objectContaining({ type: 'startTimer', kind: 'failsafe', ms: 42_000 }),
    );
    const f = run(fresh(true), [
      { type: 'start', trial: { attemptId: 'a1', remainingMs: 42_000 } },
      connectFailed,
    ]);
    expect(f.ctx.state).toBe('connecting');
    expect(f.effects).toContainEqual({ type: 'revertAttempt', attemptId: 'a1', reason: 'not_confirmed' });
  });

  it('a trial found at boot whose time ran out, or that was never armed, is reverted before connecting', () => {
    const expired = run(fresh(true), [{ type: 'start', trial: { attemptId: 'a1', remainingMs: -5 } }]);
    expect(types(expired.effects)).toEqual(['revertAttempt', 'enter:connecting', 'connectKnown']);
    expect(expired.effects[0]).toEqual({ type: 'revertAttempt', attemptId: 'a1', reason: 'not_confirmed' });
    expect(expired.ctx.attempt).toBeUndefined();
    const cut = run(fresh(true), [{ type: 'start', trial: { attemptId: 'a1' } }]);
    expect(cut.effects[0]).toEqual({ type: 'revertAttempt', attemptId: 'a1', reason: 'interrupted' });
  });

  it('rejects events that do not apply to the state', () => {
    const s = fresh();
    for (const e of [
      { type: 'linksRead', gen: 0, links: WIFI },
      { type: 'knownTried', gen: 0, joined: true, links: WIFI },
      { type: 'connectCrashed', gen: 0 },
      { type: 'checkLinks', gen: 0, links: NONE },
      { type: 'checked', gen: 0 },
      { type: 'commit' },
      { type: 'applied', gen: 0, attemptId: 'a1', reason: 'auth_failed' },
      { type: 'probed', gen: 0, candidates: 1, apClients: 0, sinceStationSpokeMs: 1e9 },
      { type: 'returnTried', gen: 0, joined: true },
      { type: 'apUpDone', gen: 0, outcome: 'failed' },
    ] as Event[]) {
      expect(transition(s, e, policy).accepted, e.type).toBe(false);
    }
  });
});

describe('lifecycle: the background probe in setup', () => {
  it('nothing known in range: nothing happens, the AP stays', () => {
    const r = run(inSetup(true), [probed(0)]);
    expect(r.effects).toEqual([]);
    expect(r.ctx).toMatchObject({ state: 'setup', apUp: true });
  });

  it('without AP+STA, a client on the AP or a station that spoke within a minute keeps the AP', () => {
    expect(run(inSetup(true), [probed(1, 1)]).effects).toEqual([]);
    expect(run(inSetup(true), [probed(1, 0, 59_999)]).effects).toEqual([]);
    const quiet = run(inSetup(true), [probed(1, 0, 60_000)]);
    expect(types(quiet.effects)).toEqual(['apDown', 'joinReturning']);
    expect(quiet.effects[1]).toEqual({ type: 'joinReturning', gen: quiet.ctx.gen.probe, keepAp: false });
    expect(quiet.ctx).toMatchObject({ state: 'setup', apUp: false });
  });

  it('with AP+STA the station does not matter: the join keeps the AP', () => {
    const r = run(inSetup(true, true), [probed(2, 3, 0)]);
    expect(r.effects).toEqual([{ type: 'joinReturning', gen: r.ctx.gen.probe, keepAp: true }]);
  });

  it('nothing came back: the AP the probe took down comes back; one it kept stays as it is', () => {
    const r = run(inSetup(true), [probed(1), returnTried(false)]);
    expect(types(r.effects)).toEqual(['apDown', 'joinReturning', 'apUp']);
    expect(r.ctx).toMatchObject({ state: 'setup', apUp: true });
    expect(types(run(inSetup(true, true), [probed(1), returnTried(false)]).effects)).toEqual([
      'joinReturning',
    ]);
  });

  it('a probe from a setup we left is ignored, even back in setup', () => {
    const s = inSetup(true);
    const gen = s.gen.probe;
    const again = run(s, [{ type: 'apStop' }, connectFailed, timer('apHold'), connectFailed]).ctx;
    expect(again.state).toBe('setup');
    expect(
      run(again, [{ type: 'probed', gen, candidates: 1, apClients: 0, sinceStationSpokeMs: 1e9 }]).accepted,
    ).toEqual([false]);
    expect(run(again, [{ type: 'returnTried', gen, joined: true }]).accepted).toEqual([false]);
  });
});

describe('lifecycle: the setup AP', () => {
  it('an AP that failed to start is tried again on a timer while setup wants it', () => {
    const s = inSetup();
    const r = run(s, [(c) => ({ type: 'apUpDone', gen: c.gen.apRetry, outcome: 'failed' })]);
    expect(r.effects).toEqual([{ type: 'startTimer', kind: 'apRetry', ms: 15_000, gen: r.ctx.gen.apRetry }]);
    const t = run(r.ctx, [timer('apRetry')]);
    expect(t.effects).toEqual([{ type: 'apUp', gen: r.ctx.gen.apRetry }]);
    // Once setup is left (or the AP is no longer wanted), the retry does nothing.
    const left = run(r.ctx, [{ type: 'apStop' }]).ctx;
    expect(run(left, [{ type: 'timer', kind: 'apRetry', gen: r.ctx.gen.apRetry }]).accepted).toEqual([false]);
  });

  it('the AP up in setup: a warm scan; without an identity: nothing', () => {
    const s = inSetup();
    expect(run(s, [(c) => ({ type: 'apUpDone', gen: c.gen.apRetry, outcome: 'up' })]).effects).toEqual([
      { type: 'warmScan' },
    ]);
    expect(
      run(s, [(c) => ({ type: 'apUpDone', gen: c.gen.apRetry, outcome: 'noIdentity' })]).effects,
    ).toEqual([]);
  });

  it('entering setup says whether the device was online since it last entered setup (this run)', () => {
    const afterOnline = (effects: Effect[]) =>
      effects
        .filter((e) => e.type === 'enter' && e.state === 'setup')
        .map((e) => e.type === 'enter' && e.afterOnline);
    const boot = run(fresh(true), [{ type: 'start' }, connectFailed]);
    expect(afterOnline(boot.effects)).toEqual([false]);
    // Idle timeout's round through connecting, nothing joined: still not after being online.
    const idle = run(boot.ctx, [timer('setupIdle'), connectFailed]);
    expect(afterOnline(idle.effects)).toEqual([false]);
    const back = run(idle.ctx, [probed(1), returnTried(true), { type: 'apStart' }]);
    expect(afterOnline(back.effects)).toEqual([true]);
    expect(
      afterOnline(run(back.ctx, [{ type: 'apStop' }, connectFailed, timer('apHold'), connectFailed]).effects),
    ).toEqual([false]);
    // A failed push over the AP reopens setup, but not after being online.
    const push = run(inSetup(), [
      { type: 'apply', attemptId: 'a1', commit: 'auto', failsafeMs: 1 },
      applyFailed,
    ]);
    expect(afterOnline(push.effects)).toEqual([false]);
  });

  it('the radio changed its AP+STA support: the next apply plans with it', () => {
    const s = inSetup(false, true);
    const lost = run(s, [{ type: 'capabilities', apSta: false }]).ctx;
    expect(lost.apSta).toBe(false);
    const r = run(lost, [{ type: 'apply', attemptId: 'a1', commit: 'auto', failsafeMs: 1 }]);
    expect(types(r.effects)).toContain('apDown');
    expect(r.effects).toContainEqual(expect.objectContaining({ type: 'apply', keepAp: false }));
  });
});

describe('lifecycle: conman — connectivity by the targets, the next link, an app that says it is cut off', () => {
  const ETH: Links = { ...NONE, ethernet: true };
  const ALL: Links = { wifi: true, ethernet: true, cellular: true };
  const lostThrice = (links: Links) => [
    ...check([ok('gateway'), failed('dns')], links),
    ...check([ok('gateway'), failed('dns')], links),
    ...check([ok('gateway'), failed('dns')], links),
  ];
  const onEthernet = (hasKnown: boolean) => run(fresh(hasKnown), [{ type: 'start' }, linksRead(ALL)]).ctx;

  it('Ethernet whose uplink died (the gateway still answers): Wi-Fi next, then cellular, Ethernet last', () => {
    const eth = onEthernet(true);
    expect(eth).toMatchObject({ state: 'online', via: 'ethernet' });
    const lost = run(eth, lostThrice(ALL));
    expect(lost.ctx).toMatchObject({ state: 'connecting', avoid: ['ethernet'] });
    // Ethernet is still up, yet the saved Wi-Fi networks are tried first.
    const next = run(lost.ctx, [linksRead(ALL)]);
    expect(types(next.effects)).toEqual(['joinKnown']);
    expect(run(next.ctx, [knownTried(true, ALL)]).ctx).toMatchObject({ state: 'online', via: 'wifi' });
    // No Wi-Fi joins: cellular before the Ethernet that failed.
    expect(run(next.ctx, [knownTried(false, ALL)]).ctx).toMatchObject({ state: 'online', via: 'cellular' });
    // Nothing else: the Ethernet it has, rather than setup.
    expect(run(next.ctx, [knownTried(false, ETH)]).ctx).toMatchObject({ state: 'online', via: 'ethernet' });
  });

  it('on the fallback the wired link is not preferred again until it has been down', () => {
    const eth = onEthernet(true);
    const wifi = run(eth, [...lostThrice(ALL), linksRead(ALL), knownTried(true, ALL)]).ctx;
    const stay = run(wifi, check([ok('dns')], ALL));
    expect(stay.ctx).toMatchObject({ via: 'wifi', avoid: ['ethernet'] });
    const unplugged = run(stay.ctx, check([ok('dns')], WIFI));
    expect(unplugged.ctx).toMatchObject({ via: 'wifi', avoid: [] });
    const plugged = run(unplugged.ctx, check([ok('dns')], ALL));
    expect(plugged.ctx).toMatchObject({ via: 'ethernet' });
  });

  it('the fallback loses too: the next link, until every link failed; then the round starts over', () => {
    const eth = onEthernet(true);
    const wifi = run(eth, [...lostThrice(ALL), linksRead(ALL), knownTried(true, ALL)]).ctx;
    expect(wifi).toMatchObject({ via: 'wifi', avoid: ['ethernet'] });
    // Wi-Fi's uplink dies too: cellular, not back to the Ethernet that failed first.
    const cell = run(wifi, [...lostThrice(ALL), linksRead(ALL)]).ctx;
    expect(cell).toMatchObject({ state: 'online', via: 'cellular', avoid: ['ethernet', 'wifi'] });
    // Everything failed once: from the top again, cellular last.
    const again = run(cell, [...lostThrice(ALL), linksRead(ALL)]).ctx;
    expect(again).toMatchObject({ state: 'online', via: 'ethernet', avoid: ['cellular'] });
  });

  it('two links only: they take turns', () => {
    const EW: Links = { ...WIFI, ethernet: true };
    const wifi = run(onEthernet(true), [...lostThrice(EW), linksRead(EW), knownTried(true, EW)]).ctx;
    const back = run(wifi, [...lostThrice(EW), linksRead(EW)]).ctx;
    expect(back).toMatchObject({ via: 'ethernet', avoid: ['ethernet', 'wifi'] });
    const r = run(back, [...lostThrice(EW), linksRead(EW)]);
    expect(types(r.effects)).toContain('joinKnown');
    expect(r.ctx.avoid).toEqual(['wifi', 'ethernet']);
  });

  it('onLoss setup opens setup on a dead uplink; the links start over afterwards', () => {
    const r = run(onEthernet(false), lostThrice(ALL), { ...policy, onLoss: 'setup' });
    expect(r.ctx).toMatchObject({ state: 'setup', apUp: true, avoid: [] });
  });

  const appLost: Event = { type: 'appLost' };

  it('an app says it is cut off: the targets are checked at once; a failure is loss at once', () => {
    const o = online();
    const r = run(o, [appLost]);
    expect(types(r.effects)).toEqual(['checkConnectivity']);
    const c = r.ctx;
    const lost = run(c, [
      { type: 'checkLinks', gen: c.gen.connectivity, links: WIFI },
      { type: 'checked', gen: c.gen.connectivity, checks: [ok('gateway'), failed('url')] },
    ]);
    expect(lost.ctx).toMatchObject({ state: 'connecting', avoid: ['wifi'], appCheck: false });
  });

  it('with no targets configured the app is believed: a gateway that answers does not contradict it', () => {
    const c = run(online(), [appLost]).ctx;
    const r = run(c, [
      { type: 'checkLinks', gen: c.gen.connectivity, links: WIFI },
      { type: 'checked', gen: c.gen.connectivity, checks: [ok('gateway'), skipped('dns')] },
    ]);
    expect(r.ctx.state).toBe('connecting');
  });

  it('a target that answers contradicts the app: online, the regular checks go on, one failure counted', () => {
    const c = run(online(), [appLost]).ctx;
    const r = run(c, [
      { type: 'checkLinks', gen: c.gen.connectivity, links: WIFI },
      { type: 'checked', gen: c.gen.connectivity, checks: [ok('dns')] },
    ]);
    expect(r.ctx).toMatchObject({ state: 'online', connectivityFailures: 0, appCheck: false });
    expect(types(r.effects)).toEqual(['runChecks', 'startTimer']);
  });

  it('reports while the re-check runs are the same news; the scheduled check it replaced is stale', () => {
    const o = online();
    const scheduled = o.gen.connectivity;
    const r = run(o, [appLost, appLost, appLost]);
    expect(types(r.effects)).toEqual(['checkConnectivity']);
    expect(run(r.ctx, [{ type: 'timer', kind: 'connectivity', gen: scheduled }]).accepted).toEqual([false]);
  });

  it('onLoss ignore still acts on an app that asked; onLoss setup opens setup', () => {
    for (const [onLoss, state] of [
      ['ignore', 'connecting'],
      ['setup', 'setup'],
    ] as const) {
      const p = { ...policy, onLoss };
      const c = run(online(), [appLost], p).ctx;
      const r = run(
        c,
        [
          { type: 'checkLinks', gen: c.gen.connectivity, links: WIFI },
          { type: 'checked', gen: c.gen.connectivity, checks: [failed('dns')] },
        ],
        p,
      );
      expect(r.ctx.state, onLoss).toBe(state);
    }
  });

  it('in setup it looks for known networks at once; connecting is already looking; applying refuses', () => {
    const r = run(inSetup(true), [appLost]);
    expect(types(r.effects)).toEqual(['startTimer', 'probeKnown']);
    expect(types(run(inSetup(false), [appLost]).effects)).toEqual([]);
    expect(run(fresh(true), [{ type: 'start' }, appLost]).accepted).toEqual([true, true]);
    expect(run(applying(inSetup()), [appLost]).accepted).toEqual([false]);
  });

  it('on trial an app report is checked but does not end the trial', () => {
    const trial = run(applying(inSetup()), [applyOk]).ctx;
    const c = run(trial, [appLost]).ctx;
    const r = run(c, [
      { type: 'checkLinks', gen: c.gen.connectivity, links: WIFI },
      { type: 'checked', gen: c.gen.connectivity, checks: [failed('dns')] },
    ]);
    expect(r.ctx.state).toBe('failsafe');
  });
});

describe('lifecycle: netconnectd — forget leaves the network, stop_ap is honoured', () => {
  const leave: Event = { type: 'leaveWifi' };

  it('the Wi-Fi network in use was forgotten: leave it at once; nothing else known → setup', () => {
    const o = online();
    const r = run({ ...o, hasKnown: false }, [leave]);
    expect(types(r.effects)).toEqual(['leave', 'enter:connecting', 'connectKnown']);
    expect(run(r.ctx, [linksRead(NONE)]).ctx).toMatchObject({ state: 'setup', apUp: true });
    expect(run(r.ctx, [linksRead({ ...NONE, ethernet: true })]).ctx).toMatchObject({ via: 'ethernet' });
  });

  it('on Ethernet, in setup: nothing to leave; applying refuses', () => {
    const eth = run(fresh(false), [{ type: 'start' }, linksRead({ ...NONE, ethernet: true })]).ctx;
    expect(types(run(eth, [leave]).effects)).toEqual([]);
    expect(types(run(inSetup(), [leave]).effects)).toEqual([]);
    expect(run(applying(inSetup()), [leave]).accepted).toEqual([false]);
  });

  it('on trial: the trial ends with the networks it was for', () => {
    const trial = run(applying(inSetup()), [applyOk]).ctx;
    const r = run(trial, [leave]);
    expect(r.effects).toContainEqual({ type: 'revertAttempt', attemptId: 'a1' });
    expect(r.ctx).toMatchObject({ state: 'connecting', attempt: undefined });
  });

  it('connecting starts over: a join under way for a forgotten network becomes stale', () => {
    const c = run(fresh(true), [{ type: 'start' }]).ctx;
    const gen = c.gen.connect;
    const r = run(c, [leave]);
    expect(run(r.ctx, [{ type: 'knownTried', gen, joined: true, links: WIFI }]).accepted).toEqual([false]);
  });

  it('stop_ap with nothing saved: the AP stays down for the hold, then setup reopens', () => {
    const s = run(inSetup(), [{ type: 'apStop' }, connectFailed]);
    expect(s.ctx).toMatchObject({ state: 'connecting', apUp: false, parked: true });
    expect(s.effects).toContainEqual({
      type: 'startTimer',
      kind: 'apHold',
      ms: 30_000,
      gen: s.ctx.gen.apHold,
    });
    expect(types(s.effects)).not.toContain('apUp');
    const back = run(s.ctx, [timer('apHold')]);
    expect(types(back.effects)).toEqual(['connectKnown']);
    expect(run(back.ctx, [connectFailed]).ctx).toMatchObject({ state: 'setup', apUp: true, apHeld: false });
  });

  it('stop_ap with a known network that returns during the hold: online, the hold ends quietly', () => {
    const s = run(inSetup(true), [{ type: 'apStop' }, connectFailed]).ctx;
    const joined = run(s, [timer('apHold'), connectedWifi]).ctx;
    expect(joined).toMatchObject({ state: 'online', apUp: false });
  });

  it('ap.start during the hold opens setup at once; a hold of 0 reopens at once', () => {
    const s = run(inSetup(), [{ type: 'apStop' }, connectFailed]).ctx;
    expect(run(s, [{ type: 'apStart' }]).ctx).toMatchObject({ state: 'setup', apUp: true, apHeld: false });
    const p = { ...policy, apHoldMs: 0 };
    expect(run(inSetup(), [{ type: 'apStop' }, connectFailed], p).ctx.state).toBe('setup');
  });
});
