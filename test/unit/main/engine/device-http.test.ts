/**
 * The station's HTTP to devices (main/engine/device-http.ts) against servers on loopback that
 * answer too much, redirect, stall or drip, and against a real lab agent through the session client.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { deriveProverSecrets } from '../../../../shared/crypto/airlift';
import { AirliftError } from '../../../../shared/errors';
import { openSession } from '../../../../shared/session/client';
import { DEVICE_HTTP_DEFAULTS, UndiciDeviceTransport } from '../../../../main/engine/device-http';
import { startLabDevice } from '../../../../lab/lab-device';

const MiB = 1024 * 1024;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Loopback {
  url: string;
  requests: number;
  connections: number;
  server: Server;
}

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Loopback> {
  const sockets = new Set<Socket>();
  const lb: Loopback = { url: '', requests: 0, connections: 0, server: createServer() };
  lb.server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    lb.requests++;
    handler(req, res);
  });
  lb.server.on('connection', (s: Socket) => {
    lb.connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => lb.server.listen(0, '127.0.0.1', r));
  lb.url = `http://127.0.0.1:${(lb.server.address() as AddressInfo).port}`;
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => lb.server.close(() => r()));
  });
  return lb;
}

function transport(o: ConstructorParameters<typeof UndiciDeviceTransport>[0] = {}): UndiciDeviceTransport {
  const t = new UndiciDeviceTransport(o);
  cleanups.push(() => t.close());
  return t;
}

const GET = { method: 'GET', headers: { Accept: 'application/json' } };

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AirliftError) return err.code;
    throw err;
  }
  throw new Error('expected a rejection');
}

const json = (res: ServerResponse, body: unknown, status = 200) => {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
};

describe('UndiciDeviceTransport', () => {
  it('caps answers at 1 MiB by default', () => {
    expect(DEVICE_HTTP_DEFAULTS.maxResponseBytes).toBe(MiB);
  });

  it('reads a JSON answer and its status', async () => {
    const lb = await serve((_req, res) => json(res, { error: { code: 'BUSY' } }, 503));
    const res = await transport().fetch(`${lb.url}/v1/info`, GET);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: { code: 'BUSY' } });
  });

  it('refuses an announced 400 MB answer without reading it', async () => {
    let sent = 0;
    const lb = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(400 * MiB) });
      const chunk = Buffer.alloc(64 * 1024, 0x41);
      const pump = () => {
        while (!res.destroyed && sent < 400 * MiB && res.write(chunk)) sent += chunk.length;
        if (!res.destroyed && sent < 400 * MiB) res.once('drain', pump);
      };
      res.on('close', () => undefined);
      pump();
    });
    const t = transport();
    expect(await codeOf(t.fetch(`${lb.url}/v1/networks`, GET))).toBe('PAYLOAD_TOO_LARGE');
    // The station hung up early: far less than the answer crossed the socket.
    await new Promise((r) => setTimeout(r, 100));
    expect(sent).toBeLessThan(32 * MiB);
  });

  it('stops reading an endless chunked answer at the cap', async () => {
    let sent = 0;
    const lb = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      const pump = () => {
        while (!res.destroyed && res.write(chunk)) sent += chunk.length;
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
    expect(await codeOf(transport().fetch(`${lb.url}/v1/status`, GET))).toBe('PAYLOAD_TOO_LARGE');
    await new Promise((r) => setTimeout(r, 100));
    expect(sent).toBeLessThan(32 * MiB);
  });

  it('honours a smaller cap', async () => {
    const lb = await serve((_req, res) => json(res, { pad: 'x'.repeat(5000) }));
    const t = transport({ maxResponseBytes: 4096 });
    expect(await codeOf(t.fetch(`${lb.url}/v1/status`, GET))).toBe('PAYLOAD_TOO_LARGE');
  });

  it('refuses redirects and never follows them', async () => {
    const elsewhere = await serve((_req, res) => json(res, { stolen: true }));
    const lb = await serve((_req, res) => {
      res.writeHead(302, { location: `${elsewhere.url}/v1/session/hello` });
      res.end();
    });
    const t = transport();
    expect(
      await codeOf(
        t.fetch(`${lb.url}/v1/session/hello`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: '{}',
        }),
      ),
    ).toBe('PROTOCOL_ERROR');
    expect(elsewhere.requests).toBe(0);
  });

  it('times out a device that never answers', async () => {
    const lb = await serve(() => undefined);
    const t = transport({ headersTimeoutMs: 200 });
    const started = performance.now();
    expect(await codeOf(t.fetch(`${lb.url}/v1/info`, GET))).toBe('TIMEOUT');
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('times out an answer that drips in under the body timeout, on the overall deadline', async () => {
    const lb = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"a":"');
      const timer = setInterval(() => res.write('x'), 50);
      res.on('close', () => clearInterval(timer));
    });
    const t = transport({ bodyTimeoutMs: 1000, requestTimeoutMs: 400 });
    const started = performance.now();
    expect(await codeOf(t.fetch(`${lb.url}/v1/status`, GET))).toBe('TIMEOUT');
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('reports a refused connection as UNREACHABLE', async () => {
    const lb = await serve(() => undefined);
    const url = lb.url;
    await new Promise<void>((r) => lb.server.close(() => r()));
    expect(await codeOf(transport().fetch(`${url}/v1/info`, GET))).toBe('UNREACHABLE');
  });

  it('reports an answer that is not JSON as PROTOCOL_ERROR', async () => {
    const lb = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>captive portal</html>');
    });
    const res = await transport().fetch(`${lb.url}/v1/info`, GET);
    expect(await codeOf(res.json())).toBe('PROTOCOL_ERROR');
  });

  it('reuses connections on one network and never one from before a network change', async () => {
    const ports: number[] = [];
    const lb = await serve((req, res) => {
      ports.push(req.socket.remotePort ?? 0);
      json(res, { ok: true });
    });
    const t = transport();
    for (let i = 0; i < 4; i++) await t.fetch(`${lb.url}/before`, GET);
    const before = new Set(ports);
    expect(before.size).toBeLessThan(4);
    t.networkChanged();
    for (let i = 0; i < 2; i++) await t.fetch(`${lb.url}/after`, GET);
    for (const p of ports.slice(4))
      expect(before.has(p), `port ${p} was pooled before the change`).toBe(false);
  });

  it('lets a request in flight on another lane finish across a network change', async () => {
    let answer: () => void = () => undefined;
    const lb = await serve((req, res) => {
      if (req.url === '/slow') answer = () => json(res, { slow: true });
      else json(res, { ok: true });
    });
    const t = transport();
    const slow = t.fetch(`${lb.url}/slow`, GET);
    await new Promise((r) => setTimeout(r, 100));
    t.networkChanged();
    answer();
    expect(await (await slow).json()).toEqual({ slow: true });
  });

  it('carries a real SPAKE2+ session to a lab agent', async () => {
    const device = await startLabDevice({
      deviceId: 'K7Q2M6XA',
      setupSecret: 'ABCDEFGHIJKLMNOPQRSTUVWXYQ',
      timeScale: 0,
    });
    cleanups.push(() => device.close());
    const t = transport();
    const session = await openSession({
      baseUrl: device.url,
      deviceId: 'K7Q2M6XA',
      deriveSecrets: (salt, iter) =>
        deriveProverSecrets('ABCDEFGHIJKLMNOPQRSTUVWXYQ', 'K7Q2M6XA', salt, iter),
      fetch: t.fetch,
    });
    expect(await session.call('wifi.list')).toEqual({ networks: [] });
  });
});
