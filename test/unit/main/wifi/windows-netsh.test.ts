/**
 * The netsh adapter: parsers on recorded English netsh output (test/fixtures/netsh/, Windows 10 and
 * 11 shapes, CRLF), the WLAN profile XML, exact argv, and the join flow on a fake runner.
 * No Windows here: command-line quoting and real netsh behaviour are not tested.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { toHex, utf8Encode } from '../../../../shared/encoding';
import { AirliftError } from '../../../../shared/errors';
import { scanResultSchema } from '../../../../shared/protocol/wifi';
import type { JoinRequest } from '../../../../main/ports/wifi-adapter';
import {
  addProfileArgs,
  buildWlanProfileXml,
  channelToFrequency,
  connectArgs,
  deleteProfileArgs,
  disconnectArgs,
  exportProfileArgs,
  isLocationRefusal,
  NetshAdapter,
  NetshAdapterProvider,
  netshSecurity,
  netshSignalToDbm,
  parseConnectOutput,
  parseShowInterfaces,
  parseShowNetworks,
  profileXmlSsidHex,
  showInterfacesArgs,
  showNetworksArgs,
  xmlEscape,
} from '../../../../main/wifi/windows-netsh';
import {
  expectSecretNeverInArgv,
  FakeRunner,
  fixture,
  ipv4,
  manualClock,
  table,
  type Handler,
} from './fakes';

const ns = (name: string) => fixture('netsh', name);
const PASS = `p&ss<w>rd "quoted" 'x'`;
const SETUP_HEX = toHex(utf8Encode('Airlift-3f9a2c41'));

let tmpRoot: string;
beforeEach(() => {
  tmpRoot = mkdtempSync(join(tmpdir(), 'airlift-test-'));
});
afterEach(() => {
  rmSync(tmpRoot, { recursive: true, force: true });
});

describe('parseShowInterfaces', () => {
  it('reads the Windows 11 shape: two interfaces, AP BSSID, continuation lines ignored', () => {
    const [wifi, usb, ...rest] = parseShowInterfaces(ns('show-interfaces-win11.txt'));
    expect(rest).toEqual([]);
    expect(wifi).toEqual({
      name: 'Wi-Fi',
      description: 'Intel(R) Wi-Fi 6E AX211 160MHz',
      guid: 'e6b08c8a-3feb-4c3e-88c3-dee94dd2f0eb',
      mac: '10:f6:0a:db:fc:e5',
      state: 'connected',
      ssid: 'Home:Office "5G"',
      bssid: 'f4:92:bf:6a:13:02',
      profile: 'Home:Office "5G"',
      signalPercent: 87,
      channel: 36,
      authentication: 'WPA2-Personal',
    });
    expect(usb).toMatchObject({ name: 'Wi-Fi 2', state: 'disconnected' });
    expect(usb).not.toHaveProperty('ssid');
  });

  it('reads the Windows 10 shape and keeps an SSID’s edge spaces', () => {
    const [wifi] = parseShowInterfaces(ns('show-interfaces-win10.txt'));
    expect(wifi).toMatchObject({
      ssid: '  spaced  ',
      profile: '  spaced  ',
      bssid: 'c8:3a:35:2b:7c:11',
      channel: 11,
    });
  });

  it('reads "no wireless interface" as none', () => {
    expect(parseShowInterfaces(ns('show-interfaces-none.txt'))).toEqual([]);
  });

  it('turns the Windows 11 24H2 Location refusal into BACKEND_UNAVAILABLE with the fix', () => {
    for (const f of ['show-interfaces-location-denied.txt', 'show-networks-location-denied.txt']) {
      let err: unknown;
      try {
        parseShowInterfaces(ns(f));
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AirliftError);
      expect(err).toMatchObject({
        code: 'BACKEND_UNAVAILABLE',
        details: { fix: 'start ms-settings:privacy-location' },
      });
      expect((err as Error).message).toContain('Let desktop apps access your location');
    }
  });

  it('is not fooled by an SSID that quotes the refusal', () => {
    const text = ns('show-networks-bssid-win10.txt').replace(
      'SSID 2 : Airlift-77b0e1d2',
      'SSID 2 : ms-settings:privacy-location',
    );
    expect(isLocationRefusal(text)).toBe(false);
    expect(parseShowNetworks(text).networks).toHaveLength(3);
  });
});

describe('parseShowNetworks', () => {
  const { networks, ssidBlocks } = parseShowNetworks(ns('show-networks-bssid-win11.txt'));

  it('gives one result per BSSID of every infrastructure network', () => {
    expect(ssidBlocks).toBe(8);
    expect(networks.map((n) => n.bssid)).toEqual([
      'f4:92:bf:6a:13:02',
      'f4:92:bf:6a:13:01',
      '6e:7a:3c:00:91:4f',
      'c8:3a:35:2b:7c:11',
      'c8:3a:35:2b:7c:12',
      '00:1d:7e:aa:10:3b',
      '00:0f:66:41:2c:90',
      '3c:84:6a:f1:02:9d',
    ]);
    for (const n of networks) expect(scanResultSchema.parse(n)).toEqual(n);
  });

  it('keeps hostile SSID text exactly (colons, quotes, edge spaces, shell and XML characters) and hidden as empty', () => {
    expect(networks[0]).toEqual({
      ssid: 'Home:Office "5G"',
      ssidHex: toHex(utf8Encode('Home:Office "5G"')),
      bssid: 'f4:92:bf:6a:13:02',
      frequency: 5180,
      signal: -56,
      security: 'wpa2-psk',
      known: false,
    });
    expect(networks[3]?.ssidHex).toBe(toHex(utf8Encode('  spaced  ')));
    expect(networks[4]).toMatchObject({ ssid: '', ssidHex: '' });
    // What netsh printed for "Café" through a console code page: the loss is visible, not hidden.
    expect(networks[7]?.ssid).toBe('Caf\ufffd $(reboot) & <b>');
  });

  it('maps security, band and signal', () => {
    expect(networks.map((n) => n.security)).toEqual([
      'wpa2-psk',
      'wpa2-psk',
      'open',
      'wpa3-sae',
      'wpa2-psk',
      'enterprise',
      'wep',
      'wpa2-psk',
    ]);
    expect(networks.map((n) => n.frequency)).toEqual([5180, 2437, 2412, 2462, 5745, 5500, 2422, 6135]);
  });

  it('reads the Windows 10 shape, where there is no Band line', () => {
    const r = parseShowNetworks(ns('show-networks-bssid-win10.txt')).networks;
    expect(r.map((n) => [n.ssid, n.frequency, n.signal])).toEqual([
      ['HomeNet', 2437, -64],
      ['HomeNet', 5220, -55],
      ['Airlift-77b0e1d2', 2462, -79],
    ]);
  });

  it('finds nothing in non-English output (the adapter then refuses, see below)', () => {
    expect(parseShowNetworks(ns('show-networks-german.txt'))).toEqual({ networks: [], ssidBlocks: 1 });
  });

  it('helpers: signal, security, frequency', () => {
    expect([netshSignalToDbm(100), netshSignalToDbm(0), netshSignalToDbm(50), netshSignalToDbm(120)]).toEqual(
      [-50, -100, -75, -50],
    );
    expect(netshSecurity('WPA3-Personal', 'GCMP')).toBe('wpa3-sae');
    expect(netshSecurity('WPA2-Personal/WPA3-Personal transition', 'CCMP')).toBe('wpa2-wpa3');
    expect(netshSecurity('WPA-Personal', 'TKIP')).toBe('wpa2-psk');
    expect(netshSecurity('Shared', 'WEP')).toBe('wep');
    expect(netshSecurity('OWE', 'CCMP')).toBe('owe');
    expect(netshSecurity('Open', 'None')).toBe('open');
    expect([channelToFrequency(14), channelToFrequency(1, '6 GHz'), channelToFrequency(2, '6 GHz')]).toEqual([
      2484, 5955, 5935,
    ]);
  });
});

describe('connect output and exported profiles', () => {
  it('reads connect results', () => {
    expect(parseConnectOutput(ns('connect-ok.txt'))).toEqual({ ok: true });
    expect(parseConnectOutput(ns('connect-not-available.txt'))).toMatchObject({
      ok: false,
      reason: 'ssid_not_found',
    });
    expect(parseConnectOutput('There is no profile "x" assigned to the specified interface.')).toMatchObject({
      ok: false,
      reason: 'hardware',
    });
    expect(() => parseConnectOutput(ns('connect-location-denied.txt'))).toThrow(AirliftError);
  });

  it('reads the exact SSID bytes from an exported profile', () => {
    expect(profileXmlSsidHex(ns('export-profile.xml'))).toBe(toHex(utf8Encode('Home:Office "5G"')));
    expect(
      profileXmlSsidHex('<WLANProfile><SSIDConfig><SSID><name>x</name></SSID></SSIDConfig></WLANProfile>'),
    ).toBe(undefined);
  });
});

describe('buildWlanProfileXml', () => {
  it('writes a WPA2-Personal profile with the SSID in hex and the key XML-escaped', () => {
    const xml = buildWlanProfileXml({
      name: 'airlift-tmp-0a1b2c3d',
      ssidHex: toHex(utf8Encode('Lab "A" & <B>')),
      security: 'wpa2-psk',
      passphrase: PASS,
    });
    expect(xml).toBe(
      [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<WLANProfile xmlns="http://www.microsoft.com/networking/WLAN/profile/v1">',
        '\t<name>airlift-tmp-0a1b2c3d</name>',
        '\t<SSIDConfig>',
        '\t\t<SSID>',
        '\t\t\t<hex>4C6162202241222026203C423E</hex>',
        '\t\t\t<name>Lab &#34;A&#34; &#38; &#60;B&#62;</name>',
        '\t\t</SSID>',
        '\t\t<nonBroadcast>false</nonBroadcast>',
        '\t</SSIDConfig>',
        '\t<connectionType>ESS</connectionType>',
        '\t<connectionMode>manual</connectionMode>',
        '\t<autoSwitch>false</autoSwitch>',
        '\t<MSM>',
        '\t\t<security>',
        '\t\t\t<authEncryption>',
        '\t\t\t\t<authentication>WPA2PSK</authentication>',
        '\t\t\t\t<encryption>AES</encryption>',
        '\t\t\t\t<useOneX>false</useOneX>',
        '\t\t\t</authEncryption>',
        '\t\t\t<sharedKey>',
        '\t\t\t\t<keyType>passPhrase</keyType>',
        '\t\t\t\t<protected>false</protected>',
        '\t\t\t\t<keyMaterial>p&#38;ss&#60;w&#62;rd &#34;quoted&#34; &#39;x&#39;</keyMaterial>',
        '\t\t\t</sharedKey>',
        '\t\t</security>',
        '\t</MSM>',
        '</WLANProfile>',
        '',
      ].join('\n'),
    );
  });

  it('writes a WPA2 raw PSK as a networkKey, lowercased', () => {
    const psk = 'AB'.repeat(32);
    const xml = buildWlanProfileXml({ name: 'n', ssidHex: '41', security: 'wpa2-psk', psk });
    expect(xml).toContain(
      [
        '\t\t\t<sharedKey>',
        '\t\t\t\t<keyType>networkKey</keyType>',
        '\t\t\t\t<protected>false</protected>',
        `\t\t\t\t<keyMaterial>${'ab'.repeat(32)}</keyMaterial>`,
        '\t\t\t</sharedKey>',
      ].join('\n'),
    );
    expect(xml).not.toContain('passPhrase');
    expect(() => buildWlanProfileXml({ name: 'n', ssidHex: '41', security: 'wpa3-sae', psk })).toThrow(
      /WPA2 only/,
    );
    expect(() => buildWlanProfileXml({ name: 'n', ssidHex: '41', security: 'wpa2-psk', psk: 'ab' })).toThrow(
      /64 hex/,
    );
    expect(() =>
      buildWlanProfileXml({
        name: 'n',
        ssidHex: '41',
        security: 'wpa2-psk',
        psk,
        passphrase: 'correct horse',
      }),
    ).toThrow(/not both/);
  });

  it('omits <name> for an SSID that is not printable text (hex alone is authoritative)', () => {
    for (const hex of ['fffe4142', '6c696e65310a6c696e6532', '610062']) {
      const xml = buildWlanProfileXml({ name: 'n', ssidHex: hex, security: 'open', hidden: true });
      expect(xml).toContain(`<hex>${hex.toUpperCase()}</hex>`);
      expect(xml).not.toMatch(/<SSID>[\s\S]*<name>/);
      expect(xml).toContain('<nonBroadcast>true</nonBroadcast>');
      expect(xml).toContain('<authentication>open</authentication>');
      expect(xml).toContain('<encryption>none</encryption>');
      expect(xml).not.toContain('sharedKey');
    }
  });

  it('uses WPA3SAE for WPA3-Personal', () => {
    const xml = buildWlanProfileXml({
      name: 'n',
      ssidHex: '41',
      security: 'wpa3-sae',
      passphrase: 'pässwörd',
    });
    expect(xml).toContain('<authentication>WPA3SAE</authentication>');
    expect(xml).toContain('<keyMaterial>pässwörd</keyMaterial>');
  });

  it('round-trips every accepted SSID of the hostile corpus through <hex>, nothing unescaped', () => {
    const hostile = JSON.parse(
      readFileSync(new URL('../../../fixtures/hostile-inputs.json', import.meta.url), 'utf8'),
    ) as {
      ssids: { text?: string; hex?: string; verdict: string }[];
    };
    let n = 0;
    for (const s of hostile.ssids) {
      if (s.verdict !== 'accept') continue;
      const hex = s.hex?.toLowerCase() ?? toHex(utf8Encode(s.text ?? ''));
      const xml = buildWlanProfileXml({
        name: 'airlift-tmp-x',
        ssidHex: hex,
        security: 'wpa2-psk',
        passphrase: PASS,
      });
      expect(profileXmlSsidHex(xml)).toBe(hex);
      // With every tag and entity removed, no markup character is left: the SSID could not add any.
      const text = xml
        .replace(/<\?xml[^>]*\?>/, '')
        .replace(/<\/?[A-Za-z]+(?: xmlns="[^"]*")?>/g, '')
        .replace(/&#\d+;/g, '');
      expect(text).not.toMatch(/[<>&]/);
      n++;
    }
    expect(n).toBeGreaterThan(40);
  });

  it('refuses what a profile cannot hold', () => {
    expect(() => buildWlanProfileXml({ name: 'n', ssidHex: '', security: 'open' })).toThrow(AirliftError);
    expect(() => buildWlanProfileXml({ name: 'n', ssidHex: '41', security: 'wpa2-psk' })).toThrow(
      AirliftError,
    );
    expect(() =>
      buildWlanProfileXml({ name: 'n', ssidHex: '41', security: 'wpa2-psk', passphrase: 'a\u0001bcdefgh' }),
    ).toThrow(/control characters/);
    expect(() => xmlEscape('\u0000')).toThrow(AirliftError);
  });
});

describe('builders', () => {
  it('give netsh one key=value per argument, never quotes of our own', () => {
    expect(showInterfacesArgs()).toEqual(['wlan', 'show', 'interfaces']);
    expect(showNetworksArgs('Wi-Fi 2')).toEqual([
      'wlan',
      'show',
      'networks',
      'mode=bssid',
      'interface=Wi-Fi 2',
    ]);
    expect(
      addProfileArgs('C:\\Users\\Jo Doe\\AppData\\Local\\Temp\\airlift-x\\profile.xml', 'Wi-Fi'),
    ).toEqual([
      'wlan',
      'add',
      'profile',
      'filename=C:\\Users\\Jo Doe\\AppData\\Local\\Temp\\airlift-x\\profile.xml',
      'interface=Wi-Fi',
      'user=current',
    ]);
    expect(connectArgs('airlift-tmp-0a1b2c3d', 'Wi-Fi')).toEqual([
      'wlan',
      'connect',
      'name=airlift-tmp-0a1b2c3d',
      'interface=Wi-Fi',
    ]);
    expect(disconnectArgs('Wi-Fi')).toEqual(['wlan', 'disconnect', 'interface=Wi-Fi']);
    expect(deleteProfileArgs('p', 'Wi-Fi')).toEqual([
      'wlan',
      'delete',
      'profile',
      'name=p',
      'interface=Wi-Fi',
    ]);
    expect(exportProfileArgs('Home:Office "5G"', 'C:\\t', 'Wi-Fi')).toEqual([
      'wlan',
      'export',
      'profile',
      'name=Home:Office "5G"',
      'folder=C:\\t',
      'interface=Wi-Fi',
    ]);
  });
});

// ---------------------------------------------------------------------------------------------

const WIN11 = ns('show-interfaces-win11.txt');

/** `show interfaces` with the first interface in `state`, on `profile`. */
function interfacesIn(state: string, profile?: string): string {
  let t = WIN11.replace('State                  : connected', `State                  : ${state}`);
  t = t.replace('Profile                : Home:Office "5G"', `Profile                : ${profile ?? ''}`);
  return t;
}

