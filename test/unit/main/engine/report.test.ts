import { describe, expect, it } from 'vitest';
import { reportSchema } from '../../../../shared/protocol/job';
import {
  REPORT_CSV_HEADER,
  buildReport,
  formatSummaryTable,
  harmless,
  reportToCsv,
  summarizeOutcomes,
} from '../../../../main/engine/report';
import { replayJournal } from '../../../../main/engine/journal';
import type { DeviceOutcome, FailureReason } from '../../../../main/engine/types';
import { IDS, failed, makeSpec, verified } from './fixtures';

const [A, B, C, D, E] = IDS;

/**
 * A reason outside the known set, as only a hand-made report (or a cast) can hold one: the CSV and
 * the table still defuse it, the last line of defence behind the schema.
 */
const handMade = (reason: string) => reason as FailureReason;

function sample() {
  const outcomes = new Map<string, DeviceOutcome>([
    [A, verified(A)],
    [B, failed(B, 'not_rediscovered')],
    [C, failed(C, 'auth_failed')],
    [D, failed(D, 'auth_failed')],
    // E has no outcome yet: pending.
  ]);
  return buildReport(makeSpec(), outcomes, { finishedAt: '2025-11-22T03:10:00.000Z' });
}

describe('buildReport', () => {
  it('summarises, groups failures by reason (largest first) and lists every device in job order', () => {
    const report = sample();
    expect(reportSchema.parse(report)).toEqual(report);
    expect(report.job).toEqual({
      id: 'job-1',
      createdAt: '2025-11-22T03:00:00.000Z',
      finishedAt: '2025-11-22T03:10:00.000Z',
      path: 'ap',
      target: { ssid: 'Workshop', ssidHex: '576f726b73686f70', security: 'wpa2-psk' },
      nonce8: '01234567',
    });
    expect(report.summary).toEqual({
      total: 5,
      verified: 1,
      failed: 3,
      pending: 1,
      byReason: { auth_failed: 2, not_rediscovered: 1 },
    });
    expect(report.groups).toEqual([
      { reason: 'auth_failed', count: 2, deviceIds: [C, D] },
      { reason: 'not_rediscovered', count: 1, deviceIds: [B] },
    ]);
    expect(report.devices.map((d) => [d.id, d.result, d.reason])).toEqual([
      [A, 'verified', undefined],
      [B, 'failed', 'not_rediscovered'],
      [C, 'failed', 'auth_failed'],
      [D, 'failed', 'auth_failed'],
      [E, 'pending', undefined],
    ]);
    expect(report.devices[0]).toMatchObject({
      name: 'Pump 1',
      group: 'hall-a',
      ip: '192.168.1.20',
      hostname: 'airlift-k7q2m6xa',
      rssi: -48,
      targetSignal: -61,
      timings: {
        joining: 1200,
        session: 300,
        linkCheck: 50,
        pushing: 80,
        pushed: 900,
        awaiting: 2100,
        totalMs: 4630,
      },
      apps: [{ name: 'sensor', state: 'ok', code: 0 }],
      attempts: 1,
    });
    expect(report.devices[4]).toMatchObject({
      step: 'queued',
      timings: { totalMs: 0 },
      apps: [],
      checks: [],
      attempts: 1,
    });
    expect(summarizeOutcomes([...[A, B, C, D].map((id) => sampleOutcome(id)), pendingOutcome(E)])).toEqual(
      report.summary,
    );
  });

  it('breaks ties in group size by reason, reads failures without a reason as station_error, ignores strangers', () => {
    const report = buildReport(makeSpec(), [
      failed(B, 'timeout'),
      failed(A, 'auth_failed'),
      { ...failed(C, 'timeout'), reason: undefined },
      verified('ZZZZZZZZ'),
    ]);
    // A failure the engine gave no reason is the station's bug, grouped within the known set.
    expect(report.groups.map((g) => g.reason)).toEqual(['auth_failed', 'station_error', 'timeout']);
    expect(reportSchema.parse(report)).toEqual(report);
    expect(report.devices).toHaveLength(5);
    expect(report.job.finishedAt).toBeUndefined();
    expect(report.summary.pending).toBe(2);
  });

  it('takes its reasons from the known set: the schema refuses any other', () => {
    const report = sample();
    const group = { reason: 'unknown', count: 1, deviceIds: [B] };
    expect(reportSchema.safeParse({ ...report, groups: [group] }).success).toBe(false);
    const devices = report.devices.map((d) => (d.reason === undefined ? d : { ...d, reason: 'brand_new' }));
    expect(reportSchema.safeParse({ ...report, devices }).success).toBe(false);
  });

  it('builds from a replayed journal', () => {
    const spec = makeSpec();
    const lines = [
      { t: 'job', v: 1, spec },
      { t: 'step', deviceId: A, step: 'pushed', at: '2025-11-22T03:00:00.000Z', attemptId: 'a1' },
      { t: 'result', outcome: failed(B, 'auth_failed') },
    ].map((r) => `${JSON.stringify(r)}\n`);
    const replay = replayJournal(Buffer.from(lines.join('')));
    const report = buildReport(replay.spec, replay.devices);
    expect(report.summary).toMatchObject({ total: 5, verified: 0, failed: 1, pending: 4 });
    expect(report.devices[0]).toMatchObject({ id: A, result: 'pending', step: 'pushed', attemptId: 'a1' });
  });
});

