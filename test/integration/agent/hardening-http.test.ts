/**
 * Denial of service at the HTTP layer, replayed against a real lab device on loopback: idle sockets,
 * event streams, and clients that hang up mid-body. Each client is its own loopback source address.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { request, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { startLabDevice, type LabDevice, type LabDeviceOptions } from '../../../lab/lab-device';
import { createApiServer, type ApiServerOptions } from '../../../agent/http/api-server';
import { LAB_ID, LAB_SECRET, open } from '../../helpers/lab';
import { LEVEL, capturingLogger, until } from './hardening-rig';

const devices: LabDevice[] = [];
const servers: Server[] = [];
const sockets: Socket[] = [];

async function device(opts: Partial<LabDeviceOptions> = {}): Promise<LabDevice> {
  const d = await startLabDevice({
    deviceId: LAB_ID,
    setupSecret: LAB_SECRET,
    timeScale: 0,
    ...opts,
    config: { setup: { teardownDelayMs: 0, lingerSeconds: 0 }, mdns: { mode: 'off' }, ...opts.config },
  });
  devices.push(d);
  return d;
}

/** A second API server around a lab device's agent and sessions, with options the daemon leaves at default. */
async function serverFor(d: LabDevice, extra: Partial<ApiServerOptions>): Promise<string> {
  const server = createApiServer({
    agent: d.running.agent,
    sessions: d.running.sessions,
    logger: capturingLogger().logger,
    allowedHosts: () => new Set(['127.0.0.1']),
    ...extra,
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await Promise.all(devices.splice(0).map((d) => d.close()));
});

/** Opens a TCP connection from `localAddress`; resolves once it is connected or has failed. */
function idleSocket(url: string, localAddress: string): Promise<Socket> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = connect({ host: u.hostname, port: Number(u.port), localAddress });
    sockets.push(s);
    s.on('error', () => undefined);
    s.once('connect', () => resolve(s));
    s.once('close', () => resolve(s));
  });
}

const isOpen = (s: Socket) => !s.destroyed && s.readyState === 'open';

interface Stream {
  status: number;
  res: IncomingMessage;
}

/** GET /v1/events from `localAddress`; resolves with the response head (the body keeps streaming). */
function events(url: string, localAddress: string): Promise<Stream> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, path: '/v1/events', localAddress, agent: false },
      (res) => resolve({ status: res.statusCode ?? 0, res }),
    );
    req.on('error', reject);
    req.end();
  });
}

describe('connection caps', () => {
  it('caps 10,000 idle sockets from one client, and the owner still gets through', async () => {
    const d = await device();
    const held: Socket[] = [];
    // In waves, each given a moment to be accepted, so the kernel's listen backlog (whose overflow
    // costs a 1 s SYN retry) is not what limits them.
    for (let wave = 0; wave < 40; wave++) {
      held.push(...(await Promise.all(Array.from({ length: 250 }, () => idleSocket(d.url, '127.0.0.2')))));
      await until(() => held.filter(isOpen).length <= 32, 'the wave refused', 500).catch(() => undefined);
    }
    expect(held).toHaveLength(10_000);
    await new Promise((r) => setTimeout(r, 200));
    const stillOpen = held.filter(isOpen).length;
    expect(stillOpen).toBeGreaterThan(0);
    expect(stillOpen).toBeLessThanOrEqual(32);

    const session = await open(d);
    await expect(session.call('wifi.list')).resolves.toMatchObject({ networks: [] });
    const info = await fetch(`${d.url}/v1/info`);
    expect(info.status).toBe(200);
  }, 60_000);

  it('closes a socket that never sends a request', async () => {
    const d = await device();
    const url = await serverFor(d, { connections: { firstRequestMs: 300 } });
    const s = await idleSocket(url, '127.0.0.3');
    expect(isOpen(s)).toBe(true);
    await until(
      () => s.destroyed || s.readyState === 'closed' || s.readableEnded,
      'the idle socket closed',
      5000,
    );
  });

  it('makes room for a new client by closing an idle socket of the busiest one when all slots are taken', async () => {
    const d = await device();
    const url = await serverFor(d, { connections: { max: 8, perAddress: 6 } });
    const crowd = await Promise.all([
      ...Array.from({ length: 6 }, () => idleSocket(url, '127.0.0.2')),
      idleSocket(url, '127.0.0.3'),
      idleSocket(url, '127.0.0.3'),
    ]);
    expect(crowd.filter(isOpen)).toHaveLength(8);
    const res = await fetch(`${url}/v1/info`);
    expect(res.status).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    // One of the busiest client's idle sockets gave way; the other client kept both of its own.
    expect(crowd.slice(0, 6).filter(isOpen)).toHaveLength(5);
    expect(crowd.slice(6).filter(isOpen)).toHaveLength(2);
  });
});

