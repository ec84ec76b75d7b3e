/**
 * Text that came from a device (error messages, reasons, hostnames, app names) is bounded before
 * the engine keeps it: a device answering 70 kB of error message must cost one clipped line in the
 * journal, never a refused record. Reasons are tokens: a device-reported reason outside the known
 * set becomes `device_error`, with what the device said (clipped) in the detail.
 */
import {
  ELLIPSIS,
  QUOTED_REASON_MAX,
  clipText,
  isDeviceFailureReason,
  withKnownReason,
} from '../../shared/protocol/job';
import type { DeviceOutcome, DeviceOutcomeInput, FailureReason } from './types';

/** Longest kept text, in code points; longer text keeps its start and ends with `…`. */
export const TEXT_LIMITS = {
  detail: 1024,
  /** A DNS name is at most 253 characters (RFC 1035 §2.3.4); `.local` included. */
  hostname: 255,
  /** Addresses, BSSIDs, attempt ids, app and check fields. */
  short: 128,
  /** A device-reported reason quoted inside a detail. */
  quoted: QUOTED_REASON_MAX,
} as const;

/** Apps and checks kept per device: far above what a device runs, bounded against one that lies. */
export const LIST_LIMIT = 64;

export { ELLIPSIS };

/** `text` cut to `max` code points (never inside a surrogate pair), `…` marking the cut. */
export const clip = clipText;

export function isDeviceReason(reason: string): boolean {
  return isDeviceFailureReason(reason);
}

/**
 * The failure a device reported for its attempt (`lastAttempt.reason`), as a known token and a
 * detail. No reason at all is the device giving up in time (`timeout`).
 */
export function reportedFailure(
  reason: string | undefined,
  where: string,
): { reason: FailureReason; detail: string } {
  if (reason === undefined) return { reason: 'timeout', detail: where };
  if (isDeviceFailureReason(reason)) return { reason, detail: where };
  return {
    reason: 'device_error',
    detail: `${where}, with a reason the station does not know: ${clip(reason, TEXT_LIMITS.quoted)}`,
  };
}

const clipShort = (s: string) => clip(s, TEXT_LIMITS.short);

/** The journal facts of a step, bounded (`detail`, `hostname` and the short fields). */
export function boundFacts<T extends Partial<DeviceOutcome>>(facts: T): T {
  const out: Partial<DeviceOutcome> = { ...facts };
  if (out.detail !== undefined) out.detail = clip(out.detail, TEXT_LIMITS.detail);
  if (out.hostname !== undefined) out.hostname = clip(out.hostname, TEXT_LIMITS.hostname);
  for (const k of ['ip', 'bssid', 'attemptId'] as const) {
    const v = out[k];
    if (v !== undefined) out[k] = clipShort(v);
  }
  return out as T;
}

/**
 * Every device-supplied field of an outcome bounded, and its reason a known token (the last line of
 * defence: reasons are normalised where they enter, see `reportedFailure`; an unknown one becomes
 * `device_error` with it quoted in the detail, as the journal reads it: `withKnownReason`).
 */
export function boundOutcome(o: DeviceOutcomeInput): DeviceOutcome {
  const out: DeviceOutcome = boundFacts(withKnownReason(o));
  if (out.apps) {
    out.apps = out.apps
      .slice(0, LIST_LIMIT)
      .map((a) => ({ name: clipShort(a.name), state: clipShort(a.state), code: a.code }));
  }
  if (out.checks) {
    out.checks = out.checks
      .slice(0, LIST_LIMIT)
      .map((c) => ({ id: clipShort(c.id), target: clipShort(c.target), state: clipShort(c.state) }));
  }
  return out;
}
