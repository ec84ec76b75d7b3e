import { describe, expect, it } from 'vitest';
import { applyJobEvent, countsOf, etaMs, newLiveJob, statusOf } from '../../../../main/station/live-job';
import { newJobSpec } from '../../../../main/engine/job-spec';
import type { DeviceOutcome } from '../../../../main/engine/types';

const ids = ['AAAAAAAA', 'BBBBBBBB', 'CCCCCCCC', 'DDDDDDDD', 'EEEEEEEE', 'FFFFFFFF'];

function job(chunkSize = 2) {
  const spec = newJobSpec({
    target: { ssidHex: '4c61624e6574', security: 'wpa2-psk', hidden: false, priority: 0 },
    devices: ids.map((deviceId) => ({ deviceId })),
    options: { chunkSize, adapters: ['wlan0', 'wlan1'] },
  });
  const outcomes: DeviceOutcome[] = ids.map((deviceId) => ({
    deviceId,
    step: 'queued',
    timings: {},
    attempts: 1,
  }));
  return newLiveJob({
    spec,
    outcomes,
    lanes: [
      { id: 'wlan0', name: 'wlan0' },
      { id: 'wlan1', name: 'Wi-Fi 2' },
    ],
    now: 1000,
  });
}

function result(deviceId: string, ok: boolean): DeviceOutcome {
  return ok
    ? {
        deviceId,
        step: 'verified',
        result: 'verified',
        timings: { joining: 10 },
        attempts: 1,
        ip: '192.168.1.9',
      }
    : { deviceId, step: 'failed', result: 'failed', reason: 'auth_failed', timings: {}, attempts: 1 };
}

describe('the live job', () => {
  it('counts chunks for the AP path', () => {
    expect(job(2).chunks).toBe(3);
    expect(job(25).chunks).toBe(1);
  });

  it('tracks which device each lane carries, and frees the lane when it leaves', () => {
    const s = job();
    const id = s.spec.id;
    applyJobEvent(
      s,
      { type: 'device-step', jobId: id, deviceId: ids[0] ?? '', step: 'joining', lane: 'wlan1', at: 1100 },
      1100,
    );
    expect(statusOf(s, 1200).lanes).toEqual([
      { adapter: 'wlan0', name: 'wlan0' },
      { adapter: 'wlan1', name: 'Wi-Fi 2', deviceId: ids[0], step: 'joining' },
    ]);
    expect(countsOf(s)).toMatchObject({ active: 1, queued: 5 });
    applyJobEvent(
      s,
      { type: 'device-step', jobId: id, deviceId: ids[0] ?? '', step: 'pushed', lane: 'wlan1', at: 1300 },
      1300,
    );
    expect(statusOf(s, 1400).lanes[1]).toEqual({ adapter: 'wlan1', name: 'Wi-Fi 2' });
    const changed = applyJobEvent(
      s,
      { type: 'device-result', jobId: id, outcome: result(ids[0] ?? '', true) },
      1500,
    );
    expect(changed).toEqual([ids[0]]);
    expect(s.devices.get(ids[0] ?? '')).toMatchObject({ step: 'verified', ip: '192.168.1.9', lane: 'wlan1' });
  });

  it('tells no ETA until a few devices are done, then the pace so far', () => {
    const s = job();
    const id = s.spec.id;
    applyJobEvent(s, { type: 'device-result', jobId: id, outcome: result(ids[0] ?? '', true) }, 11_000);
    expect(etaMs(s, 11_000)).toBeUndefined();
    applyJobEvent(s, { type: 'device-result', jobId: id, outcome: result(ids[1] ?? '', false) }, 21_000);
    applyJobEvent(s, { type: 'device-result', jobId: id, outcome: result(ids[2] ?? '', true) }, 31_000);
    // 3 done in 30 s since the start at 1 s: 10 s each, 3 left.
    expect(etaMs(s, 31_000)).toBe(30_000);
    for (const d of ids.slice(3))
      applyJobEvent(s, { type: 'device-result', jobId: id, outcome: result(d, true) }, 40_000);
    expect(etaMs(s, 40_000)).toBe(0);
    expect(countsOf(s)).toEqual({ total: 6, queued: 0, active: 0, verified: 5, failed: 1 });
  });

  it('reports the phase and chunk it is in', () => {
    const s = job();
    applyJobEvent(s, { type: 'phase', jobId: s.spec.id, phase: 'verify', chunk: 1 }, 2000);
    applyJobEvent(s, { type: 'phase', jobId: s.spec.id, phase: 'restore' }, 2000);
    expect(statusOf(s, 2000)).toMatchObject({
      phase: 'verify',
      chunk: 1,
      chunks: 3,
      status: 'running',
      elapsedMs: 1000,
    });
  });
});
