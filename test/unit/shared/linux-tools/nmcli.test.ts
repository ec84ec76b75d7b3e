/**
 * nmcli terse parsing on recorded-format output (test/fixtures/nmcli/), the hostile SSID corpus
 * (test/fixtures/hostile-inputs.json) and generated records: SSID-HEX must come back byte-exact
 * whatever the SSID holds.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex, utf8Encode } from '../../../../shared/encoding';
import {
  classifyActivationFailure,
  escapeTerse,
  firstErrorLine,
  isConnectedState,
  nmcliSecurity,
  nmcliSignalToDbm,
  parseDeviceStatus,
  parseWifiList,
  parseWifiListDetailed,
  splitTerse,
  usableWifiDevices,
  WIFI_LIST_FIELDS,
} from '../../../../shared/linux-tools/nmcli';
import { scanResultSchema } from '../../../../shared/protocol/wifi';
import { ssidDisplay } from '../../../../shared/ssid';

const fixture = (name: string) =>
  readFileSync(new URL(`../../../fixtures/nmcli/${name}`, import.meta.url), 'utf8');

/** What nmcli prints in the SSID column under LC_ALL=C (nm_utils_ssid_to_utf8): lossy text. */
function nmcliSsidText(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  const b = nul >= 0 ? bytes.subarray(0, nul) : bytes;
  try {
    if (nul < 0) return new TextDecoder('utf-8', { fatal: true }).decode(b);
  } catch {
    // fall through to ISO-8859-1
  }
  return String.fromCharCode(...b);
}

/** One `device wifi list` record as nmcli's terse printer writes it. */
function nmcliRow(bytes: Uint8Array, bssid: string, inUse = false): string {
  const fields = [
    inUse ? '*' : ' ',
    bssid,
    nmcliSsidText(bytes),
    toHex(bytes).toUpperCase(),
    'Infra',
    '6',
    '2437 MHz',
    '70',
    'WPA2',
  ];
  return `${fields.map(escapeTerse).join(':')}\n`;
}

describe('splitTerse', () => {
  it('splits on unescaped colons and unescapes \\: and \\\\', () => {
    expect(splitTerse('a\\:b:c\\\\:d\n', 3).records).toEqual([['a:b', 'c\\', 'd']]);
  });

  it('keeps empty fields, including a trailing one', () => {
    expect(splitTerse('::\n x::\n', 3).records).toEqual([
      ['', '', ''],
      [' x', '', ''],
    ]);
  });

  it('keeps a newline inside a value until the record has all its separators', () => {
    expect(splitTerse('a\nb:c:d\ne:f:g\n', 3).records).toEqual([
      ['a\nb', 'c', 'd'],
      ['e', 'f', 'g'],
    ]);
  });

  it('accepts output without a final newline and ignores blank lines', () => {
    expect(splitTerse('\na:b\n\nc:d', 2).records).toEqual([
      ['a', 'b'],
      ['c', 'd'],
    ]);
  });

  it('counts records with too many fields as malformed and resynchronises at the next newline', () => {
    const r = splitTerse('a:b:c:d\ne:f:g\n', 3);
    expect(r.records).toEqual([['e', 'f', 'g']]);
    expect(r.malformed).toBe(1);
  });

  it('counts a truncated last record as malformed', () => {
    const r = splitTerse('a:b:c\nd:e', 3);
    expect(r.records).toEqual([['a', 'b', 'c']]);
    expect(r.malformed).toBe(1);
  });

  it('treats a lone trailing backslash as data and never throws on arbitrary input', () => {
    expect(splitTerse('a:b\\', 2).records).toEqual([['a', 'b\\']]);
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.integer({ min: 1, max: 10 }), (s, n) => {
        const r = splitTerse(s, n);
        for (const rec of r.records) expect(rec).toHaveLength(n);
      }),
    );
  });

  it('refuses a nonsensical field count', () => {
    expect(() => splitTerse('', 0)).toThrow(RangeError);
  });
});

