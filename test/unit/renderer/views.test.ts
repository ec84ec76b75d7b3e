import { describe, expect, it } from 'vitest';
import type { FailureReason } from '../../../shared/protocol/job';
import {
  devicePageUrl,
  failureGroups,
  healthSummary,
  resultCounts,
  viewResults,
} from '../../../renderer/src/results-view';
import { jobPercent, runFilterCounts, timingList, viewRun } from '../../../renderer/src/run-view';
import { idOf, liveDevice, report, reportDevice } from './fixtures';

describe('results', () => {
  const devices = [
    reportDevice({ id: idOf(1), result: 'failed', step: 'failed', reason: 'auth_failed' }),
    reportDevice({ id: idOf(2), result: 'failed', step: 'failed', reason: 'unreachable' }),
    reportDevice({ id: idOf(3), result: 'failed', step: 'failed', reason: 'auth_failed' }),
    reportDevice({ id: idOf(4), result: 'verified', ip: '10.0.0.4', hostname: 'a.local' }),
    reportDevice({ id: idOf(5), result: 'pending', step: 'awaiting' }),
    // Reports hold known reasons only (reportSchema); a cast stands for a hand-made one the UI must still show.
    reportDevice({
      id: idOf(6),
      result: 'failed',
      step: 'failed',
      reason: 'brand_new_reason' as FailureReason,
    }),
  ];

  it('groups failures by reason, largest first, with the title and fix', () => {
    const groups = failureGroups(report(devices));
    expect(groups.map((g) => [g.reason, g.count])).toEqual([
      ['auth_failed', 2],
      ['brand_new_reason', 1],
      ['unreachable', 1],
    ]);
    expect(groups[0]?.help.title).toBe('Wrong network password');
    expect(groups[0]?.help.fix).toContain('retry the group');
    expect(groups[0]?.deviceIds).toEqual([idOf(1), idOf(3)]);
    expect(groups[1]?.help.title).toBe('brand new reason');
  });

  it("uses the report's own groups when it has them", () => {
    const groups = failureGroups(
      report(devices, [{ reason: 'unreachable', count: 1, deviceIds: [idOf(2)] }]),
    );
    expect(groups).toHaveLength(1);
    expect(groups[0]?.devices[0]?.id).toBe(idOf(2));
  });

  it('counts and filters', () => {
    expect(resultCounts(devices)).toEqual({ all: 6, failed: 4, verified: 1, pending: 1 });
    const failedFirst = viewResults(devices, {
      filter: 'all',
      text: '',
      sort: { column: 'result', direction: 'ascending' },
    });
    expect(failedFirst.map((d) => d.result)).toEqual([
      'failed',
      'failed',
      'failed',
      'failed',
      'pending',
      'verified',
    ]);
    expect(
      viewResults(devices, {
        filter: 'failed',
        text: '',
        sort: { column: 'id', direction: 'ascending' },
        reason: 'auth_failed',
      }).map((d) => d.id),
    ).toEqual([idOf(1), idOf(3)]);
    expect(
      viewResults(devices, {
        filter: 'all',
        text: 'a.local',
        sort: { column: 'id', direction: 'ascending' },
      }),
    ).toHaveLength(1);
  });

  it("a device's page only for verified devices with an address", () => {
    expect(devicePageUrl({ result: 'verified', ip: '10.0.0.4' })).toBe('http://10.0.0.4/');
    expect(devicePageUrl({ result: 'verified', ip: 'fe80::1' })).toBe('http://[fe80::1]/');
    expect(devicePageUrl({ result: 'failed', ip: '10.0.0.4' })).toBeUndefined();
    expect(devicePageUrl({ result: 'verified', ip: 'javascript:alert(1)' })).toBeUndefined();
    expect(devicePageUrl({ result: 'verified' })).toBeUndefined();
  });

  it('health summary', () => {
    expect(healthSummary(reportDevice({ id: idOf(1) }))).toEqual({ apps: 'none', checks: 'none' });
    expect(
      healthSummary(
        reportDevice({
          id: idOf(1),
          apps: [{ name: 'kiosk', state: 'degraded', code: 2 }],
          checks: [
            { id: 'dns', target: '1.1.1.1', state: 'ok' },
            { id: 'ntp', target: 'pool', state: 'skipped' },
          ],
        }),
      ),
    ).toEqual({ apps: 'bad', checks: 'ok' });
  });
});

describe('run', () => {
  const devices = [
    liveDevice({ id: idOf(1), step: 'joining', lane: 'wlan1', since: 500 }),
    liveDevice({ id: idOf(2), step: 'verified' }),
    liveDevice({ id: idOf(3), step: 'failed', reason: 'auth_failed' }),
    liveDevice({ id: idOf(4), step: 'queued' }),
    liveDevice({ id: idOf(5), step: 'awaiting', since: 100 }),
  ];

  it('filter counts', () => {
    expect(runFilterCounts(devices)).toEqual({ all: 5, active: 2, failed: 1, verified: 1, queued: 1 });
  });

  it('by step: working devices first, then failed, queued, verified', () => {
    const out = viewRun(devices, {
      filter: 'all',
      text: '',
      sort: { column: 'step', direction: 'ascending' },
    });
    expect(out.map((d) => d.step)).toEqual(['joining', 'awaiting', 'failed', 'queued', 'verified']);
  });

  it('by time in step: longest first; only active devices have one', () => {
    const out = viewRun(devices, {
      filter: 'all',
      text: '',
      sort: { column: 'since', direction: 'ascending' },
    });
    expect(out.slice(0, 2).map((d) => d.id)).toEqual([idOf(5), idOf(1)]);
  });

  it('percent done and timings in step order', () => {
    expect(jobPercent({ counts: { total: 3, queued: 0, active: 1, verified: 1, failed: 1 } })).toBe(66.7);
    expect(jobPercent({ counts: { total: 0, queued: 0, active: 0, verified: 0, failed: 0 } })).toBe(0);
    expect(timingList({ awaiting: 3, joining: 1, session: 0, linkCheck: 2 })).toEqual([
      ['joining', 1],
      ['linkCheck', 2],
      ['awaiting', 3],
    ]);
  });
});
