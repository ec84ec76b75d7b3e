/**
 * The lab enforces reachability as the world does: a station reaches a device's API only through the
 * device's setup AP while joined to it, or on the same LAN; mDNS is heard only on the device's network.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
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

  it('answers like the station transport: a pool per network, 1 MiB at most, no redirects', async () => {
    const f = await startFleet({ devices: 1, adapters: 1, timeScale: 0 });
    fleets.push(f);
    const id = f.manifest[0]?.deviceId ?? '';
    const adapter = f.adapters[0];
    if (!adapter) throw new Error('no adapter');
    const ports: number[] = [];
    const answer = (res: ServerResponse, status: number, body: string, headers = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body);
    };
    const server = createServer((req, res) => {
      ports.push(req.socket.remotePort ?? 0);
      if (req.url === '/big') answer(res, 200, JSON.stringify({ pad: 'x'.repeat(2 * 1024 * 1024) }));
      else if (req.url === '/moved') answer(res, 302, '', { location: 'http://example.invalid/' });
      else answer(res, 200, '{"ok":true}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    f.net.register(id, { host: '127.0.0.1', port: (server.address() as AddressInfo).port });
    try {
      await adapter.join({ ssidHex: hex(setupSsid(id)), security: 'open', timeoutMs: 1000 });
      const get = (path: string) =>
        f.transport.fetch(`http://${setupSubnet(id).address}${path}`, { method: 'GET', headers: {} });
      for (let i = 0; i < 3; i++) await get('/ok');
      const before = new Set(ports);
      expect(before.size).toBe(1);
      f.transport.networkChanged();
      await get('/ok');
      expect(before.has(ports.at(-1) ?? 0)).toBe(false);
      await expect(get('/big')).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
      await expect(get('/moved')).rejects.toMatchObject({ code: 'PROTOCOL_ERROR' });
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