function sampleOutcome(id: string): DeviceOutcome {
  if (id === A) return verified(A);
  if (id === B) return failed(B, 'not_rediscovered');
  return failed(id, 'auth_failed');
}
function pendingOutcome(id: string): DeviceOutcome {
  return { deviceId: id, step: 'pushed', timings: {}, attempts: 1 };
}

/** A strict RFC 4180 reader: quoted fields, doubled quotes, CRLF records. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i] ?? '';
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i += 2;
        continue;
      }
      if (c === '"') quoted = false;
      else cell += c;
      i++;
      continue;
    }
    if (c === '"' && cell === '') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else if (c === '\r' || c === '\n' || c === '"') throw new Error(`bare ${JSON.stringify(c)} at ${i}`);
    else cell += c;
    i++;
  }
  if (cell !== '' || row.length > 0) throw new Error('unterminated last record');
  return rows;
}

describe('reportToCsv', () => {
  it('has the header, one CRLF row per device, and the timings split into columns', () => {
    const csv = reportToCsv(sample());
    expect(csv.endsWith('\r\n')).toBe(true);
    const rows = parseCsv(csv);
    expect(rows[0]).toEqual([...REPORT_CSV_HEADER]);
    expect(rows).toHaveLength(6);
    const row = Object.fromEntries(REPORT_CSV_HEADER.map((h, i) => [h, rows[1]?.[i]]));
    expect(row).toEqual({
      deviceId: A,
      name: 'Pump 1',
      group: 'hall-a',
      result: 'verified',
      reason: '',
      ip: '192.168.1.20',
      hostname: 'airlift-k7q2m6xa',
      bssid: '02:00:00:00:00:01',
      rssi: '-48',
      targetSignal: '-61',
      joinMs: '1200',
      sessionMs: '300',
      linkCheckMs: '50',
      pushMs: '80',
      awaitMs: '3000',
      totalMs: '4630',
      apps: 'sensor:ok',
    });
    expect(rows[5]?.slice(0, 5)).toEqual([E, 'Pump 5', 'hall-a', 'pending', '']);
  });

  it('quotes commas, quotes and line breaks so every cell round-trips', () => {
    const spec = makeSpec();
    const hostile = ['Pump, "north"', 'two\r\nlines', 'lf\nonly', 'plain'];
    spec.devices = spec.devices.slice(0, 4).map((d, i) => ({ ...d, name: hostile[i] ?? '' }));
    const rows = parseCsv(reportToCsv(buildReport(spec, [])));
    expect(rows.slice(1).map((r) => r[1])).toEqual(hostile);
    expect(rows.every((r) => r.length === REPORT_CSV_HEADER.length)).toBe(true);
  });

  it.each([
    ['=HYPERLINK("http://evil","x")', `'=HYPERLINK("http://evil","x")`],
    ['+1+1', "'+1+1"],
    ['-2+3+cmd|calc', "'-2+3+cmd|calc"],
    ['@SUM(A1)', "'@SUM(A1)"],
    ['\tfoo', "'\tfoo"],
    ['\r=1', "'\r=1"],
    ['a=1', 'a=1'],
  ])('defuses formula injection in text cells: %j', (name, expected) => {
    const spec = makeSpec();
    spec.devices = [{ deviceId: A, name, group: name }];
    const outcome = failed(A, handMade(name), { hostname: name, ip: name });
    const row = parseCsv(reportToCsv(buildReport(spec, [outcome])))[1] ?? [];
    const cell = (h: (typeof REPORT_CSV_HEADER)[number]) => row[REPORT_CSV_HEADER.indexOf(h)];
    for (const h of ['name', 'group', 'reason', 'ip', 'hostname'] as const) expect(cell(h)).toBe(expected);
  });

  it('quotes cells holding ; or TAB, so a spreadsheet splitting on them keeps each cell whole', () => {
    const spec = makeSpec();
    const hostile = ['north;=1+1', 'tab\t@SUM(A1)', 'plain'];
    spec.devices = spec.devices.slice(0, 3).map((d, i) => ({ ...d, name: hostile[i] ?? '' }));
    const report = buildReport(spec, [
      verified(A, {
        apps: [
          { name: 'sensor', state: 'ok', code: 0 },
          { name: '=cmd', state: 'ok', code: 0 },
        ],
      }),
    ]);
    const csv = reportToCsv({
      ...report,
      devices: report.devices.map((d, i) => ({ ...d, name: hostile[i] ?? '' })),
    });
    const lines = csv.split('\r\n').slice(1, 4);
    expect(lines[0]).toContain('"north;=1+1"');
    expect(lines[0]).toContain('"sensor:ok;=cmd:ok"');
    expect(lines[1]).toContain('"tab\t@SUM(A1)"');
    // Split the way a spreadsheet in a `;` (or TAB) locale does: outside quotes only.
    const split = (line: string, sep: string) => {
      const cells: string[] = [];
      let cell = '';
      let quoted = false;
      for (const c of line) {
        if (c === '"') quoted = !quoted;
        if (c === sep && !quoted) {
          cells.push(cell);
          cell = '';
        } else cell += c;
      }
      return [...cells, cell];
    };
    for (const line of lines)
      for (const sep of [';', '\t']) for (const c of split(line, sep)) expect(c).not.toMatch(/^[=+\-@]/);
    expect(
      parseCsv(csv)
        .slice(1, 4)
        .map((r) => r[1]),
    ).toEqual(hostile);
  });

  it('defuses app names too, and leaves negative numbers numeric', () => {
    const report = buildReport(makeSpec(), [
      verified(A, { apps: [{ name: '=cmd', state: 'ok', code: 0 }], rssi: -70 }),
    ]);
    const row = parseCsv(reportToCsv(report))[1] ?? [];
    expect(row[REPORT_CSV_HEADER.indexOf('apps')]).toBe("'=cmd:ok");
    expect(row[REPORT_CSV_HEADER.indexOf('rssi')]).toBe('-70');
  });
});

describe('formatSummaryTable', () => {
  it('shows failure groups largest first, then pending and verified, and a summary line', () => {
    const text = formatSummaryTable(sample(), { color: false });
    expect(text).not.toContain('\x1b');
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('Job job-1 - Workshop (wpa2-psk), ap path');
    expect(lines[1]).toBe('  DEVICE    NAME    RESULT    REASON            IP');
    const titles = lines.filter((l) => !l.startsWith('  '));
    expect(titles).toEqual([
      'Job job-1 - Workshop (wpa2-psk), ap path',
      'failed: auth_failed (2)',
      'failed: not_rediscovered (1)',
      'pending (1)',
      'verified (1)',
      '5 devices: 1 verified, 3 failed (auth_failed 2, not_rediscovered 1), 1 pending',
    ]);
    const row = lines.find((l) => l.includes(C)) ?? '';
    expect(row.split(/ {2,}/).filter(Boolean)).toEqual([C, 'Pump 3', 'failed', 'auth_failed', '-']);
    expect(lines.find((l) => l.includes(A))).toMatch(/verified\s+192\.168\.1\.20$/);
    expect(lines.find((l) => l.includes(E))).toMatch(/pending\s+queued\s+-$/);
    // Columns line up: every row has its RESULT at the header's offset.
    const at = lines[1]?.indexOf('RESULT');
    for (const l of lines.filter((x) => x.startsWith('  ') && x !== lines[1])) {
      expect(l.slice(at).match(/^(verified|failed|pending)/), l).not.toBeNull();
    }
  });

  it('colours results only when asked', () => {
    const text = formatSummaryTable(sample(), { color: true });
    expect(text).toContain('\x1b[31mfailed');
    expect(text).toContain('\x1b[32mverified');
    expect(text).toContain('\x1b[33mpending');
  });

  it('makes control characters and bidi overrides in device text harmless', () => {
    const spec = makeSpec();
    spec.devices = [{ deviceId: A, name: 'evil\x1b]0;pwned\x07\x1b[2J\r\nnext\u202eloop\x9b' }];
    const outcome = failed(A, handMade('x\x1b[31m'), { ip: '10.0.0.1\x00', detail: '\x1b[H' });
    const text = formatSummaryTable(buildReport(spec, [outcome]), { color: false });
    const unsafe = Array.from(text).filter((ch) => {
      const cp = ch.codePointAt(0) ?? 0;
      return (cp < 0x20 && ch !== '\n') || (cp >= 0x7f && cp <= 0x9f) || cp === 0x202e;
    });
    expect(unsafe).toEqual([]);
    expect(text).toContain('evil\\x1b]0;pwned\\x07\\x1b[2J\\x0d…');
    expect(harmless(spec.devices[0]?.name ?? '', 100)).toBe(
      'evil\\x1b]0;pwned\\x07\\x1b[2J\\x0d\\x0anext\\u202eloop\\x9b',
    );
    expect(text).toContain('failed: x\\x1b[31m (1)');
    // Each device is still exactly one line.
    expect(text.trimEnd().split('\n')).toHaveLength(5);
  });

  it('clips long text to its column', () => {
    expect(harmless('x'.repeat(100), 32)).toBe(`${'x'.repeat(31)}…`);
    expect(harmless('short', 32)).toBe('short');
  });

  it('handles an empty job', () => {
    const text = formatSummaryTable(buildReport(makeSpec({ devices: [] }), []), { color: false });
    expect(text).toBe(
      'Job job-1 - Workshop (wpa2-psk), ap path, unfinished\n0 devices: 0 verified, 0 failed, 0 pending\n',
    );
  });
});
