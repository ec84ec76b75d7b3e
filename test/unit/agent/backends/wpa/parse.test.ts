import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  eapFailureOf,
  parseEapCapability,
  parseCapabilityWords,
  parseIpAddrJson,
  decodeWpaCliSsid,
  parseDefaultRoute,
  parseDhcpcdOutput,
  parseEventLine,
  parseIpAddr,
  parseResolvConf,
  parseScanResults,
  parseStatus,
  parseUdhcpcOutput,
} from '../../../../../agent/backends/wpa/parse';

const fixture = (name: string): string =>
  readFileSync(new URL(`../../../../fixtures/wpa/${name}`, import.meta.url), 'utf8');

describe('decodeWpaCliSsid', () => {
  it('reverses printf_encode', () => {
    expect(decodeWpaCliSsid('HomeNet')).toBe('486f6d654e6574');
    expect(decodeWpaCliSsid('\\"a\\\\b\\e\\n\\r\\t')).toBe('2261' + '5c62' + '1b0a0d09');
    expect(decodeWpaCliSsid('\\xff\\x00\\303')).toBe('ff00c3');
    expect(decodeWpaCliSsid('trail\\')).toBe('747261696c5c');
  });
});

describe('parseScanResults', () => {
  it('reads the recorded output, escapes and security flags', () => {
    const results = parseScanResults(fixture('scan_results.txt'));
    expect(results.map((r) => [r.ssid, r.ssidHex, r.bssid, r.frequency, r.signal, r.security])).toEqual([
      ['HomeNet', '486f6d654e6574', '3c:37:86:5a:1b:20', 2437, -48, 'wpa2-psk'],
      ['Café "Bar" \\ 5G', '436166c3a9202242617222205c203547', 'e4:95:6e:40:12:9a', 5180, -67, 'wpa2-wpa3'],
      ['guest\\x09wifi', '67756573740977696669', '00:1a:2b:3c:4d:5e', 2462, -80, 'open'],
      ['Corp', '436f7270', 'a0:63:91:aa:bb:cc', 2412, -71, 'enterprise'],
      ['\\xff\\xferaw', 'fffe726177', '52:91:e3:01:02:03', 5745, -59, 'wpa3-sae'],
      ['old;rm -rf /', '6f6c643b726d202d7266202f', '52:91:e3:01:02:04', 2412, -90, 'wep'],
    ]);
    expect(results.some((r) => r.known)).toBe(false);
  });

  it('skips headers, garbage and hidden entries', () => {
    expect(parseScanResults('')).toEqual([]);
    expect(parseScanResults('FAIL\nnot\ta\tscan\tline\tx\n')).toEqual([]);
  });
});

describe('parseStatus', () => {
  it('reads a completed connection', () => {
    expect(parseStatus(fixture('status-completed.txt'))).toMatchObject({
      wpaState: 'COMPLETED',
      bssid: '3c:37:86:5a:1b:20',
      ssidHex: '486f6d654e6574',
      id: 0,
      frequency: 2437,
      keyMgmt: 'WPA2-PSK',
      ipAddress: '192.168.1.50',
    });
  });
  it('reads a scanning supplicant and empty output', () => {
    const s = parseStatus(fixture('status-scanning.txt'));
    expect(s.wpaState).toBe('SCANNING');
    expect(s.ssidHex).toBeUndefined();
    expect(parseStatus('').wpaState).toBe('UNKNOWN');
  });
});

const kinds = (name: string) =>
  fixture(name)
    .split('\n')
    .map(parseEventLine)
    .filter((e) => e !== undefined && e.kind !== 'other');

