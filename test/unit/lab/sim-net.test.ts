/**
 * The lab enforces reachability as the world does: a station reaches a device's API only through the
 * device's setup AP while joined to it, or on the same LAN; mDNS is heard only on the device's network.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { setupSubnet } from '../../../shared/addressing';
import { setupSsid } from '../../../shared/identity';
import { toHex, utf8Encode } from '../../../shared/encoding';
import type { DiscoveryEvent } from '../../../main/ports/discovery';
import { LABNET, startFleet, type Fleet } from '../../../lab/fleet';

const fleets: Fleet[] = [];
afterEach(async () => {
  await Promise.all(fleets.splice(0).map((f) => f.close()));
});

const hex = (s: string) => toHex(utf8Encode(s));

describe('sim network', () => {
  it('reaches a device through its setup AP only while an adapter is joined to that AP', async () => {
    const f = await startFleet({ devices: 2, adapters: 1, timeScale: 0 });
    fleets.push(f);
    const [a, b] = f.manifest;
    const adapter = f.adapters[0];
    if (!a || !b || !adapter) throw new Error('fleet too small');
    const info = (id: string) =>
      f.stationFetch(`http://${setupSubnet(id).address}/v1/info`, { method: 'GET', headers: {} });
    await expect(info(a.deviceId)).rejects.toMatchObject({ code: 'UNREACHABLE' });
    const joined = await adapter.join({
      ssidHex: hex(setupSsid(a.deviceId)),
      security: 'open',
      timeoutMs: 1000,
      expectReachable: { host: setupSubnet(a.deviceId).address, port: 80 },
    });
    expect(joined.ok).toBe(true);
    const res = await info(a.deviceId);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: a.deviceId });
    // Joined to A's AP, B's setup address is not reachable.
    await expect(info(b.deviceId)).rejects.toMatchObject({ code: 'UNREACHABLE' });
  });

  it('reaches and hears devices on the LAN only while on the same network, at their current address', async () => {
    const f = await startFleet({ devices: 1, adapters: 1, timeScale: 0, onLan: true });
    fleets.push(f);
    const d = f.devices[0];
    const adapter = f.adapters[0];
    if (!d || !adapter) throw new Error('fleet too small');
    const ip = f.net.leaseOf(d.entry.deviceId);
    expect(ip).toMatch(/^192\.168\.50\./);
    const browser = f.browser();
    const events: DiscoveryEvent[] = [];
    browser.subscribe((e) => events.push(e));
    await browser.start();
    // The station is on Workshop: the device is neither reachable nor heard.
    expect(browser.services()).toEqual([]);
    await expect(
      f.stationFetch(`http://${ip ?? ''}:4780/v1/info`, { method: 'GET', headers: {} }),
    ).rejects.toMatchObject({ code: 'UNREACHABLE' });

    await adapter.join({
      ssidHex: hex(LABNET.ssid),
      security: 'wpa2-psk',
      passphrase: LABNET.passphrase,
      timeoutMs: 1000,
    });
    expect(browser.services().map((s) => s.addresses)).toEqual([[ip]]);
    expect(events.map((e) => e.type)).toEqual(['up']);
    const res = await f.stationFetch(`http://${ip ?? ''}:4780/v1/info`, { method: 'GET', headers: {} });
    expect(res.status).toBe(200);

    // The device drops off and rejoins: the station hears it go and come back at its current lease. (The real browser's grace period turns such a pair into one update: tested in
    // network namespaces in test/integration/main/mdns-browser-netns.test.ts.)
    f.airspace.leave(d.entry.deviceId);
    const labNet = f.airspace.listAps().find((ap) => ap.ssidHex === hex(LABNET.ssid));
    if (!labNet) throw new Error('LabNet missing');
    f.airspace.join(d.entry.deviceId, labNet.bssid);
    expect(events.map((e) => e.type)).toEqual(['up', 'down', 'up']);
    const now = browser.services()[0]?.addresses;
    expect(now).toEqual([f.net.leaseOf(d.entry.deviceId)]);
    await browser.stop();
  });
});