describe('parseWifiList on device-wifi-list output', () => {
  const { accessPoints, malformed } = parseWifiListDetailed(fixture('wifi-list.txt'));

  it('reads every infrastructure access point and drops the ad-hoc peer', () => {
    expect(malformed).toBe(0);
    expect(accessPoints).toHaveLength(12);
    expect(accessPoints.map((a) => a.bssid)).not.toContain('02:11:22:33:44:55');
    for (const ap of parseWifiList(fixture('wifi-list.txt'))) expect(scanResultSchema.parse(ap)).toEqual(ap);
  });

  it('takes SSID bytes from SSID-HEX, BSSIDs in lowercase, frequency in MHz, signal in dBm', () => {
    expect(accessPoints[0]).toEqual({
      ssid: 'HomeNet-5G',
      ssidHex: toHex(utf8Encode('HomeNet-5G')),
      bssid: 'f4:92:bf:6a:13:02',
      frequency: 5180,
      signal: -48,
      security: 'wpa2-psk',
      known: false,
      inUse: true,
      channel: 36,
      signalPercent: 87,
      securityText: 'WPA2',
    });
    expect(accessPoints.filter((a) => a.inUse)).toHaveLength(1);
    expect(accessPoints.find((a) => a.ssid === 'Backyard 6E')?.frequency).toBe(6135);
  });

  it('maps SECURITY to the protocol vocabulary', () => {
    const bySsid = new Map(accessPoints.map((a) => [`${a.ssid}|${a.bssid}`, a.security]));
    expect(bySsid.get('HomeNet|f4:92:bf:6a:13:01')).toBe('wpa2-psk');
    expect(bySsid.get('Airlift-3f9a2c41|6e:7a:3c:00:91:4f')).toBe('open');
    expect(bySsid.get('Office WPA3|dc:a6:32:08:55:e1')).toBe('wpa3-sae');
    expect(bySsid.get('Office|dc:a6:32:08:55:e2')).toBe('wpa2-wpa3');
    expect(bySsid.get('Corp|00:1d:7e:aa:10:3b')).toBe('enterprise');
    expect(bySsid.get('CoffeeShop Free|90:9a:4a:d1:0e:77')).toBe('owe');
    expect(bySsid.get('oldrouter|00:0f:66:41:2c:90')).toBe('wep');
  });

  it('reports hidden networks with an empty SSID', () => {
    const hidden = accessPoints.filter((a) => a.ssidHex === '');
    expect(hidden.map((a) => a.bssid)).toEqual(['c8:3a:35:2b:7c:11', '90:9a:4a:d1:0e:78']);
    for (const h of hidden) expect(h.ssid).toBe('');
  });
});

describe('parseWifiList on hostile SSIDs', () => {
  const expected = JSON.parse(fixture('wifi-list-hostile.expected.json')) as {
    label: string;
    ssidHex: string;
    bssid: string;
  }[];
  const { accessPoints, malformed } = parseWifiListDetailed(fixture('wifi-list-hostile.txt'));

  it('returns exactly one entry per access point, none invented by a newline inside an SSID', () => {
    expect(malformed).toBe(0);
    expect(accessPoints.map((a) => a.bssid)).toEqual(expected.map((e) => e.bssid));
  });

  it.each(expected.map((e, i) => [e.label, e, i] as const))(
    '%s: exact bytes and a safe display',
    (_l, e, i) => {
      const ap = accessPoints[i];
      expect(ap?.ssidHex).toBe(e.ssidHex);
      expect(ap?.ssid).toBe(e.ssidHex === '' ? '' : ssidDisplay(e.ssidHex));
      // The display form never carries a raw control character into logs or a terminal.
      // eslint-disable-next-line no-control-regex
      expect(ap?.ssid).not.toMatch(/[\u0000-\u001f\u007f\u202e]/);
    },
  );

  it('round-trips every SSID of the shared hostile corpus through nmcli terse output', () => {
    const corpus = JSON.parse(
      readFileSync(new URL('../../../fixtures/hostile-inputs.json', import.meta.url), 'utf8'),
    ) as {
      ssids: { text?: string; hex?: string; verdict: string }[];
    };
    const samples: Uint8Array[] = [];
    for (const s of corpus.ssids) {
      if (s.verdict !== 'accept') continue;
      if (s.text !== undefined) samples.push(utf8Encode(s.text));
      if (s.hex !== undefined) samples.push(Uint8Array.from(Buffer.from(s.hex, 'hex')));
    }
    expect(samples.length).toBeGreaterThan(40);
    const text = samples
      .map((b, i) => nmcliRow(b, `02:00:00:00:00:${(i % 256).toString(16).padStart(2, '0')}`))
      .join('');
    const parsed = parseWifiList(text);
    expect(parsed.map((p) => p.ssidHex)).toEqual(samples.map((b) => toHex(b)));
  });

  it('round-trips arbitrary SSID bytes (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 32 }), { minLength: 1, maxLength: 8 }),
        (ssids) => {
          const text = ssids.map((b, i) => nmcliRow(b, `AA:BB:CC:DD:EE:0${i}`, i === 0)).join('');
          const parsed = parseWifiListDetailed(text);
          expect(parsed.malformed).toBe(0);
          expect(parsed.accessPoints.map((a) => a.ssidHex)).toEqual(ssids.map((b) => toHex(b)));
        },
      ),
    );
  });

  it('drops malformed rows instead of failing the scan', () => {
    const good = nmcliRow(utf8Encode('ok'), 'AA:BB:CC:DD:EE:01');
    const badHex = good.replace('6F6B', 'ZZ');
    const badBssid = good.replace('AA\\:BB', 'AA\\:');
    const badFreq = good.replace('2437 MHz', 'lots');
    const tooLong = nmcliRow(new Uint8Array(33).fill(65), 'AA:BB:CC:DD:EE:02');
    const r = parseWifiListDetailed(`${badHex}${badBssid}${badFreq}${tooLong}${good}garbage\n`);
    expect(r.accessPoints.map((a) => a.ssidHex)).toEqual(['6f6b']);
    expect(r.malformed).toBe(5);
  });

  it('expects the field order it documents', () => {
    expect(WIFI_LIST_FIELDS.join(',')).toBe('IN-USE,BSSID,SSID,SSID-HEX,MODE,CHAN,FREQ,SIGNAL,SECURITY');
  });
});

