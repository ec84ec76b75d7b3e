/**
 * Abuse limits of the secure session (protocol.md): exponential delay after 5 consecutive failures,
 * the setup window closes after 20 failures, lockout after 100 lifetime failures until a local reset.
 * Pure: the caller persists the counters it gets back.
 */
import { AirliftError } from '../../shared/errors';
import type { LimitsStatus } from '../../shared/protocol/api';
import type { AbuseCounters } from '../ports/store';

export const LIMITS = {
  delayAfter: 5,
  windowMax: 20,
  lifetimeMax: 100,
  baseDelayMs: 1000,
  maxDelayMs: 5 * 60_000,
} as const;

/** Throws when a handshake may not start now. */
export function assertMayAttempt(c: AbuseCounters, now: number): void {
  if (c.lifetimeFailures >= LIMITS.lifetimeMax) {
    throw new AirliftError(
      'LOCKED_OUT',
      `Locked after ${c.lifetimeFailures} failed handshakes; reset it on the device (airliftctl reset-lockout)`,
    );
  }
  if (c.damaged === true) {
    throw new AirliftError(
      'SETUP_CLOSED',
      "The device's failure counters were damaged, so setup starts closed; it reopens when setup is opened again after the device was online, or with airliftctl reset-lockout on the device",
      { reason: COUNTERS_DAMAGED },
    );
  }
  if (c.windowFailures >= LIMITS.windowMax) {
    throw new AirliftError(
      'SETUP_CLOSED',
      'The setup window closed after too many failed handshakes; it reopens when setup is opened again on the device',
    );
  }
  if (now < c.notBefore) {
    const retryAfterMs = c.notBefore - now;
    throw new AirliftError(
      'RATE_LIMITED',
      `Too many failed handshakes; try again in ${Math.ceil(retryAfterMs / 1000)} s`,
      { retryAfterMs },
    );
  }
}

/** Why the limits are closed when the counts alone do not say (LimitsStatus.reason). */
export const COUNTERS_DAMAGED = 'counters_damaged';

/**
 * The state of the limits as the owner should see it (`/v1/status`, the control socket, doctor),
 * in the order assertMayAttempt checks them.
 */
export function limitsStatus(c: AbuseCounters, now: number): LimitsStatus {
  const counts = {
    consecutiveFailures: c.consecutiveFailures,
    windowFailures: c.windowFailures,
    lifetimeFailures: c.lifetimeFailures,
    windowMax: LIMITS.windowMax,
    lifetimeMax: LIMITS.lifetimeMax,
  };
  if (c.lifetimeFailures >= LIMITS.lifetimeMax) return { state: 'locked_out', ...counts };
  if (c.damaged === true) return { state: 'window_closed', reason: COUNTERS_DAMAGED, ...counts };
  if (c.windowFailures >= LIMITS.windowMax) return { state: 'window_closed', ...counts };
  if (now < c.notBefore) return { state: 'delayed', retryAfterMs: Math.ceil(c.notBefore - now), ...counts };
  return { state: 'open', ...counts };
}

/**
 * What to run on when the counters file was damaged: the real counts are unknown, and an attacker
 * who could damage it (or a torn write) must not get fresh limits. The window starts closed, as if
 * it had been used up (so lifetime, which is never below the window's count, too).
 */
export function closedAfterDamage(): AbuseCounters {
  return {
    consecutiveFailures: 0,
    windowFailures: LIMITS.windowMax,
    lifetimeFailures: LIMITS.windowMax,
    notBefore: 0,
    damaged: true,
  };
}

export function recordFailure(c: AbuseCounters, now: number): AbuseCounters {
  const consecutiveFailures = c.consecutiveFailures + 1;
  const over = consecutiveFailures - LIMITS.delayAfter;
  const delay = over >= 0 ? Math.min(LIMITS.baseDelayMs * 2 ** over, LIMITS.maxDelayMs) : 0;
  return {
    ...c,
    consecutiveFailures,
    windowFailures: c.windowFailures + 1,
    lifetimeFailures: c.lifetimeFailures + 1,
    notBefore: delay > 0 ? now + delay : c.notBefore,
  };
}

/**
 * A confirmed handshake. Every handshake is charged as a failure when the device answers pake1
 * (a prover with a wrong secret learns that from confirmV and need never send pake2), so a success
 * refunds that charge and resets the consecutive count and its delay.
 */
export function recordSuccess(c: AbuseCounters): AbuseCounters {
  return {
    ...c,
    consecutiveFailures: 0,
    windowFailures: Math.max(0, c.windowFailures - 1),
    lifetimeFailures: Math.max(0, c.lifetimeFailures - 1),
    notBefore: 0,
  };
}

/** Setup opened anew after the device was online: a fresh window. */
export function openWindow(c: AbuseCounters): AbuseCounters {
  const { damaged: _unknownUntilNow, ...rest } = c;
  return { ...rest, windowFailures: 0 };
}

/** A local reset by someone with access to the device. */
export function resetAll(): AbuseCounters {
  return { consecutiveFailures: 0, windowFailures: 0, lifetimeFailures: 0, notBefore: 0 };
}

const RESET_HINT = 'run `airliftctl reset-lockout` on the device';

/** The limits in words for people (`airliftctl status`, doctor), and what ends a closed state. */
export function describeLimits(l: LimitsStatus): { summary: string; fix?: string } {
  switch (l.state) {
    case 'open':
      return {
        summary: `open (${l.lifetimeFailures} of ${l.lifetimeMax} lifetime failures, ${l.windowFailures} of ${l.windowMax} in this setup window)`,
      };
    case 'delayed':
      return {
        summary: `delayed ${Math.ceil((l.retryAfterMs ?? 0) / 1000)} s after ${l.consecutiveFailures} failed handshakes in a row`,
        fix: `Wait for the delay to pass, or ${RESET_HINT}`,
      };
    case 'window_closed':
      return {
        summary:
          l.reason === COUNTERS_DAMAGED
            ? 'window closed: counters.json was damaged and set aside, so the failure counts are unknown'
            : `window closed after ${l.windowFailures} failed handshakes in this setup window`,
        fix: `It reopens when setup opens again after the device was online; or ${RESET_HINT}`,
      };
    case 'locked_out':
      return {
        summary: `locked out after ${l.lifetimeFailures} failed handshakes`,
        fix: `Someone may be guessing the setup secret near the device, or a station has the wrong label: check, then ${RESET_HINT}`,
      };
  }
}
