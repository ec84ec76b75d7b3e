/**
 * The wpa_supplicant backend's Enterprise blocks against a real RADIUS server: each network goes the
 * device's whole way (the shared schema, the agent's certificate files in a FileStore, the join
 * target, the backend's network block) and is authenticated by wpa_supplicant's own EAP peer
 * (`eapol_test`) against hostapd's integrated RADIUS server (driver none: no radio). The EAP events
 * it prints are read by the backend's parser, so every failure reason is the one a device reports.
 * Needs Debian's hostapd and eapoltest packages; skipped, saying so, without them.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wpaSupplicantConf } from '../../../agent/backends/wpa/config';
import { eapFailureOf, parseEventLine, type WpaEvent } from '../../../agent/backends/wpa/parse';
import { wpaNetworkOf } from '../../../agent/backends/wpa/wpa-radio';
import { joinTargetOf, toIncoming } from '../../../agent/core/site-networks';
import { FileStore } from '../../../agent/store/file-store';
import type { StoredNetwork } from '../../../agent/ports/store';
import { parseNetworkInput, type NetworkInputRaw } from '../../../shared/protocol/network-input';
import { KEY_PASSPHRASE, PKI } from '../../fixtures/pki/pki';

const HOSTAPD = ['/usr/sbin/hostapd'].find((p) => existsSync(p));
const EAPOL_TEST = ['/usr/bin/eapol_test', '/usr/sbin/eapol_test'].find((p) => existsSync(p));
const skip =
  !HOSTAPD || !EAPOL_TEST ? 'hostapd and eapol_test are needed (apt-get install -y hostapd eapoltest)' : '';

/** An account with quotes, braces, backslashes and non-ASCII (hostapd's user file cannot hold `"` in a name). */
const IDENTITY = "o'brien}#\\ ünï";
const PASSWORD = 'pa}ss"#\\word "quoted"';
const RADIUS_SECRET = 'lab-radius-secret';

let dir: string;
let port: number;
let server: ChildProcess | undefined;
let serverLog = '';
let store: FileStore;

