/**
 * The NetworkManager radio backend: pure builders (exact argv), the agent-side nmcli parsers on
 * recorded-format output (test/fixtures/nmcli-agent/), and join / AP / status flows on a fake
 * CommandRunner that answers with those recordings. No NetworkManager runs here.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AP_PROFILE_NAME,
  CAPTIVE_DNS_FILE,
  apAddArgs,
  bandForChannel,
  connectionUpArgs,
  deviceShowIp4Args,
  deviceStatusArgs,
  networkAddArgs,
  networkProfileName,
  NetworkManagerRadio,
  registerNetworkManager,
  ssidArgText,
  wifiListArgs,
} from '../../../../agent/backends/networkmanager';
import { selectBackend } from '../../../../agent/backends/select-backend';
import type { CommandOptions, CommandResult, CommandRunner } from '../../../../agent/ports/command-runner';
import type { SetupApConfig } from '../../../../agent/ports/radio';
import fc from 'fast-check';
import { AirliftError } from '../../../../shared/errors';
import { saePasswordSchema } from '../../../../shared/passphrase';
import { agentConfigSchema } from '../../../../shared/agent-config';
import { parseWifiList } from '../../../../shared/linux-tools/nmcli';
import {
  nmAddConnectionDbusArgs,
  wpaEapMethodsArgs,
  wpaGetInterfaceArgs,
  wpaInterfaceCapabilitiesArgs,
} from '../../../../shared/linux-tools/busctl';
import {
  parseAddedUuid,
  parseConnectionList,
  parseDeviceShowIp4,
  passwdFileLine,
} from '../../../../shared/linux-tools/nmcli-connections';

const fx = (name: string) =>
  readFileSync(new URL(`../../../fixtures/nmcli-agent/${name}`, import.meta.url), 'utf8');
const iwFx = (name: string) => readFileSync(new URL(`../../../fixtures/iw/${name}`, import.meta.url), 'utf8');
const busFx = (name: string) =>
  readFileSync(new URL(`../../../fixtures/busctl/${name}`, import.meta.url), 'utf8');

const HOME_HEX = '486f6d65'; // "Home"
const NEW_UUID = '2c9e4b1a-7d3f-4e8a-b5c6-0d1e2f3a4b5c';
const AP_UUID = '0e9d8c7b-6a5f-4e3d-9c2b-1a0f9e8d7c6b';
const SECRET = 'pa:ss "w\\rd" $(x)';

const wifiListInUse = [
  '*:AA\\:BB\\:CC\\:DD\\:EE\\:00:Home:486F6D65:Infra:6:2437 MHz:90:WPA2',
  ' :AA\\:BB\\:CC\\:DD\\:EE\\:01:Other:4F74686572:Infra:11:2462 MHz:40:WPA2',
  '',
].join('\n');

interface Call {
  file: string;
  args: string[];
  options: CommandOptions | undefined;
  passwd?: { content: string; mode: number };
}

type Reply = Partial<CommandResult>;

/** Answers nmcli/iw/rfkill from the recordings; `up` replies are consumed in order. */
class FakeRunner implements CommandRunner {
  readonly calls: Call[] = [];
  upReplies: Reply[] = [{ stdout: fx('connection-up-ok.txt') }];
  deviceStatus = fx('device-status-disconnected.txt');
  wlanShow = fx('device-show-wlan0.txt');
  iwList = iwFx('list-no-combinations.txt');
  addReply: Reply = { stdout: fx('connection-add.txt') };
  /** busctl: wpa_supplicant's interface and capabilities, and NetworkManager's AddConnection. */
  busctl: { getInterface?: Reply; capabilities?: Reply; add?: Reply; eapMethods?: Reply } = {};
  /** `nmcli device wifi list` output. */
  wifiList = wifiListInUse;
  /** `iw … interface add` fails with this stderr. */
  iwAddError: string | undefined;
  /** The sysfs tree `iw` adds interfaces to and deletes them from (as the kernel would). */
  sysfs: string | undefined;

  run(file: string, args: readonly string[], options?: CommandOptions): Promise<CommandResult> {
    const call: Call = { file, args: [...args], options };
    const i = args.indexOf('passwd-file');
    if (i >= 0) {
      const path = args[i + 1] ?? '';
      call.passwd = { content: readFileSync(path, 'utf8'), mode: statSync(path).mode & 0o777 };
    }
    this.calls.push(call);
    return Promise.resolve({
      code: 0,
      signal: null,
      stdout: '',
      stderr: '',
      timedOut: false,
      durationMs: 1,
      ...this.reply(file, args),
    });
  }

  private reply(file: string, args: readonly string[]): Reply {
    const a = args.join(' ');
    if (file === 'iw' && a === 'list') return { stdout: this.iwList };
    if (file === 'iw' && a.includes('interface add')) {
      if (this.iwAddError !== undefined) return { code: 1, stderr: this.iwAddError };
      const name = args[4] ?? '';
      const addr = args.indexOf('addr') >= 0 ? args[args.indexOf('addr') + 1] : undefined;
      if (this.sysfs !== undefined) {
        mkdirSync(join(this.sysfs, name), { recursive: true });
        writeFileSync(join(this.sysfs, name, 'ifindex'), '7\n');
        writeFileSync(join(this.sysfs, name, 'address'), `${addr ?? 'b8:27:eb:12:34:56'}\n`);
      }
      return {};
    }
    if (file === 'iw' && args[0] === 'dev' && args[2] === 'del') {
      if (this.sysfs !== undefined) rmSync(join(this.sysfs, args[1] ?? ''), { recursive: true, force: true });
      return {};
    }
    if (file === 'iw' && a.endsWith('station dump')) return { stdout: iwFx('station-dump.txt') };
    if (file === 'busctl') {
      if (a.includes('GetInterface')) return this.busctl.getInterface ?? { code: 1, stderr: 'Call failed' };
      if (a.includes('Capabilities')) return this.busctl.capabilities ?? { code: 1, stderr: 'Call failed' };
      if (a.includes('EapMethods')) return this.busctl.eapMethods ?? { code: 1, stderr: 'Call failed' };
      if (a.includes('AddConnection'))
        return this.busctl.add ?? { stdout: 'o "/org/freedesktop/NetworkManager/Settings/9"' };
    }
    if (file !== 'nmcli') return {};
    if (a.endsWith('device status')) return { stdout: this.deviceStatus };
    if (a.endsWith('connection show')) return { stdout: fx('connection-show.txt') };
    if (a.includes('device wifi list')) return { stdout: this.wifiList };
    if (a.startsWith('connection add'))
      return a.includes(AP_PROFILE_NAME) ? { stdout: fx('connection-add-ap.txt') } : this.addReply;
    if (a.includes('connection up')) return this.upReplies.shift() ?? { stdout: fx('connection-up-ok.txt') };
    if (a.startsWith('connection delete')) return { stdout: fx('connection-delete.txt') };
    if (a.endsWith('device show wlan0')) return { stdout: this.wlanShow };
    if (a.endsWith('device show eth0')) return { stdout: fx('device-show-eth0.txt') };
    if (a.endsWith('device show cdc-wdm0')) return { stdout: fx('device-show-gsm.txt') };
    return {};
  }