function netshHandler(states: string[], o: { connect?: string; add?: string } = {}): Handler {
  let i = 0;
  return (call) => {
    const a = call.args.slice(0, 3).join(' ');
    if (a === 'wlan show interfaces') {
      const s = states[Math.min(i, states.length - 1)] ?? 'disconnected';
      i++;
      return { stdout: interfacesIn(s, s === 'connected' ? 'airlift-tmp-0a1b2c3d' : undefined) };
    }
    if (a === 'wlan add profile') return { stdout: o.add ?? ns('add-profile-ok.txt') };
    if (a === 'wlan connect name=airlift-tmp-0a1b2c3d' || call.args[1] === 'connect') {
      return { stdout: o.connect ?? ns('connect-ok.txt') };
    }
    if (a === 'wlan delete profile') return { stdout: ns('delete-profile-ok.txt') };
    if (a.startsWith('wlan disconnect')) return { stdout: ns('disconnect-ok.txt') };
    return { code: 1, stdout: `unexpected ${call.args.join(' ')}` };
  };
}

function adapter(handler: Handler, ip?: string) {
  const runner = new FakeRunner(handler);
  const clock = manualClock();
  const iface = parseShowInterfaces(WIN11)[0];
  if (!iface) throw new Error('fixture');
  const a = new NetshAdapter(iface, {
    runner,
    now: clock.now,
    sleep: clock.sleep,
    tmpRoot,
    randomId: () => '0a1b2c3d',
    interfaces: table(ip === undefined ? {} : { 'Wi-Fi': [ipv4(ip)] }),
    tcpCheck: () => Promise.resolve(true),
  });
  return { a, runner, clock };
}

