/**
 * The device lifecycle as a pure transition table (ARCHITECTURE.md "Device lifecycle"):
 *
 *   booting → connecting → online
 *   connecting → setup                      (no known network works)
 *   setup → connecting                      (idle timeout, or ap.stop, with known networks)
 *   setup → online                          (a known network came back: background retry)
 *   setup|online|connecting → applying      (credentials arrived)
 *   applying → failsafe | online            (joined; `confirm` waits for device.commit)
 *   applying → setup | connecting           (failed: previous networks restored, reason kept)
 *   failsafe → online                       (device.commit)  failsafe → connecting (timer: revert)
 *   online → connecting | setup             (link lost, or connectivity lost per policy)
 *
 * `transition` never does I/O: it returns the next context and the effects the agent must run.
 * Every timer carries the generation it was started with; a timer whose generation is no longer
 * current is ignored, so a stale timer can never act on a state it was not meant for.
 */
import type { DeviceState } from '../../shared/protocol/api';

export type Via = 'ethernet' | 'wifi' | 'cellular';
export type TimerKind = 'setupIdle' | 'retryKnown' | 'failsafe' | 'connectivity' | 'linger';
export const TIMER_KINDS: readonly TimerKind[] = [
  'setupIdle',
  'retryKnown',
  'failsafe',
  'connectivity',
  'linger',
];

export interface Policy {
  setupIdleMs: number; // 0: never leave setup on idle
  retryKnownMs: number;
  connectivityIntervalMs: number;
  failuresBeforeLoss: number;
  onLoss: 'reconnect' | 'setup' | 'ignore';
  lingerMs: number;
}

export interface Context {
  state: DeviceState;
  gen: Record<TimerKind, number>;
  via: Via | null;
  /** Whether known networks exist (set by the agent when they change). */
  hasKnown: boolean;
  /** The attempt being applied or on trial. */
  attempt?: { id: string; commit: 'auto' | 'confirm'; failsafeMs: number; from: DeviceState };
  connectivityFailures: number;
  /** The AP is up (tracked here so transitions know whether to take it down). */
  apUp: boolean;
  /** The AP was opened by a local request (`ap.start`): stay in setup until `ap.stop`. */
  apPinned: boolean;
  /** The radio can keep the AP up while joining (AP+STA). */
  apSta: boolean;
}

export type Event =
  | { type: 'start'; resume?: { attemptId: string; remainingMs: number } }
  | { type: 'connected'; via: Via }
  | { type: 'connectFailed' }
  | { type: 'linkLost' }
  | { type: 'connectivity'; ok: boolean }
  | { type: 'knownReturned'; via: Via }
  | { type: 'apply'; attemptId: string; commit: 'auto' | 'confirm'; failsafeMs: number }
  | { type: 'applyOk'; via: Via }
  | { type: 'applyFailed' }
  | { type: 'commit' }
  | { type: 'apStart' }
  | { type: 'apStop' }
  | { type: 'networksChanged'; hasKnown: boolean }
  | { type: 'timer'; kind: TimerKind; gen: number };

export type Effect =
  | { type: 'enter'; state: DeviceState; previous: DeviceState }
  | { type: 'startTimer'; kind: TimerKind; ms: number; gen: number }
  | { type: 'connectKnown' }
  | { type: 'probeKnown' }
  | { type: 'apUp' }
  | { type: 'apDown'; afterAnswer?: boolean }
  | { type: 'apply'; attemptId: string; keepAp: boolean }
  | { type: 'commitAttempt'; attemptId: string }
  | { type: 'revertAttempt'; attemptId: string }
  | { type: 'armFailsafe'; attemptId: string; ms: number }
  | { type: 'checkConnectivity' };

export interface Result {
  ctx: Context;
  effects: Effect[];
  /** False when the event does not apply in this state (the caller may report BUSY or ignore it). */
  accepted: boolean;
}

export function initialContext(hasKnown: boolean, apSta: boolean): Context {
  return {
    state: 'booting',
    gen: { setupIdle: 0, retryKnown: 0, failsafe: 0, connectivity: 0, linger: 0 },
    via: null,
    hasKnown,
    connectivityFailures: 0,
    apUp: false,
    apPinned: false,
    apSta,
  };
}