  argsOf(pred: (c: Call) => boolean): string[][] {
    return this.calls.filter(pred).map((c) => c.args);
  }
}

const isUp = (c: Call) => c.args.includes('up');
const isDelete = (c: Call) => c.args[0] === 'connection' && c.args[1] === 'delete';

let tmpRoot: string;
let sysfs: string;
let runtimeDir: string;
beforeEach(() => {
  tmpRoot = mkdtempSync(join(tmpdir(), 'nm-test-'));
  sysfs = join(tmpRoot, 'sys-class-net');
  runtimeDir = join(tmpRoot, 'run');
  mkdirSync(join(sysfs, 'wlan0'), { recursive: true });
  writeFileSync(join(sysfs, 'wlan0', 'ifindex'), '3\n');
  writeFileSync(join(sysfs, 'wlan0', 'address'), 'b8:27:eb:12:34:56\n');
});
afterEach(() => {
  rmSync(tmpRoot, { recursive: true, force: true });
  logs.length = 0;
});

const logs: string[] = [];

function radio(
  runner: FakeRunner,
  extra: Partial<ConstructorParameters<typeof NetworkManagerRadio>[0]> = {},
) {
  let t = 0;
  return new NetworkManagerRadio({
    runner,
    ifname: 'wlan0',
    tmpRoot,
    dnsmasqSharedDir: join(tmpRoot, 'dnsmasq-shared.d'),
    sysfsNetDir: sysfs,
    runtimeDir,
    log: (message) => logs.push(message),
    now: () => (t += 10),
    ...extra,
  });
}

function expectNoSecretInArgv(runner: FakeRunner, ...secrets: string[]) {
  for (const c of runner.calls) {
    for (const s of secrets) expect(c.args.join('\u0000')).not.toContain(s);
  }
}

// ---------------------------------------------------------------------------------------------

describe('parsers (shared/linux-tools/nmcli-connections.ts)', () => {
  it('connection list: escapes, a name holding a newline, exact names', () => {
    const list = parseConnectionList(fx('connection-show.txt'));
    expect(list.map((p) => p.name)).toEqual([
      'airlift-net-486f6d65',
      'airlift-net-486f6d65',
      'airlift-net-486f6d6532',
      'Home',
      'x\nairlift-net-486f6d65',
      'a:b\\c "d"',
      'airlift-setup-ap',
      'Wired connection 1',
    ]);
    expect(list[7]).toEqual({
      name: 'Wired connection 1',
      uuid: 'e3b0c442-98fc-4c14-9afb-f4c8996fb924',
      type: '802-3-ethernet',
    });
  });

  it('device show → lease (first address, mask, gateway, DNS)', () => {
    expect(parseDeviceShowIp4(fx('device-show-wlan0.txt'))).toEqual({
      ip: '192.168.1.57',
      subnetmask: '255.255.255.0',
      defaultgw: '192.168.1.1',
      nameservers: ['192.168.1.1', '9.9.9.9'],
    });
    expect(parseDeviceShowIp4(fx('device-show-eth0.txt'))).toEqual({
      ip: '10.20.0.14',
      subnetmask: '255.255.0.0',
      defaultgw: '10.20.0.1',
      nameservers: ['10.20.0.2'],
    });
    expect(parseDeviceShowIp4(fx('device-show-no-ip.txt'))).toBeUndefined();
    expect(parseDeviceShowIp4('IP4.ADDRESS[1]:10.1.2.3/24\nIP4.GATEWAY:--\n')?.defaultgw).toBe('');
  });

  it('added UUIDs, passwd-file lines', () => {
    expect(parseAddedUuid(fx('connection-add.txt'))).toBe(NEW_UUID);
    expect(parseAddedUuid('Error: nope')).toBeUndefined();
    expect(passwdFileLine('plain pass')).toBe('802-11-wireless-security.psk:plain pass\n');
    expect(passwdFileLine(' a\\b ')).toBe('802-11-wireless-security.psk:\\040a\\\\b\\040\n');
    expect(() => passwdFileLine('a\nb')).toThrow(/CR, LF or NUL/);
  });

  it('hostile scan: SSID-HEX gives the exact bytes (colons, backslashes, quotes, LF, non-UTF-8)', () => {
    const expected = JSON.parse(fx('wifi-list-hostile.expected.json')) as string[];
    const scan = parseWifiList(fx('wifi-list-hostile.txt'));
    expect(scan.map((s) => s.ssidHex)).toEqual(expected);
    expect(scan[1]?.ssid).toBe('a:b:c');
    expect(scan[4]?.ssid).toBe('line1\\x0aline2'); // display text escapes control bytes
  });
});

