/**
 * The NetworkManager backend's Enterprise and static-IPv4 profiles: the exact nmcli arguments
 * (no secret among them), the passwd-file with 802.1X's password and key passphrase, the D-Bus path
 * for an SSID argv cannot carry, the failure words NetworkManager uses, and the real nmcli
 * (`--offline`: it writes the keyfile it would save, no daemon needed) reading our arguments back.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { joinSecrets, NetworkManagerRadio } from '../../../../agent/backends/networkmanager';
import type { CommandOptions, CommandResult, CommandRunner } from '../../../../agent/ports/command-runner';
import type { JoinTarget } from '../../../../agent/ports/radio';
import { classifyActivationFailure } from '../../../../shared/linux-tools/nmcli';
import { wifiProfileAddArgs, wifiProfileSettings } from '../../../../shared/linux-tools/nmcli-connections';
import { PKI } from '../../../fixtures/pki/pki';

/** The agent's recordings of nmcli, and the station's (which have the supplicant's timeout). */
const fx = (name: string): string =>
  readFileSync(new URL(`../../../fixtures/nmcli-agent/${name}`, import.meta.url), 'utf8');
const stationFx = (name: string): string =>
  readFileSync(new URL(`../../../fixtures/nmcli/${name}`, import.meta.url), 'utf8');

const NEW_UUID = '2c9e4b1a-7d3f-4e8a-b5c6-0d1e2f3a4b5c';
const IDENTITY = ` o'brien "x" }#\\ `;
const PASSWORD = 'pa}ss"#\\word ';
const KEY_PASS = 'key "pass" \\';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'nm-eap-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const CERTS = '/var/lib/airlift/certs';
const corp = (ssidHex = '436f7270'): JoinTarget => ({
  ssidHex,
  security: 'wpa3-enterprise',
  hidden: false,
  eap: {
    method: 'tls',
    identity: IDENTITY,
    anonymousIdentity: 'anonymous@lab.example',
    caCert: { path: `${CERTS}/ca.pem`, pem: PKI.ca },
    domainMatch: 'lab.example',
    clientCert: { path: `${CERTS}/client.pem`, pem: PKI.client },
    clientKeyPath: `${CERTS}/client.key`,
    clientKeyPassphrase: KEY_PASS,
  },
  ipv4: { address: '192.168.1.77', prefixLength: 24, gateway: '192.168.1.1', dns: ['9.9.9.9', '1.1.1.1'] },
});

interface Call {
  file: string;
  args: string[];
  options: CommandOptions | undefined;
  passwd?: { content: string; mode: number };
}

/** nmcli and busctl as a device has them, with the activation's answer chosen by the test. */
class Runner implements CommandRunner {
  readonly calls: Call[] = [];
  up: Partial<CommandResult> = { stdout: fx('connection-up-ok.txt') };
  run(file: string, args: readonly string[], options?: CommandOptions): Promise<CommandResult> {
    const call: Call = { file, args: [...args], options };
    const i = args.indexOf('passwd-file');
    if (i >= 0) {
      const path = args[i + 1] ?? '';
      call.passwd = { content: readFileSync(path, 'utf8'), mode: statSync(path).mode & 0o777 };
    }
    this.calls.push(call);
    const a = args.join(' ');
    const reply: Partial<CommandResult> =
      file === 'busctl' && a.includes('AddConnection')
        ? { stdout: 'o "/org/freedesktop/NetworkManager/Settings/9"' }
        : file !== 'nmcli'
          ? {}
          : a.endsWith('device status')
            ? { stdout: fx('device-status-disconnected.txt') }
            : a.startsWith('connection add')
              ? { stdout: `Connection 'x' (${NEW_UUID}) successfully added.\n` }
              : a.includes('connection up')
                ? this.up
                : a.endsWith('device show wlan0')
                  ? { stdout: fx('device-show-wlan0.txt') }
                  : {};
    return Promise.resolve({
      code: 0,
      signal: null,
      stdout: '',
      stderr: '',
      timedOut: false,
      durationMs: 1,
      ...reply,
    });
  }
}

function radio(runner: Runner): NetworkManagerRadio {
  let t = 0;
  return new NetworkManagerRadio({
    runner,
    ifname: 'wlan0',
    apIfname: 'wlan0',
    tmpRoot: dir,
    dnsmasqSharedDir: join(dir, 'dnsmasq-shared.d'),
    sysfsNetDir: join(dir, 'sys'),
    runtimeDir: join(dir, 'run'),
    now: () => (t += 10),
  });
}