describe('signal and security mapping', () => {
  it('inverts NetworkManager’s dBm-to-percent formula', () => {
    expect(nmcliSignalToDbm(100)).toBe(-40);
    expect(nmcliSignalToDbm(50)).toBe(-70);
    expect(nmcliSignalToDbm(0)).toBe(-100);
    expect(nmcliSignalToDbm(150)).toBe(-40);
    expect(nmcliSignalToDbm(-5)).toBe(-100);
    // NM: percent = 100 - |dBm + 40| * 100 / 60, truncated; the inverse lands within a dB.
    for (let dbm = -100; dbm <= -40; dbm++) {
      const percent = Math.trunc(100 - (Math.abs(dbm + 40) * 100) / 60);
      expect(Math.abs(nmcliSignalToDbm(percent) - dbm)).toBeLessThanOrEqual(1);
    }
  });

  it.each([
    ['', 'open'],
    ['--', 'open'],
    ['WEP', 'wep'],
    ['WPA1', 'wpa2-psk'],
    ['WPA1 WPA2', 'wpa2-psk'],
    ['WPA2', 'wpa2-psk'],
    ['WPA3', 'wpa3-sae'],
    ['WPA2 WPA3', 'wpa2-wpa3'],
    ['WPA2 802.1X', 'enterprise'],
    ['WPA3 802.1X', 'enterprise'],
    ['WPA-EAP-SUITE-B-192', 'enterprise'],
    ['OWE', 'owe'],
    ['OWE-TM', 'owe'],
  ])('%j is %s', (text, want) => {
    expect(nmcliSecurity(text)).toBe(want);
  });
});

describe('parseDeviceStatus', () => {
  it('reads devices, states and the active profile, and picks the usable Wi-Fi ones', () => {
    const devices = parseDeviceStatus(fixture('device-status.txt'));
    expect(devices).toHaveLength(7);
    expect(devices[0]).toEqual({
      device: 'wlan0',
      type: 'wifi',
      state: 'connected',
      connection: 'Home:Office "5G"',
      connectionUuid: '0b5c6a2e-3f41-4a8e-9a1c-7d2e51b0c9f4',
    });
    expect(devices[1]).toEqual({ device: 'wlx00c0ca9a1b2c', type: 'wifi', state: 'disconnected' });
    expect(usableWifiDevices(devices).map((d) => d.device)).toEqual(['wlan0', 'wlx00c0ca9a1b2c']);
    expect(isConnectedState(devices[3]?.state ?? '')).toBe(true);
    expect(isConnectedState('connecting (getting IP configuration)')).toBe(false);
  });

  it('survives a profile name with a backslash, a colon and a newline', () => {
    const devices = parseDeviceStatus(fixture('device-status-hostile.txt'));
    expect(devices.map((d) => d.connection)).toEqual(['back\\slash\nand:newline', 'airlift-tmp-0a1b2c3d']);
    expect(devices[1]?.state).toBe('connecting (getting IP configuration)');
  });

  it('reads the four-field form too', () => {
    expect(parseDeviceStatus('wlan0:wifi:connected:Home\\:Net\n', 4)).toEqual([
      { device: 'wlan0', type: 'wifi', state: 'connected', connection: 'Home:Net' },
    ]);
  });
});

describe('classifyActivationFailure', () => {
  it.each([
    ['connection-up-wrong-secret.stderr.txt', 4, 'auth_failed'],
    ['connection-up-supplicant-timeout.stderr.txt', 4, 'auth_failed'],
    ['connection-up-not-found.stderr.txt', 4, 'ssid_not_found'],
    ['connection-up-dhcp.stderr.txt', 4, 'dhcp_timeout'],
    ['connection-up-timeout.stderr.txt', 3, 'timeout'],
    ['connection-up-no-device.stderr.txt', 4, 'hardware'],
    ['nm-not-running.stderr.txt', 8, 'hardware'],
  ] as const)('%s → %s', (file, code, reason) => {
    const r = classifyActivationFailure(code, fixture(file));
    expect(r.reason).toBe(reason);
    expect(r.detail.startsWith('Error:')).toBe(true);
  });

  it('also knows the older "No network with SSID" wording', () => {
    expect(classifyActivationFailure(10, "Error: No network with SSID 'x' found.").reason).toBe(
      'ssid_not_found',
    );
  });

  it('keeps the detail to one bounded line', () => {
    expect(firstErrorLine(`noise\nError: ${'x'.repeat(1000)}\nmore`)).toHaveLength(301);
    expect(firstErrorLine('\n\n')).toBe('');
  });
});