describe('builders', () => {
  it('status, scan and device show argv', () => {
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
    expect(deviceShowIp4Args('eth0')).toEqual([
      '-t',
      '-f',
      'IP4.ADDRESS,IP4.GATEWAY,IP4.DNS',
      'device',
      'show',
      'eth0',
    ]);
  });

  it('network profile: name by SSID bytes, priority, key management, no secret', () => {
    expect(networkProfileName('C0FFEE')).toBe('airlift-net-c0ffee');
    expect(
      networkAddArgs({
        ifname: 'wlan0',
        ssidHex: '613a62',
        ssid: 'a:b',
        security: 'wpa2-psk',
        hidden: true,
        priority: 70,
      }),
    ).toEqual([
      'connection',
      'add',
      'type',
      'wifi',
      'ifname',
      'wlan0',
      'con-name',
      'airlift-net-613a62',
      'ssid',
      'a:b',
      'connection.autoconnect',
      'yes',
      'connection.autoconnect-priority',
      '70',
      '802-11-wireless.mode',
      'infrastructure',
      '802-11-wireless.hidden',
      'yes',
      'ipv4.method',
      'auto',
      'ipv4.may-fail',
      'no',
      '802-11-wireless-security.key-mgmt',
      'wpa-psk',
    ]);
    const open = networkAddArgs({
      ifname: 'wlan0',
      ssidHex: '61',
      ssid: 'a',
      security: 'open',
      hidden: false,
      priority: 1,
    });
    expect(open).not.toContain('802-11-wireless-security.key-mgmt');
    expect(
      networkAddArgs({
        ifname: 'w',
        ssidHex: '61',
        ssid: 'a',
        security: 'wpa3-sae',
        hidden: false,
        priority: 1,
      }).slice(-1),
    ).toEqual(['sae']);
  });

  it('setup AP profile: mode ap, shared /24, band from channel, open or WPA2', () => {
    const config: SetupApConfig = {
      ssid: 'Airlift-K7Q2',
      address: '10.161.42.1',
      prefixLength: 24,
      dhcpRange: { start: '10.161.42.10', end: '10.161.42.250' },
      channel: 6,
    };
    expect(apAddArgs('wlan0', config)).toEqual([
      'connection',
      'add',
      'save',
      'no',
      'type',
      'wifi',
      'ifname',
      'wlan0',
      'con-name',
      'airlift-setup-ap',
      'ssid',
      'Airlift-K7Q2',
      'connection.autoconnect',
      'no',
      '802-11-wireless.mode',
      'ap',
      '802-11-wireless.band',
      'bg',
      '802-11-wireless.channel',
      '6',
      'ipv4.method',
      'shared',
      'ipv4.addresses',
      '10.161.42.1/24',
      'ipv6.method',
      'disabled',
    ]);
    const wpa = apAddArgs('uap0', { ...config, channel: 36, passphrase: 'setup-secret' });
    expect(wpa.slice(16, 20)).toEqual(['802-11-wireless.band', 'a', '802-11-wireless.channel', '36']);
    expect(wpa.slice(-8)).toEqual([
      '802-11-wireless-security.key-mgmt',
      'wpa-psk',
      '802-11-wireless-security.proto',
      'rsn',
      '802-11-wireless-security.pairwise',
      'ccmp',
      '802-11-wireless-security.group',
      'ccmp',
    ]);
    expect(wpa).not.toContain('setup-secret');
    expect([1, 14, 36, 165].map(bandForChannel)).toEqual(['bg', 'bg', 'a', 'a']);
  });

  it('connection up and SSID text', () => {
    expect(connectionUpArgs('u', 'wlan0', 29.2, '/tmp/x/passwd')).toEqual([
      '--wait',
      '30',
      'connection',
      'up',
      'uuid',
      'u',
      'ifname',
      'wlan0',
      'passwd-file',
      '/tmp/x/passwd',
    ]);
    expect(ssidArgText('613a5c0a22')).toBe('a:\\\n"');
    expect(ssidArgText('ff3a')).toBeUndefined();
    expect(ssidArgText('610062')).toBeUndefined();
  });
});