const wpa2: JoinRequest = {
  ssidHex: SETUP_HEX,
  security: 'wpa2-psk',
  passphrase: PASS,
  timeoutMs: 30_000,
  expectReachable: { host: '10.150.7.1', port: 80 },
};

describe('NetshAdapter.join', () => {
  it('adds a profile from a 0600 file deleted at once, connects, polls until connected with an address', async () => {
    const { a, runner } = adapter(
      netshHandler(['associating', 'authenticating', 'connected']),
      '10.150.7.23',
    );
    const r = await a.join(wpa2);
    expect(r).toMatchObject({ ok: true, ip: '10.150.7.23', bssid: 'f4:92:bf:6a:13:02', signal: -56 });

    const [add] = runner.find('wlan', 'add', 'profile');
    const file = add?.args[3]?.slice('filename='.length) ?? '';
    expect(add?.args).toEqual(addProfileArgs(file, 'Wi-Fi'));
    expect(add?.files[file]).toEqual({
      content: buildWlanProfileXml({
        name: 'airlift-tmp-0a1b2c3d',
        ssidHex: SETUP_HEX,
        security: 'wpa2-psk',
        passphrase: PASS,
        hidden: false,
      }),
      mode: 0o600,
    });
    expect(existsSync(file)).toBe(false);
    expect(existsSync(dirname(file))).toBe(false);
    expect(runner.find('wlan', 'connect')[0]?.args).toEqual(connectArgs('airlift-tmp-0a1b2c3d', 'Wi-Fi'));
    expect(runner.find('wlan', 'show', 'interfaces')).toHaveLength(3);
    expect(a.temporaryProfiles).toEqual(['airlift-tmp-0a1b2c3d']);
    expectSecretNeverInArgv(runner.calls, PASS);
    expectSecretNeverInArgv(runner.calls, 'p&ss');
  });

  it('joins with a raw PSK: the profile holds it as a networkKey, argv never does', async () => {
    const psk = '9e54f1f2a5ba1c5c4a4a3d1ed9b07b0d4e7c6d7e5b0a0f3a8c6d2e1f0a9b8c7d';
    const { a, runner } = adapter(netshHandler(['associating', 'connected']), '192.168.50.23');
    const { passphrase: _none, ...withoutPassphrase } = wpa2;
    expect(await a.join({ ...withoutPassphrase, psk })).toMatchObject({ ok: true });
    const [add] = runner.find('wlan', 'add', 'profile');
    const file = add?.args[3]?.slice('filename='.length) ?? '';
    expect(add?.files[file]?.content).toBe(
      buildWlanProfileXml({
        name: 'airlift-tmp-0a1b2c3d',
        ssidHex: SETUP_HEX,
        security: 'wpa2-psk',
        psk,
        hidden: false,
      }),
    );
    expect(add?.files[file]?.mode).toBe(0o600);
    expectSecretNeverInArgv(runner.calls, psk);
  });

  it('reports ssid_not_found when Windows does not see the network, and deletes the profile', async () => {
    const { a, runner } = adapter(netshHandler([], { connect: ns('connect-not-available.txt') }));
    expect(await a.join(wpa2)).toMatchObject({ ok: false, reason: 'ssid_not_found' });
    expect(runner.find('wlan', 'delete', 'profile')[0]?.args).toEqual(
      deleteProfileArgs('airlift-tmp-0a1b2c3d', 'Wi-Fi'),
    );
    expect(a.temporaryProfiles).toEqual([]);
  });

  it('infers auth_failed when the interface authenticates and falls back to disconnected', async () => {
    const { a } = adapter(netshHandler(['associating', 'authenticating', 'disconnected']));
    expect(await a.join(wpa2)).toMatchObject({ ok: false, reason: 'auth_failed' });
    expect(a.temporaryProfiles).toEqual([]);
  });

  it('infers dhcp_timeout when connected without an address (or with 169.254/16 only)', async () => {
    const { a } = adapter(netshHandler(['connected']), '169.254.12.7');
    expect(await a.join(wpa2)).toMatchObject({ ok: false, reason: 'dhcp_timeout' });
    expect(a.temporaryProfiles).toEqual([]);
  });

  it('reports timeout when nothing happens', async () => {
    const { a, clock } = adapter(netshHandler(['disconnected']));
    const r = await a.join(wpa2);
    expect(r).toMatchObject({ ok: false, reason: 'timeout' });
    expect(clock.now()).toBeGreaterThanOrEqual(30_000);
  });

  it('raises the Location error from connect and still deletes the profile', async () => {
    const { a, runner } = adapter(netshHandler([], { connect: ns('connect-location-denied.txt') }));
    await expect(a.join(wpa2)).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    expect(runner.find('wlan', 'delete', 'profile')).toHaveLength(1);
    expect(a.temporaryProfiles).toEqual([]);
  });

  it('reports a refused profile as hardware and removes the temporary file', async () => {
    const { a, runner } = adapter(netshHandler([], { add: 'The profile is corrupted.\r\n' }));
    expect(await a.join(wpa2)).toMatchObject({
      ok: false,
      reason: 'hardware',
      detail: 'The profile is corrupted.',
    });
    const file = runner.find('wlan', 'add', 'profile')[0]?.args[3]?.slice('filename='.length) ?? '';
    expect(existsSync(file)).toBe(false);
    expect(runner.find('wlan', 'connect')).toHaveLength(0);
  });

  it('refuses bad input before running anything', async () => {
    const { a, runner } = adapter(netshHandler([]));
    await expect(a.join({ ...wpa2, passphrase: 'x' })).rejects.toMatchObject({ code: 'INVALID_PASSPHRASE' });
    await expect(a.join({ ...wpa2, ssidHex: '' })).rejects.toMatchObject({ code: 'INVALID_SSID' });
    expect(runner.calls).toHaveLength(0);
  });
});

