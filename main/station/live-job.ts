/**
 * The running job as front ends see it: each device's step, lane and timings, the lanes in use, the
 * counts and an ETA, folded from the engine's JobEvents. Pure state and functions, so the Run
 * screen's numbers are unit-tested rather than eyeballed.
 */
import type { JobStatus, LiveDevice, LiveJob, LiveJobStatus } from '../../shared/station-api';
import type { DeviceOutcome, JobEvent, JobSpec } from '../engine/types';

const TERMINAL = new Set(['verified', 'failed']);

export interface LiveJobState {
  spec: JobSpec;
  profile?: { id: string; name: string };
  status: JobStatus;
  startedAt: number;
  phase?: LiveJobStatus['phase'];
  chunk?: number;
  chunks?: number;
  devices: Map<string, LiveDevice>;
  lanes: Map<string, { name: string; deviceId?: string; step?: LiveDevice['step'] }>;
  /** When each device of this run reached its result, for the pace. */
  finishedAt: number[];
  problem?: string;
  /** When its run ended (clock ms), once it has. */
  endedAt?: number;
}

/** Step timings as the live job carries them: only the steps that took time. */
function timingsOf(t: DeviceOutcome['timings']): Record<string, number> {
  return Object.fromEntries(Object.entries(t).filter((e): e is [string, number] => e[1] !== undefined));
}

/** A device as a run starts it: what the journal said, or queued. */
export function liveDeviceOf(o: DeviceOutcome): LiveDevice {
  return {
    id: o.deviceId,
    ...(o.name !== undefined ? { name: o.name } : {}),
    ...(o.group !== undefined ? { group: o.group } : {}),
    step: o.step,
    timings: timingsOf(o.timings),
    ...(o.reason !== undefined ? { reason: o.reason } : {}),
    ...(o.detail !== undefined ? { detail: o.detail } : {}),
    ...(o.ip !== undefined ? { ip: o.ip } : {}),
    ...(o.hostname !== undefined ? { hostname: o.hostname } : {}),
    attempts: o.attempts,
  };
}

export function newLiveJob(args: {
  spec: JobSpec;
  outcomes: Iterable<DeviceOutcome>;
  lanes: { id: string; name: string }[];
  profile?: { id: string; name: string };
  now: number;
}): LiveJobState {
  const devices = new Map<string, LiveDevice>();
  for (const o of args.outcomes) devices.set(o.deviceId, liveDeviceOf(o));
  const chunked = args.spec.options.path === 'ap';
  const pending = [...devices.values()].filter((d) => !TERMINAL.has(d.step)).length;
  return {
    spec: args.spec,
    ...(args.profile !== undefined ? { profile: args.profile } : {}),
    status: 'running',
    startedAt: args.now,
    ...(chunked ? { chunks: Math.max(1, Math.ceil(pending / args.spec.options.chunkSize)) } : {}),
    devices,
    lanes: new Map(args.lanes.map((l) => [l.id, { name: l.name }])),
    finishedAt: [],
  };
}

/** Fold one engine event in; returns the ids of devices whose row changed. */
export function applyJobEvent(s: LiveJobState, e: JobEvent, now: number): string[] {
  switch (e.type) {
    case 'job-started':
    case 'job-finished':
      return [];
    case 'phase':
      if (e.phase !== 'restore') s.phase = e.phase;
      if (e.chunk !== undefined) s.chunk = e.chunk;
      return [];
    case 'device-step': {
      const d = s.devices.get(e.deviceId);
      if (!d) return [];
      d.step = e.step;
      d.since = e.at;
      if (e.lane !== undefined) {
        d.lane = e.lane;
        // A lane carries one device at a time: this one now.
        const lane = s.lanes.get(e.lane);
        if (lane) {
          lane.deviceId = e.deviceId;
          lane.step = e.step;
        }
      }
      // Leaving the lane (pushed, back to the target network): the lane is free.
      if (e.step === 'pushed' || e.step === 'awaiting') freeLanesOf(s, e.deviceId);
      return [e.deviceId];
    }
    case 'device-result': {
      const o = e.outcome;
      const before = s.devices.get(o.deviceId);
      const d = liveDeviceOf(o);
      if (before?.lane !== undefined) d.lane = before.lane;
      d.since = now;
      s.devices.set(o.deviceId, d);
      freeLanesOf(s, o.deviceId);
      s.finishedAt.push(now);
      return [o.deviceId];
    }
  }
}

function freeLanesOf(s: LiveJobState, deviceId: string): void {
  for (const lane of s.lanes.values())
    if (lane.deviceId === deviceId) {
      delete lane.deviceId;
      delete lane.step;
    }
}

export function countsOf(s: LiveJobState): LiveJobStatus['counts'] {
  const counts = { total: 0, queued: 0, active: 0, verified: 0, failed: 0 };
  for (const d of s.devices.values()) {
    counts.total++;
    if (d.step === 'verified') counts.verified++;
    else if (d.step === 'failed') counts.failed++;
    else if (d.step === 'queued') counts.queued++;
    else counts.active++;
  }
  return counts;
}

/**
 * Time left at the pace of this run: results so far over the time they took, applied to what is
 * left. Told only once three devices have finished, so one slow or quick first device does not set
 * the promise.
 */
export function etaMs(s: LiveJobState, now: number): number | undefined {
  const c = countsOf(s);
  const left = c.queued + c.active;
  if (left === 0) return 0;
  const done = s.finishedAt.length;
  if (done < Math.min(3, done + left)) return undefined;
  const elapsed = now - s.startedAt;
  if (elapsed <= 0) return undefined;
  return Math.round((elapsed / done) * left);
}

export function statusOf(s: LiveJobState, now: number): LiveJobStatus {
  const eta = s.status === 'running' || s.status === 'pausing' ? etaMs(s, now) : undefined;
  return {
    id: s.spec.id,
    status: s.status,
    path: s.spec.options.path,
    target: { ssid: s.spec.target.ssid, security: s.spec.target.security },
    ...(s.profile !== undefined ? { profileName: s.profile.name, profileId: s.profile.id } : {}),
    startedAt: s.startedAt,
    elapsedMs: Math.max(0, now - s.startedAt),
    ...(s.phase !== undefined ? { phase: s.phase } : {}),
    ...(s.chunk !== undefined ? { chunk: s.chunk } : {}),
    ...(s.chunks !== undefined ? { chunks: s.chunks } : {}),
    counts: countsOf(s),
    ...(eta !== undefined ? { etaMs: eta } : {}),
    lanes: [...s.lanes].map(([adapter, l]) => ({
      adapter,
      name: l.name,
      ...(l.deviceId !== undefined ? { deviceId: l.deviceId } : {}),
      ...(l.step !== undefined ? { step: l.step } : {}),
    })),
    ...(s.problem !== undefined ? { problem: s.problem } : {}),
  };
}

export function liveJobOf(s: LiveJobState, now: number): LiveJob {
  return { ...statusOf(s, now), devices: [...s.devices.values()] };
}
