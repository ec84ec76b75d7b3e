/**
 * One device's way through a job as a pure transition table (the agent's lifecycle is the model):
 *
 *   queued → joining → session → linkCheck → pushing → pushed → awaiting → verified
 *   (AP path)   └ the LAN path starts at session
 *   any step before a result → failed (with a reason)        verified | failed → queued (retry)
 *   joining..pushing → queued (restart: a resumed job starts the device over; nothing was taken yet)
 *
 * Once a device is `pushed` it can only be verified or fail: nothing here leads back to `pushing`
 * short of an explicit retry, so a resumed or reloaded job never sends credentials twice.
 *
 * `advance` does no I/O: it returns the device's next outcome, the time spent in the step it left,
 * and the journal record the shell (JobRunner) must write before it moves on.
 */
import type { AppHealth, CheckSummary, DeviceOutcome, DeviceStep, FailureReason } from './types';
import { requeuedOutcome } from './retry';
import type { JournalFacts } from '../../shared/protocol/job';

export type DeviceEvent =
  /** Taken from the queue: to its setup AP (AP path) or straight to a session (LAN path). */
  | { type: 'begin'; route: 'ap' | 'lan'; ip?: string; hostname?: string }
  /** Its setup AP is joined and the device answers there. */
  | { type: 'reached'; bssid?: string; rssi?: number }
  | { type: 'opened' }
  | { type: 'linkOk'; targetSignal?: number }
  /** `ip`: the LAN address the device reported for its attempt (AP+STA), where the job may find it. */
  | { type: 'pushed'; attemptId: string; ip?: string }
  /** Waiting for it to reappear on the target network (again, after a resume). */
  | { type: 'await' }
  /** `detail`: how it was verified, when not the usual way (by unicast: mDNS did not arrive). */
  | {
      type: 'verified';
      ip: string;
      hostname?: string;
      apps?: AppHealth[];
      checks?: CheckSummary[];
      detail?: string;
    }
  | { type: 'failed'; reason: FailureReason; detail?: string }
  /** A resumed job starts over a device that had not yet taken the credentials. */
  | { type: 'restart' }
  /** A retry of a failure group (or of verified devices, on purpose). */
  | { type: 'requeued' };

export interface DeviceState {
  outcome: DeviceOutcome;
  /** Clock time (ms) the current step was entered; undefined while queued or done. */
  enteredAt?: number;
}

export type JournalWrite =
  { kind: 'step'; step: DeviceStep; facts: JournalFacts } | { kind: 'result'; outcome: DeviceOutcome };

export interface Advance {
  state: DeviceState;
  /** What to journal before acting on the new state; undefined when nothing changed. */
  write?: JournalWrite;
}

const TERMINAL: readonly DeviceStep[] = ['verified', 'failed'];
const BEFORE_PUSH: readonly DeviceStep[] = ['joining', 'session', 'linkCheck', 'pushing'];

/** Steps each event may leave from. */
const FROM: Record<DeviceEvent['type'], readonly DeviceStep[]> = {
  begin: ['queued'],
  reached: ['joining'],
  opened: ['session'],
  linkOk: ['linkCheck'],
  pushed: ['pushing'],
  await: ['pushed', 'awaiting'],
  verified: ['awaiting'],
  failed: ['queued', 'joining', 'session', 'linkCheck', 'pushing', 'pushed', 'awaiting'],
  restart: BEFORE_PUSH,
  requeued: TERMINAL,
};

export class IllegalStep extends Error {
  constructor(deviceId: string, step: DeviceStep, event: DeviceEvent['type']) {
    super(`device ${deviceId}: ${event} is not possible at ${step}`);
  }
}

export function isTerminal(step: DeviceStep): step is 'verified' | 'failed' {
  return TERMINAL.includes(step);
}

