import { describe, expect, it } from 'vitest';
import {
  chunkLabel,
  formatAgo,
  formatClock,
  formatDate,
  formatDbm,
  formatDuration,
  formatEta,
  ipSortKey,
  isActiveStep,
  lastResult,
  plural,
  signalBars,
  signalTone,
  signalWord,
  warningBadge,
  warningBadges,
} from '../../../renderer/src/format';
import { idOf, row } from './fixtures';

describe('durations', () => {
  it.each([
    [0, '0 ms'],
    [850, '850 ms'],
    [4_230, '4.2 s'],
    [9_990, '9.9 s'],
    [12_000, '12 s'],
    [185_000, '3 min 05 s'],
    [3_720_000, '1 h 02 min'],
  ])('%d ms reads %s', (ms, text) => expect(formatDuration(ms)).toBe(text));

  it('refuses nonsense with a dash', () => {
    expect(formatDuration(-1)).toBe('–');
    expect(formatDuration(Number.NaN)).toBe('–');
  });

  it('clock', () => {
    expect(formatClock(7_400)).toBe('0:07');
    expect(formatClock(765_000)).toBe('12:45');
    expect(formatClock(3_723_000)).toBe('1:02:03');
    expect(formatClock(-5)).toBe('0:00');
  });

  it('ETA in words, and says when it cannot tell', () => {
    expect(formatEta(undefined)).toBe('estimating time left…');
    expect(formatEta(30_000)).toBe('under a minute left');
    expect(formatEta(4 * 60_000)).toBe('about 4 min left');
    expect(formatEta(125 * 60_000)).toBe('about 2 h 05 min left');
  });
});

describe('signal', () => {
  it('bars like a phone', () => {
    expect(signalBars(undefined)).toBe(0);
    expect(signalBars(-40)).toBe(4);
    expect(signalBars(-55)).toBe(4);
    expect(signalBars(-60)).toBe(3);
    expect(signalBars(-72)).toBe(2);
    expect(signalBars(-80)).toBe(1);
    expect(signalBars(-90)).toBe(0);
  });

  it('words and tones; below the minimum is danger whatever the bars', () => {
    expect(signalWord(-50)).toBe('excellent');
    expect(signalWord(undefined)).toBe('not heard');
    expect(signalTone(-50)).toBe('success');
    expect(signalTone(-72)).toBe('warning');
    expect(signalTone(-60, -55)).toBe('danger');
    expect(formatDbm(-61.6)).toBe('-62 dBm');
    expect(formatDbm(undefined)).toBe('–');
  });
});

describe('dates', () => {
  it('local calendar date of a midday timestamp', () => {
    expect(formatDate('2026-11-30T12:00:00Z')).toBe('2026-11-30');
  });

  it('ago', () => {
    const now = 1_000_000_000;
    expect(formatAgo(now - 1000, now)).toBe('just now');
    expect(formatAgo(now - 42_000, now)).toBe('42 s ago');
    expect(formatAgo(now - 5 * 60_000, now)).toBe('5 min ago');
    expect(formatAgo(now - 3 * 3_600_000, now)).toBe('3 h ago');
  });
});

describe('badges', () => {
  const id = idOf(1);

  it('verified before names the network and the date', () => {
    const b = warningBadge(
      'verified_before',
      row({
        id,
        warnings: ['verified_before'],
        history: [
          { jobId: 'j2', result: 'failed', reason: 'auth_failed', ssid: 'Other', at: '2026-12-01T12:00:00Z' },
          { jobId: 'j1', result: 'verified', ssid: 'Plant-WiFi', at: '2026-11-30T12:00:00Z' },
        ],
      }),
    );
    expect(b.label).toBe('Verified on Plant-WiFi on 2026-11-30');
    expect(b.tone).toBe('info');
  });

  it('weak signal carries the dBm; locked out carries the fix', () => {
    const weak = warningBadge(
      'weak_signal',
      row({ id, setupAp: { ssid: `Airlift-${id}`, bssid: 'b', signal: -83, adapter: 'wlan0', seenAt: 1 } }),
    );
    expect(weak.label).toBe('Weak -83 dBm');
    expect(weak.detail).toContain('-83 dBm');
    expect(warningBadge('locked_out', row({ id })).detail).toContain('airliftctl reset-lockout');
    expect(warningBadge('duplicate_id', row({ id })).detail).toContain(id);
    expect(warningBadge('no_secret', row({ id })).label).toBe('No secret');
  });

  it('last result in words, with the reason title', () => {
    expect(lastResult(row({ id }))).toBeUndefined();
    const failed = lastResult(
      row({
        id,
        history: [
          { jobId: 'j', result: 'failed', reason: 'auth_failed', ssid: 'P', at: '2026-11-30T12:00:00Z' },
        ],
      }),
    );
    expect(failed?.text).toBe('Failed · Wrong network password');
    expect(failed?.when).toBe('2026-11-30');
    expect(failed?.tone).toBe('danger');
    const ok = lastResult(
      row({ id, history: [{ jobId: 'j', result: 'verified', ssid: 'P', at: '2026-11-30T12:00:00Z' }] }),
    );
    expect(ok).toMatchObject({ text: 'Verified', when: '2026-11-30', tone: 'success' });
    expect(ok?.title).toContain('Verified on P on 2026-11-30');
    const noLease = lastResult(
      row({
        id,
        history: [
          { jobId: 'j', result: 'failed', reason: 'dhcp_timeout', ssid: 'P', at: '2026-11-30T12:00:00Z' },
        ],
      }),
    );
    expect(noLease?.text).toBe('Failed · No address from the network');
  });
});

describe('badge order', () => {
  it('most serious first', () => {
    const r = row({ id: idOf(2), warnings: ['verified_before', 'no_secret', 'locked_out'] });
    expect(warningBadges(r).map((b) => b.warning)).toEqual(['locked_out', 'no_secret', 'verified_before']);
  });
});

describe('chunks', () => {
  it('counted from 0 by the station, from 1 for people, never past the last', () => {
    expect(chunkLabel(0, 8)).toBe('chunk 1 of 8');
    expect(chunkLabel(7, 8)).toBe('chunk 8 of 8');
    expect(chunkLabel(8, 8)).toBe('chunk 8 of 8');
    expect(chunkLabel(undefined, 3)).toBe('chunk 1 of 3');
  });
});

describe('misc', () => {
  it('plural', () => {
    expect(plural(1, 'device')).toBe('1 device');
    expect(plural(1200, 'device')).toBe('1,200 devices');
    expect(plural(2, 'entry', 'entries')).toBe('2 entries');
  });

  it('IPv4 addresses sort numerically; others after', () => {
    expect(ipSortKey('10.0.0.9')).toBeLessThan(ipSortKey('10.0.0.10'));
    expect(ipSortKey('fe80::1')).toBeGreaterThan(ipSortKey('255.255.255.255'));
    expect(ipSortKey(undefined)).toBe(Number.POSITIVE_INFINITY);
  });

  it('active steps', () => {
    expect(isActiveStep('joining')).toBe(true);
    expect(isActiveStep('awaiting')).toBe(true);
    expect(isActiveStep('queued')).toBe(false);
    expect(isActiveStep('verified')).toBe(false);
    expect(isActiveStep('failed')).toBe(false);
  });
});