describe('NetshAdapter scan, current, leave, restore', () => {
  it('scans, and refuses non-English output instead of reporting an empty airspace', async () => {
    const ok = adapter(() => ({ stdout: ns('show-networks-bssid-win11.txt') }));
    expect(await ok.a.scan()).toHaveLength(8);
    expect(ok.runner.calls[0]?.args).toEqual(showNetworksArgs('Wi-Fi'));
    const de = adapter(() => ({ stdout: ns('show-networks-german.txt') }));
    await expect(de.a.scan()).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    const denied = adapter(() => ({ code: 1, stdout: ns('show-networks-location-denied.txt') }));
    await expect(denied.a.scan()).rejects.toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
      details: { cause: 'location_consent' },
    });
  });

  it('reads the current network with the exact SSID from the exported profile', async () => {
    const { a, runner } = adapter((call) => {
      if (call.args[1] === 'export') {
        const folder = call.args[4]?.slice('folder='.length) ?? '';
        writeFileSync(join(folder, 'Wi-Fi-Home_Office _5G_.xml'), ns('export-profile.xml'));
        return { stdout: 'Interface profile "Home:Office "5G"" is saved in file "x" successfully.\r\n' };
      }
      return { stdout: WIN11 };
    }, '192.168.1.50');
    expect(await a.current()).toEqual({
      ssidHex: toHex(utf8Encode('Home:Office "5G"')),
      ssid: 'Home:Office "5G"',
      bssid: 'f4:92:bf:6a:13:02',
      ip: '192.168.1.50',
      profile: 'Home:Office "5G"',
    });
    const folder = runner.find('wlan', 'export')[0]?.args[4]?.slice('folder='.length) ?? '';
    expect(existsSync(folder)).toBe(false);
  });

  it('falls back to the (lossy) text SSID when the export fails', async () => {
    const { a } = adapter((call) =>
      call.args[1] === 'export' ? { code: 1 } : { stdout: ns('show-interfaces-win10.txt') },
    );
    const iface = await a.current();
    expect(iface).toMatchObject({ ssidHex: toHex(utf8Encode('  spaced  ')), profile: '  spaced  ' });
  });

  it('leave disconnects and deletes the temporary profile; restore reconnects the previous profile', async () => {
    const { a, runner } = adapter(netshHandler(['connected']), '10.150.7.23');
    await a.join(wpa2);
    await a.leave();
    expect(runner.find('wlan', 'disconnect')[0]?.args).toEqual(disconnectArgs('Wi-Fi'));
    expect(a.temporaryProfiles).toEqual([]);
    await a.restore({ ssidHex: '41', ssid: 'A', profile: 'Home:Office "5G"' });
    expect(runner.calls.at(-1)?.args).toEqual(connectArgs('Home:Office "5G"', 'Wi-Fi'));
  });
});

