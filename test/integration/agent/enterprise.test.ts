/**
 * Site networks end to end on the real agent (core, session, HTTP, file store) around the sim radio:
 * an 802.1X access point in the airspace whose RADIUS server checks methods, accounts and
 * certificates (lab/airspace.ts), reached as the station reaches a device (a SPAKE2+ session,
 * `wifi.set`), with static IPv4. And the redaction check: no password, private key or key passphrase
 * in the logs, the public answers, `wifi.list`, or any state file but the 0600 ones that must keep
 * them (networks.json, certs/).
 */
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../agent/log';
import { Airspace, ssidHexOf, type AccessPointInit } from '../../../lab/airspace';
import { startLabDevice, type LabDevice } from '../../../lab/lab-device';
import { AirliftError } from '../../../shared/errors';
import type { DeviceStatus, SavedNetworkSummary, WifiSetResult } from '../../../shared/protocol/api';
import type { NetworkInputRaw } from '../../../shared/protocol/network-input';
import type { SecureSession } from '../../../shared/session/client';
import { KEY_PASSPHRASE, PKI } from '../../fixtures/pki/pki';
import { getJson, LAB_ID, LAB_SECRET, open, status, waitFor } from '../../helpers/lab';

const IDENTITY = `o'brien "the}#\\ one"`;
const PASSWORD = 'pa}ss"#\\word ünï';
const CORP = 'CorpNet';

const CORP_AP: AccessPointInit = {
  ssidHex: ssidHexOf(CORP),
  bssid: '02:00:00:00:01:01',
  security: 'enterprise',
  enterprise: {
    methods: ['peap', 'ttls', 'tls'],
    ttlsPhase2: ['mschapv2'],
    users: [{ identity: IDENTITY, password: PASSWORD }],
    serverCert: PKI.server,
    clientCas: [PKI.ca],
  },
  frequency: 2462,
  signal: -50,
  subnet: '192.168.100.0/24',
  internet: true,
};

const peap = (eap: Record<string, unknown> = {}, extra: Partial<NetworkInputRaw> = {}): NetworkInputRaw => ({
  ssid: CORP,
  security: 'wpa2-enterprise',
  eap: {
    method: 'peap',
    identity: IDENTITY,
    anonymousIdentity: 'anonymous@lab.example',
    password: PASSWORD,
    caCert: PKI.caWithText,
    domainMatch: 'lab.example',
    ...eap,
  },
  ...extra,
});

const tls = (cert = PKI.client, key = PKI.clientKeyEncrypted): NetworkInputRaw => ({
  ssid: CORP,
  security: 'wpa3-enterprise',
  eap: {
    method: 'tls',
    identity: 'device-01@lab.example',
    caCert: PKI.ca,
    clientCert: cert,
    clientKey: key,
    ...(key === PKI.clientKeyEncrypted ? { clientKeyPassphrase: KEY_PASSPHRASE } : {}),
  },
});

/** Secrets that must appear nowhere but networks.json and certs/ (the key's base64 body, too). */
const SECRETS = [
  PASSWORD,
  KEY_PASSPHRASE,
  PKI.clientKeyEncrypted.split('\n')[1] ?? '',
  PKI.clientKey.split('\n')[1] ?? '',
  PKI.rogueClientKey.split('\n')[1] ?? '',
];

interface Rig {
  device: LabDevice;
  stateDir: string;
  logs: string[];
  answers: string[];
  session: SecureSession;
}

const rigs: Rig[] = [];

async function rig(): Promise<Rig> {
  const stateDir = await mkdtemp(join(tmpdir(), 'airlift-enterprise-'));
  const logs: string[] = [];
  const airspace = Airspace.withDefaults();
  airspace.addAp(CORP_AP);
  const device = await startLabDevice({
    deviceId: LAB_ID,
    setupSecret: LAB_SECRET,
    timeScale: 0,
    airspace,
    stateDir,
    logger: createLogger({ level: 'debug', destination: { write: (line: string) => logs.push(line) } }),
    config: { setup: { teardownDelayMs: 0, lingerSeconds: 0 }, mdns: { mode: 'off' } },
  });
  await waitFor(
    () => status(device),
    (s) => s.state === 'setup',
    'setup',
  );
  const r: Rig = { device, stateDir, logs, answers: [], session: await open(device) };
  rigs.push(r);
  return r;
}

afterEach(async () => {
  for (const r of rigs.splice(0)) {
    await r.device.close();
    await rm(r.stateDir, { recursive: true, force: true });
  }
});

/** Calls through the session, keeping every answer for the redaction check. */
async function call(r: Rig, method: string, params?: unknown): Promise<unknown> {
  const answer = await r.session.callRaw(method, params);
  r.answers.push(JSON.stringify(answer));
  return answer;
}

