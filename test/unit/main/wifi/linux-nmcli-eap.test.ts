/**
 * The nmcli adapter on an Enterprise target (decision 0012): the 802-1x settings in argv without a
 * secret, certificates and key as 0600 files in a private directory that lives exactly as long as the
 * profile, the password and key passphrase in the passwd-file, and NetworkManager's words mapped.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toHex, utf8Encode } from '../../../../shared/encoding';
import { wifiProfileAddArgs } from '../../../../shared/linux-tools/nmcli-connections';
import { eapInputSchema, type EapConfig } from '../../../../shared/protocol/eap';
import { eapPasswdFile, enterpriseReason, NmcliAdapter } from '../../../../main/wifi/linux-nmcli';
import type { JoinRequest } from '../../../../main/ports/wifi-adapter';
import { KEY_PASSPHRASE, PKI } from '../../../fixtures/pki/pki';
import {
  expectSecretNeverInArgv,
  FakeRunner,
  fixture,
  ipv4,
  manualClock,
  table,
  type Handler,
} from './fakes';

const nm = (name: string) => fixture('nmcli', name);
const SITE_HEX = toHex(utf8Encode('Hospital-Staff'));
const PASSWORD = 'p@ss "with" \\ quotes }';

let tmpRoot: string;
beforeEach(() => {
  tmpRoot = mkdtempSync(join(tmpdir(), 'airlift-eap-test-'));
});
afterEach(() => {
  rmSync(tmpRoot, { recursive: true, force: true });
});

function handler(up?: () => { code: number; stderr?: string }): Handler {
  return (call) => {
    const a = call.args.join(' ');
    if (a.startsWith('connection add')) return { stdout: nm('connection-add.txt') };
    if (a.includes('connection up')) return up ? up() : { stdout: nm('connection-up-ok.txt') };
    if (a.startsWith('connection delete')) return { stdout: nm('connection-delete.txt') };
    if (a.includes('device status')) return { stdout: nm('device-status.txt') };
    if (a.includes('device wifi list')) return { stdout: nm('wifi-list.txt') };
    return { code: 1, stderr: `unexpected: ${a}` };
  };
}

function adapter(h: Handler) {
  const runner = new FakeRunner(h);
  const clock = manualClock();
  const a = new NmcliAdapter('wlan0', {
    runner,
    now: clock.now,
    sleep: clock.sleep,
    tmpRoot,
    randomId: () => '0a1b2c3d',
    interfaces: table({ wlan0: [ipv4('10.20.0.50')] }),
    tcpCheck: () => Promise.resolve(true),
  });
  return { a, runner };
}

const eap = (raw: Record<string, unknown>): EapConfig => eapInputSchema.parse(raw);

const peap = eap({
  method: 'peap',
  identity: 'tech"o\'neil}@example.org',
  anonymousIdentity: 'anonymous@example.org',
  password: PASSWORD,
  caCert: PKI.ca,
  domainMatch: 'radius.example.org',
});
const tls = eap({
  method: 'tls',
  identity: 'device-17',
  clientCert: PKI.client,
  clientKey: PKI.clientKeyEncrypted,
  clientKeyPassphrase: KEY_PASSPHRASE,
  caCert: PKI.ca,
});

const req = (security: JoinRequest['security'], e: EapConfig): JoinRequest => ({
  ssidHex: SITE_HEX,
  security,
  eap: e,
  timeoutMs: 30_000,
});

describe('the station’s Enterprise profile: the agent’s 802-1x builder, secrets apart', () => {
  it('PEAP: method, identities, inner method, CA file and domain in argv; the password never', async () => {
    const { a, runner } = adapter(handler());
    await a.join(req('wpa2-enterprise', peap));
    const [add] = runner.find('connection', 'add');
    const ca = add?.args[add.args.indexOf('802-1x.ca-cert') + 1] ?? '';
    expect(add?.args).toEqual(
      wifiProfileAddArgs({
        ifname: 'wlan0',
        name: 'airlift-tmp-0a1b2c3d',
        ssid: 'Hospital-Staff',
        security: 'wpa2-enterprise',
        hidden: false,
        eap: {
          method: 'peap',
          phase2: 'mschapv2',
          identity: 'tech"o\'neil}@example.org',
          anonymousIdentity: 'anonymous@example.org',
          caCertPath: ca,
          domainMatch: 'radius.example.org',
        },
      }),
    );
    expect(add?.args.join(' ')).not.toContain(PASSWORD);
  });

  it('the explicit opt-out gives no CA; WPA3-Enterprise requires PMF', async () => {
    const none = eap({
      method: 'ttls',
      phase2: 'pap',
      identity: 'u',
      password: 'pw',
      insecureNoCaValidation: true,
    });
    const { a, runner } = adapter(handler());
    await a.join(req('wpa3-enterprise', none));
    const [add] = runner.find('connection', 'add');
    expect(add?.args).not.toContain('802-1x.ca-cert');
    expect(add?.args.join(' ')).toContain('802-11-wireless-security.pmf required');
  });

  it('passwd-file lines escape what nmcli unescapes; CR/LF refused by the schema before', () => {
    expect(eapPasswdFile(peap)).toBe('802-1x.password:p@ss "with" \\\\ quotes }\n');
    expect(eapPasswdFile(tls)).toBe(`802-1x.private-key-password:key pass "quoted" \\\\ }\n`);
    expect(() => eap({ method: 'peap', identity: 'a\nb', password: 'x', caCert: PKI.ca })).toThrow();
  });
});

describe('NmcliAdapter.join on an Enterprise network', () => {
  it('PEAP: 0600 CA file in a 0700 directory while the profile lives, password in the passwd-file only', async () => {
    const { a, runner } = adapter(handler());
    const r = await a.join(req('wpa2-enterprise', peap));
    expect(r).toMatchObject({ ok: true, ip: '10.20.0.50' });
    const [add] = runner.find('connection', 'add');
    const ca = add?.args[add.args.indexOf('802-1x.ca-cert') + 1] ?? '';
    expect(add?.files[ca]).toEqual({ content: peap.caCert, mode: 0o600 });
    expect(statSync(dirname(ca)).mode & 0o777).toBe(0o700);
    // Still there: wpa_supplicant reads it again when it re-authenticates.
    expect(existsSync(ca)).toBe(true);
    const [up] = runner.find('connection', 'up');
    const passwd = up?.args[up.args.indexOf('passwd-file') + 1] ?? '';
    expect(up?.files[passwd]).toEqual({ content: eapPasswdFile(peap), mode: 0o600 });
    expect(up?.options.redact).toEqual([PASSWORD]);
    expect(existsSync(passwd)).toBe(false);
    expectSecretNeverInArgv(runner.calls, PASSWORD);
    await a.leave();
    expect(existsSync(dirname(ca))).toBe(false);
    expect(readdirSync(tmpRoot)).toEqual([]);
  });

  it('TLS: client certificate and key as 0600 files, the key passphrase in the passwd-file', async () => {
    const { a, runner } = adapter(handler());
    expect((await a.join(req('wpa3-enterprise', tls))).ok).toBe(true);
    const [add] = runner.find('connection', 'add');
    const key = add?.args[add.args.indexOf('802-1x.private-key') + 1] ?? '';
    expect(add?.files[key]?.mode).toBe(0o600);
    expect(add?.args.join('\n')).not.toContain('PRIVATE KEY');
    expectSecretNeverInArgv(runner.calls, KEY_PASSPHRASE);
    await a.restore(undefined);
    expect(readdirSync(tmpRoot)).toEqual([]);
  });

  it('a failed activation removes the profile and its certificates, with the EAP reason', async () => {
    const { a } = adapter(
      handler(() => ({ code: 4, stderr: 'Error: Connection activation failed: 802.1X supplicant failed\n' })),
    );
    const r = await a.join(req('wpa2-enterprise', peap));
    expect(r).toMatchObject({ ok: false, reason: 'eap_failed' });
    expect(readdirSync(tmpRoot)).toEqual([]);
    expect(a.temporaryProfiles).toEqual([]);
  });

  it('maps NetworkManager’s words: missing secrets auth_failed, certificate trouble cert_rejected', () => {
    expect(enterpriseReason('auth_failed', 'Secrets were required, but not provided')).toBe('auth_failed');
    expect(enterpriseReason('hardware', 'invalid certificate path')).toBe('cert_rejected');
    expect(enterpriseReason('auth_failed', '802.1X supplicant disconnected')).toBe('eap_failed');
  });

  it('refuses an Enterprise request without its eap block, or with a passphrase, before running anything', async () => {
    const { a, runner } = adapter(handler());
    await expect(
      a.join({ ssidHex: SITE_HEX, security: 'wpa2-enterprise', timeoutMs: 1000 }),
    ).rejects.toMatchObject({
      code: 'INVALID_EAP',
    });
    await expect(a.join({ ...req('wpa2-enterprise', peap), passphrase: 'nope-nope' })).rejects.toMatchObject({
      code: 'INVALID_PASSPHRASE',
    });
    expect(runner.calls.filter((c) => c.args.includes('add'))).toEqual([]);
  });
});
