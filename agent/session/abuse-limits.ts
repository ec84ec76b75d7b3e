/**
 * Abuse limits of the secure session (protocol.md): exponential delay after 5 consecutive failures,
 * the setup window closes after 20 failures, lockout after 100 lifetime failures until a local reset.
 * Pure: the caller persists the counters it gets back.
 */
import { AirliftError } from '../../shared/errors';
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

export function recordFailure(c: AbuseCounters, now: number): AbuseCounters {
  const consecutiveFailures = c.consecutiveFailures + 1;
  const over = consecutiveFailures - LIMITS.delayAfter;
  const delay = over >= 0 ? Math.min(LIMITS.baseDelayMs * 2 ** over, LIMITS.maxDelayMs) : 0;
  return {
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
    consecutiveFailures: 0,
    windowFailures: Math.max(0, c.windowFailures - 1),
    lifetimeFailures: Math.max(0, c.lifetimeFailures - 1),
    notBefore: 0,
  };
}

/** Setup opened anew after the device was online: a fresh window. */
export function openWindow(c: AbuseCounters): AbuseCounters {
  return { ...c, windowFailures: 0 };
}

/** A local reset by someone with access to the device. */
export function resetAll(): AbuseCounters {
  return { consecutiveFailures: 0, windowFailures: 0, lifetimeFailures: 0, notBefore: 0 };
}
