/** The closed set of failure reasons (shared/protocol/job.ts) and their texts (shared/failure-reasons.ts). */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { CONNECT_FAILURE_REASONS } from '../../../shared/errors';
import { FAILURE_REASON_HELP, explainReason, type ReasonHelp } from '../../../shared/failure-reasons';
import {
  DEVICE_FAILURE_REASONS,
  FAILURE_REASONS,
  STATION_FAILURE_REASONS,
  failureReasonSchema,
  isDeviceFailureReason,
  isFailureReason,
  type FailureReason,
} from '../../../shared/protocol/job';

describe('FAILURE_REASONS', () => {
  it("is the device's reasons and the station's, each once", () => {
    expect(FAILURE_REASONS).toEqual([...DEVICE_FAILURE_REASONS, ...STATION_FAILURE_REASONS]);
    expect(new Set(FAILURE_REASONS).size).toBe(FAILURE_REASONS.length);
    for (const r of CONNECT_FAILURE_REASONS) expect(isDeviceFailureReason(r)).toBe(true);
    for (const r of STATION_FAILURE_REASONS) expect(isDeviceFailureReason(r)).toBe(false);
  });

  it('knows its own members and nothing else (no prototype keys, no case folding)', () => {
    for (const r of FAILURE_REASONS) {
      expect(isFailureReason(r)).toBe(true);
      expect(failureReasonSchema.safeParse(r).success).toBe(true);
    }
    for (const r of ['unknown', 'toString', '__proto__', 'AUTH_FAILED', '', 'auth_failed ']) {
      expect(isFailureReason(r)).toBe(false);
      expect(failureReasonSchema.safeParse(r).success).toBe(false);
    }
  });
});

describe('FAILURE_REASON_HELP', () => {
  it('has a text for every reason and for nothing else', () => {
    expectTypeOf(FAILURE_REASON_HELP).toEqualTypeOf<Readonly<Record<FailureReason, ReasonHelp>>>();
    expect(Object.keys(FAILURE_REASON_HELP).sort()).toEqual([...FAILURE_REASONS].sort());
    for (const r of FAILURE_REASONS) {
      const help = explainReason(r);
      expect(help).toBe(FAILURE_REASON_HELP[r]);
      expect(help.title.length).toBeGreaterThan(0);
      expect(help.fix.length).toBeGreaterThan(0);
    }
  });

  it('explains the registry warning no_secret, and any other token as it is', () => {
    expect(explainReason('no_secret')).toMatchObject({ title: 'No setup secret', where: 'station' });
    expect(explainReason('brand_new_reason')).toEqual({
      title: 'brand new reason',
      fix: "See the device's detail line, then retry the group.",
      where: 'device',
    });
    expect(explainReason('toString').title).toBe('toString');
  });
});