describe('NetshAdapterProvider', () => {
  it('lists interfaces by GUID and name', async () => {
    const p = new NetshAdapterProvider({ runner: new FakeRunner(() => ({ stdout: WIN11 })) });
    expect((await p.list()).map((a) => a.info)).toEqual([
      { id: 'e6b08c8a-3feb-4c3e-88c3-dee94dd2f0eb', name: 'Wi-Fi', mac: '10:f6:0a:db:fc:e5' },
      { id: '3f2a9c1e-58d4-4b7a-9e06-c1d2e3f4a5b6', name: 'Wi-Fi 2', mac: '50:91:e3:0a:7c:21' },
    ]);
  });

  it('has no adapters without a wireless interface; explains the Location refusal and a stopped service', async () => {
    const none = new NetshAdapterProvider({
      runner: new FakeRunner(() => ({ code: 1, stdout: ns('show-interfaces-none.txt') })),
    });
    expect(await none.list()).toEqual([]);
    const denied = new NetshAdapterProvider({
      runner: new FakeRunner(() => ({ code: 1, stdout: ns('show-interfaces-location-denied.txt') })),
    });
    await expect(denied.list()).rejects.toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
      details: { cause: 'location_consent' },
    });
    const stopped = new NetshAdapterProvider({
      runner: new FakeRunner(() => ({
        code: 1,
        stdout: 'The Wireless AutoConfig Service (wlansvc) is not running.\r\n',
      })),
    });
    await expect(stopped.list()).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
  });
});
