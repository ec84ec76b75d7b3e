import { connect } from 'node:net';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createThingymcconfigServer } from '../../../agent/compat/thingymcconfig';
import { silentLogger } from '../../../agent/log';
import { startLabDevice, type LabDevice } from '../../../lab/lab-device';
import { LAB_ID, LAB_SECRET, LABNET_HEX, status, waitFor } from '../../helpers/lab';

let device: LabDevice;
let server: Server;
let port: number;

beforeEach(async () => {
  device = await startLabDevice({ deviceId: LAB_ID, setupSecret: LAB_SECRET, timeScale: 0 });
  await waitFor(
    () => device.running.agent.state,
    (s) => s === 'setup',
    'setup',
  );
  server = createThingymcconfigServer({ agent: device.running.agent, logger: silentLogger });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await device.close();
});

/** A raw HTTP/1.1 request written byte for byte; returns status and body. */
function rawHttp(request: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let data = '';
    s.setEncoding('utf8');
    s.on('data', (c: string) => (data += c));
    s.on('error', reject);
    s.on('end', () => {
      const [head = '', ...rest] = data.split('\r\n\r\n');
      resolve({ status: Number(head.split(' ')[1]), body: rest.join('\r\n\r\n') });
    });
    s.write(request);
  });
}

const get = (path: string): Promise<{ status: number; body: string }> =>
  rawHttp(`GET ${path} HTTP/1.1\r\nHost: 10.0.0.1:1338\r\nConnection: close\r\n\r\n`);
const post = (path: string, body: string, type = 'application/json') =>
  rawHttp(
    `POST ${path} HTTP/1.1\r\nHost: 10.0.0.1:1338\r\nContent-Type: ${type}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );

describe('thingymcconfig compatibility HTTP', () => {
  it('GET /scan lists bssid, frequency, rssi and ssid', async () => {
    const r = await get('/scan');
    expect(r.status).toBe(200);
    const body = JSON.parse(r.body) as { scanresults: Record<string, unknown>[] };
    expect(body.scanresults).toContainEqual({
      bssid: '02:00:00:00:00:01',
      frequency: 2437,
      rssi: -45,
      ssid: 'LabNet',
    });
  });

  it('GET /status has the network and apps shape with the original values', async () => {
    const r = await get('/status');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({
      network: { config_state: 'unconfigured', supplicant: { connected: false }, dhcp4: { state: 'idle' } },
      apps: [],
    });
  });

  it('answers anything else with 400 and an empty body', async () => {
    for (const r of [
      await get('/'),
      await get('/config'),
      await post('/scan', '{}'),
      await post('/config', '{"ssid":"LabNet","psk":"correct horse"}', 'text/plain'),
      await post('/config', ''),
      await post('/config', '{nope'),
      await post('/config', '[]'),
      await post('/config', '{"ssid":"LabNet"}'),
      await post('/config', '{"ssid":"LabNet","psk":5}'),
      await post('/config', '{"ssid":"LabNet","psk":"short"}'),
      await post('/config', JSON.stringify({ ssid: 'LabNet', psk: 'x'.repeat(5000) })),
    ]) {
      expect(r).toEqual({ status: 400, body: '' });
    }
    expect(device.running.agent.listWifi()).toEqual([]);
  });

  it('POST /config joins LabNet and /status follows', async () => {
    const r = await post('/config', '{"ssid":"LabNet","psk":"correct horse"}');
    expect(r).toEqual({ status: 200, body: '{"configuring":true}' });
    await waitFor(
      () => status(device),
      (s) => s.state === 'online',
      'online',
    );
    expect(device.running.agent.listWifi().map((n) => n.ssidHex)).toEqual([LABNET_HEX]);
    const st = JSON.parse((await get('/status')).body) as { network: Record<string, unknown> };
    const lease = (st.network['dhcp4'] as { lease: { ip: string } }).lease;
    expect(lease.ip).toMatch(/^192\.168\.50\./);
    expect(st.network).toEqual({
      config_state: 'configured',
      supplicant: { connected: true },
      dhcp4: { state: 'configured', lease },
    });
    expect(Object.keys(lease).sort()).toEqual(['defaultgw', 'ip', 'nameservers', 'subnetmask']);
  });
});

describe('thingymcconfig on the setup AP only', () => {
  let guarded: Server;
  let guardedPort: number;
  // Loopback plays the AP here: the "AP" is 127.0.0.1/24, so 127.0.0.5 is a client on its subnet
  // and 127.0.1.5 a host elsewhere (the netns test does the same with real interfaces).
  const ap = { address: '127.0.0.1', prefixLength: 24 };

  afterEach(async () => {
    guarded.closeAllConnections();
    await new Promise((r) => guarded.close(r));
  });

  async function serve(host: string, subnet: { address: string; prefixLength: number } | undefined) {
    guarded = createThingymcconfigServer({
      agent: device.running.agent,
      logger: silentLogger,
      setupAp: () => subnet,
    });
    await new Promise<void>((r) => guarded.listen(0, host, r));
    guardedPort = (guarded.address() as AddressInfo).port;
  }

  /** GET /status from `localAddress` to `host`: the status code, or `closed` when refused. */
  function statusFrom(localAddress: string, host = '127.0.0.1'): Promise<number | 'closed'> {
    return new Promise((resolve) => {
      const s = connect({ port: guardedPort, host, localAddress });
      let data = '';
      s.setEncoding('utf8');
      s.on('data', (c: string) => (data += c));
      s.on('error', () => resolve('closed'));
      s.on('close', () => resolve(data === '' ? 'closed' : Number(data.split(' ')[1])));
      s.write(`GET /status HTTP/1.1\r\nHost: ${host}:1338\r\nConnection: close\r\n\r\n`);
    });
  }

  it('serves a client on the AP subnet that connects to the AP address', async () => {
    await serve('127.0.0.1', ap);
    expect(await statusFrom('127.0.0.5')).toBe(200);
  });

  it('closes a connection from outside the AP subnet', async () => {
    await serve('127.0.0.1', ap);
    expect(await statusFrom('127.0.1.5')).toBe('closed');
  });

  it('closes a connection made to another local address than the AP', async () => {
    await serve('127.0.0.3', ap);
    expect(await statusFrom('127.0.0.5', '127.0.0.3')).toBe('closed');
  });

  it('closes every connection while the AP is down', async () => {
    await serve('127.0.0.1', undefined);
    expect(await statusFrom('127.0.0.5')).toBe('closed');
  });
});
