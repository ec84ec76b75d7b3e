/**
 * A job: devices × target network × options. Each device walks the per-device steps and ends in a
 * definite result with a reason and timings. Secrets (target passphrase, setup secrets) are never
 * part of these records: they live only in memory and are supplied again on resume.
 *
 * The records' types are the journal's and report's schemas (shared/protocol/job.ts), derived with
 * `z.infer` there and re-exported here under the names the engine uses.
 */
import {
  DEVICE_FAILURE_REASONS,
  JOB_DEVICE_STEPS,
  STATION_FAILURE_REASONS,
  isFailureReason,
  type DeviceFailureReason,
  type DeviceOutcome,
  type DeviceStep,
  type JobPath,
  type JobSummary,
  type StationFailureReason,
} from '../../shared/protocol/job';

export type {
  AppHealth,
  CheckSummary,
  DeviceOutcome,
  DeviceOutcomeInput,
  DeviceStep,
  FailureReason,
  JobDevice,
  JobOptions,
  JobPath,
  JobSpec,
  JobSummary,
  StepTimings,
  TargetNetwork,
} from '../../shared/protocol/job';

/** The per-device steps, defined once with their schema in shared/protocol/job.ts. */
export const DEVICE_STEPS = JOB_DEVICE_STEPS;

/** Why a device's own attempt failed, as it reports it (`lastAttempt.reason`, protocol.md). */
export const DEVICE_REASONS = DEVICE_FAILURE_REASONS;
export type DeviceReason = DeviceFailureReason;

/** Why a device failed, as the station tells it (besides the device's own reasons). */
export const STATION_REASONS = STATION_FAILURE_REASONS;
export type StationReason = StationFailureReason;

/** One of FAILURE_REASONS (shared/protocol/job.ts): the device's or the station's. */
export const isKnownReason = isFailureReason;

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