async function push(
  r: Rig,
  network: NetworkInputRaw,
  extra: Record<string, unknown> = {},
): Promise<DeviceStatus> {
  const { attemptId } = (await call(r, 'wifi.set', { networks: [network], ...extra })) as WifiSetResult;
  const s = await waitFor(
    () => status(r.device),
    (s) => s.lastAttempt?.id === attemptId && s.lastAttempt.result !== 'pending',
    'the attempt to end',
  );
  r.answers.push(JSON.stringify(s));
  // A failure reopens setup (or goes back to the network it had); wait so the next push finds it ready.
  if (s.lastAttempt?.result === 'failed')
    await waitFor(
      () => status(r.device),
      (x) => (x.state === 'setup' && x.setupAp.up) || x.state === 'online',
      'the device back where it was',
    );
  return s;
}

async function list(r: Rig): Promise<SavedNetworkSummary[]> {
  return ((await call(r, 'wifi.list')) as { networks: SavedNetworkSummary[] }).networks;
}

async function certFiles(r: Rig): Promise<string[]> {
  return (await readdir(join(r.stateDir, 'certs')).catch(() => [] as string[])).sort();
}

/** The certificate files once the store's writes behind a change have landed. */
function certFilesSettled(r: Rig, count: number): Promise<string[]> {
  return waitFor(
    () => certFiles(r),
    (files) => files.length === count,
    `${count} certificate files`,
  );
}

/** Every file under `dir`, with its mode and text. */
async function filesUnder(dir: string): Promise<{ path: string; mode: number; text: string }[]> {
  const out: { path: string; mode: number; text: string }[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      out.push(...(await filesUnder(path)));
      continue;
    }
    // A write in flight renames its temp file away meanwhile: what is gone was never kept.
    const info = await stat(path).catch(() => undefined);
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (info && text !== undefined) out.push({ path, mode: info.mode & 0o777, text });
  }
  return out;
}

/** Nothing but networks.json and certs/ holds a secret, and those are 0600 in a 0700 directory. */
async function expectRedacted(r: Rig): Promise<void> {
  expect(r.logs.length).toBeGreaterThan(0);
  const publicTexts = [
    ...r.logs,
    ...r.answers,
    JSON.stringify(await getJson(r.device, '/v1/info')),
    JSON.stringify(await status(r.device)),
  ];
  for (const secret of SECRETS) {
    for (const text of publicTexts)
      expect(text.includes(secret), `a secret in: ${text.slice(0, 200)}`).toBe(false);
  }
  expect((await stat(r.stateDir)).mode & 0o777).toBe(0o700);
  for (const file of await filesUnder(r.stateDir)) {
    const holder = file.path.endsWith('networks.json') || file.path.includes(`${join(r.stateDir, 'certs')}/`);
    if (holder) expect(file.mode, file.path).toBe(0o600);
    else for (const secret of SECRETS) expect(file.text.includes(secret), file.path).toBe(false);
  }
}

