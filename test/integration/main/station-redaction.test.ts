/**
 * The redaction check over the station service and its web host in an Enterprise job, on the lab
 * fleet with an 802.1X AP in the airspace: a page drives real jobs over the WebSocket (PEAP with the
 * right and a wrong password, EAP-TLS with an encrypted client key and a static IPv4 address, WPA2
 * with a passphrase), asks for every device's log, the history, the reports and their exports, and
 * then everything the station wrote under its state directory, every frame it sent, every HTTP
 * answer and every log line is read: no EAP password, client key (PEM, its base64 body or its DER
 * in hex), key passphrase, PSK or setup secret is in any of it, in plain or JSON-escaped form. The
 * journals do not hold the Enterprise identity either.
 */
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { ssidHexOf, type AccessPointInit } from '../../../lab/airspace';
import { LABNET } from '../../../lab/fleet';
import { startLabStationParts, type LabStationParts } from '../../../lab/lab-station';
import { MemorySecretStore } from '../../../main/station/secret-store';
import { StationService } from '../../../main/station/service';
import { startWebHost, type WebHost } from '../../../main/station/web-host';
import type { JobReport } from '../../../shared/protocol/job';
import { serverFrameSchema, type Profile, type StationSnapshot } from '../../../shared/station-api';
import { KEY_PASSPHRASE, PKI } from '../../fixtures/pki/pki';

const TOKEN = 'redaction-token-0123456789abcdef';
const PASSWORD = 'Ent3rprise "pw" \\ }';
const WRONG_PASSWORD = 'Wr0ng "secret" \\ also';
const IDENTITY = 'jane.doe@hospital.example';
const TLS_IDENTITY = 'device-17@hospital.example';
const HOSPITAL = 'Hospital-Staff';

const HOSPITAL_AP: AccessPointInit = {
  ssidHex: ssidHexOf(HOSPITAL),
  bssid: '02:00:00:00:01:07',
  security: 'enterprise',
  enterprise: {
    methods: ['peap', 'ttls', 'tls'],
    users: [{ identity: IDENTITY, password: PASSWORD }],
    serverCert: PKI.server,
    clientCas: [PKI.ca],
  },
  frequency: 2462,
  signal: -50,
  subnet: '192.168.100.0/24',
  internet: true,
};

let parts: LabStationParts;
let service: StationService;
let host: WebHost;
let port: number;
const logLines: string[] = [];

beforeAll(async () => {
  parts = await startLabStationParts({ devices: 5, adapters: 1, timeScale: 0.02 });
  parts.fleet.airspace.addAp(HOSPITAL_AP);
  const log = (level: string, message: string) => void logLines.push(`${level}: ${message}`);
  // As lab/station.ts assembles it, with the service's and the host's log lines kept.
  service = new StationService({
    env: parts.env,
    dataDir: join(parts.dir, 'station'),
    jobsDir: join(parts.dir, 'jobs'),
    secrets: new MemorySecretStore(),
    info: { version: '0.1.0-lab', host: 'web', lab: true },
    scanIntervalMs: 300,
    log,
  });
  await service.start();
  await parts.prepare(service, false);
  const uiDir = join(parts.dir, 'ui');
  await mkdir(join(uiDir, 'assets'), { recursive: true });
  await writeFile(join(uiDir, 'index.html'), '<!doctype html><title>t</title>');
  await writeFile(join(uiDir, 'assets', 'app.js'), 'export {}');
  host = await startWebHost({ service, rendererDir: uiDir, port: 0, token: TOKEN, log });
  port = host.port;
}, 60_000);

afterAll(async () => {
  await host.close();
  await service.settled();
  await service.stop();
  await parts.close();
});