describe('parseEventLine', () => {
  it('WRONG_KEY → auth_failed', () => {
    expect(kinds('events-wrong-key.txt')).toEqual([
      { kind: 'scan_results' },
      { kind: 'disconnected', bssid: '3c:37:86:5a:1b:20', reason: 15 },
      { kind: 'failure', reason: 'auth_failed', detail: 'temp-disabled: WRONG_KEY' },
    ]);
  });
  it('NETWORK-NOT-FOUND → ssid_not_found', () => {
    const events = kinds('events-not-found.txt').filter((e) => e.kind === 'failure');
    expect(events).toHaveLength(3);
    expect(events[0]).toMatchObject({ reason: 'ssid_not_found' });
  });
  it('ASSOC-REJECT and CONN_FAILED → assoc_rejected', () => {
    const events = kinds('events-assoc-reject.txt');
    expect(events.map((e) => e.kind === 'failure' && e.reason)).toEqual([
      'assoc_rejected',
      'assoc_rejected',
      'assoc_rejected',
      'assoc_rejected',
    ]);
    expect(events[0]).toMatchObject({ detail: 'association rejected (status 17)' });
  });
  it('CONNECTED, with the interactive prompt in front', () => {
    expect(kinds('events-connected.txt').at(-1)).toEqual({
      kind: 'connected',
      bssid: '3c:37:86:5a:1b:20',
      id: 0,
    });
    expect(
      parseEventLine(
        '\r> <3>CTRL-EVENT-CONNECTED - Connection to aa:bb:cc:dd:ee:ff completed [id=2 id_str=]',
      ),
    ).toEqual({
      kind: 'connected',
      bssid: 'aa:bb:cc:dd:ee:ff',
      id: 2,
    });
    expect(parseEventLine('OK')).toBeUndefined();
    expect(parseEventLine('Interactive mode')).toBeUndefined();
  });
});

describe('DHCP and ip output', () => {
  it('udhcpc, new and old formats, and failure', () => {
    expect(parseUdhcpcOutput(fixture('udhcpc-lease.txt'))).toEqual({
      ip: '192.168.1.50',
      server: '192.168.1.1',
      leaseSeconds: 86400,
    });
    expect(parseUdhcpcOutput(fixture('udhcpc-lease-old.txt'))).toEqual({
      ip: '10.0.0.23',
      leaseSeconds: 3600,
    });
    expect(parseUdhcpcOutput(fixture('udhcpc-nolease.txt'))).toBeUndefined();
  });
  it('dhcpcd', () => {
    expect(parseDhcpcdOutput(fixture('dhcpcd-lease.txt'))).toEqual({
      ip: '192.168.1.50',
      leaseSeconds: 86400,
      router: '192.168.1.1',
    });
    expect(parseDhcpcdOutput('wlan0: soliciting a DHCP lease\ntimed out\n')).toBeUndefined();
  });
  it('ip -o addr as BusyBox 1.35 prints it: every line read, global first, `peer` is the local address', () => {
    const [linkLocal = '', global = '', peer = ''] = fixture('ip-o-addr-busybox.txt').split('\n');
    expect(parseIpAddr(`${linkLocal}\n${global}\n`)).toEqual({ ip: '192.168.10.23', prefixLength: 24 });
    expect(parseIpAddr(linkLocal)).toEqual({ ip: '169.254.10.20', prefixLength: 16 });
    // `inet X peer Y/N`: N is the peer's prefix; the local address is a host route.
    expect(parseIpAddr(peer)).toEqual({ ip: '100.71.12.9', prefixLength: 32 });
    expect(parseIpAddr('4: tun9    inet 999.1.1.1/24 scope global tun9')).toBeUndefined();
  });
  it('ip addr, default route, resolv.conf', () => {
    expect(parseIpAddr(fixture('ip-addr.txt'))).toEqual({ ip: '192.168.1.50', prefixLength: 24 });
    expect(parseDefaultRoute('default via 192.168.1.1 proto dhcp src 192.168.1.50 metric 600\n')).toBe(
      '192.168.1.1',
    );
    expect(parseDefaultRoute('')).toBeUndefined();
    expect(parseResolvConf('# x\nnameserver 192.168.1.1\nnameserver fd00::1\nsearch lan\n')).toEqual([
      '192.168.1.1',
      'fd00::1',
    ]);
  });
});

describe('parseCapabilityWords (wpa_cli get_capability)', () => {
  it('reads the space-separated words, SAE among them or not', () => {
    expect(parseCapabilityWords(fixture('get_capability-key_mgmt-sae.txt'))).toContain('SAE');
    expect(parseCapabilityWords(fixture('get_capability-key_mgmt-nosae.txt'))).toEqual([
      'NONE',
      'IEEE8021X',
      'WPA-EAP',
      'WPA-PSK',
      'OWE',
      'DPP',
    ]);
    expect(parseCapabilityWords('NONE IEEE8021X WPA-EAP WPA-PSK SAE SAE-EXT-KEY\n')).toContain('SAE');
  });

  it('a refusal or a wpa_cli error is no answer', () => {
    expect(parseCapabilityWords('FAIL\n')).toBeUndefined();
    expect(parseCapabilityWords('')).toBeUndefined();
    expect(
      parseCapabilityWords(
        'Failed to connect to non-global ctrl_ifname: wlan0  error: No such file or directory',
      ),
    ).toBeUndefined();
  });
});

