/**
 * 10,000 malformed requests against the real API: each gets a 4xx with a JSON error body carrying a
 * stable code, and the agent still serves afterwards. The corpus mixes every way a request can be wrong.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent as HttpAgent, request } from 'node:http';
import fc from 'fast-check';
import { errorCodes } from '../../../shared/errors';
import { startLabDevice, type LabDevice } from '../../../lab/lab-device';
import { LAB_ID, LAB_SECRET, open } from '../../helpers/lab';

interface Req {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

const b64 = (n: number) => Buffer.alloc(n, 7).toString('base64url');
const json = (v: unknown) => Buffer.from(JSON.stringify(v));
const H = { 'Content-Type': 'application/json' };

/** Fixed hostile cases: each names a distinct way to be wrong. */
const fixed: Req[] = [
  { method: 'POST', path: '/v1/session/hello', headers: H, body: Buffer.from('{') },
  { method: 'POST', path: '/v1/session/hello', headers: H, body: Buffer.from('') },
  { method: 'POST', path: '/v1/session/hello', headers: H, body: Buffer.from('null') },
  { method: 'POST', path: '/v1/session/hello', headers: H, body: Buffer.from('[1,2,3]') },
  { method: 'POST', path: '/v1/session/hello', headers: H, body: Buffer.from('"x"') },
  { method: 'POST', path: '/v1/session/hello', headers: H, body: Buffer.from([0xff, 0xfe, 0x00, 0x7b]) },
  { method: 'POST', path: '/v1/session/hello', headers: { 'Content-Type': 'text/plain' }, body: json({}) },
  { method: 'POST', path: '/v1/session/hello', headers: {}, body: json({}) },
  { method: 'POST', path: '/v1/session/hello', headers: H, body: Buffer.alloc(70 * 1024, 0x20) },
  { method: 'POST', path: '/v1/session/hello', headers: H, body: json({ deviceId: LAB_ID }) },
  { method: 'POST', path: '/v1/session/hello', headers: H, body: json({ deviceId: LAB_ID, nonce: b64(31) }) },
  {
    method: 'POST',
    path: '/v1/session/hello',
    headers: H,
    body: json({ deviceId: LAB_ID, nonce: `${b64(32)}=` }),
  },
  {
    method: 'POST',
    path: '/v1/session/hello',
    headers: H,
    body: json({ deviceId: 'k7q2m6x', nonce: b64(32) }),
  },
  {
    method: 'POST',
    path: '/v1/session/hello',
    headers: H,
    body: json({ deviceId: 'AAAAAAAA', nonce: b64(32) }),
  },
  {
    method: 'POST',
    path: '/v1/session/hello',
    headers: H,
    body: json({ deviceId: LAB_ID, nonce: b64(32), x: 1 }),
  },
  {
    method: 'POST',
    path: '/v1/session/hello',
    headers: H,
    body: Buffer.from('{"__proto__":{"a":1},"deviceId":1}'),
  },
  { method: 'POST', path: '/v1/session/pake1', headers: H, body: json({ sid: b64(16), shareP: b64(65) }) },
  { method: 'POST', path: '/v1/session/pake1', headers: H, body: json({ sid: 'x', shareP: 'y' }) },
  { method: 'POST', path: '/v1/session/pake2', headers: H, body: json({ sid: b64(16), confirmP: b64(32) }) },
  { method: 'POST', path: '/v1/rpc', headers: H, body: json({ sid: b64(16), ctr: 1, ct: b64(40) }) },
  { method: 'POST', path: '/v1/rpc', headers: H, body: json({ sid: b64(16), ctr: -1, ct: b64(40) }) },
  { method: 'POST', path: '/v1/rpc', headers: H, body: json({ sid: b64(16), ctr: 1.5, ct: b64(40) }) },
  { method: 'POST', path: '/v1/rpc', headers: H, body: json({ sid: b64(16), ctr: 1e300, ct: b64(40) }) },
  { method: 'POST', path: '/v1/rpc', headers: H, body: json({ sid: b64(16), ctr: '1', ct: 5 }) },
  { method: 'GET', path: '/v1/rpc', headers: {} },
  { method: 'DELETE', path: '/v1/info', headers: {} },
  { method: 'PUT', path: '/v1/status', headers: H, body: json({}) },
  { method: 'GET', path: '/v1/nope', headers: {} },
  { method: 'GET', path: '/../../etc/passwd', headers: {} },
  { method: 'GET', path: '/v1/info%00', headers: {} },
  { method: 'GET', path: '/v1/info', headers: { Host: 'evil.example' } },
  { method: 'GET', path: '/v1/info', headers: { Host: 'airlift-k7q2m6xa.local.evil.example' } },
  { method: 'GET', path: '/v1/info', headers: { Host: '' } },
  { method: 'GET', path: '/v1/info', headers: { Origin: 'http://evil.example' } },
  { method: 'GET', path: '/v1/info', headers: { Origin: 'null' } },
  { method: 'GET', path: '/v1/info', headers: { Origin: 'file://' } },
  { method: 'GET', path: '/v1/status', headers: { 'Sec-Fetch-Site': 'cross-site' } },
  {
    method: 'POST',
    path: '/v1/session/hello',
    headers: { ...H, Origin: 'http://192.168.1.66' },
    body: json({}),
  },
];