describe('NetworkManager Enterprise profiles', () => {
  it('the profile carries 802.1X and static IPv4, the passwd-file carries the secrets', async () => {
    const runner = new Runner();
    const outcome = await radio(runner).join(corp(), { timeoutMs: 5000, keepAp: false });
    expect(outcome.ok).toBe(true);
    const add = runner.calls.find((c) => c.args[0] === 'connection' && c.args[1] === 'add')?.args ?? [];
    const settings = add.slice(add.indexOf('infrastructure') + 3);
    expect(settings).toEqual([
      'ipv4.method',
      'manual',
      'ipv4.addresses',
      '192.168.1.77/24',
      'ipv4.gateway',
      '192.168.1.1',
      'ipv4.dns',
      '9.9.9.9,1.1.1.1',
      'ipv4.may-fail',
      'no',
      '802-11-wireless-security.key-mgmt',
      'wpa-eap',
      '802-11-wireless-security.pmf',
      'required',
      '802-1x.eap',
      'tls',
      '802-1x.identity',
      IDENTITY,
      '802-1x.anonymous-identity',
      'anonymous@lab.example',
      '802-1x.ca-cert',
      `${CERTS}/ca.pem`,
      '802-1x.domain-suffix-match',
      'lab.example',
      '802-1x.client-cert',
      `${CERTS}/client.pem`,
      '802-1x.private-key',
      `${CERTS}/client.key`,
    ]);
    const up = runner.calls.find((c) => c.args.includes('up'));
    expect(up?.passwd).toEqual({
      content: `802-1x.private-key-password:${KEY_PASS.replace(/\\/g, '\\\\')}\n`,
      mode: 0o600,
    });
    expect(up?.options?.redact).toEqual([KEY_PASS]);
    for (const c of runner.calls) expect(c.args.join('\0')).not.toContain(KEY_PASS);
  });

  it('PEAP: the password goes in the passwd-file, phase2 in the profile', () => {
    const target: JoinTarget = {
      ssidHex: '436f7270',
      security: 'wpa2-enterprise',
      hidden: false,
      eap: { method: 'peap', phase2: 'mschapv2', identity: 'alice', password: PASSWORD },
    };
    expect(joinSecrets(target)).toEqual({
      lines: '802-1x.password:pa}ss"#\\\\word\\040\n',
      redact: [PASSWORD],
    });
    expect(
      wifiProfileSettings({
        security: 'wpa2-enterprise',
        eap: { method: 'peap', phase2: 'mschapv2', identity: 'alice' },
      }),
    ).toEqual([
      'ipv4.method',
      'auto',
      'ipv4.may-fail',
      'no',
      '802-11-wireless-security.key-mgmt',
      'wpa-eap',
      '802-1x.eap',
      'peap',
      '802-1x.identity',
      'alice',
      '802-1x.phase2-auth',
      'mschapv2',
    ]);
  });

  it('an SSID argv cannot carry: added over D-Bus bare, then given its settings by nmcli modify', async () => {
    const runner = new Runner();
    expect((await radio(runner).join(corp('ff00fe'), { timeoutMs: 5000, keepAp: false })).ok).toBe(true);
    const dbus =
      runner.calls.find((c) => c.file === 'busctl' && c.args.includes('AddConnection'))?.args ?? [];
    expect(dbus.join(' ')).not.toContain('key-mgmt'); // wpa-eap without its 802.1X setting would be refused
    const modify = runner.calls.find((c) => c.args[1] === 'modify')?.args ?? [];
    expect(modify.slice(0, 4)).toEqual(['connection', 'modify', 'uuid', modify[3]]);
    expect(modify.slice(4)).toEqual(
      wifiProfileSettings({ security: 'wpa3-enterprise', ...settingsOf(corp()) }),
    );
  });

  it('reads NetworkManager’s failure words for 802.1X', async () => {
    const wrong = classifyActivationFailure(4, fx('connection-up-wrong-secret.stderr.txt'), true);
    expect(wrong.reason).toBe('auth_failed');
    expect(wrong.detail).toMatch(/identity or password, or the server certificate/);
    expect(
      classifyActivationFailure(4, stationFx('connection-up-supplicant-timeout.stderr.txt'), true).reason,
    ).toBe('eap_failed');
    expect(
      classifyActivationFailure(
        4,
        'Error: Connection activation failed: 802.1X supplicant configuration failed',
        true,
      ).reason,
    ).toBe('hardware');
    // A PSK network keeps its reading.
    expect(
      classifyActivationFailure(4, stationFx('connection-up-supplicant-timeout.stderr.txt')).reason,
    ).toBe('auth_failed');
    const runner = new Runner();
    runner.up = { code: 4, stderr: stationFx('connection-up-supplicant-timeout.stderr.txt') };
    expect(await radio(runner).join(corp(), { timeoutMs: 5000, keepAp: false })).toMatchObject({
      ok: false,
      reason: 'eap_failed',
    });
  });
});

