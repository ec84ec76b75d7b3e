/** Jobs and outcomes for the journal and report tests. */
import type { DeviceOutcome, FailureReason, JobSpec } from '../../../../main/engine/types';

export const IDS = ['K7Q2M6XA', 'AAAAAAAA', 'BBBBBBBB', 'CCCCCCCC', 'DDDDDDDD'] as const;

export function makeSpec(overrides: Partial<JobSpec> = {}): JobSpec {
  return {
    id: 'job-1',
    createdAt: '2025-11-22T03:00:00.000Z',
    nonce: '0123456789abcdef0123456789abcdef',
    target: {
      ssid: 'Workshop',
      ssidHex: Buffer.from('Workshop').toString('hex'),
      security: 'wpa2-psk',
      hidden: false,
    },
    options: {
      path: 'ap',
      concurrency: 4,
      chunkSize: 8,
      minSignal: -75,
      failsafeSeconds: 300,
      verifyTimeoutMs: 60_000,
      joinTimeoutMs: 20_000,
      mode: 'replace',
      adapters: ['wlan0'],
    },
    devices: IDS.map((deviceId, i) => ({ deviceId, name: `Pump ${i + 1}`, group: 'hall-a' })),
    manifestPath: '/tmp/manifest.csv',
    ...overrides,
  };
}

export function verified(deviceId: string, extra: Partial<DeviceOutcome> = {}): DeviceOutcome {
  return {
    deviceId,
    step: 'verified',
    result: 'verified',
    ip: '192.168.1.20',
    hostname: `airlift-${deviceId.toLowerCase()}`,
    bssid: '02:00:00:00:00:01',
    rssi: -48,
    targetSignal: -61,
    attemptId: 'att-1',
    timings: { joining: 1200, session: 300, linkCheck: 50, pushing: 80, pushed: 900, awaiting: 2100 },
    startedAt: '2025-11-22T03:00:01.000Z',
    endedAt: '2025-11-22T03:00:09.000Z',
    apps: [{ name: 'sensor', state: 'ok', code: 0 }],
    checks: [{ id: 'dns', target: 'example.com', state: 'ok' }],
    attempts: 1,
    ...extra,
  };
}

export function failed(
  deviceId: string,
  reason: FailureReason,
  extra: Partial<DeviceOutcome> = {},
): DeviceOutcome {
  return {
    deviceId,
    step: 'failed',
    result: 'failed',
    reason,
    detail: `device said ${reason}`,
    timings: { joining: 1500, session: 200 },
    attempts: 1,
    ...extra,
  };
}