describe('NetworkManagerRadio flows (fake runner)', () => {
  const target = { ssidHex: HOME_HEX, security: 'wpa2-psk' as const, passphrase: SECRET, hidden: false };

  it('join success: stale profiles for the same SSID deleted, secret only in a 0600 file', async () => {
    const runner = new FakeRunner();
    const outcome = await radio(runner).join(target, { timeoutMs: 30_000, keepAp: false });
    expect(outcome).toEqual({
      ok: true,
      lease: {
        ip: '192.168.1.57',
        subnetmask: '255.255.255.0',
        defaultgw: '192.168.1.1',
        nameservers: ['192.168.1.1', '9.9.9.9'],
      },
      bssid: 'aa:bb:cc:dd:ee:00',
      signal: -46,
    });
    // Only the two exact-name profiles, not the look-alikes (longer hex, name with a newline).
    expect(runner.argsOf(isDelete)).toEqual([
      ['connection', 'delete', 'uuid', '11111111-1111-4111-8111-111111111111'],
      ['connection', 'delete', 'uuid', '22222222-2222-4222-8222-222222222222'],
    ]);
    const up = runner.calls.find(isUp);
    expect(up?.args.slice(2, 8)).toEqual(['connection', 'up', 'uuid', NEW_UUID, 'ifname', 'wlan0']);
    expect(up?.passwd).toEqual({ content: passwdFileLine(SECRET), mode: 0o600 });
    expect(up?.options?.redact).toEqual([SECRET]);
    expect(up?.options?.timeoutMs).toBeGreaterThan(30_000);
    expectNoSecretInArgv(runner, SECRET);
    for (const c of runner.calls) expect(c.options?.timeoutMs).toBeGreaterThan(0);
    // The passwd file is gone afterwards.
    const file = up?.args[up.args.indexOf('passwd-file') + 1] ?? '';
    expect(() => statSync(file)).toThrow();
  });

  it.each([
    ['connection-up-wrong-secret.stderr.txt', 4, 'auth_failed'],
    ['connection-up-not-found.stderr.txt', 4, 'ssid_not_found'],
    ['connection-up-dhcp.stderr.txt', 4, 'dhcp_timeout'],
    ['connection-up-timeout.stderr.txt', 3, 'timeout'],
  ] as const)('%s → %s, profile deleted, no retry', async (file, code, reason) => {
    const runner = new FakeRunner();
    runner.upReplies = [{ code, stderr: fx(file) }];
    const outcome = await radio(runner).join(target, { timeoutMs: 30_000, keepAp: false });
    expect(outcome).toMatchObject({ ok: false, reason });
    expect(runner.argsOf(isUp)).toHaveLength(1);
    expect(runner.argsOf(isDelete).at(-1)).toEqual(['connection', 'delete', 'uuid', NEW_UUID]);
    expect(runner.calls.some((c) => c.file === 'rfkill')).toBe(false);
    expectNoSecretInArgv(runner, SECRET);
  });

  it('activated without an address → dhcp_timeout', async () => {
    const runner = new FakeRunner();
    runner.wlanShow = fx('device-show-no-ip.txt');
    const outcome = await radio(runner).join(target, { timeoutMs: 30_000, keepAp: false });
    expect(outcome).toMatchObject({ ok: false, reason: 'dhcp_timeout' });
    expect(runner.argsOf(isDelete).at(-1)).toEqual(['connection', 'delete', 'uuid', NEW_UUID]);
  });

  it('hardware-class failure: rfkill unblock wifi and one retry', async () => {
    const runner = new FakeRunner();
    runner.upReplies = [
      { code: 4, stderr: fx('connection-up-hardware.stderr.txt') },
      { stdout: fx('connection-up-ok.txt') },
    ];
    const outcome = await radio(runner).join(target, { timeoutMs: 30_000, keepAp: false });
    expect(outcome.ok).toBe(true);
    expect(runner.argsOf((c) => c.file === 'rfkill')).toEqual([['unblock', 'wifi']]);
    expect(runner.argsOf(isUp)).toHaveLength(2);

    const again = new FakeRunner();
    again.upReplies = [
      { code: 4, stderr: fx('connection-up-hardware.stderr.txt') },
      { code: 4, stderr: fx('connection-up-hardware.stderr.txt') },
    ];
    expect(await radio(again).join(target, { timeoutMs: 30_000, keepAp: false })).toMatchObject({
      ok: false,
      reason: 'hardware',
      detail: 'Error: Connection activation failed: The device could not be readied for configuration',
    });
    expect(again.argsOf(isUp)).toHaveLength(2);
  });

  it('open network: no passwd-file', async () => {
    const runner = new FakeRunner();
    await radio(runner).join(
      { ssidHex: HOME_HEX, security: 'open', hidden: true },
      { timeoutMs: 5000, keepAp: false },
    );
    expect(runner.calls.find(isUp)?.args).not.toContain('passwd-file');
  });

  it('an SSID argv cannot carry (not UTF-8, NUL) is saved over D-Bus as bytes, then activated by its UUID', async () => {
    for (const ssidHex of ['ff3a5c', '61006200']) {
      const runner = new FakeRunner();
      const outcome = await radio(runner, { priority: 35 }).join(
        { ...target, ssidHex },
        { timeoutMs: 5000, keepAp: false },
      );
      expect(outcome).toMatchObject({ ok: true });
      expect(runner.calls.some((c) => c.file === 'nmcli' && c.args[1] === 'add')).toBe(false);
      const add = runner.calls.find((c) => c.file === 'busctl' && c.args.includes('AddConnection'));
      expect(add?.args).toEqual(
        nmAddConnectionDbusArgs({
          ifname: 'wlan0',
          name: networkProfileName(ssidHex),
          ssidHex,
          uuid: add?.args[add.args.indexOf('uuid') + 2] ?? '',
          security: 'wpa2-psk',
          hidden: false,
          autoconnectPriority: 35,
        }),
      );
      const uuid = add?.args[add.args.indexOf('uuid') + 2];
      expect(uuid).toMatch(/^[0-9a-f-]{36}$/);
      const up = runner.calls.find(isUp);
      expect(up?.args.slice(2, 6)).toEqual(['connection', 'up', 'uuid', uuid]);
      expect(up?.passwd?.content).toBe(passwdFileLine(SECRET));
      expectNoSecretInArgv(runner, SECRET);
    }
  });

  it("a D-Bus profile NetworkManager refuses fails the join as hardware, with busctl's reason", async () => {
    const runner = new FakeRunner();
    runner.busctl.add = { code: 1, stderr: 'Call failed: Access denied\n' };
    const outcome = await radio(runner).join(
      { ...target, ssidHex: 'ff' },
      { timeoutMs: 5000, keepAp: false },
    );
    expect(outcome).toMatchObject({ ok: false, reason: 'hardware' });
    expect(outcome.ok ? '' : outcome.detail).toContain('Access denied');
    expect(runner.calls.some(isUp)).toBe(false);
  });

  it('without busctl: a byte SSID fails as hardware saying so, and capabilities still answer', async () => {
    class NoBusctl extends FakeRunner {
      override run(file: string, args: readonly string[], options?: CommandOptions): Promise<CommandResult> {
        if (file === 'busctl')
          return Promise.reject(new AirliftError('COMMAND_FAILED', 'spawn busctl ENOENT'));
        return super.run(file, args, options);
      }
    }
    const runner = new NoBusctl();
    const r = radio(runner);
    expect((await r.capabilities()).security).toContain('wpa3-sae');
    const outcome = await r.join({ ...target, ssidHex: 'ff' }, { timeoutMs: 5000, keepAp: false });
    expect(outcome).toMatchObject({ ok: false, reason: 'hardware' });
    expect(outcome.ok ? '' : outcome.detail).toMatch(/busctl.*ENOENT/);
  });

  it('WPA3 is offered when wpa_supplicant lists sae for the interface, not when it lists none', async () => {
    const withSae = new FakeRunner();
    withSae.busctl = {
      getInterface: { stdout: busFx('wpas-get-interface.json') },
      capabilities: { stdout: busFx('wpas-capabilities-sae.json') },
    };
    // EapMethods cannot be asked here: all three, as NetworkManager's supplicant has them.
    expect((await radio(withSae).capabilities()).security).toEqual([
      'open',
      'wpa2-psk',
      'wpa3-sae',
      'wpa2-enterprise',
      'wpa3-enterprise',
    ]);
    expect(withSae.argsOf((c) => c.file === 'busctl')).toEqual([
      wpaGetInterfaceArgs('wlan0'),
      wpaInterfaceCapabilitiesArgs('/fi/w1/wpa_supplicant1/Interfaces/1'),
      wpaEapMethodsArgs(),
    ]);

    const without = new FakeRunner();
    without.busctl = {
      getInterface: { stdout: busFx('wpas-get-interface.json') },
      capabilities: { stdout: busFx('wpas-capabilities-no-sae.json') },
    };
    // Without SAE no WPA3 of either kind (WPA3-Enterprise needs the PMF that SAE drivers have).
    expect((await radio(without).capabilities()).security).toEqual(['open', 'wpa2-psk', 'wpa2-enterprise']);

    // Cannot ask (no busctl, wpa_supplicant not on the bus): still offered, NetworkManager decides.
    const unknown = new FakeRunner();
    unknown.busctl = { getInterface: { code: 1, stderr: 'Call failed: The name is not activatable' } };
    expect((await radio(unknown).capabilities()).security).toContain('wpa3-sae');
  });

  it('priority from the join or the backend default', async () => {
    const runner = new FakeRunner();
    await radio(runner, { priority: 20 }).join(target, { timeoutMs: 5000, keepAp: false, priority: 90 });
    await radio(runner, { priority: 20 }).join(target, { timeoutMs: 5000, keepAp: false });
    const prio = runner
      .argsOf((c) => c.args[1] === 'add')
      .map((a) => a[a.indexOf('connection.autoconnect-priority') + 1]);
    expect(prio).toEqual(['90', '20']);
  });

  const apConfig: SetupApConfig = {
    ssid: 'Airlift-K7Q2',
    address: '10.161.42.1',
    prefixLength: 24,
    dhcpRange: { start: '10.161.42.10', end: '10.161.42.250' },
    channel: 6,
    passphrase: 'ap-secret-123',
  };

  it('points every DNS name at the setup AP while it is up (captive portal), and only then', async () => {
    const runner = new FakeRunner();
    const dir = join(tmpRoot, 'dnsmasq-shared.d');
    await mkdir(dir, { recursive: true });
    const r = radio(runner);
    await r.startAp(apConfig);
    expect(await readFile(join(dir, CAPTIVE_DNS_FILE), 'utf8')).toBe('address=/#/10.161.42.1\nno-ping\n');
    await r.stopAp();
    await expect(readFile(join(dir, CAPTIVE_DNS_FILE), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('AP up and down without AP+STA; joining takes the AP down first', async () => {
    const runner = new FakeRunner();
    const r = radio(runner);
    await r.startAp(apConfig);
    expect(runner.argsOf(isDelete)).toEqual([['connection', 'delete', 'uuid', AP_UUID]]); // stale AP profile
    const add = runner.argsOf((c) => c.args[1] === 'add')[0] ?? [];
    expect(add).toEqual(apAddArgs('wlan0', apConfig));
    const up = runner.calls.find(isUp);
    expect(up?.args.slice(2)).toEqual([
      'connection',
      'up',
      'uuid',
      AP_UUID,
      'ifname',
      'wlan0',
      'passwd-file',
      up?.args.at(-1),
    ]);
    expect(up?.passwd?.content).toBe('802-11-wireless-security.psk:ap-secret-123\n');

    runner.deviceStatus = fx('device-status-ap-only.txt');
    const status = await r.status();
    expect(status.ap).toEqual({ up: true, clients: 2, ssid: 'Airlift-K7Q2', address: '10.161.42.1' });
    expect(status.wifi).toEqual({ up: false });

    runner.calls.length = 0;
    await r.join(target, { timeoutMs: 5000, keepAp: true }); // no AP+STA: keepAp cannot hold
    expect(runner.argsOf(isDelete)[0]).toEqual(['connection', 'delete', 'uuid', AP_UUID]);

    runner.calls.length = 0;
    await r.startAp({ ...apConfig, passphrase: undefined });
    await r.stopAp();
    expect(runner.calls.find(isUp)?.args).not.toContain('passwd-file');
    expect(runner.argsOf(isDelete).at(-1)).toEqual(['connection', 'delete', 'uuid', AP_UUID]);
    expectNoSecretInArgv(runner, 'ap-secret-123', SECRET);
  });

  it('with AP+STA the AP runs on a virtual interface with a derived MAC; stopAp and close delete it', async () => {
    const runner = new FakeRunner();
    runner.iwList = iwFx('list-brcmfmac-rpi.txt');
    runner.sysfs = sysfs;
    const r = radio(runner);
    expect(await r.capabilities()).toEqual({
      concurrentApSta: true,
      security: ['open', 'wpa2-psk', 'wpa3-sae', 'wpa2-enterprise', 'wpa3-enterprise'],
      eap: ['peap', 'ttls', 'tls'],
      staticIpv4: true,
      bands: ['2.4GHz', '5GHz'],
      ethernet: true,
      cellular: false,
    });
    expect(runner.argsOf((c) => c.file === 'iw' && c.args[0] === 'dev')).toEqual([]); // not at capabilities
    await r.startAp(apConfig);
    expect(runner.argsOf((c) => c.file === 'iw' && c.args[0] === 'dev')).toEqual([
      ['dev', 'wlan0', 'interface', 'add', 'uap0', 'type', '__ap', 'addr', 'ba:27:eb:12:34:56'],
    ]);
    expect(existsSync(join(runtimeDir, 'created-uap0'))).toBe(true);
    const add = runner.argsOf((c) => c.args[1] === 'add')[0] ?? [];
    expect(add).toEqual(apAddArgs('uap0', apConfig, 'ba:27:eb:12:34:56'));
    expect(add.slice(add.indexOf('802-11-wireless.cloned-mac-address'))[1]).toBe('ba:27:eb:12:34:56');

    runner.calls.length = 0;
    await r.stopAp();
    expect(runner.argsOf((c) => c.file === 'iw')).toEqual([['dev', 'uap0', 'del']]);
    expect(existsSync(join(sysfs, 'uap0'))).toBe(false);
    expect(existsSync(join(runtimeDir, 'created-uap0'))).toBe(false);

    // A run that crashed with its AP up: the next one takes uap0 as its own and deletes it at close.
    await r.startAp(apConfig);
    const next = radio(runner);
    runner.calls.length = 0;
    await next.close();
    expect(runner.argsOf((c) => c.file === 'iw')).toEqual([['dev', 'uap0', 'del']]);
    expect(existsSync(join(sysfs, 'uap0'))).toBe(false);
  });

  it('an AP interface it did not create is used and never deleted', async () => {
    const runner = new FakeRunner();
    runner.iwList = iwFx('list-brcmfmac-rpi.txt');
    runner.sysfs = sysfs;
    mkdirSync(join(sysfs, 'uap0'));
    writeFileSync(join(sysfs, 'uap0', 'ifindex'), '9\n');
    writeFileSync(join(sysfs, 'uap0', 'address'), '02:11:22:33:44:55\n');
    const r = radio(runner);
    await r.startAp(apConfig);
    await r.stopAp();
    await r.close();
    expect(runner.argsOf((c) => c.file === 'iw' && c.args[0] === 'dev')).toEqual([]);
    expect(existsSync(join(sysfs, 'uap0'))).toBe(true);
  });

  it('creation failing falls back to taking turns on the station interface; capabilities say so at once', async () => {
    const runner = new FakeRunner();
    runner.iwList = iwFx('list-brcmfmac-rpi.txt');
    runner.iwAddError = 'command failed: Operation not supported (-95)';
    const r = radio(runner);
    expect((await r.capabilities()).concurrentApSta).toBe(true);
    await r.startAp(apConfig);
    expect(runner.argsOf((c) => c.args[1] === 'add')[0]).toEqual(apAddArgs('wlan0', apConfig));
    expect((await r.capabilities()).concurrentApSta).toBe(false);
    expect(logs.join('\n')).toMatch(
      /AP\+STA off: could not create uap0 \(iw: command failed: Operation not supported/,
    );
    expect(existsSync(join(runtimeDir, 'created-uap0'))).toBe(false);
    runner.calls.length = 0;
    await r.join(target, { timeoutMs: 5000, keepAp: true }); // takes turns now
    expect(runner.argsOf(isDelete)[0]).toEqual(['connection', 'delete', 'uuid', AP_UUID]);
  });

  it('the interface named as the station interface: always take turns', async () => {
    const runner = new FakeRunner();
    runner.iwList = iwFx('list-brcmfmac-rpi.txt');
    const r = radio(runner, { apIfname: 'wlan0' });
    expect((await r.capabilities()).concurrentApSta).toBe(false);
    await r.startAp(apConfig);
    expect(runner.argsOf((c) => c.file === 'iw' && c.args[0] === 'dev')).toEqual([]);
  });
  it('status: Wi-Fi, Ethernet and cellular with leases; AP on its own interface', async () => {
    const runner = new FakeRunner();
    runner.deviceStatus = fx('device-status.txt');
    const status = await radio(runner).status();
    expect(status.wifi).toEqual({
      up: true,
      lease: {
        ip: '192.168.1.57',
        subnetmask: '255.255.255.0',
        defaultgw: '192.168.1.1',
        nameservers: ['192.168.1.1', '9.9.9.9'],
      },
      ssidHex: HOME_HEX,
      bssid: 'aa:bb:cc:dd:ee:00',
      signal: -46,
    });
    expect(status.ethernet).toEqual({
      up: true,
      lease: {
        ip: '10.20.0.14',
        subnetmask: '255.255.0.0',
        defaultgw: '10.20.0.1',
        nameservers: ['10.20.0.2'],
      },
    });
    expect(status.cellular.lease?.ip).toBe('100.72.14.9');
    expect(status.ap).toEqual({ up: true, clients: 2 });
    expect(await radio(runner).capabilities()).toMatchObject({
      ethernet: true,
      cellular: true,
      concurrentApSta: false,
    });
  });

  it('scan rescans, falls back to the cached list; leave disconnects only a station link', async () => {
    const runner = new FakeRunner();
    const scan = await radio(runner).scan();
    expect(scan.map((s) => s.ssidHex)).toEqual([HOME_HEX, '4f74686572']);
    expect(runner.calls[0]?.args.at(-1)).toBe('yes');

    runner.deviceStatus = fx('device-status.txt');
    runner.calls.length = 0;
    await radio(runner).leave();
    expect(runner.argsOf((c) => c.args[1] === 'disconnect')).toEqual([['device', 'disconnect', 'wlan0']]);
    runner.deviceStatus = fx('device-status-disconnected.txt');
    runner.calls.length = 0;
    await radio(runner).leave();
    expect(runner.argsOf((c) => c.args[1] === 'disconnect')).toEqual([]);
  });

  it('registerNetworkManager makes `backend: networkmanager` selectable', async () => {
    registerNetworkManager();
    const config = agentConfigSchema.parse({ backend: 'networkmanager' });
    const port = await selectBackend(config, new FakeRunner());
    expect(port).toBeInstanceOf(NetworkManagerRadio);
  });
});

describe('NetworkManagerRadio: one channel for AP and station (#channels <= 1)', () => {
  const target = { ssidHex: HOME_HEX, security: 'wpa2-psk' as const, passphrase: SECRET, hidden: false };
  const ap: SetupApConfig = {
    ssid: 'Airlift-K7Q2',
    address: '10.161.42.1',
    prefixLength: 24,
    dhcpRange: { start: '10.161.42.10', end: '10.161.42.250' },
    channel: 1,
  };
  /** `device wifi list` with Home on `freq` (in use or not) and Other on channel 11. */
  const list = (chan: number, freq: number, inUse: boolean) =>
    [
      `${inUse ? '*' : ' '}:AA\\:BB\\:CC\\:DD\\:EE\\:00:Home:486F6D65:Infra:${chan}:${freq} MHz:90:WPA2`,
      ' :AA\\:BB\\:CC\\:DD\\:EE\\:01:Other:4F74686572:Infra:11:2462 MHz:40:WPA2',
      '',
    ].join('\n');
  const apAdds = (runner: FakeRunner) =>
    runner.argsOf((c) => c.args[1] === 'add' && c.args.includes(AP_PROFILE_NAME));
  const channelOf = (args: string[] | undefined) => args?.[args.indexOf('802-11-wireless.channel') + 1];
  const apDeletes = (runner: FakeRunner) => runner.argsOf(isDelete).filter((a) => a[3] === AP_UUID);

  async function apOnChannel1(extra: Parameters<typeof radio>[1] = {}) {
    const runner = new FakeRunner();
    runner.iwList = iwFx('list-brcmfmac-rpi.txt');
    runner.sysfs = sysfs;
    runner.wifiList = list(6, 2437, false); // the station is not associated: the configured channel
    const r = radio(runner, extra);
    await r.startAp(ap);
    expect(channelOf(apAdds(runner)[0])).toBe('1');
    runner.calls.length = 0;
    return { runner, r };
  }

  it('the AP starts on the channel of an associated station', async () => {
    const runner = new FakeRunner();
    runner.iwList = iwFx('list-brcmfmac-rpi.txt');
    runner.sysfs = sysfs;
    runner.wifiList = list(6, 2437, true);
    await radio(runner).startAp(ap);
    expect(channelOf(apAdds(runner)[0])).toBe('6');
  });

  it('a station on 5 GHz without a country gives way to the AP, which keeps its own channel', async () => {
    const runner = new FakeRunner();
    runner.iwList = iwFx('list-brcmfmac-rpi.txt');
    runner.sysfs = sysfs;
    runner.wifiList = list(36, 5180, true);
    runner.deviceStatus = fx('device-status.txt');
    await radio(runner).startAp(ap);
    expect(runner.argsOf((c) => c.args[1] === 'disconnect')).toEqual([['device', 'disconnect', 'wlan0']]);
    expect(channelOf(apAdds(runner)[0])).toBe('1');
    expect(logs.join('\n')).toMatch(/station gives way .*channel 36 is 5 GHz/);
  });

  it('a join to another channel takes the AP profile down, then brings it back on the station channel', async () => {
    const { runner, r } = await apOnChannel1();
    runner.wifiList = list(6, 2437, true);
    await r.scan();
    expect((await r.join(target, { timeoutMs: 5000, keepAp: true })).ok).toBe(true);
    expect(apDeletes(runner)).toHaveLength(1);
    const order = runner.calls.map((c) => c.args.join(' '));
    const paused = order.findIndex((a) => a === `connection delete uuid ${AP_UUID}`);
    const joined = order.findIndex((a) => a.includes(`connection up uuid ${NEW_UUID}`));
    const back = order.findIndex((a) => a.startsWith('connection add') && a.includes(AP_PROFILE_NAME));
    expect(paused).toBeLessThan(joined);
    expect(joined).toBeLessThan(back);
    expect(channelOf(apAdds(runner)[0])).toBe('6');
    expect(apAdds(runner)[0]).toContain('ba:27:eb:12:34:56');
    expect(logs.join('\n')).toMatch(
      /profile is down for this join: one channel for AP and station, the AP on 1/,
    );
    // Same channel next time: the AP is left alone.
    runner.calls.length = 0;
    await r.join(target, { timeoutMs: 5000, keepAp: true });
    expect(apDeletes(runner)).toEqual([]);
    expect(apAdds(runner)).toEqual([]);
  });

  it('after a failed join the AP is back on its configured channel', async () => {
    const { runner, r } = await apOnChannel1();
    await r.scan();
    runner.upReplies = [{ code: 4, stderr: fx('connection-up-wrong-secret.stderr.txt') }];
    expect(await r.join(target, { timeoutMs: 5000, keepAp: true })).toMatchObject({ reason: 'auth_failed' });
    expect(apDeletes(runner)).toHaveLength(1);
    expect(channelOf(apAdds(runner)[0])).toBe('1');
  });

  it('5 GHz target without a country: take turns for that join; the AP stays down after success', async () => {
    const { runner, r } = await apOnChannel1();
    runner.wifiList = list(36, 5180, true);
    await r.scan();
    expect((await r.join(target, { timeoutMs: 5000, keepAp: true })).ok).toBe(true);
    expect(apDeletes(runner)).toHaveLength(1);
    expect(apAdds(runner)).toEqual([]);
    expect(runner.argsOf((c) => c.file === 'iw')).toContainEqual(['dev', 'uap0', 'del']);
    expect(logs.join('\n')).toMatch(/take turns\): channel 36 is 5 GHz and no regulatory country/);
  });

  it('5 GHz non-DFS target with a country: the AP follows onto it', async () => {
    const { runner, r } = await apOnChannel1({ country: 'DE' });
    runner.wifiList = list(36, 5180, true);
    await r.scan();
    expect((await r.join(target, { timeoutMs: 5000, keepAp: true })).ok).toBe(true);
    const back = apAdds(runner)[0];
    expect(channelOf(back)).toBe('36');
    expect(back?.[back.indexOf('802-11-wireless.band') + 1]).toBe('a');
  });

  it('DFS target even with a country: take turns; after a failure the whole AP comes back', async () => {
    const { runner, r } = await apOnChannel1({ country: 'DE' });
    runner.wifiList = list(100, 5500, false);
    await r.scan();
    runner.upReplies = [{ code: 4, stderr: fx('connection-up-wrong-secret.stderr.txt') }];
    expect((await r.join(target, { timeoutMs: 5000, keepAp: true })).ok).toBe(false);
    expect(logs.join('\n')).toMatch(/channel 100 is a DFS channel/);
    expect(runner.argsOf((c) => c.file === 'iw' && c.args[0] === 'dev').map((a) => a.join(' '))).toEqual([
      'dev uap0 del',
      'dev wlan0 interface add uap0 type __ap addr ba:27:eb:12:34:56',
    ]);
    expect(channelOf(apAdds(runner)[0])).toBe('1');
  });

  it('registerNetworkManager passes setup.country on', async () => {
    registerNetworkManager();
    const config = agentConfigSchema.parse({ backend: 'networkmanager', setup: { country: 'DE' } });
    const port = await selectBackend(config, new FakeRunner());
    expect(Reflect.get(Reflect.get(port, 'options') as object, 'country')).toBe('DE');
  });
});

// ---------------------------------------------------------------------------------------------
// What NetworkManager makes of a SAE password: nmcli reads the passwd-file, NetworkManager hands
// the secret to wpa_supplicant. Both steps as their sources do them, so every password the input
// rules accept is shown to arrive unchanged (no NetworkManager runs here).

/**
 * nmcli's reading of one passwd-file line (libnmc-base/nm-client-utils.c
 * nmc_utils_parse_passwd_file: lines end at CR or LF, `setting.property` up to the first `:`; the
 * value through nm_utils_buf_utf8safe_unescape with STRIP_SPACES: unescaped leading and trailing
 * ASCII whitespace dropped, `\NNN` octal, `\b \f \n \r \t \v`, any other `\c` is `c`).
 */
function nmcliPasswdValue(file: string): { key: string; value: string } {
  const line = file.split(/\r\n|\n|\r/)[0] ?? '';
  const colon = line.search(/[:=]/);
  const key = line.slice(0, colon).trim();
  const raw = Array.from(line.slice(colon + 1).replace(/^[ \t\n\v\f\r]+/, '')); // code points
  const named: Record<string, number> = { b: 8, f: 12, n: 10, r: 13, t: 9, v: 11 };
  const bytes: number[] = [];
  let trailingPlain = 0; // unescaped whitespace at the end, which STRIP_SPACES drops
  const utf8 = new TextEncoder();
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] ?? '';
    if (c !== '\\') {
      const encoded = [...utf8.encode(c)];
      bytes.push(...encoded);
      trailingPlain = /[ \t\n\v\f\r]/.test(c) ? trailingPlain + 1 : 0;
      continue;
    }
    trailingPlain = 0;
    const next = raw[++i] ?? '';
    if (next === '') break; // a trailing backslash: nmcli stops there
    if (/[0-9]/.test(next)) {
      let v = Number(next);
      for (let k = 0; k < 2 && /[0-7]/.test(raw[i + 1] ?? ''); k++) v = v * 8 + Number(raw[++i]);
      bytes.push(v & 0xff);
    } else {
      bytes.push(named[next] ?? next.charCodeAt(0));
    }
  }
  const kept = bytes.slice(0, bytes.length - trailingPlain);
  return { key, value: new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(kept)) };
}

/**
 * How NetworkManager hands a SAE password to wpa_supplicant (core/supplicant/nm-supplicant-config.c:
 * 8..63 bytes as `psk`, otherwise `sae_password`, both quoted strings over D-Bus), and whether
 * wpa_supplicant takes it (wpa_supplicant/config.c: a quoted `psk` must have no byte < 0x20 or 0x7f,
 * `has_ctrl_char`; a quoted string ends at its last `"`).
 */
function supplicantTakesNmSecret(secret: string): boolean {
  const bytes = new TextEncoder().encode(secret);
  if (bytes.length >= 8 && bytes.length <= 63) return !bytes.some((b) => b < 0x20 || b === 0x7f);
  return bytes.length > 0 && !bytes.includes(0);
}

describe('a SAE password through NetworkManager', () => {
  const corpus = (
    JSON.parse(readFileSync(new URL('../../../fixtures/hostile-inputs.json', import.meta.url), 'utf8')) as {
      passphrases: { label: string; security?: string; passphrase?: string; verdict: string }[];
    }
  ).passphrases.filter((e) => e.security === 'wpa3-sae' && e.passphrase !== undefined);
  const extra = [
    '  ',
    ' a\\b ',
    '\\',
    '\\\\040',
    'a\\nb',
    '\u00a0nbsp\u00a0',
    '\u2028sep',
    'x'.repeat(63),
    '\v',
    'tabbed\tpassword',
  ];

  it('reads the passwd-file as nmcli does (and the reader can tell a bad line)', () => {
    expect(nmcliPasswdValue(passwdFileLine(' a\\b '))).toEqual({
      key: '802-11-wireless-security.psk',
      value: ' a\\b ',
    });
    // Unescaped, the spaces and the backslash would be lost: the reader is not the identity.
    expect(nmcliPasswdValue('802-11-wireless-security.psk: a\\q \n').value).toBe('aq');
    expect(nmcliPasswdValue('802-11-wireless-security.psk:a\\tb\\101').value).toBe('a\tbA');
  });

  it('every value the input rules accept arrives unchanged and is taken by wpa_supplicant', () => {
    const accepted = [...corpus.map((e) => e.passphrase ?? ''), ...extra].filter(
      (p) => saePasswordSchema.safeParse(p).success,
    );
    expect(accepted.length).toBeGreaterThan(20);
    for (const password of accepted) {
      expect(nmcliPasswdValue(passwdFileLine(password)).value, JSON.stringify(password)).toBe(password);
      expect(supplicantTakesNmSecret(password), JSON.stringify(password)).toBe(true);
    }
  });

  it('the same holds for any accepted string (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'grapheme', maxLength: 64 }),
          fc.string({ unit: 'binary', maxLength: 64 }),
        ),
        (password) => {
          if (!saePasswordSchema.safeParse(password).success) return;
          expect(nmcliPasswdValue(passwdFileLine(password)).value).toBe(password);
          expect(supplicantTakesNmSecret(password)).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('what the rules refuse is what one of the two steps would lose or refuse', () => {
    for (const password of ['tab\there ok', 'esc\x1bape!', 'del\x7fete!', 'nl\nno', 'nul\0no']) {
      expect(saePasswordSchema.safeParse(password).success).toBe(false);
      const arrives = (): boolean => {
        try {
          return nmcliPasswdValue(passwdFileLine(password)).value === password;
        } catch {
          return false; // passwdFileLine refuses it
        }
      };
      expect(arrives() && supplicantTakesNmSecret(password), JSON.stringify(password)).toBe(false);
    }
  });
});