function get(path: string, headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', headers, setHost: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve(`${res.statusCode ?? 0} ${JSON.stringify(res.headers)}\n${Buffer.concat(chunks).toString()}`),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** An authenticated page: every frame it receives is kept as sent. */
async function page() {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { origin: `http://127.0.0.1:${port}` });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const raw: string[] = [];
  const waiting = new Map<number, (ok: boolean, value: unknown) => void>();
  let next = 1;
  ws.on('message', (data: Buffer) => {
    raw.push(data.toString());
    const f = serverFrameSchema.parse(JSON.parse(data.toString()));
    if (f.t === 'reply') waiting.get(f.id)?.(f.ok, f.ok ? f.result : f.error);
  });
  const ready = new Promise<void>((resolve) => ws.once('message', () => resolve()));
  ws.send(JSON.stringify({ t: 'auth', token: TOKEN }));
  await ready;
  const call = <T = unknown>(method: string, params: unknown = {}) =>
    new Promise<T>((resolve, reject) => {
      const id = next++;
      waiting.set(id, (ok, value) => {
        waiting.delete(id);
        if (ok) resolve(value as T);
        else {
          const e = value as { code: string; message: string };
          reject(new Error(`${e.code}: ${e.message}`));
        }
      });
      ws.send(JSON.stringify({ t: 'call', id, method, params }));
    });
  return { ws, raw, call };
}

type Page = Awaited<ReturnType<typeof page>>;

/** Pre-flight, run, and the job's report, as the UI does it. */
async function runJob(p: Page, deviceIds: string[], profileId: string): Promise<JobReport> {
  await p.call('runPreflight', { deviceIds, profileId, options: { path: 'ap' }, survey: false });
  const { jobId } = await p.call<{ jobId: string }>('startJob', {
    deviceIds,
    profileId,
    options: { path: 'ap' },
  });
  await service.settled();
  return (await p.call<{ report: JobReport }>('getReport', { jobId })).report;
}

/** Every file under `dir`, as text. */
async function allText(dir: string): Promise<{ names: string[]; text: string }> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter((d) => d.isFile()).map((d) => join(d.parentPath, d.name));
  const texts = await Promise.all(files.map((f) => readFile(f, 'utf8')));
  return { names: files, text: texts.join('\n') };
}

/** A secret as it would appear in text: as is, and JSON-escaped (quotes and backslashes). */
function forms(secret: string): string[] {
  return [...new Set([secret, JSON.stringify(secret).slice(1, -1)])];
}

/** The client key's material: the PEM, every line of its base64 body, the body whole, its DER as hex. */
function keyForms(pem: string): string[] {
  const body = pem.split('\n').filter((l) => l !== '' && !l.startsWith('-----'));
  const joined = body.join('');
  return [
    ...forms(pem.trim()),
    ...body,
    joined,
    Buffer.from(joined, 'base64').toString('hex'),
    'PRIVATE KEY',
  ];
}

