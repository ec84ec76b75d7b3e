import { describe, expect, it } from 'vitest';
import { MAX_SCAN_LOG, planScan, pushScan, settleScan, type ScanEntry } from '../../../renderer/src/scan';
import { encodeQrPayload } from '../../../shared/qr';

const SECRET = 'ABCDEFGHIJKLMNOPQRSTUVWXYQ';
const code = (deviceId: string) => encodeQrPayload({ deviceId, setupSecret: SECRET });

describe('scanner field', () => {
  it('a label is sent once; a second scan of it is confirmed without sending', () => {
    const first = planScan(code('K7Q2M6XA'), []);
    expect(first).toEqual({ kind: 'send', deviceId: 'K7Q2M6XA' });
    const log: ScanEntry[] = [{ key: 1, deviceId: 'K7Q2M6XA', outcome: 'added', message: 'K7Q2M6XA added' }];
    expect(planScan(code('K7Q2M6XA'), log)).toEqual({ kind: 'repeat', deviceId: 'K7Q2M6XA' });
    // Lowercase and surrounding whitespace (some scanners) are the same label.
    expect(planScan(` ${code('K7Q2M6XA').toLowerCase()}\n`, log).kind).toBe('repeat');
  });

  it('a scan that failed is tried again', () => {
    const log: ScanEntry[] = [{ key: 1, deviceId: 'K7Q2M6XA', outcome: 'error', message: 'x' }];
    expect(planScan(code('K7Q2M6XA'), log).kind).toBe('send');
  });

  it('what is not an Airlift label is named, and empty input does nothing', () => {
    expect(planScan('', []).kind).toBe('empty');
    const bad = planScan('https://example.com', []);
    expect(bad.kind).toBe('invalid');
    if (bad.kind === 'invalid') expect(bad.message).toContain('AIRLIFT1');
  });

  it('the live list keeps ids and outcomes only, newest first, bounded', () => {
    let log: ScanEntry[] = [];
    for (let i = 0; i < MAX_SCAN_LOG + 3; i++)
      log = pushScan(log, { key: i, deviceId: 'K7Q2M6XA', outcome: 'sending', message: '' });
    expect(log).toHaveLength(MAX_SCAN_LOG);
    expect(log[0]?.key).toBe(MAX_SCAN_LOG + 2);
    log = settleScan(log, MAX_SCAN_LOG + 2, 'known');
    expect(log[0]?.message).toBe('K7Q2M6XA already known');
    expect(JSON.stringify(log)).not.toContain(SECRET);
  });
});
