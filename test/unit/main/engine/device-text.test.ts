/** Device-supplied text bounded before the engine keeps it (main/engine/device-text.ts). */
import { describe, expect, it } from 'vitest';
import { deviceOutcomeSchema, journalRecordSchema } from '../../../../shared/protocol/job';
import {
  ELLIPSIS,
  LIST_LIMIT,
  TEXT_LIMITS,
  boundFacts,
  boundOutcome,
  clip,
  reportedFailure,
} from '../../../../main/engine/device-text';
import {
  DEVICE_REASONS,
  STATION_REASONS,
  isKnownReason,
  type DeviceOutcomeInput,
} from '../../../../main/engine/types';
import { failed } from './fixtures';

const A = 'K7Q2M6XA';

describe('clip', () => {
  it('keeps short text and cuts long text to the limit, ending with an ellipsis', () => {
    expect(clip('short', 10)).toBe('short');
    expect(clip('x'.repeat(10), 10)).toBe('x'.repeat(10));
    const cut = clip('x'.repeat(70_000), 100);
    expect(Array.from(cut)).toHaveLength(100);
    expect(cut.endsWith(ELLIPSIS)).toBe(true);
  });

  it('never splits a surrogate pair', () => {
    const cut = clip('😀'.repeat(50), 10);
    expect(Array.from(cut)).toEqual([...Array.from('😀'.repeat(9)), ELLIPSIS]);
    expect(cut).not.toMatch(/[\ud800-\udbff](?![\udc00-\udfff])/);
  });
});

describe('reportedFailure', () => {
  it('passes the device’s own reasons through, and none at all as timeout', () => {
    for (const r of DEVICE_REASONS)
      expect(reportedFailure(r, 'on the AP')).toEqual({ reason: r, detail: 'on the AP' });
    expect(reportedFailure(undefined, 'on the AP').reason).toBe('timeout');
  });

  it('turns any other reason, station reasons included, into device_error with it clipped', () => {
    for (const r of ['not_rediscovered', 'AUTH_FAILED', '', 'x'.repeat(70_000)]) {
      const f = reportedFailure(r, 'on the AP');
      expect(f.reason).toBe('device_error');
      expect(f.detail.length).toBeLessThan(TEXT_LIMITS.quoted + 100);
    }
  });
});

describe('boundOutcome', () => {
  it('makes an outcome full of huge device text fit the journal', () => {
    const huge = 'H'.repeat(70_000);
    // A reason outside the known set, as a device (or another build's journal) might give it.
    const o: DeviceOutcomeInput = failed(A, 'timeout', {
      detail: huge,
      hostname: huge,
      ip: huge,
      bssid: huge,
      attemptId: huge,
      apps: Array.from({ length: 2000 }, () => ({ name: huge, state: huge, code: 1 })),
      checks: Array.from({ length: 2000 }, () => ({ id: huge, target: huge, state: huge })),
    });
    o.reason = huge;
    expect(deviceOutcomeSchema.safeParse(o).success).toBe(false);
    const b = boundOutcome(o);
    expect(journalRecordSchema.safeParse({ t: 'result', outcome: b }).success).toBe(true);
    expect(b.reason).toBe('device_error');
    expect(b.detail?.startsWith('reason HHH')).toBe(true);
    expect(b.detail?.length).toBeLessThanOrEqual(TEXT_LIMITS.detail);
    expect(b.hostname?.length).toBeLessThanOrEqual(TEXT_LIMITS.hostname);
    expect(b.apps).toHaveLength(LIST_LIMIT);
    expect(b.checks).toHaveLength(LIST_LIMIT);
    expect(JSON.stringify(b).length).toBeLessThan(64 * 1024);
  });

  it('leaves a known reason and sane text alone', () => {
    const o = failed(A, 'auth_failed', {
      detail: 'reported on the setup AP',
      hostname: 'airlift-k7q2m6xa.local',
    });
    expect(boundOutcome(o)).toEqual(o);
    expect(boundFacts({ ip: '192.168.50.10' })).toEqual({ ip: '192.168.50.10' });
  });

  it('knows every station and device reason', () => {
    for (const r of [...STATION_REASONS, ...DEVICE_REASONS]) expect(isKnownReason(r)).toBe(true);
    expect(isKnownReason('toString')).toBe(false);
  });
});
