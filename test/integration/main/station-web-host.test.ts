/**
 * `airlift station` on the lab fleet, driven the way a page (and an attacker's page) would: the
 * host refuses foreign Host and Origin headers and a missing or wrong token, on HTTP and on the
 * WebSocket; an authenticated page runs a whole job over the station API; and no frame the station
 * sends, no log line and no exported report carries the target password or a setup secret.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startLabStation, type LabStation } from '../../../lab/station';
import { LABNET } from '../../../lab/fleet';
import { serverFrameSchema, type ServerFrame } from '../../../shared/station-api';

const TOKEN = 'test-token-0123456789abcdef';

let station: LabStation;
let uiDir: string;
const logLines: string[] = [];

function get(
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: station.port, path, method: 'GET', headers, setHost: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Open a WebSocket with the given headers; resolves with the HTTP status of a refused upgrade, or the socket. */
function connect(headers: Record<string, string>): Promise<{ ws?: WebSocket; status?: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${station.port}/ws`, { headers, origin: headers['Origin'] });
    ws.on('open', () => resolve({ ws }));
    ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0 }));
    ws.on('error', () => resolve({ status: -1 }));
  });
}

const GOOD = { Host: '', Origin: '' };

/** An authenticated page: every frame it receives is kept. */
async function page() {
  const { ws } = await connect(GOOD);
  if (!ws) throw new Error('no socket');
  const frames: ServerFrame[] = [];
  const raw: string[] = [];
  let next = 1;
  const waiting = new Map<number, (f: ServerFrame) => void>();
  ws.on('message', (data: Buffer) => {
    raw.push(data.toString());
    const f = serverFrameSchema.parse(JSON.parse(data.toString()));
    frames.push(f);
    if (f.t === 'reply') waiting.get(f.id)?.(f);
  });
  const ready = new Promise<void>((resolve) => ws.once('message', () => resolve()));
  ws.send(JSON.stringify({ t: 'auth', token: TOKEN }));
  await ready;
  const call = (method: string, params: unknown = {}) =>
    new Promise<unknown>((resolve, reject) => {
      const id = next++;
      waiting.set(id, (f) => {
        if (f.t !== 'reply') return;
        if (f.ok) resolve(f.result);
        else reject(new Error(`${f.error.code}: ${f.error.message}`));
      });
      ws.send(JSON.stringify({ t: 'call', id, method, params }));
    });
  return { ws, frames, raw, call };
}

beforeAll(async () => {
  // A stand-in UI: these tests are about the host, the browser tests build the real one.
  uiDir = await mkdtemp(join(tmpdir(), 'airlift-ui-stub-'));
  await mkdir(join(uiDir, 'assets'));
  await writeFile(join(uiDir, 'index.html'), '<!doctype html><title>t</title>');
  await writeFile(join(uiDir, 'assets', 'app.js'), 'export {}');
  const origWrite = process.stderr.write.bind(process.stderr);
  process.stderr.write = (chunk: string | Uint8Array, ...rest: never[]) => {
    logLines.push(String(chunk));
    return origWrite(chunk, ...rest);
  };
  station = await startLabStation({
    devices: 4,
    adapters: 2,
    faults: true,
    timeScale: 0.02,
    port: 0,
    rendererDir: uiDir,
    token: TOKEN,
    scanIntervalMs: 500,
  });
  GOOD.Host = `127.0.0.1:${station.port}`;
  GOOD.Origin = `http://127.0.0.1:${station.port}`;
}, 60_000);

afterAll(async () => {
  await station.close();
  await rm(uiDir, { recursive: true, force: true });
});