function settingsOf(t: JoinTarget) {
  const e = t.eap;
  return {
    ...(t.ipv4 ? { ipv4: t.ipv4 } : {}),
    ...(e
      ? {
          eap: {
            method: e.method,
            identity: e.identity,
            ...(e.anonymousIdentity ? { anonymousIdentity: e.anonymousIdentity } : {}),
            ...(e.caCert ? { caCertPath: e.caCert.path } : {}),
            ...(e.domainMatch ? { domainMatch: e.domainMatch } : {}),
            ...(e.clientCert ? { clientCertPath: e.clientCert.path } : {}),
            ...(e.clientKeyPath ? { clientKeyPath: e.clientKeyPath } : {}),
          },
        }
      : {}),
  };
}

// ---------------------------------------------------------------------------------------------
// The real nmcli reads the arguments back: `--offline` prints the keyfile it would save.

const NMCLI = ['/usr/bin/nmcli'].find((p) => existsSync(p));
const offline = (args: string[]) =>
  spawnSync(NMCLI ?? '', ['--offline', ...args], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });

/** The keyfile's `[section]` `key=value` pairs (keyfile escapes: `\s` a leading space, `\\` a backslash). */
function keyfile(text: string): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  let section = '';
  for (const line of text.split('\n')) {
    const head = /^\[(.+)\]$/.exec(line);
    if (head) out[(section = head[1] ?? '')] = {};
    else if (line.includes('='))
      (out[section] ??= {})[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
  }
  return out;
}
const unescapeKeyfile = (v: string) => v.replace(/\\(s|\\)/g, (_m, c: string) => (c === 's' ? ' ' : '\\'));

describe.skipIf(!NMCLI)('nmcli --offline reads our profile arguments', () => {
  it('keeps every hostile identity exactly, and the 802.1X and IPv4 settings', () => {
    const ca = join(dir, 'ca.pem');
    const cert = join(dir, 'client.pem');
    const key = join(dir, 'client.key');
    writeFileSync(ca, PKI.ca);
    writeFileSync(cert, PKI.client);
    writeFileSync(key, PKI.clientKeyEncrypted);
    for (const identity of [
      IDENTITY,
      '--help',
      'a,b;c',
      'ünï 👩‍💻',
      '$(reboot)`id`',
      '"quoted"',
      'x'.repeat(253),
    ]) {
      const args = wifiProfileAddArgs({
        ifname: 'wlan0',
        name: 'airlift-net-436f7270',
        ssid: 'Corp',
        security: 'wpa3-enterprise',
        hidden: false,
        autoconnectPriority: 50,
        eap: {
          method: 'tls',
          identity,
          caCertPath: ca,
          domainMatch: 'lab.example',
          clientCertPath: cert,
          clientKeyPath: key,
        },
        ipv4: {
          address: '192.168.1.77',
          prefixLength: 24,
          gateway: '192.168.1.1',
          dns: ['9.9.9.9', '1.1.1.1'],
        },
      });
      const run = offline(args);
      expect(run.status, run.stderr).toBe(0);
      const file = keyfile(run.stdout);
      expect(unescapeKeyfile(file['802-1x']?.identity ?? '')).toBe(identity);
      expect(file['802-1x']).toMatchObject({
        eap: 'tls;',
        'ca-cert': ca,
        'client-cert': cert,
        'private-key': key,
        'domain-suffix-match': 'lab.example',
      });
      expect(file['wifi-security']).toEqual({ 'key-mgmt': 'wpa-eap', pmf: '3' });
      expect(file['ipv4']).toEqual({
        address1: '192.168.1.77/24,192.168.1.1',
        dns: '9.9.9.9;1.1.1.1;',
        'may-fail': 'false',
        method: 'manual',
      });
      expect(run.stdout).not.toContain('password');
    }
  });

  it('TTLS with PAP, DHCP', () => {
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, PKI.ca);
    const run = offline(
      wifiProfileAddArgs({
        ifname: 'wlan0',
        name: 'n',
        ssid: 'Corp',
        security: 'wpa2-enterprise',
        hidden: true,
        eap: {
          method: 'ttls',
          phase2: 'pap',
          identity: 'bob',
          anonymousIdentity: 'anon@lab',
          caCertPath: ca,
        },
      }),
    );
    expect(run.status, run.stderr).toBe(0);
    const file = keyfile(run.stdout);
    expect(file['802-1x']).toEqual({
      'anonymous-identity': 'anon@lab',
      'ca-cert': ca,
      eap: 'ttls;',
      identity: 'bob',
      'phase2-auth': 'pap',
    });
    expect(file['ipv4']).toMatchObject({ method: 'auto', 'may-fail': 'false' });
  });

  it('and the check can fail: a certificate path that is not there is refused', () => {
    const run = offline(
      wifiProfileAddArgs({
        ifname: 'wlan0',
        name: 'n',
        ssid: 'C',
        security: 'wpa2-enterprise',
        hidden: false,
        eap: { method: 'peap', identity: 'x', caCertPath: join(dir, 'missing.pem') },
      }),
    );
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/ca-cert/);
  });
});
