import { describe, expect, it } from 'vitest';
import { DeviceRegistry, SIGHTING_FRESH_MS } from '../../../../main/station/registry';
import type { DiscoveredService } from '../../../../main/ports/discovery';
import type { ScanResult } from '../../../../shared/protocol/wifi';
import type { DeviceRow } from '../../../../shared/station-api';

const A = 'K7Q2M6XA';
const B = 'ABCDEFGH';
const SECRET = 'ABCDEFGHIJKLMNOPQRSTUVWXYQ';

function scan(ssid: string, bssid: string, signal: number): ScanResult {
  return {
    ssid,
    ssidHex: Buffer.from(ssid).toString('hex'),
    bssid,
    frequency: 2412,
    signal,
    security: 'open',
    known: false,
  };
}

function service(id: string, fqdnSuffix = '', address = '192.168.1.40', st = 'online'): DiscoveredService {
  return {
    fqdn: `Airlift ${id}${fqdnSuffix}._airlift._tcp.local`,
    instance: `Airlift ${id}${fqdnSuffix}`,
    host: `airlift-${id.toLowerCase()}.local`,
    port: 4780,
    addresses: [address],
    txt: { id, v: '1', st, pv: '', md: 'lab', fw: '1' },
    lastSeen: Date.now(),
  };
}

function registry(now = () => Date.now()) {
  const changes: { upsert: DeviceRow[]; remove: string[] }[] = [];
  const r = new DeviceRegistry({
    onChange: (c) => changes.push(c),
    context: () => ({ now: now(), minSignal: -75 }),
    now,
  });
  return { r, changes };
}