describe('an Enterprise network in the airspace', () => {
  it('joins with PEAP: the right identity and password, the CA and domain checked', async () => {
    const r = await rig();
    const s = await push(r, peap());
    expect(s.lastAttempt).toMatchObject({ result: 'ok', addressing: 'dhcp' });
    expect(s.lastAttempt?.ip).toMatch(/^192\.168\.100\./);
    const [saved] = await list(r);
    expect(saved).toMatchObject({
      ssid: CORP,
      security: 'wpa2-enterprise',
      eap: {
        method: 'peap',
        phase2: 'mschapv2',
        identity: IDENTITY,
        anonymousIdentity: 'anonymous@lab.example',
        serverValidation: 'ca-and-domain',
        domainMatch: 'lab.example',
      },
    });
    // The CA, written anew from its DER (no `openssl -text` around it), 0600.
    const [ca] = await certFiles(r);
    expect(await readFile(join(r.stateDir, 'certs', ca ?? ''), 'utf8')).toBe(PKI.ca);
    await expectRedacted(r);
  });

  it('refuses a wrong password (auth_failed) and a wrong identity, and keeps no certificate of theirs', async () => {
    const r = await rig();
    expect((await push(r, peap({ password: 'not it' }))).lastAttempt?.reason).toBe('auth_failed');
    expect((await push(r, peap({ identity: 'mallory' }))).lastAttempt?.reason).toBe('auth_failed');
    expect(await list(r)).toEqual([]);
    expect(await certFilesSettled(r, 0)).toEqual([]);
    await expectRedacted(r);
  });

  it('refuses a server its CA did not sign, or whose name is not the domain: cert_rejected', async () => {
    const r = await rig();
    expect((await push(r, peap({ caCert: PKI.rogueCa }))).lastAttempt?.reason).toBe('cert_rejected');
    expect((await push(r, peap({ domainMatch: 'example.org' }))).lastAttempt?.reason).toBe('cert_rejected');
  });

  it('an inner method the server does not take is eap_failed', async () => {
    const r = await rig();
    const s = await push(r, peap({ method: 'ttls', phase2: 'pap' }));
    expect(s.lastAttempt?.reason).toBe('eap_failed');
  });

  it('joins without a CA only when told, and says so in wifi.list and the log', async () => {
    const r = await rig();
    const s = await push(
      r,
      peap({ caCert: undefined, domainMatch: undefined, insecureNoCaValidation: true }),
    );
    expect(s.lastAttempt?.result).toBe('ok');
    expect((await list(r))[0]?.eap?.serverValidation).toBe('none');
    expect(r.logs.some((l) => l.includes('insecureNoCaValidation'))).toBe(true);
    // Without the opt-out the same network never leaves the station.
    await expect(
      call(r, 'wifi.set', { networks: [peap({ caCert: undefined, domainMatch: undefined })] }),
    ).rejects.toMatchObject({ code: 'INVALID_EAP' });
  });

  it('joins WPA3-Enterprise with EAP-TLS and an encrypted key; a client certificate of another CA is cert_rejected', async () => {
    const r = await rig();
    // Committed at once, so the change that follows falls back to it.
    const ok = await push(r, tls(), { commit: 'auto' });
    expect(ok.lastAttempt?.result).toBe('ok');
    expect(await certFiles(r)).toHaveLength(3); // the CA, the client certificate, its key
    for (const file of await certFiles(r))
      expect((await stat(join(r.stateDir, 'certs', file))).mode & 0o777).toBe(0o600);
    const rogue = await push(r, tls(PKI.rogueClient, PKI.rogueClientKey));
    expect(rogue.lastAttempt?.reason).toBe('cert_rejected');
    // The failed change was reverted: the files of the network that works are still there, the rogue's are gone.
    const kept = await certFilesSettled(r, 3);
    expect(kept).toHaveLength(3);
    await expectRedacted(r);
  });

  it('refuses, before anything is stored, a key its passphrase does not open or that is not the certificate’s', async () => {
    const r = await rig();
    const wrongPass = {
      ...tls(),
      eap: { ...tls().eap, clientKeyPassphrase: 'not the passphrase' },
    } as NetworkInputRaw;
    await expect(call(r, 'wifi.set', { networks: [wrongPass] })).rejects.toMatchObject({
      code: 'INVALID_PASSPHRASE',
    });
    await expect(
      call(r, 'wifi.set', { networks: [tls(PKI.client, PKI.rogueClientKey)] }),
    ).rejects.toMatchObject({
      code: 'INVALID_CERTIFICATE',
    });
    await expect(call(r, 'wifi.set', { networks: [peap({ caCert: PKI.server })] })).rejects.toBeInstanceOf(
      AirliftError,
    );
    expect(await certFiles(r)).toEqual([]);
    expect((await status(r.device)).state).toBe('setup');
    await expectRedacted(r);
  });

  it('forgetting the network removes its certificate files', async () => {
    const r = await rig();
    await push(r, tls(), { commit: 'auto' });
    expect(await certFiles(r)).toHaveLength(3);
    await call(r, 'wifi.forget', { ssid: CORP });
    expect(await certFilesSettled(r, 0)).toEqual([]);
  });
});

describe('static IPv4', () => {
  it('takes the network’s own address: no DHCP, the attempt and reach say where the device is', async () => {
    const r = await rig();
    const ipv4 = { address: '192.168.100.77/24', gateway: '192.168.100.1', dns: ['192.168.100.1'] };
    const reply = (await call(r, 'wifi.set', { networks: [peap({}, { ipv4 })] })) as WifiSetResult;
    expect(reply.reach).toMatchObject({ ipHint: '192.168.100.77', ipStatic: true });
    const s = await waitFor(
      () => status(r.device),
      (s) => s.lastAttempt?.id === reply.attemptId && s.lastAttempt.result === 'ok',
      'the join',
    );
    expect(s.lastAttempt).toMatchObject({ ip: '192.168.100.77', addressing: 'static' });
    expect(s.network.dhcp4.lease).toEqual({
      ip: '192.168.100.77',
      subnetmask: '255.255.255.0',
      defaultgw: '192.168.100.1',
      nameservers: ['192.168.100.1'],
    });
    expect((await list(r))[0]?.ipv4).toEqual({
      address: '192.168.100.77',
      prefixLength: 24,
      gateway: '192.168.100.1',
      dns: ['192.168.100.1'],
    });
  });

  it('refuses an address outside its prefix or a gateway off-link before anything changes', async () => {
    const r = await rig();
    for (const ipv4 of [
      { address: '192.168.100.0/24' },
      { address: '192.168.100.7/24', gateway: '10.0.0.1' },
    ])
      await expect(call(r, 'wifi.set', { networks: [peap({}, { ipv4 })] })).rejects.toMatchObject({
        code: 'INVALID_IPV4',
      });
    expect((await status(r.device)).state).toBe('setup');
  });
});