describe('event streams', () => {
  it('refuses the 17th stream from one client, and still serves another client', async () => {
    const d = await device();
    const mine: Stream[] = [];
    for (let i = 0; i < 16; i++) mine.push(await events(d.url, '127.0.0.2'));
    expect(mine.map((s) => s.status)).toEqual(Array.from({ length: 16 }, () => 200));
    const seventeenth = await events(d.url, '127.0.0.2');
    expect(seventeenth.status).toBe(503);
    seventeenth.res.resume();
    const other = await events(d.url, '127.0.0.3');
    expect(other.status).toBe(200);
    for (const s of [...mine, other]) s.res.destroy();
  });

  it('ends a stream after its lifetime; the client reconnects', async () => {
    const d = await device();
    const url = await serverFor(d, { sse: { lifetimeMs: 300 } });
    const s = await events(url, '127.0.0.2');
    expect(s.status).toBe(200);
    const chunks: string[] = [];
    s.res.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
    const ended = new Promise<void>((resolve) => s.res.on('end', resolve));
    await Promise.race([
      ended,
      new Promise((_, reject) => setTimeout(() => reject(new Error('the stream did not end')), 5000)),
    ]);
    // It says when to come back, as SSE does.
    expect(chunks.join('')).toMatch(/^retry: \d+$/m);
    const again = await events(url, '127.0.0.2');
    expect(again.status).toBe(200);
    again.res.destroy();
  });
});

describe('request logs', () => {
  it('logs 1,000 bodies cut off mid-way at debug, never at error', async () => {
    const { logger, lines } = capturingLogger('debug');
    const d = await device({ logger });
    const u = new URL(d.url);
    const cut = () =>
      new Promise<void>((resolve) => {
        const s = connect({ host: u.hostname, port: Number(u.port), localAddress: '127.0.0.4' });
        s.on('error', () => undefined);
        s.on('close', () => resolve());
        s.on('connect', () => {
          s.write(
            'POST /v1/session/hello HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
              'Content-Length: 1000\r\n\r\n{"deviceId":',
          );
          setTimeout(() => s.destroy(), 5);
        });
      });
    for (let wave = 0; wave < 10; wave++) await Promise.all(Array.from({ length: 100 }, cut));
    await until(
      () => lines.filter((l) => l.msg === 'request aborted by the client').length >= 1000,
      '1,000 aborted requests logged',
    ).catch(() => undefined);
    expect(lines.filter((l) => l.level >= LEVEL.error)).toEqual([]);
    expect(lines.filter((l) => l.msg === 'request aborted by the client').length).toBe(1000);
    // And the agent still serves.
    expect((await fetch(`${d.url}/v1/info`)).status).toBe(200);
  });

  it('rate-limits the error lines that remain', async () => {
    const d = await device();
    const { logger, lines } = capturingLogger('info');
    const url = await serverFor(d, {
      logger,
      extraRoutes: () => {
        throw new Error('a bug in a route');
      },
    });
    for (let i = 0; i < 200; i++) expect((await fetch(`${url}/v1/info`)).status).toBe(500);
    const errors = lines.filter((l) => l.level >= LEVEL.error);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.length).toBeLessThanOrEqual(10);
  });
});