describe('DeviceRegistry', () => {
  it("keeps a manifest row's fixed setup address for the runner, and a later label without one keeps it", () => {
    const { r } = registry();
    r.addLabel({ deviceId: A, secret: { secret: SECRET }, setupAddress: '10.0.0.1' }, 'manifest');
    expect(r.setupAddressOf(A)).toBe('10.0.0.1');
    r.addLabel({ deviceId: A, secret: { secret: SECRET } }, 'qr');
    expect(r.setupAddressOf(A)).toBe('10.0.0.1');
    expect(r.setupAddressOf('ONXW2ZLT')).toBeUndefined();
  });

  it('merges a setup-AP sighting, an mDNS advertisement and a manifest row into one row', () => {
    const { r } = registry();
    r.addScan(
      'wlan0',
      [scan(`Airlift-${A}`, '02:00:00:00:00:01', -50), scan('Plant-WiFi', 'aa', -40)],
      ['Airlift-'],
    );
    r.addLabel({ deviceId: A, name: 'unit-001', group: 'line-1', secret: { secret: SECRET } }, 'manifest');
    r.onDiscovery({ type: 'up', service: service(A) });
    const rows = r.rows();
    expect(rows).toHaveLength(1);
    const row = rows[0];
    expect(row).toMatchObject({
      id: A,
      name: 'unit-001',
      group: 'line-1',
      sources: ['scan', 'mdns', 'manifest'],
      state: 'online',
      address: '192.168.1.40',
      secretKnown: true,
      setupAp: { ssid: `Airlift-${A}`, signal: -50, adapter: 'wlan0' },
    });
    expect(JSON.stringify(rows)).not.toContain(SECRET);
  });

  it('keeps one row when the device changes address, and follows it', () => {
    const { r } = registry();
    r.onDiscovery({ type: 'up', service: service(A, '', '192.168.1.40') });
    r.onDiscovery({ type: 'update', service: service(A, '', '192.168.1.77'), changed: ['addresses'] });
    expect(r.rows().map((x) => x.address)).toEqual(['192.168.1.77']);
  });

  it('reads other product lines by their prefix and ignores SSIDs that only look alike', () => {
    const { r } = registry();
    r.addScan(
      'wlan0',
      [
        scan(`Acme-${A}`, 'b1', -60),
        scan(`Airlift-${B.toLowerCase()}`, 'b2', -60),
        scan('Airlift-SHORT', 'b3', -60),
      ],
      ['Airlift-', 'Acme-'],
    );
    expect(r.rows().map((x) => x.id)).toEqual([A]);
    expect(r.setupSsidOf(A)).toBe(`Acme-${A}`);
  });

  it('flags duplicate ids: two setup APs, two advertisements, or two secrets', () => {
    const { r } = registry();
    r.addScan('wlan0', [scan(`Airlift-${A}`, 'b1', -60), scan(`Airlift-${A}`, 'b2', -62)], ['Airlift-']);
    r.onDiscovery({ type: 'up', service: service(B) });
    r.onDiscovery({ type: 'up', service: service(B, ' (2)', '192.168.1.41') });
    expect(r.row(A)?.warnings).toContain('duplicate_id');
    expect(r.row(B)?.warnings).toContain('duplicate_id');
    const { r: r2 } = registry();
    r2.addLabel({ deviceId: A, secret: { secret: SECRET } }, 'manifest');
    r2.addLabel({ deviceId: A, secret: { secret: 'BCDEFGHIJKLMNOPQRSTUVWXYZQ' } }, 'qr');
    expect(r2.row(A)?.warnings).toContain('duplicate_id');
  });

  it('warns of weak signal, a missing secret, an earlier verification and a lockout', () => {
    const { r } = registry();
    r.addScan('wlan0', [scan(`Airlift-${A}`, 'b1', -88)], ['Airlift-']);
    r.setHistory(
      new Map([
        [
          A,
          [
            {
              jobId: '20261130-101010-abcd',
              result: 'verified' as const,
              ssid: 'Plant-WiFi',
              at: '2026-11-30T10:10:10.000Z',
            },
          ],
        ],
        [
          B,
          [
            {
              jobId: '20261130-101010-abcd',
              result: 'failed' as const,
              reason: 'locked_out',
              ssid: 'Plant-WiFi',
              at: '2026-11-30T10:10:10.000Z',
            },
          ],
        ],
      ]),
    );
    expect(r.row(A)?.warnings).toEqual(['weak_signal', 'verified_before', 'no_secret']);
    // History read before a device shows up is applied when it does.
    r.addLabel({ deviceId: B, secret: { secret: SECRET } }, 'qr');
    expect(r.row(B)?.warnings).toEqual(['locked_out']);
  });

  it('drops a sighting once it is stale, and an advertisement on goodbye', () => {
    let t = 1_000_000;
    const { r } = registry(() => t);
    r.addScan('wlan0', [scan(`Airlift-${A}`, 'b1', -60)], ['Airlift-']);
    r.onDiscovery({ type: 'up', service: service(A) });
    t += SIGHTING_FRESH_MS + 1;
    r.addScan('wlan0', [], ['Airlift-']);
    r.onDiscovery({ type: 'down', fqdn: service(A).fqdn });
    expect(r.row(A)).toMatchObject({ sources: [], state: 'unknown' });
  });

  it("forgets a setup-AP sighting older than the device's last result", () => {
    let t = Date.parse('2026-11-30T10:00:00.000Z');
    const { r } = registry(() => t);
    r.addScan('wlan0', [scan(`Airlift-${A}`, 'b1', -60)], ['Airlift-']);
    expect(r.row(A)?.state).toBe('setup');
    t += 20_000;
    r.setHistory(
      new Map([
        [
          A,
          [
            {
              jobId: '20261130-100000-abcd',
              result: 'verified' as const,
              ssid: 'Plant-WiFi',
              at: new Date(t).toISOString(),
            },
          ],
        ],
      ]),
    );
    expect(r.row(A)).toMatchObject({ state: 'unknown', sources: [] });
    // Heard in setup again afterwards (it reverted, or was reset): in setup again.
    t += 1_000;
    r.addScan('wlan0', [scan(`Airlift-${A}`, 'b1', -60)], ['Airlift-']);
    expect(r.row(A)?.state).toBe('setup');
  });

  it('batches changes into one event and reports forgotten devices', async () => {
    const { r, changes } = registry();
    for (let i = 0; i < 50; i++)
      r.addScan('wlan0', [scan(`Airlift-${A}`, 'b1', -60 - (i % 5))], ['Airlift-']);
    r.addLabel({ deviceId: B, secret: { secret: SECRET } }, 'manifest');
    await new Promise((res) => setTimeout(res, 150));
    expect(changes).toHaveLength(1);
    expect(changes[0]?.upsert.map((x) => x.id).sort()).toEqual([B, A].sort());
    expect(r.forget([B, 'ZZZZZZZZ'])).toBe(1);
    r.flushNow();
    expect(changes[1]).toEqual({ upsert: [], remove: [B] });
    expect(r.secretOf(B)).toBeUndefined();
  });

  it('clips long labels from manifests and devices', () => {
    const { r } = registry();
    r.addLabel({ deviceId: A, name: 'n'.repeat(5000) }, 'manifest');
    expect(r.row(A)?.name?.length).toBe(256);
  });
});