/** The step an accepted event leads to. */
function nextStep(e: DeviceEvent): DeviceStep {
  switch (e.type) {
    case 'begin':
      return e.route === 'ap' ? 'joining' : 'session';
    case 'reached':
      return 'session';
    case 'opened':
      return 'linkCheck';
    case 'linkOk':
      return 'pushing';
    case 'pushed':
      return 'pushed';
    case 'await':
      return 'awaiting';
    case 'verified':
      return 'verified';
    case 'failed':
      return 'failed';
    case 'restart':
    case 'requeued':
      return 'queued';
  }
}

/** Facts an event brings, for the outcome and the step record. */
function factsOf(e: DeviceEvent): JournalFacts {
  switch (e.type) {
    case 'begin':
      return {
        ...(e.ip !== undefined ? { ip: e.ip } : {}),
        ...(e.hostname !== undefined ? { hostname: e.hostname } : {}),
      };
    case 'reached':
      return {
        ...(e.bssid !== undefined ? { bssid: e.bssid } : {}),
        ...(e.rssi !== undefined ? { rssi: e.rssi } : {}),
      };
    case 'linkOk':
      return e.targetSignal !== undefined ? { targetSignal: e.targetSignal } : {};
    case 'pushed':
      return { attemptId: e.attemptId, ...(e.ip !== undefined ? { ip: e.ip } : {}) };
    default:
      return {};
  }
}

/** Time spent in the step being left, added to its timing (queued and results are not timed). */
function closeTiming(s: DeviceState, now: number): DeviceOutcome['timings'] {
  const step = s.outcome.step;
  if (s.enteredAt === undefined || step === 'queued' || isTerminal(step)) return s.outcome.timings;
  return {
    ...s.outcome.timings,
    [step]: Math.round((s.outcome.timings[step] ?? 0) + Math.max(0, now - s.enteredAt)),
  };
}

/**
 * Apply one event. Throws IllegalStep for an event the device's step does not allow (a bug in the
 * shell, never a device's doing). `now` is the clock's monotonic ms, `wall` an ISO time for records.
 */
export function advance(s: DeviceState, e: DeviceEvent, now: number, wall: string): Advance {
  const o = s.outcome;
  if (!FROM[e.type].includes(o.step)) throw new IllegalStep(o.deviceId, o.step, e.type);
  if (e.type === 'requeued') {
    const outcome = requeuedOutcome(o);
    return { state: { outcome }, write: { kind: 'step', step: 'queued', facts: {} } };
  }
  const step = nextStep(e);
  const facts = factsOf(e);
  const timings = closeTiming(s, now);
  const outcome: DeviceOutcome = { ...o, ...facts, step, timings };
  if (step !== 'queued' && outcome.startedAt === undefined) outcome.startedAt = wall;
  if (e.type === 'restart') {
    return { state: { outcome }, write: { kind: 'step', step: 'queued', facts: {} } };
  }
  if (e.type === 'verified' || e.type === 'failed') {
    outcome.result = step as 'verified' | 'failed';
    outcome.endedAt = wall;
    if (e.type === 'verified') {
      delete outcome.reason;
      if (e.detail !== undefined) outcome.detail = e.detail;
      else delete outcome.detail;
      outcome.ip = e.ip;
      if (e.hostname !== undefined) outcome.hostname = e.hostname;
      if (e.apps) outcome.apps = e.apps;
      if (e.checks) outcome.checks = e.checks;
    } else {
      outcome.reason = e.reason;
      if (e.detail !== undefined) outcome.detail = e.detail;
      else delete outcome.detail;
    }
    return { state: { outcome }, write: { kind: 'result', outcome } };
  }
  return { state: { outcome, enteredAt: now }, write: { kind: 'step', step, facts } };
}

/** Where a device replayed from a journal stands for a new run of its job. */
export function resumeAction(step: DeviceStep): 'done' | 'verify' | 'restart' | 'start' {
  if (isTerminal(step)) return 'done';
  if (step === 'pushed' || step === 'awaiting') return 'verify';
  return step === 'queued' ? 'start' : 'restart';
}
