/**
 * The nmcli adapter: exact argv of every builder, and the join/leave/restore flows on a fake
 * runner answering with recorded nmcli output (test/fixtures/nmcli/). No NetworkManager here.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toHex, utf8Encode } from '../../../../shared/encoding';
import { AirliftError } from '../../../../shared/errors';
import { nmAddConnectionDbusArgs } from '../../../../shared/linux-tools/busctl';
import {
  busctlAddConnectionArgs,
  connectionAddArgs,
  connectionDeleteArgs,
  connectionListArgs,
  connectionUpArgs,
  deviceDisconnectArgs,
  deviceStatusArgs,
  NmcliAdapter,
  NmcliAdapterProvider,
  parseAddedUuid,
  passwdFileContent,
  ssidTextForNmcli,
  staleTemporaryProfiles,
  wifiListArgs,
} from '../../../../main/wifi/linux-nmcli';
import type { JoinRequest } from '../../../../main/ports/wifi-adapter';
import {
  expectSecretNeverInArgv,
  FakeRunner,
  fixture,
  ipv4,
  manualClock,
  table,
  type Call,
  type Handler,
} from './fakes';

const nm = (name: string) => fixture('nmcli', name);
const UUID = '5d0e6f8a-1b2c-4d3e-8f4a-5b6c7d8e9f01';
const PASS = 'c0rrect horse:battery\\staple';
const SETUP_HEX = toHex(utf8Encode('Airlift-3f9a2c41'));

let tmpRoot: string;
beforeEach(() => {
  tmpRoot = mkdtempSync(join(tmpdir(), 'airlift-test-'));
});
afterEach(() => {
  rmSync(tmpRoot, { recursive: true, force: true });
});

describe('builders', () => {
  it('device status and wifi list are terse, escaped, with a field set the parsers expect', () => {
    expect(deviceStatusArgs()).toEqual([
      '-t',
      '-e',
      'yes',
      '-f',
      'DEVICE,TYPE,STATE,CONNECTION,CON-UUID',
      'device',
      'status',
    ]);
    expect(wifiListArgs('wlan0', 'yes')).toEqual([
      '-t',
      '-e',
      'yes',
      '-f',
      'IN-USE,BSSID,SSID,SSID-HEX,MODE,CHAN,FREQ,SIGNAL,SECURITY',
      'device',
      'wifi',
      'list',
      'ifname',
      'wlan0',
      '--rescan',
      'yes',
    ]);
    expect(connectionListArgs()).toEqual(['-t', '-e', 'yes', '-f', 'NAME,UUID,TYPE', 'connection', 'show']);
  });

  it('connection add: in memory, no autoconnect, IPv4 required, no secret', () => {
    expect(
      connectionAddArgs({
        ifname: 'wlan0',
        name: 'airlift-tmp-0a1b2c3d',
        ssid: 'Lab:2',
        security: 'wpa2-psk',
        hidden: false,
      }),
    ).toEqual([
      'connection',
      'add',
      'save',
      'no',
      'type',
      'wifi',
      'ifname',
      'wlan0',
      'con-name',
      'airlift-tmp-0a1b2c3d',
      'ssid',
      'Lab:2',
      'connection.autoconnect',
      'no',
      '802-11-wireless.mode',
      'infrastructure',
      '802-11-wireless.hidden',
      'no',
      'ipv4.method',
      'auto',
      'ipv4.may-fail',
      'no',
      '802-11-wireless-security.key-mgmt',
      'wpa-psk',
    ]);
    const open = connectionAddArgs({
      ifname: 'wlan0',
      name: 'n',
      ssid: '  x  ',
      security: 'open',
      hidden: true,
    });
    expect(open.slice(-10)).toEqual([
      'connection.autoconnect',
      'no',
      '802-11-wireless.mode',
      'infrastructure',
      '802-11-wireless.hidden',
      'yes',
      'ipv4.method',
      'auto',
      'ipv4.may-fail',
      'no',
    ]);
    expect(open).toContain('  x  ');
    const sae = connectionAddArgs({
      ifname: 'wlan0',
      name: 'n',
      ssid: 'x',
      security: 'wpa3-sae',
      hidden: false,
    });
    expect(sae.slice(-2)).toEqual(['802-11-wireless-security.key-mgmt', 'sae']);
  });

  it('busctl: the shared D-Bus builder, in memory (AddConnectionUnsaved) and never autoconnected', () => {
    // The argv itself is tested in test/unit/shared/linux-tools/busctl.test.ts, against the real busctl.
    const spec = {
      ifname: 'wlan0',
      name: 'airlift-tmp-0a1b2c3d',
      ssidHex: 'fffe4100',
      uuid: UUID,
      security: 'wpa2-psk' as const,
      hidden: false,
    };
    const args = busctlAddConnectionArgs(spec);
    expect(args).toEqual(nmAddConnectionDbusArgs(spec));
    expect(args[5]).toBe('AddConnectionUnsaved');
    expect(args.slice(args.indexOf('autoconnect'), args.indexOf('autoconnect') + 3)).toEqual([
      'autoconnect',
      'b',
      'false',
    ]);
  });

  it('connection up, delete and disconnect', () => {
    expect(connectionUpArgs(UUID, 'wlan0', 29.2, '/tmp/airlift-x/passwd')).toEqual([
      '--wait',
      '30',
      'connection',
      'up',
      'uuid',
      UUID,
      'ifname',
      'wlan0',
      'passwd-file',
      '/tmp/airlift-x/passwd',
    ]);
    expect(connectionUpArgs(UUID, 'wlan0', 0)).toEqual([
      '--wait',
      '1',
      'connection',
      'up',
      'uuid',
      UUID,
      'ifname',
      'wlan0',
    ]);
    expect(connectionDeleteArgs(UUID)).toEqual(['connection', 'delete', 'uuid', UUID]);
    expect(deviceDisconnectArgs('wlan0')).toEqual(['device', 'disconnect', 'wlan0']);
  });

  it('sends text SSIDs as argv text and everything else over D-Bus', () => {
    expect(ssidTextForNmcli(toHex(utf8Encode('line1\nline2')))).toBe('line1\nline2');
    expect(ssidTextForNmcli(toHex(utf8Encode(' -- ')))).toBe(' -- ');
    expect(ssidTextForNmcli('fffe4142')).toBeUndefined();
    expect(ssidTextForNmcli('610062')).toBeUndefined();
  });

  it('parses the UUID nmcli reports for a new profile', () => {
    expect(parseAddedUuid(nm('connection-add.txt'))).toBe(UUID);
    expect(parseAddedUuid('Connection added.')).toBeUndefined();
  });

  it('finds stale temporary profiles, not look-alikes split by a newline', () => {
    expect(staleTemporaryProfiles(nm('connection-show.txt'))).toEqual([
      { name: 'airlift-tmp-1f2e3d4c', uuid: '9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d' },
    ]);
  });
});

describe('passwd-file content', () => {
  /** nmcli >= 1.26 reading a passwd-file value (nm_utils_buf_utf8safe_unescape with STRIP_SPACES). */
  function nmcliReads(line: string): string {
    let v = line.replace(/^802-11-wireless-security\.psk:/, '').replace(/\n$/, '');
    v = v.replace(/^[ \t\n\v\f\r]+/, '');
    let out = '';
    let trailingPlain = 0;
    for (let i = 0; i < v.length; i++) {
      const c = v.charAt(i);
      if (c === '\\') {
        const d = v.slice(i + 1, i + 4);
        if (/^[0-7]{3}$/.test(d)) {
          out += String.fromCharCode(parseInt(d, 8));
          i += 3;
        } else {
          out += v.charAt(i + 1);
          i += 1;
        }
        trailingPlain = 0;
      } else {
        out += c;
        trailingPlain = /[ \t\v\f]/.test(c) ? trailingPlain + 1 : 0;
      }
    }
    return trailingPlain > 0 ? out.slice(0, -trailingPlain) : out;
  }

  it('writes a plain secret as is (every nmcli version reads it the same)', () => {
    expect(passwdFileContent('hunter2hunter2')).toBe('802-11-wireless-security.psk:hunter2hunter2\n');
    expect(passwdFileContent('a:b#c=d "e"')).toBe('802-11-wireless-security.psk:a:b#c=d "e"\n');
  });

  it('escapes backslashes and edge spaces', () => {
    expect(passwdFileContent('  back\\slash ')).toBe(
      '802-11-wireless-security.psk:\\040\\040back\\\\slash\\040\n',
    );
  });

  it('refuses CR, LF and NUL', () => {
    for (const s of ['a\nb', 'a\rb', 'a\0b']) expect(() => passwdFileContent(s)).toThrow(AirliftError);
  });

  it('is read back exactly by nmcli for every printable-ASCII passphrase (property)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[\x20-\x7e]{8,63}$/), (secret) => {
        expect(nmcliReads(passwdFileContent(secret))).toBe(secret);
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------------

interface Scenario {
  up?: (call: Call) => { code: number; stdout?: string; stderr?: string; timedOut?: boolean };
  addCode?: number;
}

function nmcliHandler(s: Scenario = {}): Handler {
  return (call) => {
    const a = call.args.join(' ');
    if (call.file === 'busctl') return { stdout: nm('busctl-add-connection.txt') };
    if (a.startsWith('connection add')) return { code: s.addCode ?? 0, stdout: nm('connection-add.txt') };
    if (a.includes('connection up')) return s.up ? s.up(call) : { stdout: nm('connection-up-ok.txt') };
    if (a.startsWith('connection delete')) return { stdout: nm('connection-delete.txt') };
    if (a.includes('device status')) return { stdout: nm('device-status.txt') };
    if (a.includes('device wifi list')) return { stdout: nm('wifi-list.txt') };
    if (a.startsWith('device disconnect')) return { stdout: "Device 'wlan0' successfully disconnected.\n" };
    return { code: 1, stderr: `unexpected: ${a}` };
  };
}

function adapter(handler: Handler, o: { ip?: string; reachable?: boolean } = {}) {
  const runner = new FakeRunner(handler);
  const clock = manualClock();
  const reachChecks: string[] = [];
  const a = new NmcliAdapter('wlan0', {
    runner,
    now: clock.now,
    sleep: clock.sleep,
    tmpRoot,
    randomId: () => '0a1b2c3d',
    interfaces: table(o.ip === undefined ? {} : { wlan0: [ipv4(o.ip)] }),
    tcpCheck: (host, port) => {
      reachChecks.push(`${host}:${port}`);
      return Promise.resolve(o.reachable ?? true);
    },
  });
  return { a, runner, clock, reachChecks };
}

const wpa2: JoinRequest = {
  ssidHex: SETUP_HEX,
  security: 'wpa2-psk',
  passphrase: PASS,
  timeoutMs: 30_000,
  expectReachable: { host: '10.150.7.1', port: 80 },
};

describe('NmcliAdapter.join', () => {
  it('adds a temporary profile, activates it with a 0600 passwd-file, checks the address and reachability', async () => {
    const { a, runner, reachChecks } = adapter(nmcliHandler(), { ip: '10.150.7.23' });
    const r = await a.join(wpa2);
    expect(r).toMatchObject({ ok: true, ip: '10.150.7.23' });

    const [add] = runner.find('connection', 'add');
    expect(add?.args).toEqual(
      connectionAddArgs({
        ifname: 'wlan0',
        name: 'airlift-tmp-0a1b2c3d',
        ssid: 'Airlift-3f9a2c41',
        security: 'wpa2-psk',
        hidden: false,
      }),
    );
    const [up] = runner.find('connection', 'up');
    const passwd = up?.args[up.args.indexOf('passwd-file') + 1] ?? '';
    expect(up?.args).toEqual(connectionUpArgs(UUID, 'wlan0', 30, passwd));
    expect(up?.files[passwd]).toEqual({ content: passwdFileContent(PASS), mode: 0o600 });
    expect(up?.options.redact).toEqual([PASS]);
    expect(existsSync(passwd)).toBe(false);
    expect(reachChecks).toEqual(['10.150.7.1:80']);
    expect(a.temporaryProfiles).toEqual([UUID]);
    expectSecretNeverInArgv(runner.calls, PASS);
  });

  it('joins with a raw 64-hex PSK through the same 0600 passwd-file, never argv', async () => {
    const psk = '9e54f1f2a5ba1c5c4a4a3d1ed9b07b0d4e7c6d7e5b0a0f3a8c6d2e1f0a9b8c7d';
    const { a, runner } = adapter(nmcliHandler(), { ip: '192.168.50.23' });
    const { passphrase: _none, ...withoutPassphrase } = wpa2;
    const r = await a.join({ ...withoutPassphrase, psk: psk.toUpperCase(), expectReachable: undefined });
    expect(r).toMatchObject({ ok: true });
    const [up] = runner.find('connection', 'up');
    const passwd = up?.args[up.args.indexOf('passwd-file') + 1] ?? '';
    expect(up?.files[passwd]).toEqual({ content: `802-11-wireless-security.psk:${psk}\n`, mode: 0o600 });
    expect(up?.options.redact).toEqual([psk]);
    expectSecretNeverInArgv(runner.calls, psk);
    expectSecretNeverInArgv(runner.calls, psk.toUpperCase());
  });

  it('reports the access point it joined when NetworkManager lists it in use', async () => {
    const { a } = adapter(nmcliHandler(), { ip: '192.168.1.50' });
    const r = await a.join({ ...wpa2, ssidHex: toHex(utf8Encode('HomeNet-5G')), expectReachable: undefined });
    expect(r).toMatchObject({ ok: true, bssid: 'f4:92:bf:6a:13:02', signal: -48 });
    const other = await a.join(wpa2);
    expect(other).not.toHaveProperty('bssid');
  });

  it('joins an open network without any passwd-file', async () => {
    const { a, runner } = adapter(nmcliHandler(), { ip: '10.150.7.23' });
    const r = await a.join({ ssidHex: SETUP_HEX, security: 'open', timeoutMs: 10_000 });
    expect(r.ok).toBe(true);
    expect(runner.find('connection', 'up')[0]?.args).toEqual(connectionUpArgs(UUID, 'wlan0', 10));
  });

  it('adds a profile for an SSID that is not UTF-8 over D-Bus, then activates it by our UUID', async () => {
    const { a, runner } = adapter(nmcliHandler(), { ip: '192.168.4.20' });
    const r = await a.join({ ...wpa2, ssidHex: 'fffe4142', expectReachable: undefined });
    expect(r.ok).toBe(true);
    const [bus] = runner.calls.filter((c) => c.file === 'busctl');
    const uuid = bus?.args[bus.args.indexOf('uuid') + 2] ?? '';
    expect(uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(bus?.args).toEqual(
      busctlAddConnectionArgs({
        ifname: 'wlan0',
        name: 'airlift-tmp-0a1b2c3d',
        ssidHex: 'fffe4142',
        uuid,
        security: 'wpa2-psk',
        hidden: false,
      }),
    );
    expect(runner.find('connection', 'add')).toHaveLength(0);
    expect(runner.find('connection', 'up')[0]?.args.slice(4, 6)).toEqual(['uuid', uuid]);
    expectSecretNeverInArgv(runner.calls, PASS);
  });

  it.each([
    ['connection-up-wrong-secret.stderr.txt', 4, 'auth_failed'],
    ['connection-up-supplicant-timeout.stderr.txt', 4, 'auth_failed'],
    ['connection-up-not-found.stderr.txt', 4, 'ssid_not_found'],
    ['connection-up-dhcp.stderr.txt', 4, 'dhcp_timeout'],
    ['connection-up-timeout.stderr.txt', 3, 'timeout'],
    ['connection-up-no-device.stderr.txt', 4, 'hardware'],
  ] as const)('maps %s (exit %s) to %s and deletes the temporary profile', async (file, code, reason) => {
    const { a, runner } = adapter(nmcliHandler({ up: () => ({ code, stderr: nm(file) }) }), {
      ip: '10.0.0.2',
    });
    const r = await a.join(wpa2);
    expect(r).toMatchObject({ ok: false, reason });
    if (!r.ok) expect(r.detail?.startsWith('Error:')).toBe(true);
    expect(runner.find('connection', 'delete')[0]?.args).toEqual(connectionDeleteArgs(UUID));
    expect(a.temporaryProfiles).toEqual([]);
    const passwd = runner.find('connection', 'up')[0]?.args.at(-1) ?? '';
    expect(existsSync(passwd)).toBe(false);
    expectSecretNeverInArgv(runner.calls, PASS);
  });

  it('reports a runner timeout as timeout', async () => {
    const { a } = adapter(nmcliHandler({ up: () => ({ code: 0, timedOut: true }) }));
    expect(await a.join(wpa2)).toMatchObject({ ok: false, reason: 'timeout' });
    expect(a.temporaryProfiles).toEqual([]);
  });

  it('reports a failed profile creation as hardware, with nothing to clean', async () => {
    const { a, runner } = adapter(nmcliHandler({ addCode: 2 }));
    expect(await a.join(wpa2)).toMatchObject({ ok: false, reason: 'hardware' });
    expect(runner.find('connection', 'up')).toHaveLength(0);
  });

  it('fails with dhcp_timeout when the interface never gets an IPv4 address', async () => {
    const { a, runner } = adapter(nmcliHandler());
    expect(await a.join(wpa2)).toMatchObject({ ok: false, reason: 'dhcp_timeout' });
    expect(runner.find('connection', 'delete')).toHaveLength(1);
  });

  it('fails with unreachable when the device does not answer, and leaves no profile', async () => {
    const { a, reachChecks } = adapter(nmcliHandler(), { ip: '10.150.7.23', reachable: false });
    expect(await a.join(wpa2)).toMatchObject({ ok: false, reason: 'unreachable' });
    expect(reachChecks.length).toBeGreaterThan(1);
    expect(a.temporaryProfiles).toEqual([]);
  });

  it('refuses bad input before running anything', async () => {
    const { a, runner } = adapter(nmcliHandler());
    await expect(a.join({ ...wpa2, passphrase: 'short' })).rejects.toMatchObject({
      code: 'INVALID_PASSPHRASE',
    });
    await expect(a.join({ ...wpa2, passphrase: undefined })).rejects.toMatchObject({
      code: 'INVALID_PASSPHRASE',
    });
    await expect(a.join({ ...wpa2, security: 'open' })).rejects.toMatchObject({ code: 'INVALID_PASSPHRASE' });
    await expect(a.join({ ...wpa2, ssidHex: 'zz' })).rejects.toMatchObject({ code: 'INVALID_SSID' });
    await expect(a.join({ ...wpa2, ssidHex: '41'.repeat(33) })).rejects.toMatchObject({
      code: 'INVALID_SSID',
    });
    expect(runner.calls).toHaveLength(0);
  });

  it('drops the previous temporary profile before a new join', async () => {
    const { a, runner } = adapter(nmcliHandler(), { ip: '10.150.7.23' });
    await a.join(wpa2);
    await a.join(wpa2);
    const order = runner.calls.map((c) => c.args.slice(0, 2).join(' '));
    expect(order.filter((o) => o === 'connection delete')).toHaveLength(1);
    expect(order.indexOf('connection delete')).toBeLessThan(order.lastIndexOf('connection add'));
  });
});

describe('NmcliAdapter scan, current, leave, restore', () => {
  it('scans with --rescan yes and falls back to the cached list when NM refuses a scan', async () => {
    const { a, runner } = adapter((call) => {
      if (call.args.at(-1) === 'yes') {
        return { code: 1, stderr: 'Error: Scanning not allowed immediately following previous scan.\n' };
      }
      return { stdout: nm('wifi-list.txt') };
    });
    const results = await a.scan();
    expect(results).toHaveLength(12);
    expect(results[0]).not.toHaveProperty('inUse');
    expect(runner.calls.map((c) => c.args.at(-1))).toEqual(['yes', 'no']);
  });

  it('reads the current network: exact SSID, BSSID, address and profile UUID', async () => {
    const { a } = adapter(nmcliHandler(), { ip: '192.168.1.50' });
    expect(await a.current()).toEqual({
      ssidHex: toHex(utf8Encode('HomeNet-5G')),
      ssid: 'HomeNet-5G',
      bssid: 'f4:92:bf:6a:13:02',
      ip: '192.168.1.50',
      profile: '0b5c6a2e-3f41-4a8e-9a1c-7d2e51b0c9f4',
    });
  });

  it('has no current network when the device is disconnected', async () => {
    const runner = new FakeRunner(nmcliHandler());
    const a = new NmcliAdapter('wlx00c0ca9a1b2c', { runner, interfaces: table({}) });
    expect(await a.current()).toBeUndefined();
  });

  it('leave deletes the temporary profile; without one it disconnects the device', async () => {
    const { a, runner } = adapter(nmcliHandler(), { ip: '10.150.7.23' });
    await a.join(wpa2);
    await a.leave();
    expect(a.temporaryProfiles).toEqual([]);
    expect(runner.find('connection', 'delete')).toHaveLength(1);
    expect(runner.find('device', 'disconnect')).toHaveLength(0);
    await a.leave();
    expect(runner.find('device', 'disconnect')[0]?.args).toEqual(deviceDisconnectArgs('wlan0'));
  });

  it('leave reports a profile it could not delete', async () => {
    const { a } = adapter(
      (call) => (call.args[1] === 'delete' ? { code: 1, stderr: 'Error: failed.' } : nmcliHandler()(call)),
      { ip: '10.150.7.23' },
    );
    await a.join(wpa2);
    await expect(a.leave()).rejects.toMatchObject({ code: 'COMMAND_FAILED' });
  });

  it('restore re-activates the technician’s profile by UUID, without secrets', async () => {
    const { a, runner } = adapter(
      (call) =>
        call.args.includes('status') ? { stdout: nm('device-status-hostile.txt') } : nmcliHandler()(call),
      { ip: '10.150.7.23' },
    );
    await a.join(wpa2);
    await a.restore({ ssidHex: '486f6d65', ssid: 'Home', profile: '0b5c6a2e-3f41-4a8e-9a1c-7d2e51b0c9f4' });
    expect(a.temporaryProfiles).toEqual([]);
    const ups = runner.find('connection', 'up');
    expect(ups.at(-1)?.args).toEqual(connectionUpArgs('0b5c6a2e-3f41-4a8e-9a1c-7d2e51b0c9f4', 'wlan0', 60));
  });

  it('restore does nothing more when the profile is already active again', async () => {
    const { a, runner } = adapter(nmcliHandler(), { ip: '10.150.7.23' });
    await a.restore({ ssidHex: '486f6d65', ssid: 'Home', profile: '0b5c6a2e-3f41-4a8e-9a1c-7d2e51b0c9f4' });
    expect(runner.find('connection', 'up')).toHaveLength(0);
  });

  it('restore reports a failed re-activation', async () => {
    const { a } = adapter((call) =>
      call.args.includes('up')
        ? { code: 4, stderr: nm('connection-up-not-found.stderr.txt') }
        : nmcliHandler()(call),
    );
    await expect(a.restore({ ssidHex: '41', ssid: 'A', profile: UUID })).rejects.toMatchObject({
      code: 'COMMAND_FAILED',
    });
  });
});

describe('NmcliAdapterProvider', () => {
  it('lists the Wi-Fi devices NetworkManager manages, one object per interface', async () => {
    const runner = new FakeRunner(nmcliHandler());
    const p = new NmcliAdapterProvider({
      runner,
      interfaces: table({ wlan0: [ipv4('10.0.0.2', 'A4:83:E7:00:00:01')] }),
    });
    const list = await p.list();
    expect(list.map((a) => a.info)).toEqual([
      { id: 'wlan0', name: 'wlan0', mac: 'a4:83:e7:00:00:01' },
      { id: 'wlx00c0ca9a1b2c', name: 'wlx00c0ca9a1b2c' },
    ]);
    expect((await p.list())[0]).toBe(list[0]);
  });

  it('explains a missing NetworkManager', async () => {
    const runner = new FakeRunner(() => ({ code: 8, stderr: nm('nm-not-running.stderr.txt') }));
    await expect(new NmcliAdapterProvider({ runner }).list()).rejects.toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
      message: expect.stringContaining('NetworkManager is not running') as unknown,
    });
  });

  it('sweeps stale temporary profiles and nothing else', async () => {
    const runner = new FakeRunner((call) =>
      call.args.includes('show')
        ? { stdout: nm('connection-show.txt') }
        : { stdout: nm('connection-delete.txt') },
    );
    expect(await new NmcliAdapterProvider({ runner }).sweepStaleProfiles()).toBe(1);
    expect(runner.find('connection', 'delete').map((c) => c.args)).toEqual([
      connectionDeleteArgs('9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d'),
    ]);
  });
});
