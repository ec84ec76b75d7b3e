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
 *   online|failsafe|connecting → connecting (the Wi-Fi network in use was forgotten: leave it)
 *
 * Connectivity is judged by the configured targets (DNS, NTP, URLs), the gateway only when none are
 * configured: a gateway that answers in front of a dead uplink is not the internet. Lost connectivity
 * with `onLoss: reconnect` falls back to the next link in Ethernet > Wi-Fi > cellular order (the link
 * that lost it is tried last, until it goes down and comes back). An app on the device may say it is
 * cut off (`appLost`, conman's setConnected(False)): the targets are checked at once, and a failure
 * is loss at once. `ap.stop` keeps the AP down for `apHoldMs` even when nothing known joins
 * (netconnectd's idle window), then setup reopens.
 *
 * `transition` never does I/O and is the only writer of the context. Every decision is made here:
 * the agent runs the effects it returns and feeds their outcomes back as events carrying facts (the
 * links it found, a join's outcome with its connectivity checks, what a background probe saw of the
 * AP's clients and the station, whether the AP started, what the radio can do). Every timer and every
 * piece of work carries the generation it was started under; an event whose generation is no longer
 * current is ignored, so a stale timer or a late completion can never act on a state it was not
 * meant for.
 */
import type { ConnectFailureReason } from '../../shared/errors';
import type { DeviceState, LastAttempt } from '../../shared/protocol/api';
import type { CheckResult } from '../ports/connectivity';

export type Via = 'ethernet' | 'wifi' | 'cellular';
export type TimerKind =
  'setupIdle' | 'retryKnown' | 'failsafe' | 'connectivity' | 'linger' | 'teardown' | 'apRetry' | 'apHold';
export const TIMER_KINDS: readonly TimerKind[] = [
  'setupIdle',
  'retryKnown',
  'failsafe',
  'connectivity',
  'linger',
  'teardown',
  'apRetry',
  'apHold',
];
/** The order connecting tries links in. */
export const LINK_ORDER: readonly Via[] = ['ethernet', 'wifi', 'cellular'];
/**
 * Work the machine waits for: connecting to known networks, a background probe in setup, an apply.
 * Connectivity checks carry the `connectivity` timer's generation, AP starts the `apRetry` one.
 */
export type WorkKind = 'connect' | 'probe' | 'apply';
export type GenKind = TimerKind | WorkKind;

export interface Policy {
  setupIdleMs: number; // 0: never leave setup on idle
  retryKnownMs: number;
  connectivityIntervalMs: number;
  failuresBeforeLoss: number;
  onLoss: 'reconnect' | 'setup' | 'ignore';
  lingerMs: number;
  /** Without AP+STA: between answering `wifi.set` and taking the AP down, so the answer gets out. */
  teardownMs: number;
  /** A setup AP that failed to start is started again after this long while setup wants it. */
  apRetryMs: number;
  /** A station that spoke within this long may still be using the AP: a probe leaves it up. */
  stationQuietMs: number;
  /** Check connectivity after a join, and fail the attempt as `no_internet` when every check fails. */
  checkInternetOnJoin: boolean;
  /** After `apStop`, how long the AP stays down when nothing known joins (0: reopen at once). */
  apHoldMs: number;
}

/** Which links are up, as the radio last reported them. */
export interface Links {
  wifi: boolean;
  ethernet: boolean;
  cellular: boolean;
}

export interface Context {
  state: DeviceState;
  gen: Record<GenKind, number>;
  via: Via | null;
  /** Whether known networks exist. */
  hasKnown: boolean;
  /** The attempt being applied or on trial. */
  attempt?: { id: string; commit: 'auto' | 'confirm'; failsafeMs: number; from: DeviceState } | undefined;
  connectivityFailures: number;
  /** The machine wants the AP up (tracked here so transitions know whether to take it down). */
  apUp: boolean;
  /** The AP was opened by a local request (`ap.start`): stay in setup until `ap.stop`. */
  apPinned: boolean;
  /** The radio can keep the AP up while joining (AP+STA), as it last said. */
  apSta: boolean;
  /** Online (or on trial) since setup was last entered, in this run: a restart forgets it. */
  onlineSinceSetup: boolean;
  /**
   * Links that lost connectivity, oldest first: connecting tries them after the others (the newest
   * last), each until it is seen down. When every link has failed the round starts over.
   */
  avoid: Via[];
  /** A check an app asked for (`appLost`) is running: its failure is loss at once. */
  appCheck: boolean;
  /** `apStop` asked for the AP to stay down (until the `apHold` timer). */
  apHeld: boolean;
  /** Connecting found nothing while the AP is held: waiting in `connecting` for the hold to end. */
  parked: boolean;
}

/** What the agent writes as the attempt's result (it adds the time). */
export type AttemptRecord = Omit<LastAttempt, 'at'>;

export type Event =
  // Requests and facts from outside the machine.
  | { type: 'start'; trial?: { attemptId: string; remainingMs?: number } }
  | { type: 'apply'; attemptId: string; commit: 'auto' | 'confirm'; failsafeMs: number }
  | { type: 'commit' }
  | { type: 'apStart' }
  | { type: 'apStop' }
  | { type: 'networksChanged'; hasKnown: boolean }
  /** Stop using the Wi-Fi network in use now: it was forgotten (netconnectd's forget_wifi, reset). */
  | { type: 'leaveWifi' }
  /** An app on the device says it is cut off (conman's setConnected(False), a failed app report). */
  | { type: 'appLost' }
  | { type: 'capabilities'; apSta: boolean }
  | { type: 'timer'; kind: TimerKind; gen: number }
  // Completions of the machine's own effects, each with the generation it was started under.
  /** connectKnown: the links before any Wi-Fi join. */
  | { type: 'linksRead'; gen: number; links: Links }
  /** joinKnown: whether a saved network in range was joined, and the links after. */
  | { type: 'knownTried'; gen: number; joined: boolean; links: Links }
  /** connectKnown or joinKnown threw. */
  | { type: 'connectCrashed'; gen: number }
  /** probeKnown: known networks in range, clients on the AP, and how long since a station spoke. */
  | { type: 'probed'; gen: number; candidates: number; apClients: number; sinceStationSpokeMs: number }
  /** joinReturning (or a probe that threw): whether a returning network was joined. */
  | { type: 'returnTried'; gen: number; joined: boolean }
  /**
   * apply: the network joined (if one was) with the checks run after it, the reason the last target
   * failed (`ssid_not_found` when none was tried, `hardware` when the apply threw), the first
   * target's SSID, which a failure is reported under.
   */
  | {
      type: 'applied';
      gen: number;
      attemptId: string;
      joined?: { networkId: string; ssidHex: string; ip?: string; addressing?: 'dhcp' | 'static' };
      reason: ConnectFailureReason;
      ssidHex?: string;
      checks?: CheckResult[];
    }
  /** checkConnectivity: the links now. */
  | { type: 'checkLinks'; gen: number; links: Links }
  /** runChecks: the results, none when the checks could not run. */
  | { type: 'checked'; gen: number; checks?: CheckResult[] }
  /** apUp: the AP started, failed to start, or there is no identity to derive it from. */
  | { type: 'apUpDone'; gen: number; outcome: 'up' | 'failed' | 'noIdentity' };

export type Effect =
  /** `afterOnline` (entering setup): the device was online since it last entered setup, in this run. */
  | { type: 'enter'; state: DeviceState; previous: DeviceState; afterOnline?: boolean }
  | { type: 'startTimer'; kind: TimerKind; ms: number; gen: number }
  /** Read the links → linksRead. */
  | { type: 'connectKnown'; gen: number }
  /** Join saved networks in range by priority → knownTried. */
  | { type: 'joinKnown'; gen: number }
  /** Scan for saved networks coming back → probed. */
  | { type: 'probeKnown'; gen: number }
  /** Join one of them → returnTried. */
  | { type: 'joinReturning'; gen: number; keepAp: boolean }
  /** Start the setup AP → apUpDone. */
  | { type: 'apUp'; gen: number }
  | { type: 'apDown' }
  /** A fresh scan for a station's link check and the portal's list. */
  | { type: 'warmScan' }
  /** Join the attempt's networks (and check connectivity) → applied. */
  | { type: 'apply'; gen: number; attemptId: string; keepAp: boolean; checkInternet: boolean }
  /** Drop the station connection. */
  | { type: 'leave' }
  | { type: 'markConnected'; networkId: string }
  | { type: 'recordAttempt'; attempt: AttemptRecord }
  | { type: 'commitAttempt'; attemptId: string }
  /** Restore the networks from before; with a reason, the attempt's record becomes a failure. */
  | { type: 'revertAttempt'; attemptId: string; reason?: 'not_confirmed' | 'interrupted' }
  | { type: 'armFailsafe'; attemptId: string; ms: number }
  /** Read the links → checkLinks. */
  | { type: 'checkConnectivity'; gen: number }
  /** Run the connectivity checks → checked. */
  | { type: 'runChecks'; gen: number };

export interface Result {
  ctx: Context;
  effects: Effect[];
  /** False when the event does not apply in this state (the caller may report BUSY or ignore it). */
  accepted: boolean;
}

const GEN_KINDS: readonly GenKind[] = [...TIMER_KINDS, 'connect', 'probe', 'apply'];

export function initialContext(hasKnown: boolean, apSta: boolean): Context {
  return {
    state: 'booting',
    gen: Object.fromEntries(GEN_KINDS.map((k) => [k, 0])) as Record<GenKind, number>,
    via: null,
    hasKnown,
    connectivityFailures: 0,
    apUp: false,
    apPinned: false,
    apSta,
    onlineSinceSetup: false,
    avoid: [],
    appCheck: false,
    apHeld: false,
    parked: false,
  };
}

/** Whether work or a timer started under `gen` is still the one the machine waits for. */
export function isCurrent(ctx: Context, kind: GenKind, gen: number): boolean {
  return ctx.gen[kind] === gen;
}

const isTarget = (c: CheckResult): boolean => c.id !== 'gateway' && c.state !== 'skipped';

/**
 * A connectivity verdict: the configured targets (DNS, NTP, URLs) decide — one that answers is
 * enough; only when none ran does the gateway decide; nothing ran at all (nothing to check) passes.
 */
export function internetReached(checks: readonly CheckResult[]): boolean {
  const targets = checks.filter(isTarget);
  if (targets.length > 0) return targets.some((c) => c.state === 'ok');
  const ran = checks.filter((c) => c.state !== 'skipped');
  return ran.length === 0 || ran.some((c) => c.state === 'ok');
}

/**
 * The verdict on a check an app asked for: only a configured target that answers contradicts the
 * app (a gateway that answers says nothing about the app's servers), so with no targets the app's
 * word stands.
 */
export function targetsReached(checks: readonly CheckResult[]): boolean {
  return checks.filter(isTarget).some((c) => c.state === 'ok');
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
    if (state === previous) return this;
    // Leaving a state cancels its timers and makes the work it started stale.
    for (const k of stateGens(previous)) this.ctx.gen[k]++;
    if (previous === 'online' || previous === 'failsafe') this.ctx.appCheck = false;
    if (previous === 'connecting') this.ctx.parked = false;
    this.ctx.state = state;
    if (state === 'setup') {
      const afterOnline = this.ctx.onlineSinceSetup;
      this.ctx.onlineSinceSetup = false;
      this.effects.push({ type: 'enter', state, previous, afterOnline });
      return this;
    }
    if (state === 'online' || state === 'failsafe') this.ctx.onlineSinceSetup = true;
    this.effects.push({ type: 'enter', state, previous });
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
  /** A new piece of work of `kind`: earlier ones become stale. */
  work(kind: WorkKind): number {
    return ++this.ctx.gen[kind];
  }
  do(effect: Effect): this {
    this.effects.push(effect);
    return this;
  }
  apUp(): this {
    if (!this.ctx.apUp) this.effects.push({ type: 'apUp', gen: this.ctx.gen.apRetry });
    this.ctx.apUp = true;
    return this;
  }
  apDown(): this {
    if (this.ctx.apUp) this.effects.push({ type: 'apDown' });
    this.ctx.apUp = false;
    // A pending retry, or a start still under way, is no longer wanted.
    this.ctx.gen.apRetry++;
    return this;
  }
  done(accepted = true): Result {
    return { ctx: this.ctx, effects: this.effects, accepted };
  }
}

const refuse = (s: Step): Result => s.done(false);

function stateGens(state: DeviceState): GenKind[] {
  switch (state) {
    case 'setup':
      return ['setupIdle', 'retryKnown', 'probe', 'apRetry'];
    case 'online':
    case 'failsafe':
      return ['connectivity'];
    case 'connecting':
      return ['connect'];
    case 'applying':
      return ['apply', 'teardown'];
    case 'booting':
      return [];
  }
}

function enterSetup(s: Step, policy: Policy): Step {
  s.enter('setup').apUp();
  s.ctx.via = null;
  // Setup starts over: every link is worth trying again when it ends.
  s.ctx.avoid = [];
  s.ctx.parked = false;
  s.timer('setupIdle', s.ctx.apPinned ? 0 : policy.setupIdleMs);
  s.timer('retryKnown', s.ctx.hasKnown ? policy.retryKnownMs : 0);
  return s;
}

function enterConnecting(s: Step): Step {
  s.enter('connecting');
  s.ctx.via = null;
  s.ctx.parked = false;
  return s.do({ type: 'connectKnown', gen: s.work('connect') });
}

/** Connecting's order: Ethernet > Wi-Fi > cellular, the links that lost connectivity after them. */
export function connectOrder(avoid: readonly Via[]): Via[] {
  return [...LINK_ORDER.filter((v) => !avoid.includes(v)), ...avoid];
}

/**
 * Connecting, going down the order after `after` (from the top without it): a wired or cellular
 * link that is up is taken; Wi-Fi means joining saved networks (→ knownTried, which goes on from
 * there); nothing left means connecting failed.
 */
function nextLink(s: Step, links: Links, gen: number, policy: Policy, after?: Via): Result {
  const order = connectOrder(s.ctx.avoid);
  for (const via of order.slice(after === undefined ? 0 : order.indexOf(after) + 1)) {
    if (via === 'wifi') {
      if (s.ctx.hasKnown) return s.do({ type: 'joinKnown', gen }).done();
    } else if (links[via]) {
      return connected(s, via, policy);
    }
  }
  return connectFailed(s, policy);
}

/** Connectivity is lost: setup with that policy, else the next link (this one tried last). */
function connectivityLost(s: Step, policy: Policy): Result {
  s.ctx.connectivityFailures = 0;
  if (policy.onLoss === 'setup') return enterSetup(s, policy).done();
  const via = s.ctx.via;
  if (via !== null) {
    const avoid = [...s.ctx.avoid.filter((v) => v !== via), via];
    // Every link failed once: start the round over, with this one still last.
    s.ctx.avoid = LINK_ORDER.every((v) => avoid.includes(v)) ? [via] : avoid;
  }
  return enterConnecting(s).done();
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

/** Connecting found a way out: online, or the resumed trial's fail-safe. */
function connected(s: Step, via: Via, policy: Policy): Result {
  const attempt = s.ctx.attempt;
  if (!attempt) return enterOnline(s, via, policy).done();
  s.enter('failsafe');
  s.ctx.via = via;
  s.timer('failsafe', attempt.failsafeMs);
  return s.timer('connectivity', policy.connectivityIntervalMs).done();
}

/** Connecting found nothing: setup, or (a resumed trial that does not connect) revert and go again. */
function connectFailed(s: Step, policy: Policy): Result {
  const attempt = s.ctx.attempt;
  if (!attempt && s.ctx.apHeld) {
    // ap.stop asked for the AP to stay down: wait for the hold to end before opening setup.
    s.ctx.parked = true;
    return s.done();
  }
  if (!attempt) return enterSetup(s, policy).done();
  s.do({ type: 'revertAttempt', attemptId: attempt.id, reason: 'not_confirmed' });
  s.ctx.attempt = undefined;
  return enterConnecting(s).done();
}

function applyEffect(s: Step, keepAp: boolean, policy: Policy): Effect {
  return {
    type: 'apply',
    gen: s.ctx.gen.apply,
    attemptId: s.ctx.attempt?.id ?? '',
    keepAp,
    checkInternet: policy.checkInternetOnJoin,
  };
}

function applyOk(s: Step, attempt: NonNullable<Context['attempt']>, policy: Policy): Result {
  if (attempt.commit === 'auto') {
    s.do({ type: 'commitAttempt', attemptId: attempt.id });
    s.ctx.attempt = undefined;
    return enterOnline(s, 'wifi', policy, true).done();
  }
  s.enter('failsafe');
  s.ctx.via = 'wifi';
  s.ctx.apPinned = false;
  if (s.ctx.apUp) {
    if (policy.lingerMs > 0) s.timer('linger', policy.lingerMs);
    else s.apDown();
  }
  s.do({ type: 'armFailsafe', attemptId: attempt.id, ms: attempt.failsafeMs });
  s.timer('failsafe', attempt.failsafeMs);
  return s.timer('connectivity', policy.connectivityIntervalMs).done();
}

function applyFailed(s: Step, attempt: NonNullable<Context['attempt']>, policy: Policy): Result {
  s.do({ type: 'revertAttempt', attemptId: attempt.id });
  s.ctx.attempt = undefined;
  // Credentials pushed over the AP: reopen it with the reason kept. Over the LAN: go back.
  return attempt.from === 'setup' ? enterSetup(s, policy).done() : enterConnecting(s).done();
}

type Handler<E extends Event> = (s: Step, event: E, policy: Policy) => Result;
type Handlers = { [T in Event['type']]: Handler<Extract<Event, { type: T }>> };

const handlers: Handlers = {
  start(s, e) {
    if (s.ctx.state !== 'booting') return refuse(s);
    const trial = e.trial;
    if (trial?.remainingMs !== undefined && trial.remainingMs > 0) {
      // Rebooted during a trial: finish it with the time it had left.
      s.ctx.attempt = {
        id: trial.attemptId,
        commit: 'confirm',
        failsafeMs: trial.remainingMs,
        from: 'online',
      };
    } else if (trial) {
      // Its time ran out while the device was off, or it was cut short while applying.
      const reason = trial.remainingMs === undefined ? 'interrupted' : 'not_confirmed';
      s.do({ type: 'revertAttempt', attemptId: trial.attemptId, reason });
    }
    return enterConnecting(s).done();
  },

  linksRead(s, e, policy) {
    if (s.ctx.state !== 'connecting' || !isCurrent(s.ctx, 'connect', e.gen)) return refuse(s);
    // Ethernet first, then saved Wi-Fi networks in range by priority, then cellular; the link that
    // lost connectivity last (the fallback's reason) after the others.
    return nextLink(s, e.links, e.gen, policy);
  },

  knownTried(s, e, policy) {
    if (s.ctx.state !== 'connecting' || !isCurrent(s.ctx, 'connect', e.gen)) return refuse(s);
    if (e.joined) return connected(s, 'wifi', policy);
    return nextLink(s, e.links, e.gen, policy, 'wifi');
  },

  connectCrashed(s, e, policy) {
    if (s.ctx.state !== 'connecting' || !isCurrent(s.ctx, 'connect', e.gen)) return refuse(s);
    return connectFailed(s, policy);
  },

  probed(s, e, policy) {
    if (s.ctx.state !== 'setup' || !isCurrent(s.ctx, 'probe', e.gen)) return refuse(s);
    if (e.candidates === 0) return s.done();
    // Without AP+STA a join takes the AP away: not from under a station that may still be using it.
    const busy = e.apClients > 0 || e.sinceStationSpokeMs < policy.stationQuietMs;
    if (!s.ctx.apSta && busy) return s.done();
    if (!s.ctx.apSta) s.apDown();
    return s.do({ type: 'joinReturning', gen: e.gen, keepAp: s.ctx.apSta }).done();
  },

  returnTried(s, e, policy) {
    if (s.ctx.state !== 'setup' || !isCurrent(s.ctx, 'probe', e.gen)) return refuse(s);
    if (e.joined) return enterOnline(s, 'wifi', policy, true).done();
    // Nothing came back: the AP this probe took down comes back.
    return s.apUp().done();
  },

  apply(s, e, policy) {
    const from = s.ctx.state;
    if (from === 'applying' || from === 'booting') return refuse(s);
    // A trial in progress is replaced by the new one: the agent reverts its networks first.
    s.ctx.attempt = {
      id: e.attemptId,
      commit: e.commit,
      failsafeMs: e.failsafeMs,
      from: from === 'failsafe' ? 'online' : from,
    };
    s.cancel('failsafe').cancel('linger');
    s.enter('applying');
    s.work('apply');
    const keepAp = s.ctx.apUp && s.ctx.apSta;
    if (s.ctx.apUp && !s.ctx.apSta) {
      // Answer before tearing down: the AP goes only once the reply is out, then the join.
      if (policy.teardownMs > 0) return s.timer('teardown', policy.teardownMs).done();
      s.apDown();
    }
    return s.do(applyEffect(s, keepAp, policy)).done();
  },

  applied(s, e, policy) {
    const attempt = s.ctx.attempt;
    if (s.ctx.state !== 'applying' || attempt?.id !== e.attemptId || !isCurrent(s.ctx, 'apply', e.gen))
      return refuse(s);
    const noInternet = e.joined !== undefined && e.checks !== undefined && !internetReached(e.checks);
    if (e.joined && !noInternet) {
      const { networkId, ssidHex, ip, addressing } = e.joined;
      s.do({ type: 'markConnected', networkId });
      // The result is on record before the state changes: a reader never sees one without the other.
      s.do({
        type: 'recordAttempt',
        attempt: {
          id: attempt.id,
          result: 'ok',
          ssidHex,
          ...(ip !== undefined ? { ip } : {}),
          ...(addressing !== undefined ? { addressing } : {}),
        },
      });
      return applyOk(s, attempt, policy);
    }
    if (noInternet) s.do({ type: 'leave' });
    s.do({
      type: 'recordAttempt',
      attempt: {
        id: attempt.id,
        result: 'failed',
        reason: noInternet ? 'no_internet' : e.reason,
        ...(e.ssidHex !== undefined ? { ssidHex: e.ssidHex } : {}),
      },
    });
    return applyFailed(s, attempt, policy);
  },

  commit(s, _e, policy) {
    const attempt = s.ctx.attempt;
    if (s.ctx.state !== 'failsafe' || !attempt) return refuse(s);
    s.cancel('failsafe');
    s.do({ type: 'commitAttempt', attemptId: attempt.id });
    s.ctx.attempt = undefined;
    s.enter('online');
    return s.timer('connectivity', policy.connectivityIntervalMs).done();
  },

  apStart(s, _e, policy) {
    const state = s.ctx.state;
    if (state === 'applying' || state === 'booting') return refuse(s);
    s.ctx.apPinned = true;
    s.ctx.apHeld = false;
    s.cancel('apHold');
    if (state === 'setup') return s.timer('setupIdle', 0).done();
    if (state === 'failsafe' && s.ctx.attempt) {
      s.do({ type: 'revertAttempt', attemptId: s.ctx.attempt.id, reason: 'not_confirmed' });
      s.ctx.attempt = undefined;
      s.cancel('failsafe');
    }
    return enterSetup(s, policy).done();
  },

  apStop(s, _e, policy) {
    const state = s.ctx.state;
    if (state !== 'setup' && !(s.ctx.apUp && (state === 'online' || state === 'failsafe'))) return refuse(s);
    s.ctx.apPinned = false;
    if (state !== 'setup') return s.cancel('linger').apDown().done();
    s.apDown();
    // Honoured for a while even when nothing known joins, as netconnectd's idle window did.
    s.ctx.apHeld = policy.apHoldMs > 0;
    s.timer('apHold', policy.apHoldMs);
    return enterConnecting(s).done();
  },

  leaveWifi(s) {
    const { state, via } = s.ctx;
    if (state === 'applying' || state === 'booting') return refuse(s);
    if (state === 'setup' || (state === 'online' && via !== 'wifi')) return s.done();
    if (state === 'failsafe' && s.ctx.attempt) {
      // The trial's networks went with the rest: nothing is left to confirm.
      s.do({ type: 'revertAttempt', attemptId: s.ctx.attempt.id });
      s.ctx.attempt = undefined;
      s.cancel('failsafe');
    }
    s.do({ type: 'leave' });
    // A join under way is for a network no longer saved: connecting starts over.
    return enterConnecting(s).done();
  },

  appLost(s, _e, policy) {
    switch (s.ctx.state) {
      case 'online':
      case 'failsafe': {
        // One check at a time: reports while it runs are the same news.
        if (s.ctx.appCheck) return s.done();
        s.ctx.appCheck = true;
        // A fresh check now; the one scheduled (or running) becomes stale.
        s.cancel('connectivity');
        return s.do({ type: 'checkConnectivity', gen: s.ctx.gen.connectivity }).done();
      }
      case 'setup':
        // Look for known networks now rather than at the next retry.
        if (!s.ctx.hasKnown) return s.done();
        s.timer('retryKnown', policy.retryKnownMs);
        return s.do({ type: 'probeKnown', gen: s.ctx.gen.probe }).done();
      case 'connecting':
        // Already looking.
        return s.done();
      default:
        return refuse(s);
    }
  },

  networksChanged(s, e, policy) {
    s.ctx.hasKnown = e.hasKnown;
    if (s.ctx.state === 'setup') s.timer('retryKnown', e.hasKnown ? policy.retryKnownMs : 0);
    return s.done();
  },

  capabilities(s, e) {
    // AP+STA is a fact about the hardware the machine plans with (a backend may learn it late).
    s.ctx.apSta = e.apSta;
    return s.done();
  },

  checkLinks(s, e) {
    const { state, via } = s.ctx;
    if ((state !== 'online' && state !== 'failsafe') || !isCurrent(s.ctx, 'connectivity', e.gen))
      return refuse(s);
    const up = via === 'ethernet' ? e.links.ethernet : via === 'cellular' ? e.links.cellular : e.links.wifi;
    // The link that lost connectivity went down: when it comes back it is a new link, worth a try.
    s.ctx.avoid = s.ctx.avoid.filter((v) => e.links[v]);
    if (!up && state === 'online') return enterConnecting(s).done();
    // The wired link came back while on Wi-Fi or cellular: prefer it (unless it is the one whose
    // uplink failed and it never went down).
    if (state === 'online' && via !== 'ethernet' && e.links.ethernet && !s.ctx.avoid.includes('ethernet'))
      s.ctx.via = 'ethernet';
    return s.do({ type: 'runChecks', gen: e.gen }).done();
  },

  checked(s, e, policy) {
    const state = s.ctx.state;
    if ((state !== 'online' && state !== 'failsafe') || !isCurrent(s.ctx, 'connectivity', e.gen))
      return refuse(s);
    const appAsked = s.ctx.appCheck;
    s.ctx.appCheck = false;
    // A check that could not run counts as failed.
    const ok = e.checks !== undefined && (appAsked ? targetsReached(e.checks) : internetReached(e.checks));
    s.ctx.connectivityFailures = ok ? 0 : s.ctx.connectivityFailures + 1;
    // An app that says it is cut off, confirmed by the targets, is loss at once, whatever `onLoss`
    // says (with `ignore` the agent never acts on its own checks: the app asked).
    if (appAsked && !ok && state === 'online') return connectivityLost(s, policy);
    const lost = s.ctx.connectivityFailures >= policy.failuresBeforeLoss;
    if (!lost || state === 'failsafe' || policy.onLoss === 'ignore') {
      return s.timer('connectivity', policy.connectivityIntervalMs).done();
    }
    return connectivityLost(s, policy);
  },

  apUpDone(s, e, policy) {
    if (!s.ctx.apUp || !isCurrent(s.ctx, 'apRetry', e.gen)) return refuse(s);
    switch (e.outcome) {
      case 'up':
        return s.ctx.state === 'setup' ? s.do({ type: 'warmScan' }).done() : s.done();
      case 'failed':
        // A device in setup without its AP waits for nobody: try again.
        return s.timer('apRetry', policy.apRetryMs).done();
      case 'noIdentity':
        return s.done();
    }
  },

  timer(s, e, policy) {
    if (!isCurrent(s.ctx, e.kind, e.gen)) return refuse(s);
    return timerHandlers[e.kind](s, policy);
  },
};

const timerHandlers: Record<TimerKind, (s: Step, policy: Policy) => Result> = {
  setupIdle(s, policy) {
    if (s.ctx.state !== 'setup') return refuse(s);
    if (!s.ctx.hasKnown) return s.timer('setupIdle', policy.setupIdleMs).done();
    s.apDown();
    return enterConnecting(s).done();
  },
  retryKnown(s, policy) {
    if (s.ctx.state !== 'setup') return refuse(s);
    s.timer('retryKnown', policy.retryKnownMs);
    return s.do({ type: 'probeKnown', gen: s.ctx.gen.probe }).done();
  },
  failsafe(s) {
    const attempt = s.ctx.attempt;
    if (s.ctx.state !== 'failsafe' || !attempt) return refuse(s);
    s.do({ type: 'revertAttempt', attemptId: attempt.id, reason: 'not_confirmed' });
    s.ctx.attempt = undefined;
    s.apDown();
    return enterConnecting(s).done();
  },
  connectivity(s) {
    if (s.ctx.state !== 'online' && s.ctx.state !== 'failsafe') return refuse(s);
    return s.do({ type: 'checkConnectivity', gen: s.ctx.gen.connectivity }).done();
  },
  linger(s) {
    if (s.ctx.state !== 'online' && s.ctx.state !== 'failsafe') return refuse(s);
    return s.apDown().done();
  },
  teardown(s, policy) {
    if (s.ctx.state !== 'applying' || !s.ctx.attempt) return refuse(s);
    s.apDown();
    return s.do(applyEffect(s, false, policy)).done();
  },
  apRetry(s) {
    if (s.ctx.state !== 'setup' || !s.ctx.apUp) return refuse(s);
    return s.do({ type: 'apUp', gen: s.ctx.gen.apRetry }).done();
  },
  apHold(s) {
    s.ctx.apHeld = false;
    // Waiting for it: try the links once more, then setup reopens.
    if (s.ctx.state === 'connecting' && s.ctx.parked) return enterConnecting(s).done();
    return s.done();
  },
};

export function transition(ctx: Context, event: Event, policy: Policy): Result {
  const handler = handlers[event.type] as Handler<Event>;
  return handler(new Step(ctx), event, policy);
}