function freeUdpPort(): Promise<number> {
  // A TCP port the kernel picked is free often enough for UDP too on a test machine.
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

beforeAll(async () => {
  if (skip) return;
  dir = await mkdtemp(join(tmpdir(), 'airlift-radius-'));
  port = await freeUdpPort();
  const file = (name: string, text: string) => writeFile(join(dir, name), text, { mode: 0o600 });
  await file('ca.pem', PKI.ca);
  await file('server.pem', PKI.server);
  await file('server.key', PKI.serverKey);
  await file('clients', `127.0.0.1/32 ${RADIUS_SECRET}\n`);
  await file(
    'eap_user',
    [
      '"ttls-only@lab.example" TTLS',
      '* PEAP,TTLS,TLS',
      `"${IDENTITY}" MSCHAPV2,TTLS-MSCHAPV2,TTLS-PAP ${Buffer.from(PASSWORD).toString('hex')} [2]`,
      '',
    ].join('\n'),
  );
  await file(
    'hostapd.conf',
    [
      'driver=none',
      `radius_server_clients=${join(dir, 'clients')}`,
      `radius_server_auth_port=${port}`,
      'eap_server=1',
      `eap_user_file=${join(dir, 'eap_user')}`,
      `ca_cert=${join(dir, 'ca.pem')}`,
      `server_cert=${join(dir, 'server.pem')}`,
      `private_key=${join(dir, 'server.key')}`,
      '',
    ].join('\n'),
  );
  server = spawn(HOSTAPD ?? '', [join(dir, 'hostapd.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  server.stdout?.on('data', (d: Buffer) => (serverLog += d.toString()));
  server.stderr?.on('data', (d: Buffer) => (serverLog += d.toString()));
  // Ready once it has read its config (it says so, or fails at once).
  await new Promise((r) => setTimeout(r, 500));
  if (server.exitCode !== null) throw new Error(`hostapd did not start: ${serverLog}`);
  store = new FileStore(join(dir, 'state'));
});

afterAll(async () => {
  if (server?.pid !== undefined) process.kill(server.pid);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The network the device's way into a config file, authenticated by eapol_test: its EAP events and verdict. */
async function authenticate(raw: NetworkInputRaw): Promise<{ ok: boolean; events: WpaEvent[] }> {
  const { incoming, material } = toIncoming([parseNetworkInput(raw)]);
  const net = { ...incoming[0], id: '0a0b0c0d', addedAt: new Date().toISOString() } as StoredNetwork;
  await store.saveNetworkState({ networks: [net] }, material);
  const target = await joinTargetOf(net, store);
  const conf = join(dir, `net-${Math.random().toString(16).slice(2)}.conf`);
  await writeFile(
    conf,
    wpaSupplicantConf({ ctrlInterface: join(dir, 'ctrl'), networks: [wpaNetworkOf(target)] }),
    {
      mode: 0o600,
    },
  );
  const args = [
    '-c',
    conf,
    '-a',
    '127.0.0.1',
    '-p',
    String(port),
    '-s',
    RADIUS_SECRET,
    '-r',
    '0',
    '-t',
    '10',
  ];
  const run = spawnSync(EAPOL_TEST ?? '', args, { encoding: 'utf8', timeout: 20_000 });
  const events = run.stdout
    .split('\n')
    .flatMap((line) => (line.startsWith('CTRL-EVENT-') ? [parseEventLine(`<3>${line}`)] : []))
    .filter((e): e is WpaEvent => e !== undefined);
  return { ok: run.status === 0 && /^SUCCESS$/m.test(run.stdout), events };
}

const peap = (eap: Record<string, unknown> = {}): NetworkInputRaw => ({
  ssid: 'Corp',
  security: 'wpa2-enterprise',
  eap: {
    method: 'peap',
    identity: IDENTITY,
    password: PASSWORD,
    caCert: PKI.caWithText,
    domainMatch: 'lab.example',
    ...eap,
  },
});
const tls = (cert: string, key: string, passphrase?: string): NetworkInputRaw => ({
  ssid: 'Corp',
  security: 'wpa3-enterprise',
  eap: {
    method: 'tls',
    identity: 'device-01@lab.example',
    caCert: PKI.ca,
    clientCert: cert,
    clientKey: key,
    ...(passphrase !== undefined ? { clientKeyPassphrase: passphrase } : {}),
  },
});

describe.skipIf(skip !== '')('Enterprise blocks against a RADIUS server', () => {
  it.each([
    ['PEAP/MSCHAPv2', peap()],
    [
      'TTLS/MSCHAPv2 with an anonymous identity',
      peap({ method: 'ttls', anonymousIdentity: 'anonymous@lab.example' }),
    ],
    ['TTLS/PAP', peap({ method: 'ttls', phase2: 'pap' })],
    [
      'PEAP without checking the server',
      peap({ caCert: undefined, domainMatch: undefined, insecureNoCaValidation: true }),
    ],
    ['EAP-TLS with an encrypted PKCS#8 key', tls(PKI.client, PKI.clientKeyEncrypted, KEY_PASSPHRASE)],
  ])('%s authenticates', async (_label, raw) => {
    const { ok, events } = await authenticate(raw);
    expect(ok, serverLog.slice(-500)).toBe(true);
    expect(eapFailureOf(events, raw.eap?.method as 'peap')).toBeUndefined();
  });

  it.each([
    ['a wrong password', peap({ password: 'not it' }), 'auth_failed'],
    ['an unknown identity', peap({ identity: 'mallory@lab.example' }), 'auth_failed'],
    ['a CA that did not sign the server', peap({ caCert: PKI.rogueCa }), 'cert_rejected'],
    ['a domain the server is not in', peap({ domainMatch: 'example.org' }), 'cert_rejected'],
    [
      'a method the server refuses for the account',
      peap({ identity: 'ttls-only@lab.example' }),
      'eap_failed',
    ],
    ['a client certificate of another CA', tls(PKI.rogueClient, PKI.rogueClientKey), 'cert_rejected'],
  ])('%s fails as %s', async (_label, raw, reason) => {
    const { ok, events } = await authenticate(raw);
    expect(ok).toBe(false);
    expect(eapFailureOf(events, raw.eap?.method as 'peap')?.reason).toBe(reason);
  });
});

if (skip) {
  describe('Enterprise blocks against a RADIUS server', () => {
    it(`SKIPPED: ${skip}`, () => {
      console.warn(`RADIUS check skipped: ${skip}`);
    });
  });
}