/** A small builder so each case reads as a list of steps. */
class Step {
  readonly effects: Effect[] = [];
  ctx: Context;
  constructor(ctx: Context) {
    this.ctx = { ...ctx, gen: { ...ctx.gen } };
  }
  enter(state: DeviceState): this {
    const previous = this.ctx.state;
    // Leaving a state cancels every timer that belonged to it.
    if (state !== previous) for (const k of stateTimers(previous)) this.ctx.gen[k]++;
    this.ctx.state = state;
    if (state !== previous) this.effects.push({ type: 'enter', state, previous });
    return this;
  }
  timer(kind: TimerKind, ms: number): this {
    const gen = ++this.ctx.gen[kind];
    if (ms > 0) this.effects.push({ type: 'startTimer', kind, ms, gen });
    return this;
  }
  cancel(kind: TimerKind): this {
    this.ctx.gen[kind]++;
    return this;
  }
  do(effect: Effect): this {
    this.effects.push(effect);
    return this;
  }
  apUp(): this {
    if (!this.ctx.apUp) this.effects.push({ type: 'apUp' });
    this.ctx.apUp = true;
    return this;
  }
  apDown(afterAnswer = false): this {
    if (this.ctx.apUp) this.effects.push(afterAnswer ? { type: 'apDown', afterAnswer } : { type: 'apDown' });
    this.ctx.apUp = false;
    return this;
  }
  done(accepted = true): Result {
    return { ctx: this.ctx, effects: this.effects, accepted };
  }
}

function stateTimers(state: DeviceState): TimerKind[] {
  switch (state) {
    case 'setup':
      return ['setupIdle', 'retryKnown'];
    case 'online':
      return ['connectivity'];
    case 'failsafe':
      return ['connectivity'];
    case 'booting':
    case 'connecting':
    case 'applying':
      return [];
  }
}

function enterSetup(s: Step, policy: Policy): Step {
  s.enter('setup').apUp();
  s.ctx.via = null;
  s.timer('setupIdle', s.ctx.apPinned ? 0 : policy.setupIdleMs);
  s.timer('retryKnown', s.ctx.hasKnown ? policy.retryKnownMs : 0);
  return s;
}

function enterConnecting(s: Step): Step {
  s.enter('connecting');
  s.ctx.via = null;
  return s.do({ type: 'connectKnown' });
}

function enterOnline(s: Step, via: Via, policy: Policy, keepApBriefly = false): Step {
  s.enter('online');
  s.ctx.via = via;
  s.ctx.connectivityFailures = 0;
  s.ctx.apPinned = false;
  if (s.ctx.apUp) {
    // With AP+STA the station may still be reading the result on the AP: let it linger.
    if (keepApBriefly && policy.lingerMs > 0) s.timer('linger', policy.lingerMs);
    else s.apDown();
  }
  return s.timer('connectivity', policy.connectivityIntervalMs);
}

function isCurrent(ctx: Context, kind: TimerKind, gen: number): boolean {
  return ctx.gen[kind] === gen;
}