/** Random JSON bodies for the POST endpoints. */
const randomBodies = fc.sample(
  fc.record({
    path: fc.constantFrom('/v1/session/hello', '/v1/session/pake1', '/v1/session/pake2', '/v1/rpc'),
    body: fc.oneof(
      fc.json(),
      fc.string(),
      fc.uint8Array({ maxLength: 256 }).map((b) => Buffer.from(b).toString('latin1')),
      fc
        .record({ sid: fc.string(), ctr: fc.oneof(fc.integer(), fc.double()), ct: fc.string() })
        .map((o) => JSON.stringify(o)),
      fc
        .record({ deviceId: fc.string({ maxLength: 10 }), nonce: fc.string({ maxLength: 50 }) })
        .map((o) => JSON.stringify(o)),
    ),
  }),
  { numRuns: 2000, seed: 4780 },
);

let device: LabDevice;
beforeAll(async () => {
  device = await startLabDevice({
    deviceId: LAB_ID,
    setupSecret: LAB_SECRET,
    timeScale: 0,
    config: { mdns: { mode: 'off' } },
  });
});
afterAll(async () => {
  await device.close();
});

function send(agent: HttpAgent, r: Req): Promise<{ status: number; body: string }> {
  const u = new URL(device.url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: u.hostname,
        port: u.port,
        agent,
        method: r.method,
        path: r.path,
        headers: r.headers,
        setHost: !('Host' in r.headers),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    if (r.body) req.write(r.body);
    req.end();
  });
}

describe('malformed requests', () => {
  it('answers 10,000 of them with 4xx JSON errors and keeps serving', async () => {
    const corpus: Req[] = [
      ...fixed,
      ...randomBodies.map((r) => ({ method: 'POST', path: r.path, headers: H, body: Buffer.from(r.body) })),
    ];
    const agent = new HttpAgent({ keepAlive: true, maxSockets: 8 });
    const codes = new Map<string, number>();
    const total = 10_000;
    let next = 0;
    const worker = async () => {
      while (next < total) {
        const r = corpus[next++ % corpus.length];
        if (!r) break;
        const res = await send(agent, r);
        expect(
          res.status,
          `${r.method} ${r.path} → ${res.status} ${res.body.slice(0, 200)}`,
        ).toBeGreaterThanOrEqual(400);
        expect(res.status).toBeLessThan(500);
        const body = JSON.parse(res.body) as { error: { code: string; message: string; retryable: boolean } };
        expect(errorCodes).toContain(body.error.code);
        expect(typeof body.error.message).toBe('string');
        codes.set(body.error.code, (codes.get(body.error.code) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    agent.destroy();
    // Every distinct kind of refusal was exercised.
    for (const code of [
      'BAD_REQUEST',
      'UNSUPPORTED_MEDIA_TYPE',
      'PAYLOAD_TOO_LARGE',
      'BAD_HOST',
      'FORBIDDEN_ORIGIN',
      'NOT_FOUND',
      'METHOD_NOT_ALLOWED',
      'SESSION_REQUIRED',
      'DEVICE_MISMATCH',
    ]) {
      expect(codes.get(code) ?? 0, code).toBeGreaterThan(0);
    }
    // Still alive, and a real session still works (no handshake slot left stuck).
    const info = await fetch(`${device.url}/v1/info`);
    expect(info.status).toBe(200);
    const session = await open(device);
    await expect(session.call('wifi.list')).resolves.toEqual({ networks: [] });
  }, 120_000);
});