describe('parseIpAddrJson (ip -j -4 addr show)', () => {
  it('prefers a global address over a link-local one', () => {
    expect(parseIpAddrJson(fixture('ip-j-addr-eth0.json'))).toEqual({
      ip: '192.168.10.23',
      prefixLength: 24,
    });
    expect(parseIpAddrJson(fixture('ip-j-addr-ppp0.json'))).toEqual({ ip: '100.71.12.9', prefixLength: 32 });
  });

  it('no address, odd input → undefined', () => {
    expect(parseIpAddrJson('[]')).toBeUndefined();
    expect(parseIpAddrJson('[{"addr_info":[]}]')).toBeUndefined();
    expect(
      parseIpAddrJson('[{"addr_info":[{"family":"inet","local":"999.1.1.1","prefixlen":24}]}]'),
    ).toBeUndefined();
    expect(parseIpAddrJson('{"not":"a list"}')).toBeUndefined();
    expect(parseIpAddrJson('Device "eth9" does not exist.')).toBeUndefined();
  });
});

describe("802.1X events (recorded from wpa_supplicant against hostapd's RADIUS server)", () => {
  const events = (name: string) =>
    fixture(name)
      .split('\n')
      .map(parseEventLine)
      .filter((e) => e !== undefined);

  it('reads the EAP steps', () => {
    expect(events('events-eap-success.txt').map((e) => (e.kind === 'eap' ? e.step : e.kind))).toEqual([
      'started',
      'other', // PROPOSED-METHOD
      'method',
      'other', // PEER-CERT
      'other',
      'other', // PEER-ALT
      'success',
    ]);
  });

  it.each([
    ['events-eap-success.txt', 'peap', undefined],
    ['events-eap-wrong-password.txt', 'peap', 'auth_failed'],
    ['events-eap-unknown-ca.txt', 'peap', 'cert_rejected'],
    ['events-eap-domain-mismatch.txt', 'peap', 'cert_rejected'],
    ['events-eap-method-refused.txt', 'peap', 'eap_failed'],
    ['events-eap-client-cert-refused.txt', 'tls', 'cert_rejected'],
  ] as const)('%s is %s', (name, method, reason) => {
    expect(eapFailureOf(events(name), method)?.reason).toBe(reason);
  });

  it('says what the certificate check found, from the event', () => {
    expect(eapFailureOf(events('events-eap-domain-mismatch.txt'), 'peap')?.detail).toBe(
      "the server's certificate failed the check: Domain suffix mismatch (/CN=radius.lab.example)",
    );
  });

  it('prefers the EAP verdict to the SSID being disabled after it', () => {
    const lines = [
      ...events('events-eap-unknown-ca.txt'),
      parseEventLine(
        '<3>CTRL-EVENT-SSID-TEMP-DISABLED id=0 ssid="Corp" auth_failures=1 duration=10 reason=AUTH_FAILED',
      ),
    ];
    expect(
      eapFailureOf(
        lines.filter((e) => e !== undefined),
        'peap',
      )?.reason,
    ).toBe('cert_rejected');
  });

  it('a timeout is eap_failed', () => {
    const lines = [
      '<3>CTRL-EVENT-EAP-STARTED EAP authentication started',
      '<3>CTRL-EVENT-EAP-TIMEOUT-FAILURE EAP authentication failed due to no response received',
    ];
    expect(
      eapFailureOf(
        lines.map(parseEventLine).filter((e) => e !== undefined),
        'ttls',
      )?.reason,
    ).toBe('eap_failed');
  });
});

describe('parseEapCapability', () => {
  it("reads wpa_cli get_capability eap (Debian 12's wpa_supplicant 2.10)", () => {
    expect(parseEapCapability(fixture('get_capability-eap.txt'))).toEqual(['peap', 'ttls', 'tls']);
  });
  it('PEAP needs MSCHAPv2; FAIL and nothing are unknown', () => {
    expect(parseEapCapability('MD5 PEAP TLS')).toEqual(['tls']);
    expect(parseEapCapability('MD5')).toEqual([]);
    expect(parseEapCapability('FAIL\n')).toBeUndefined();
    expect(parseEapCapability('')).toBeUndefined();
  });
});