export function transition(ctx: Context, event: Event, policy: Policy): Result {
  const s = new Step(ctx);
  switch (event.type) {
    case 'start':
      if (ctx.state !== 'booting') return s.done(false);
      // Rebooted during a trial: finish the trial with the time it had left.
      if (event.resume) {
        s.ctx.attempt = {
          id: event.resume.attemptId,
          commit: 'confirm',
          failsafeMs: event.resume.remainingMs,
          from: 'online',
        };
      }
      return enterConnecting(s).done();

    case 'connected': {
      if (ctx.state !== 'connecting') return s.done(false);
      const attempt = ctx.attempt;
      if (!attempt) return enterOnline(s, event.via, policy).done();
      s.enter('failsafe');
      s.ctx.via = event.via;
      s.timer('failsafe', attempt.failsafeMs);
      return s.timer('connectivity', policy.connectivityIntervalMs).done();
    }

    case 'connectFailed':
      if (ctx.state !== 'connecting') return s.done(false);
      if (ctx.attempt) {
        // The resumed trial does not connect: revert and try the previous networks.
        s.do({ type: 'revertAttempt', attemptId: ctx.attempt.id });
        s.ctx.attempt = undefined;
        return enterConnecting(s).done();
      }
      return enterSetup(s, policy).done();

    case 'knownReturned':
      if (ctx.state !== 'setup') return s.done(false);
      return enterOnline(s, event.via, policy, true).done();

    case 'linkLost':
      if (ctx.state !== 'online') return s.done(false);
      return enterConnecting(s).done();

    case 'connectivity': {
      if (ctx.state !== 'online' && ctx.state !== 'failsafe') return s.done(false);
      s.ctx.connectivityFailures = event.ok ? 0 : ctx.connectivityFailures + 1;
      const lost = s.ctx.connectivityFailures >= policy.failuresBeforeLoss;
      if (!lost || ctx.state === 'failsafe' || policy.onLoss === 'ignore') {
        return s.timer('connectivity', policy.connectivityIntervalMs).done();
      }
      s.ctx.connectivityFailures = 0;
      return policy.onLoss === 'setup' ? enterSetup(s, policy).done() : enterConnecting(s).done();
    }

    case 'apply': {
      if (ctx.state === 'applying' || ctx.state === 'booting') return s.done(false);
      // A trial in progress is replaced by the new one: the agent reverts its networks first.
      s.ctx.attempt = {
        id: event.attemptId,
        commit: event.commit,
        failsafeMs: event.failsafeMs,
        from: ctx.state === 'failsafe' ? 'online' : ctx.state,
      };
      s.cancel('failsafe').cancel('linger');
      s.enter('applying');
      // Answer before tearing down: without AP+STA the AP goes only after the reply is out.
      const keepAp = ctx.apUp && ctx.apSta;
      if (ctx.apUp && !ctx.apSta) s.apDown(true);
      return s.do({ type: 'apply', attemptId: event.attemptId, keepAp }).done();
    }

    case 'applyOk': {
      const attempt = ctx.attempt;
      if (ctx.state !== 'applying' || !attempt) return s.done(false);
      if (attempt.commit === 'auto') {
        s.do({ type: 'commitAttempt', attemptId: attempt.id });
        s.ctx.attempt = undefined;
        return enterOnline(s, event.via, policy, true).done();
      }
      s.enter('failsafe');
      s.ctx.via = event.via;
      s.ctx.apPinned = false;
      if (s.ctx.apUp) {
        if (policy.lingerMs > 0) s.timer('linger', policy.lingerMs);
        else s.apDown();
      }
      s.do({ type: 'armFailsafe', attemptId: attempt.id, ms: attempt.failsafeMs });
      s.timer('failsafe', attempt.failsafeMs);
      return s.timer('connectivity', policy.connectivityIntervalMs).done();
    }

    case 'applyFailed': {
      const attempt = ctx.attempt;
      if (ctx.state !== 'applying' || !attempt) return s.done(false);
      s.do({ type: 'revertAttempt', attemptId: attempt.id });
      s.ctx.attempt = undefined;
      // Credentials pushed over the AP: reopen it with the reason kept. Over the LAN: go back.
      return attempt.from === 'setup' ? enterSetup(s, policy).done() : enterConnecting(s).done();
    }

    case 'commit': {
      const attempt = ctx.attempt;
      if (ctx.state !== 'failsafe' || !attempt) return s.done(false);
      s.cancel('failsafe');
      s.do({ type: 'commitAttempt', attemptId: attempt.id });
      s.ctx.attempt = undefined;
      s.enter('online');
      return s.timer('connectivity', policy.connectivityIntervalMs).done();
    }

    case 'apStart':
      if (ctx.state === 'applying' || ctx.state === 'booting') return s.done(false);
      s.ctx.apPinned = true;
      if (ctx.state === 'setup') return s.timer('setupIdle', 0).done();
      if (ctx.state === 'failsafe' && ctx.attempt) {
        s.do({ type: 'revertAttempt', attemptId: ctx.attempt.id });
        s.ctx.attempt = undefined;
        s.cancel('failsafe');
      }
      return enterSetup(s, policy).done();

    case 'apStop':
      if (ctx.state !== 'setup' && !(ctx.apUp && (ctx.state === 'online' || ctx.state === 'failsafe'))) {
        return s.done(false);
      }
      s.ctx.apPinned = false;
      if (ctx.state !== 'setup') return s.cancel('linger').apDown().done();
      s.apDown();
      return enterConnecting(s).done();

    case 'networksChanged':
      s.ctx.hasKnown = event.hasKnown;
      if (ctx.state === 'setup') s.timer('retryKnown', event.hasKnown ? policy.retryKnownMs : 0);
      return s.done();

    case 'timer': {
      if (!isCurrent(ctx, event.kind, event.gen)) return s.done(false);
      switch (event.kind) {
        case 'setupIdle':
          if (ctx.state !== 'setup') return s.done(false);
          if (!ctx.hasKnown) return s.timer('setupIdle', policy.setupIdleMs).done();
          s.apDown();
          return enterConnecting(s).done();
        case 'retryKnown':
          if (ctx.state !== 'setup') return s.done(false);
          s.timer('retryKnown', policy.retryKnownMs);
          return s.do({ type: 'probeKnown' }).done();
        case 'failsafe': {
          const attempt = ctx.attempt;
          if (ctx.state !== 'failsafe' || !attempt) return s.done(false);
          s.do({ type: 'revertAttempt', attemptId: attempt.id });
          s.ctx.attempt = undefined;
          s.apDown();
          return enterConnecting(s).done();
        }
        case 'connectivity':
          if (ctx.state !== 'online' && ctx.state !== 'failsafe') return s.done(false);
          return s.do({ type: 'checkConnectivity' }).done();
        case 'linger':
          if (ctx.state !== 'online' && ctx.state !== 'failsafe') return s.done(false);
          return s.apDown().done();
      }
    }
  }
}
