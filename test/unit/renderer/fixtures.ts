/** Rows, jobs and reports for the renderer's unit tests, valid against the shared schemas. */
import type { JobReport, ReportDevice } from '../../../shared/protocol/job';
import {
  DEFAULT_STATION_SETTINGS,
  type DeviceRow,
  type LiveDevice,
  type LiveJob,
  type StationSnapshot,
} from '../../../shared/station-api';

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** A valid device id for n (distinct for n < 32^8). */
export function idOf(n: number): string {
  let s = '';
  let v = n;
  for (let i = 0; i < 8; i++) {
    s = `${B32.charAt(v % 32)}${s}`;
    v = Math.floor(v / 32);
  }
  return s;
}

export function row(over: Partial<DeviceRow> & { id: string }): DeviceRow {
  return {
    sources: ['manifest'],
    state: 'unknown',
    secretKnown: true,
    history: [],
    warnings: [],
    ...over,
  };
}

export function liveDevice(over: Partial<LiveDevice> & { id: string }): LiveDevice {
  return { step: 'queued', timings: {}, attempts: 1, ...over };
}

export function liveJob(over: Partial<LiveJob> = {}): LiveJob {
  return {
    id: 'job-1',
    status: 'running',
    path: 'ap',
    target: { ssid: 'Plant-WiFi', security: 'wpa2-psk' },
    startedAt: 1_000,
    elapsedMs: 0,
    counts: { total: 0, queued: 0, active: 0, verified: 0, failed: 0 },
    lanes: [],
    devices: [],
    ...over,
  };
}

export function reportDevice(over: Partial<ReportDevice> & { id: string }): ReportDevice {
  return {
    result: 'verified',
    step: 'verified',
    timings: { totalMs: 0 },
    apps: [],
    checks: [],
    attempts: 1,
    ...over,
  };
}

export function report(devices: ReportDevice[], groups: JobReport['groups'] = []): JobReport {
  return {
    job: {
      id: 'job-1',
      createdAt: '2026-11-30T12:00:00Z',
      path: 'ap',
      target: { ssid: 'Plant-WiFi', ssidHex: '506c616e742d57694669', security: 'wpa2-psk' },
      nonce8: '0123abcd',
    },
    summary: {
      total: devices.length,
      verified: devices.filter((d) => d.result === 'verified').length,
      failed: devices.filter((d) => d.result === 'failed').length,
      pending: devices.filter((d) => d.result === 'pending').length,
      byReason: {},
    },
    groups,
    devices,
  };
}

export function snapshot(over: Partial<StationSnapshot> = {}): StationSnapshot {
  return {
    info: { version: '0.1.0', host: 'web', lab: true, keychain: { available: false }, jobsDir: '/tmp/jobs' },
    devices: [],
    adapters: [],
    profiles: [],
    settings: DEFAULT_STATION_SETTINGS,
    job: null,
    history: [],
    ...over,
  };
}