describe('redaction over the station service and the web host in Enterprise jobs', () => {
  it('no secret in the station’s files, frames, HTTP answers, device logs, reports or log lines', async () => {
    const p = await page();
    const manifest = await readFile(parts.manifestPath, 'utf8');
    const setupSecrets = parts.fleet.manifest.map((m) => m.setupSecret);
    expect(setupSecrets.length).toBe(5);
    await p.call('importManifest', { fileName: 'lab.csv', text: manifest });
    const snap = await p.call<StationSnapshot>('getSnapshot');
    const ids = snap.devices.map((d) => d.id).sort();
    expect(ids.length).toBe(5);
    const [d0, d1, d2, d3, d4] = ids as [string, string, string, string, string];

    const peap = await p.call<Profile>('saveProfile', {
      name: 'Hospital staff',
      ssid: HOSPITAL,
      security: 'wpa2-enterprise',
      eap: {
        method: 'peap',
        identity: IDENTITY,
        password: PASSWORD,
        caCert: PKI.caWithText,
        domainMatch: 'lab.example',
      },
    });
    const wrong = await p.call<Profile>('saveProfile', {
      name: 'Hospital staff (old password)',
      ssid: HOSPITAL,
      security: 'wpa2-enterprise',
      eap: { method: 'peap', identity: IDENTITY, password: WRONG_PASSWORD, caCert: PKI.ca },
    });
    const tls = await p.call<Profile>('saveProfile', {
      name: 'Hospital devices',
      ssid: HOSPITAL,
      security: 'wpa3-enterprise',
      eap: {
        method: 'tls',
        identity: TLS_IDENTITY,
        caCert: PKI.ca,
        clientCert: PKI.client,
        clientKey: PKI.clientKeyEncrypted,
        clientKeyPassphrase: KEY_PASSPHRASE,
      },
      ipv4: { address: '192.168.100.50/24', gateway: '192.168.100.1', dns: ['192.168.100.1'] },
    });
    const psk = await p.call<Profile>('saveProfile', {
      name: 'LabNet',
      ssid: LABNET.ssid,
      security: 'wpa2-psk',
      password: LABNET.passphrase,
    });
    for (const profile of [peap, wrong, tls, psk]) expect(profile.password.held).toBe(true);
    expect(tls.eap).toMatchObject({ clientKeySet: true, clientKeyPassphraseSet: true });

    // The jobs really ran: verified on the Enterprise network (TLS at its static address), a wrong
    // password failed on the device, and WPA2 verified too.
    const good = await runJob(p, [d0, d1], peap.id);
    expect(good.summary).toMatchObject({ total: 2, verified: 2, failed: 0 });
    const bad = await runJob(p, [d2], wrong.id);
    expect(bad.summary).toMatchObject({ total: 1, failed: 1 });
    expect(bad.devices[0]?.reason).toBe('auth_failed');
    const viaTls = await runJob(p, [d3], tls.id);
    expect(viaTls.summary).toMatchObject({ total: 1, verified: 1 });
    expect(viaTls.devices[0]?.ip).toBe('192.168.100.50');
    const viaPsk = await runJob(p, [d4], psk.id);
    expect(viaPsk.summary).toMatchObject({ total: 1, verified: 1 });

    // Everything a page can ask for afterwards.
    const answers: unknown[] = [await p.call('getSnapshot'), await p.call('listJobs')];
    for (const id of ids) answers.push(await p.call('getDeviceLog', { deviceId: id }));
    const jobs = (await p.call<{ jobs: { id: string }[] }>('listJobs')).jobs;
    expect(jobs.length).toBe(4);
    for (const j of jobs) {
      answers.push(await p.call('getReport', { jobId: j.id }));
      answers.push(await p.call('exportReport', { jobId: j.id, format: 'csv' }));
      answers.push(await p.call('exportReport', { jobId: j.id, format: 'json' }));
    }
    answers.push(await p.call('listHeardNetworks', { deviceIds: ids }));
    answers.push(
      await p.call('runPreflight', { deviceIds: [d0], profileId: tls.id, options: { path: 'ap' } }),
    );
    const logs = answers.slice(2, 2 + ids.length) as { lines: { text: string }[] }[];
    // The device logs say what happened, so an empty log cannot pass for a clean one.
    expect(logs.every((l) => l.lines.length > 0)).toBe(true);
    expect(JSON.stringify(logs)).toContain('failed: auth_failed');
    const own = `127.0.0.1:${port}`;
    const http = [
      await get('/', { Host: own }),
      await get('/assets/app.js', { Host: own }),
      await get('/nope', { Host: own }),
      await get('/', { Host: 'evil.example' }),
    ];
    p.ws.close();

    const stateDir = await allText(join(parts.dir, 'station'));
    const jobsDir = await allText(join(parts.dir, 'jobs'));
    // The station wrote its profiles and settings, and one journal per job.
    expect(stateDir.names.some((n) => n.endsWith('profiles.json'))).toBe(true);
    expect(jobsDir.names.filter((n) => n.endsWith('.jsonl')).length).toBe(4);
    expect(stateDir.text).toContain('BEGIN CERTIFICATE');

    const everything = [
      stateDir.text,
      jobsDir.text,
      ...p.raw,
      JSON.stringify(answers),
      ...http,
      ...logLines,
    ].join('\n');
    const secrets = [
      ...forms(PASSWORD),
      ...forms(WRONG_PASSWORD),
      ...forms(KEY_PASSPHRASE),
      ...keyForms(PKI.clientKeyEncrypted),
      ...forms(LABNET.passphrase),
      ...setupSecrets,
    ];
    for (const s of secrets) expect(everything.includes(s), `leaked: ${s.slice(0, 40)}`).toBe(false);
    // The journals leave the Enterprise identity out (personal data); the profile keeps it.
    for (const id of [IDENTITY, TLS_IDENTITY]) expect(jobsDir.text.includes(id), id).toBe(false);
  }, 120_000);
});
