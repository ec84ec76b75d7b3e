/**
 * A job: devices × target network × options. Each device walks the per-device steps and ends in a
 * definite result with a reason and timings. Secrets (target passphrase, setup secrets) are never
 * part of these records: they live only in memory and are supplied again on resume.
 */
import type { NetworkSecurity } from '../../shared/protocol/wifi';
import { JOB_DEVICE_STEPS } from '../../shared/protocol/job';
import { CONNECT_FAILURE_REASONS } from '../../shared/errors';

/** The per-device steps, defined once with their schema in shared/protocol/job.ts. */
export const DEVICE_STEPS = JOB_DEVICE_STEPS;
export type DeviceStep = (typeof DEVICE_STEPS)[number];

/** Why a device's own attempt failed, as it reports it (`lastAttempt.reason`, protocol.md). */
export const DEVICE_REASONS = [...CONNECT_FAILURE_REASONS, 'not_confirmed', 'interrupted'] as const;
export type DeviceReason = (typeof DEVICE_REASONS)[number];

/** Why a device failed, as the station tells it (besides the device's own reasons). */
export const STATION_REASONS = [
  'unreachable',
  'not_rediscovered',
  'weak_signal',
  'target_not_seen',
  'auth_failed_setup',
  'session_failed',
  'rejected',
  'commit_failed',
  'rate_limited',
  'locked_out',
  'setup_closed',
  'device_mismatch',
  /** Another handshake kept the device busy through every retry. */
  'device_busy',
  /** The device reported a failure with a reason outside DEVICE_REASONS (kept, clipped, in the detail). */
  'device_error',
  /** The station itself failed for this device (its journal could not record it, a bug). */
  'station_error',
  'cancelled',
] as const;
export type StationReason = (typeof STATION_REASONS)[number];

export function isKnownReason(reason: string): reason is DeviceReason | StationReason {
  return (
    (DEVICE_REASONS as readonly string[]).includes(reason) ||
    (STATION_REASONS as readonly string[]).includes(reason)
  );
}

export type JobPath = 'ap' | 'lan';

/** The target network as recorded (no passphrase). */
export interface TargetNetwork {
  ssidHex: string;
  ssid: string;
  security: NetworkSecurity;
  hidden: boolean;
}

export interface JobOptions {
  path: JobPath;
  /** LAN path: devices worked on at once. */
  concurrency: number;
  /** AP path: devices pushed before the station returns to the target network to verify them. */
  chunkSize: number;
  /** The device must hear the target at least this strongly (dBm) before credentials go out. */
  minSignal: number;
  failsafeSeconds: number;
  /** How long to wait for pushed devices to reappear on the target network. */
  verifyTimeoutMs: number;
  joinTimeoutMs: number;
  mode: 'replace' | 'add';
  /** `confirm`: on trial until the station sees the device on the target; `auto`: kept at once. */
  commit?: 'confirm' | 'auto';
  /** Adapter ids used as lanes (AP path). */
  adapters: string[];
}

export interface JobDevice {
  deviceId: string;
  name?: string;
  group?: string;
  site?: string;
}

export interface JobSpec {
  id: string;
  createdAt: string;
  /** Random per job (hex); devices advertise its first 8 chars as `pv` once they took our credentials. */
  nonce: string;
  target: TargetNetwork;
  options: JobOptions;
  devices: JobDevice[];
  /** Where the setup secrets came from (a manifest path), to find them again on resume. */
  manifestPath?: string;
}

export type StepTimings = Partial<Record<Exclude<DeviceStep, 'queued' | 'verified' | 'failed'>, number>>;

export interface AppHealth {
  name: string;
  state: string;
  code: number;
}

export interface CheckSummary {
  id: string;
  target: string;
  state: string;
}

/** Everything known about one device in a job; the report is built from these. */
export interface DeviceOutcome {
  deviceId: string;
  name?: string;
  group?: string;
  step: DeviceStep;
  result?: 'verified' | 'failed';
  reason?: string;
  detail?: string;
  /** BSSID of its setup AP, where seen. */
  bssid?: string;
  /** Signal of its setup AP as the station heard it (dBm). */
  rssi?: number;
  /** Signal of the target network as the device heard it (dBm). */
  targetSignal?: number;
  attemptId?: string;
  ip?: string;
  hostname?: string;
  /** Milliseconds spent in each step. */
  timings: StepTimings;
  startedAt?: string;
  endedAt?: string;
  apps?: AppHealth[];
  checks?: CheckSummary[];
  /** How many times it was (re)queued: 1 for the first run, more after `retry`. */
  attempts: number;
}

export interface JobSummary {
  total: number;
  verified: number;
  failed: number;
  pending: number;
  byReason: Record<string, number>;
}

/** Progress events: the CLI draws bars from them, the UI and SSE forward them. */
export type JobEvent =
  | { type: 'job-started'; jobId: string; total: number; path: JobPath }
  | { type: 'device-step'; jobId: string; deviceId: string; step: DeviceStep; lane?: string; at: number }
  | { type: 'device-result'; jobId: string; outcome: DeviceOutcome }
  | {
      type: 'phase';
      jobId: string;
      phase: 'push' | 'return' | 'verify' | 'rescue' | 'restore' | 'done';
      chunk?: number;
    }
  | { type: 'job-finished'; jobId: string; summary: JobSummary };