describe('the web host refuses what is not its own page', () => {
  it('serves the UI to its own Host with a strict CSP, and nothing to another', async () => {
    const ok = await get('/', { Host: GOOD.Host });
    expect(ok.status).toBe(200);
    expect(ok.headers['content-security-policy']).toContain("default-src 'none'");
    expect(ok.headers['referrer-policy']).toBe('no-referrer');
    expect(ok.headers['access-control-allow-origin']).toBeUndefined();
    for (const Host of [
      'evil.example',
      `127.0.0.1.evil.example:${station.port}`,
      `evil.example:${station.port}`,
      '127.0.0.1',
    ]) {
      const r = await get('/', { Host });
      expect(r.status, Host).toBe(421);
      expect(r.body).not.toContain('<!doctype');
    }
    expect((await get('/../../etc/passwd', { Host: GOOD.Host })).status).toBe(404);
  });

  it('refuses WebSocket upgrades from a foreign Host or Origin, or without one', async () => {
    expect((await connect({ Host: 'evil.example', Origin: GOOD.Origin })).status).toBe(421);
    expect(
      (await connect({ Host: `127.0.0.1.evil.example:${station.port}`, Origin: GOOD.Origin })).status,
    ).toBe(421);
    expect((await connect({ Host: GOOD.Host, Origin: 'http://evil.example' })).status).toBe(403);
    expect(
      (await connect({ Host: GOOD.Host, Origin: `http://127.0.0.1.evil.example:${station.port}` })).status,
    ).toBe(403);
    expect((await connect({ Host: GOOD.Host })).status).toBe(403);
  });

  it('closes a socket that sends a wrong token, a call before auth, or nothing', async () => {
    const closeOf = async (first?: unknown) => {
      const { ws } = await connect(GOOD);
      if (!ws) throw new Error('no socket');
      const frames: string[] = [];
      ws.on('message', (d: Buffer) => frames.push(d.toString()));
      const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
      if (first !== undefined) ws.send(JSON.stringify(first));
      const code = await closed;
      return { code, frames };
    };
    expect(await closeOf({ t: 'auth', token: 'wrong' })).toEqual({ code: 4401, frames: [] });
    expect(await closeOf({ t: 'call', id: 1, method: 'getSnapshot', params: {} })).toEqual({
      code: 4401,
      frames: [],
    });
    expect((await closeOf({ t: 'auth', token: TOKEN.slice(0, -1) })).code).toBe(4401);
    expect((await closeOf()).code).toBe(4408);
  }, 15_000);

  it('answers a bad call with a code and a message, and keeps the socket', async () => {
    const p = await page();
    await expect(p.call('noSuchMethod')).rejects.toThrow(/^UNKNOWN_METHOD/);
    await expect(p.call('startJob', { deviceIds: ['nope'] })).rejects.toThrow(/^BAD_REQUEST/);
    await expect(p.call('getSnapshot')).resolves.toMatchObject({ info: { lab: true, host: 'web' } });
    p.ws.close();
  });
});

describe('a job over the station API', () => {
  it('runs, reports failures by reason, and no secret ever leaves the station', async () => {
    const p = await page();
    const manifest = await readFile(station.manifestPath, 'utf8');
    const secrets = manifest
      .split(/\r?\n/)
      .slice(1)
      .filter(Boolean)
      .map((line) => line.split(',')[1] ?? '');
    expect(secrets.length).toBe(7);
    await p.call('importManifest', { fileName: 'lab.csv', text: manifest });
    const profile = (await p.call('saveProfile', {
      name: 'LabNet',
      ssid: LABNET.ssid,
      security: 'wpa2-psk',
      password: LABNET.passphrase,
    })) as { id: string; password: { held: boolean } };
    expect(profile.password.held).toBe(true);
    const snap = (await p.call('getSnapshot')) as { devices: { id: string }[] };
    const ids = snap.devices.map((d) => d.id);
    expect(ids.length).toBe(7);
    const pre = (await p.call('runPreflight', {
      deviceIds: ids,
      profileId: profile.id,
      options: { path: 'ap' },
    })) as { canStart: boolean };
    expect(pre.canStart).toBe(true);
    const { jobId } = (await p.call('startJob', {
      deviceIds: ids,
      profileId: profile.id,
      options: { path: 'ap' },
    })) as { jobId: string };
    await station.service.settled();
    const { report } = (await p.call('getReport', { jobId })) as {
      report: { summary: { verified: number; failed: number }; groups: { reason: string }[] };
    };
    expect(report.summary).toMatchObject({ verified: 4, failed: 3 });
    expect(report.groups.map((g) => g.reason).sort()).toEqual([
      'auth_failed',
      'dhcp_timeout',
      'target_not_seen',
    ]);
    const csv = (await p.call('exportReport', { jobId, format: 'csv' })) as { content: string };
    const json = (await p.call('exportReport', { jobId, format: 'json' })) as { content: string };
    const everything = [...p.raw, csv.content, json.content, ...logLines].join('\n');
    expect(p.frames.some((f) => f.t === 'event' && f.name === 'jobDevices')).toBe(true);
    expect(everything).not.toContain(LABNET.passphrase);
    for (const s of secrets) expect(everything).not.toContain(s);
    p.ws.close();
  }, 60_000);
});
