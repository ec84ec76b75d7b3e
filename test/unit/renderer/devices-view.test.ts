import { describe, expect, it } from 'vitest';
import {
  isInSetup,
  isOnNetwork,
  matchesText,
  needsAttention,
  quickCounts,
  resolveSelection,
  viewDevices,
} from '../../../renderer/src/devices-view';
import type { DeviceRow } from '../../../shared/station-api';
import { idOf, row } from './fixtures';

const ap = (id: string, signal: number) => ({
  ssid: `Airlift-${id}`,
  bssid: 'aa:bb',
  signal,
  adapter: 'wlan1',
  seenAt: 1,
});
const lan = { addresses: ['10.0.0.5'], port: 4780, host: 'dev.local', seenAt: 1 };

const a = row({
  id: idOf(1),
  name: 'Kiosk 1',
  group: 'line-1',
  state: 'setup',
  setupAp: ap(idOf(1), -50),
  sources: ['scan', 'manifest'],
});
const b = row({
  id: idOf(2),
  name: 'kiosk 2',
  group: 'line-2',
  state: 'online',
  lan,
  address: '10.0.0.10',
  sources: ['mdns'],
});
const c = row({
  id: idOf(3),
  state: 'unknown',
  setupAp: ap(idOf(3), -84),
  warnings: ['weak_signal'],
  secretKnown: false,
});
const d = row({
  id: idOf(4),
  name: 'Door',
  state: 'online',
  lan,
  address: '10.0.0.9',
  history: [{ jobId: 'j', result: 'failed', reason: 'auth_failed', ssid: 'P', at: '2026-11-30T12:00:00Z' }],
});
const e = row({
  id: idOf(5),
  warnings: ['verified_before'],
  history: [{ jobId: 'j', result: 'verified', ssid: 'P', at: '2026-11-30T12:00:00Z' }],
});
const rows: DeviceRow[] = [a, b, c, d, e];

describe('quick filters', () => {
  it('in setup: advertised setup, or only its AP is heard', () => {
    expect(rows.filter(isInSetup).map((r) => r.id)).toEqual([a.id, c.id]);
  });
  it('on network: advertised over mDNS and not in setup', () => {
    expect(rows.filter(isOnNetwork).map((r) => r.id)).toEqual([b.id, d.id]);
  });
  it('needs attention: problem warnings or a failed last result, not "verified before"', () => {
    expect(rows.filter(needsAttention).map((r) => r.id)).toEqual([c.id, d.id]);
  });
  it('counts', () => {
    expect(quickCounts(rows)).toEqual({ all: 5, setup: 2, network: 2, attention: 2 });
  });
});

describe('filter box', () => {
  it('every word must match somewhere, case-insensitively', () => {
    expect(matchesText(a, 'KIOSK line-1')).toBe(true);
    expect(matchesText(a, 'kiosk line-2')).toBe(false);
    expect(matchesText(b, '10.0.0.10')).toBe(true);
    expect(matchesText(c, 'weak')).toBe(true);
    expect(matchesText(a, '   ')).toBe(true);
    expect(matchesText(a, 'in setup')).toBe(true);
  });
});

describe('sorting', () => {
  const ids = (rs: DeviceRow[]) => rs.map((r) => r.id);
  it('by name, blanks last both ways, ties by id', () => {
    expect(
      ids(viewDevices(rows, { text: '', quick: 'all', sort: { column: 'name', direction: 'ascending' } })),
    ).toEqual([d.id, a.id, b.id, c.id, e.id]);
    expect(
      ids(viewDevices(rows, { text: '', quick: 'all', sort: { column: 'name', direction: 'descending' } })),
    ).toEqual([b.id, a.id, d.id, c.id, e.id]);
  });
  it('by signal (strongest first when descending), unheard last', () => {
    expect(
      ids(viewDevices(rows, { text: '', quick: 'all', sort: { column: 'signal', direction: 'descending' } })),
    ).toEqual([a.id, c.id, b.id, d.id, e.id]);
  });
  it('by address numerically', () => {
    expect(
      ids(
        viewDevices(rows, {
          text: '',
          quick: 'network',
          sort: { column: 'address', direction: 'ascending' },
        }),
      ),
    ).toEqual([d.id, b.id]);
  });
  it('does not mutate its input', () => {
    const copy = [...rows];
    viewDevices(rows, { text: '', quick: 'all', sort: { column: 'id', direction: 'descending' } });
    expect(rows).toEqual(copy);
  });
  it('500 rows filter and sort', () => {
    const many = Array.from({ length: 500 }, (_, i) =>
      row({ id: idOf(i), name: `Unit ${i}`, group: i % 2 ? 'odd' : 'even' }),
    );
    const out = viewDevices(many, {
      text: 'odd unit 4',
      quick: 'all',
      sort: { column: 'name', direction: 'ascending' },
    });
    expect(out.length).toBeGreaterThan(0);
    expect(out.every((r) => r.group === 'odd' && r.name?.includes('4'))).toBe(true);
  });
});

describe('selection', () => {
  it('"all" means the rows shown; a set keeps only ids that still exist', () => {
    const existing = new Map(rows.map((r) => [r.id, r]));
    expect([...resolveSelection('all', [a, b], existing)]).toEqual([a.id, b.id]);
    expect([...resolveSelection(new Set([a.id, 'GONEGONE']), [a], existing)]).toEqual([a.id]);
  });
});
