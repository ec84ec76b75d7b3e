/**
 * Retrying devices of a job: each goes back to the queue for a new attempt. What its last attempt
 * learnt about its own setup AP (BSSID, signal as the station heard it) stays; everything else is
 * redone. The journal's replay of a `requeue` record and a retry built in memory use this one
 * function, so they cannot drift apart.
 */
import type { DeviceOutcome } from './types';

export function requeuedOutcome(o: DeviceOutcome): DeviceOutcome {
  return {
    deviceId: o.deviceId,
    ...(o.name === undefined ? {} : { name: o.name }),
    ...(o.group === undefined ? {} : { group: o.group }),
    step: 'queued',
    timings: {},
    ...(o.bssid === undefined ? {} : { bssid: o.bssid }),
    ...(o.rssi === undefined ? {} : { rssi: o.rssi }),
    attempts: o.attempts + 1,
  };
}

/** The job's outcomes with `deviceIds` put back in the queue; ids outside the job are ignored. */
export function requeueOutcomes(
  outcomes: ReadonlyMap<string, DeviceOutcome>,
  deviceIds: Iterable<string>,
): Map<string, DeviceOutcome> {
  const next = new Map(outcomes);
  for (const id of deviceIds) {
    const o = outcomes.get(id);
    if (o) next.set(id, requeuedOutcome(o));
  }
  return next;
}

/** The devices of a failure group: failed, and for `reason` when one is given. */
export function failedDevices(outcomes: Iterable<DeviceOutcome>, reason?: string): string[] {
  const ids: string[] = [];
  for (const o of outcomes)
    if (o.result === 'failed' && (reason === undefined || o.reason === reason)) ids.push(o.deviceId);
  return ids;
}
