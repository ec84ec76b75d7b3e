/**
 * busctl argument builders and output readers: exact argv, the message the real busctl marshals
 * from that argv (on a private bus, read back with `busctl monitor`), and the readers on the
 * recorded-format wpa_supplicant replies and on malformed output.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8Encode } from '../../../../shared/encoding';
import {
  nmAddConnectionDbusArgs,
  parseObjectPathReply,
  parseWpaKeyMgmt,
  wpaGetInterfaceArgs,
  wpaInterfaceCapabilitiesArgs,
} from '../../../../shared/linux-tools/busctl';
import { startPrivateBus, type PrivateBus } from '../../../helpers/private-bus';

const fx = (name: string) =>
  readFileSync(new URL(`../../../fixtures/busctl/${name}`, import.meta.url), 'utf8');
const UUID = '7d0c2f9e-3b1a-4c5d-8e6f-a1b2c3d4e5f6';

describe('nmAddConnectionDbusArgs', () => {
  it('builds a saved, autoconnecting profile with the SSID as decimal bytes', () => {
    expect(
      nmAddConnectionDbusArgs({
        ifname: 'wlan0',
        name: 'airlift-net-ff00',
        ssidHex: 'FF00',
        uuid: UUID,
        security: 'wpa3-sae',
        hidden: true,
        autoconnectPriority: 70,
      }),
    ).toEqual([
      '--system',
      'call',
      'org.freedesktop.NetworkManager',
      '/org/freedesktop/NetworkManager/Settings',
      'org.freedesktop.NetworkManager.Settings',
      'AddConnection',
      'a{sa{sv}}',
      '4',
      'connection',
      '6',
      'id',
      's',
      'airlift-net-ff00',
      'uuid',
      's',
      UUID,
      'type',
      's',
      '802-11-wireless',
      'autoconnect',
      'b',
      'true',
      'autoconnect-priority',
      'i',
      '70',
      'interface-name',
      's',
      'wlan0',
      '802-11-wireless',
      '3',
      'ssid',
      'ay',
      '2',
      '255',
      '0',
      'mode',
      's',
      'infrastructure',
      'hidden',
      'b',
      'true',
      'ipv4',
      '2',
      'method',
      's',
      'auto',
      'may-fail',
      'b',
      'false',
      '802-11-wireless-security',
      '1',
      'key-mgmt',
      's',
      'sae',
    ]);
  });

  it('without a priority: in memory (AddConnectionUnsaved), never autoconnected; open has no security section', () => {
    const args = nmAddConnectionDbusArgs({
      ifname: 'wlan1',
      name: 'airlift-tmp-1',
      ssidHex: '61',
      uuid: UUID,
      security: 'open',
      hidden: false,
    });
    expect(args[5]).toBe('AddConnectionUnsaved');
    expect(args.slice(6, 10)).toEqual(['a{sa{sv}}', '3', 'connection', '5']);
    expect(args).not.toContain('autoconnect-priority');
    expect(args).not.toContain('802-11-wireless-security');
  });
});

describe('the real busctl marshals what we mean', () => {
  let bus: PrivateBus;
  beforeAll(async () => {
    bus = await startPrivateBus();
  });
  afterAll(async () => {
    await bus.close();
  });

  const hostile: [string, string][] = [
    ['invalid UTF-8', 'fffe4142'],
    ['NUL inside', '61006200'],
    [
      'every byte class',
      toHex(Uint8Array.from([0, 1, 0x3a, 0x5c, 0x22, 0x27, 0x0a, 0x20, 0x7f, 0x80, 0xc3, 0xff])),
    ],
    ['32 bytes of 0xff', 'ff'.repeat(32)],
    ['text that looks like arguments', toHex(utf8Encode('s 1 a{sv} --system'))],
  ];

  it.each(hostile)(
    'SSID %s arrives as exactly its bytes, in the settings we built',
    async (_name, ssidHex) => {
      const args = nmAddConnectionDbusArgs({
        ifname: 'wlan0',
        name: `airlift-net-${ssidHex}`,
        ssidHex,
        uuid: UUID,
        security: 'wpa2-psk',
        hidden: false,
        autoconnectPriority: 50,
      });
      const payload = await bus.capture('AddConnection', async () => {
        const r = await bus.busctl(args);
        // Sent, then refused by the bus: nobody owns NetworkManager's name here. A malformed argv
        // would fail inside busctl before sending, with another message.
        expect(r.stderr).toMatch(/NetworkManager was not provided|ServiceUnknown|not provided by any/i);
      });
      expect(payload.type).toBe('a{sa{sv}}');
      const [settings] = payload.data as [Record<string, Record<string, { type: string; data: unknown }>>];
      expect(settings['802-11-wireless']?.ssid).toEqual({ type: 'ay', data: [...fromHex(ssidHex)] });
      expect(settings.connection).toEqual({
        id: { type: 's', data: `airlift-net-${ssidHex}` },
        uuid: { type: 's', data: UUID },
        type: { type: 's', data: '802-11-wireless' },
        autoconnect: { type: 'b', data: true },
        'autoconnect-priority': { type: 'i', data: 50 },
        'interface-name': { type: 's', data: 'wlan0' },
      });
      expect(settings['802-11-wireless-security']).toEqual({ 'key-mgmt': { type: 's', data: 'wpa-psk' } });
      expect(settings.ipv4).toEqual({
        method: { type: 's', data: 'auto' },
        'may-fail': { type: 'b', data: false },
      });
    },
  );

  it('reads a real busctl --json=short property reply the way parseWpaKeyMgmt expects', async () => {
    // dbus-daemon's own `Features` (as) has the same {"type","data"} shape as a variant's value.
    const r = await bus.busctl([
      '--system',
      '--json=short',
      'get-property',
      'org.freedesktop.DBus',
      '/org/freedesktop/DBus',
      'org.freedesktop.DBus',
      'Features',
    ]);
    expect(r.code).toBe(0);
    const wrapped = `{"type":"a{sv}","data":{"KeyMgmt":${r.stdout.trim()}}}`;
    const features = JSON.parse(r.stdout) as { data: string[] };
    expect(parseWpaKeyMgmt(wrapped)).toEqual(features.data.map((f) => f.toLowerCase()));
  });
});

describe('wpa_supplicant capabilities over D-Bus', () => {
  it('asks for the interface, then its Capabilities', () => {
    expect(wpaGetInterfaceArgs('wlan0')).toEqual([
      '--system',
      '--json=short',
      'call',
      'fi.w1.wpa_supplicant1',
      '/fi/w1/wpa_supplicant1',
      'fi.w1.wpa_supplicant1',
      'GetInterface',
      's',
      'wlan0',
    ]);
    expect(wpaInterfaceCapabilitiesArgs('/fi/w1/wpa_supplicant1/Interfaces/1')).toEqual([
      '--system',
      '--json=short',
      'get-property',
      'fi.w1.wpa_supplicant1',
      '/fi/w1/wpa_supplicant1/Interfaces/1',
      'fi.w1.wpa_supplicant1.Interface',
      'Capabilities',
    ]);
  });

  it('reads the object path and the key management list', () => {
    expect(parseObjectPathReply(fx('wpas-get-interface.json'))).toBe('/fi/w1/wpa_supplicant1/Interfaces/1');
    expect(parseWpaKeyMgmt(fx('wpas-capabilities-sae.json'))).toContain('sae');
    const noSae = parseWpaKeyMgmt(fx('wpas-capabilities-no-sae.json'));
    expect(noSae).toContain('wpa-psk');
    expect(noSae).not.toContain('sae');
  });

  it.each([
    '',
    'not json',
    '{"type":"s","data":["/fi/w1"]}',
    '{"type":"o","data":["relative/path"]}',
    '{"type":"o","data":[]}',
    '{"type":"o","data":[42]}',
    '{"type":"o","data":"/x"}',
  ])('refuses a malformed object path reply: %s', (text) => {
    expect(parseObjectPathReply(text)).toBeUndefined();
  });

  it.each([
    '',
    '[]',
    '{"type":"as","data":["sae"]}',
    '{"type":"a{sv}","data":{}}',
    '{"type":"a{sv}","data":{"KeyMgmt":{"type":"s","data":"sae"}}}',
    '{"type":"a{sv}","data":{"KeyMgmt":{"type":"as","data":[1,2]}}}',
    '{"type":"a{sv}","data":{"KeyMgmt":["sae"]}}',
  ])('refuses a malformed capabilities reply: %s', (text) => {
    expect(parseWpaKeyMgmt(text)).toBeUndefined();
  });
});
