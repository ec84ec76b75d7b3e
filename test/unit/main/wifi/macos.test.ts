/**
 * macOS: networksetup parsers on recorded output, the helper protocol's schemas on replies written
 * from the Swift source (test/fixtures/macos/helper-*.json; the helper itself is NOT built or run
 * here), exact argv, and the join flows on a fake runner.
 */
import { describe, expect, it } from 'vitest';
import { toHex, utf8Encode } from '../../../../shared/encoding';
import { AirliftError } from '../../../../shared/errors';
import type { JoinRequest } from '../../../../main/ports/wifi-adapter';
import {
  coreWlanReason,
  getAirportNetworkArgs,
  helperCurrentArgs,
  helperCurrentSchema,
  helperJoinArgs,
  helperLeaveArgs,
  helperScanArgs,
  helperScanSchema,
  helperScanToResults,
  helperVersionSchema,
  listHardwarePortsArgs,
  MacosAdapter,
  MacosAdapterProvider,
  parseAirportNetwork,
  parseHardwarePorts,
  parseHelperReply,
  parseSetAirportNetwork,
  setAirportNetworkArgs,
  setAirportPowerArgs,
  wifiPorts,
} from '../../../../main/wifi/macos';
import {
  expectSecretNeverInArgv,
  FakeRunner,
  fixture,
  ipv4,
  manualClock,
  table,
  type Handler,
} from './fakes';

const mac = (name: string) => fixture('macos', name);
const HELPER = '/Applications/Airlift.app/Contents/Helpers/airlift-wifi-helper';
const PASS = 'correct horse battery staple';
const HOME_HEX = toHex(utf8Encode('Home:Office "5G"'));

describe('networksetup parsers', () => {
  it('finds the Wi-Fi port among the hardware ports', () => {
    const ports = parseHardwarePorts(mac('listallhardwareports.txt'));
    expect(ports).toHaveLength(5);
    expect(wifiPorts(ports)).toEqual([{ port: 'Wi-Fi', device: 'en0', mac: 'a4:83:e7:1c:62:9d' }]);
  });

  it('reads -getairportnetwork, whose "not associated" may be Location redaction on macOS 15+', () => {
    expect(parseAirportNetwork(mac('getairportnetwork-associated.txt'))).toEqual({
      state: 'associated',
      ssid: 'Home:Office "5G"',
    });
    expect(parseAirportNetwork(mac('getairportnetwork-not-associated.txt'))).toEqual({
      state: 'not_associated',
    });
    expect(parseAirportNetwork(mac('getairportnetwork-not-wifi.txt'))).toEqual({
      state: 'error',
      detail: 'en7 is not a Wi-Fi interface.',
    });
  });

  it('reads -setairportnetwork results (its exit code is 0 either way)', () => {
    expect(parseSetAirportNetwork('')).toEqual({ ok: true });
    expect(parseSetAirportNetwork(mac('setairportnetwork-not-found.txt'))).toMatchObject({
      ok: false,
      reason: 'ssid_not_found',
    });
    expect(parseSetAirportNetwork(mac('setairportnetwork-failed.txt'))).toMatchObject({
      ok: false,
      reason: 'timeout',
    });
    expect(parseSetAirportNetwork(mac('setairportnetwork-bad-password.txt'))).toMatchObject({
      ok: false,
      reason: 'auth_failed',
    });
  });

  it('maps CoreWLAN error codes', () => {
    expect([1, -3912, -3924, -3925].map(coreWlanReason)).toEqual([
      'auth_failed',
      'auth_failed',
      'auth_failed',
      'auth_failed',
    ]);
    expect(coreWlanReason(-3905)).toBe('timeout');
    expect([-3909, -3900, 0, 42].map(coreWlanReason)).toEqual([
      'hardware',
      'hardware',
      'hardware',
      'hardware',
    ]);
  });
});

describe('builders: no password ever', () => {
  it('networksetup', () => {
    expect(listHardwarePortsArgs()).toEqual(['-listallhardwareports']);
    expect(getAirportNetworkArgs('en0')).toEqual(['-getairportnetwork', 'en0']);
    expect(setAirportNetworkArgs('en0', ' -x "y" ')).toEqual(['-setairportnetwork', 'en0', ' -x "y" ']);
    expect(setAirportPowerArgs('en0', false)).toEqual(['-setairportpower', 'en0', 'off']);
  });

  it('helper', () => {
    expect(helperScanArgs('en0')).toEqual(['scan', '--interface', 'en0']);
    expect(helperCurrentArgs('en0')).toEqual(['current', '--interface', 'en0']);
    expect(
      helperJoinArgs({
        device: 'en0',
        ssidHex: 'fffe4142',
        security: 'wpa3-sae',
        hidden: true,
        timeoutMs: 20_000,
      }),
    ).toEqual([
      'join',
      '--interface',
      'en0',
      '--ssid-hex',
      'fffe4142',
      '--security',
      'wpa3-sae',
      '--hidden',
      '--timeout-ms',
      '20000',
    ]);
    expect(
      helperJoinArgs({
        device: 'en0',
        ssidHex: '41',
        security: 'open',
        hidden: false,
        timeoutMs: 1,
        known: true,
      }),
    ).toEqual([
      'join',
      '--interface',
      'en0',
      '--ssid-hex',
      '41',
      '--security',
      'open',
      '--known',
      '--timeout-ms',
      '1000',
    ]);
    expect(helperLeaveArgs('en0', '41')).toEqual(['leave', '--interface', 'en0', '--forget-ssid-hex', '41']);
  });
});

describe('helper protocol', () => {
  it('accepts the version reply', () => {
    expect(parseHelperReply(mac('helper-version.json'), helperVersionSchema)).toMatchObject({
      protocol: 1,
      version: '1.0.0',
    });
  });

  it('turns a scan into ScanResults with exact bytes, hidden as empty, BSSID-less entries dropped', () => {
    const results = helperScanToResults(parseHelperReply(mac('helper-scan.json'), helperScanSchema));
    expect(results.map((r) => [r.ssidHex, r.ssid, r.frequency, r.signal, r.security])).toEqual([
      [HOME_HEX, 'Home:Office "5G"', 5180, -54, 'wpa2-psk'],
      [toHex(utf8Encode('Airlift-3f9a2c41')), 'Airlift-3f9a2c41', 2412, -61, 'open'],
      ['fffe4142', '\\xff\\xfeAB', 2462, -70, 'wpa2-wpa3'],
      ['6c696e65310a6c696e6532', 'line1\\x0aline2', 5745, -72, 'wpa3-sae'],
      ['', '', 6135, -80, 'wpa3-sae'],
    ]);
  });

  it('raises the Location error with the fix when SSIDs are withheld', () => {
    const denied = () =>
      helperScanToResults(parseHelperReply(mac('helper-scan-denied.json'), helperScanSchema));
    expect(denied).toThrow(AirliftError);
    expect(denied).toThrow(/Location Services/);
    expect(() => parseHelperReply(mac('helper-error-location.json'), helperScanSchema)).toThrow(
      /Location Services/,
    );
  });

  it('refuses anything outside protocol 1 without echoing it', () => {
    for (const f of ['helper-garbage.txt', 'helper-wrong-protocol.json']) {
      let err: unknown;
      try {
        parseHelperReply(mac(f), helperScanSchema);
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'PROTOCOL_ERROR' });
      expect((err as Error).message).not.toContain('dyld');
    }
    const hostile = JSON.stringify({
      ok: true,
      protocol: 1,
      location: 'authorized',
      current: { ssidHex: 'zz', bssid: null, channel: 1 },
    });
    expect(() => parseHelperReply(hostile, helperCurrentSchema)).toThrow(AirliftError);
  });
});

// ---------------------------------------------------------------------------------------------

function helperHandler(join = mac('helper-join-ok.json')): Handler {
  return (call) => {
    if (call.file === HELPER) {
      switch (call.args[0]) {
        case 'version':
          return { stdout: mac('helper-version.json') };
        case 'scan':
          return { stdout: mac('helper-scan.json') };
        case 'current':
          return { stdout: mac('helper-current.json') };
        case 'join':
          return { stdout: join };
        case 'leave':
          return { stdout: mac('helper-leave-ok.json') };
        default:
          return { code: 2, stdout: '{}' };
      }
    }
    if (call.args[0] === '-listallhardwareports') return { stdout: mac('listallhardwareports.txt') };
    if (call.args[0] === '-getairportnetwork') return { stdout: mac('getairportnetwork-associated.txt') };
    return { stdout: '' };
  };
}

function adapter(handler: Handler, helper: string | undefined, ip?: string) {
  const runner = new FakeRunner(handler);
  const clock = manualClock();
  const a = new MacosAdapter(
    { port: 'Wi-Fi', device: 'en0', mac: 'a4:83:e7:1c:62:9d' },
    {
      runner,
      now: clock.now,
      sleep: clock.sleep,
      interfaces: table(ip === undefined ? {} : { en0: [ipv4(ip)] }),
      tcpCheck: () => Promise.resolve(true),
    },
    helper,
  );
  return { a, runner };
}

const wpa2: JoinRequest = {
  ssidHex: HOME_HEX,
  security: 'wpa2-psk',
  passphrase: PASS,
  timeoutMs: 20_000,
  expectReachable: { host: '10.150.7.1', port: 80 },
};

describe('MacosAdapter with the helper', () => {
  it('joins with the passphrase on stdin only', async () => {
    const { a, runner } = adapter(helperHandler(), HELPER, '10.150.7.23');
    expect(await a.join(wpa2)).toMatchObject({ ok: true, ip: '10.150.7.23' });
    const [call] = runner.calls;
    expect(call?.args).toEqual(
      helperJoinArgs({
        device: 'en0',
        ssidHex: HOME_HEX,
        security: 'wpa2-psk',
        hidden: false,
        timeoutMs: 20_000,
      }),
    );
    expect(call?.options.input).toBe(PASS);
    expect(call?.options.redact).toEqual([PASS]);
    expectSecretNeverInArgv(runner.calls, PASS);
  });

  it('joins with a raw 64-hex PSK, given to the helper on stdin like a passphrase', async () => {
    const psk = '9e54f1f2a5ba1c5c4a4a3d1ed9b07b0d4e7c6d7e5b0a0f3a8c6d2e1f0a9b8c7d';
    const { a, runner } = adapter(helperHandler(), HELPER, '10.150.7.23');
    const { passphrase: _none, ...withoutPassphrase } = wpa2;
    expect(await a.join({ ...withoutPassphrase, psk })).toMatchObject({ ok: true });
    expect(runner.calls[0]?.options.input).toBe(psk);
    expect(runner.calls[0]?.options.redact).toEqual([psk]);
    expectSecretNeverInArgv(runner.calls, psk);
  });

  it.each([
    ['helper-join-bad-password.json', 'auth_failed'],
    ['helper-join-not-found.json', 'ssid_not_found'],
  ])('maps %s to %s', async (file, reason) => {
    const { a } = adapter(helperHandler(mac(file)), HELPER, '10.150.7.23');
    expect(await a.join(wpa2)).toMatchObject({ ok: false, reason });
  });

  it('reports dhcp_timeout without an address', async () => {
    const { a } = adapter(helperHandler(), HELPER);
    expect(await a.join(wpa2)).toMatchObject({ ok: false, reason: 'dhcp_timeout' });
  });

  it('scans, reads the current network, leaves (forgetting what it joined) and restores through the keychain', async () => {
    const { a, runner } = adapter(helperHandler(), HELPER, '192.168.1.50');
    expect(await a.scan()).toHaveLength(5);
    expect(await a.current()).toEqual({
      ssidHex: HOME_HEX,
      ssid: 'Home:Office "5G"',
      bssid: 'f4:92:bf:6a:13:02',
      ip: '192.168.1.50',
      profile: HOME_HEX,
    });
    await a.join({ ...wpa2, ssidHex: 'fffe4142', expectReachable: undefined });
    await a.leave();
    expect(runner.calls.at(-1)?.args).toEqual(helperLeaveArgs('en0', 'fffe4142'));
    await a.restore({ ssidHex: HOME_HEX, ssid: 'Home:Office "5G"' });
    const last = runner.calls.at(-1);
    expect(last?.args).toContain('--known');
    expect(last?.options.input).toBe('');
  });
});

describe('MacosAdapter without the helper', () => {
  it('refuses to scan, and to join a secured network, explaining why (no password in argv)', async () => {
    const { a, runner } = adapter(helperHandler(), undefined);
    await expect(a.scan()).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    await expect(a.join(wpa2)).rejects.toThrow(/command line/);
    expect(runner.calls).toHaveLength(0);
  });

  it('joins an open network with networksetup and no password argument', async () => {
    const { a, runner } = adapter(helperHandler(), undefined, '10.150.7.23');
    const setup = toHex(utf8Encode('Airlift-3f9a2c41'));
    expect(await a.join({ ssidHex: setup, security: 'open', timeoutMs: 10_000 })).toMatchObject({ ok: true });
    expect(runner.calls[0]?.args).toEqual(['-setairportnetwork', 'en0', 'Airlift-3f9a2c41']);
    await expect(a.join({ ssidHex: 'fffe', security: 'open', timeoutMs: 10_000 })).rejects.toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
    });
  });

  it('maps networksetup failures', async () => {
    const { a } = adapter(
      () => ({ stdout: mac('setairportnetwork-not-found.txt') }),
      undefined,
      '10.150.7.23',
    );
    const r = await a.join({
      ssidHex: toHex(utf8Encode('Airlift-3f9a2c41')),
      security: 'open',
      timeoutMs: 10_000,
    });
    expect(r).toMatchObject({
      ok: false,
      reason: 'ssid_not_found',
      detail: 'Could not find network Airlift-3f9a2c41.',
    });
  });

  it('reads the current network as text, and leaves by cycling the radio', async () => {
    const { a, runner } = adapter(helperHandler(), undefined);
    expect(await a.current()).toEqual({ ssidHex: HOME_HEX, ssid: 'Home:Office "5G"', profile: HOME_HEX });
    await a.leave();
    expect(runner.calls.slice(-2).map((c) => c.args)).toEqual([
      setAirportPowerArgs('en0', false),
      setAirportPowerArgs('en0', true),
    ]);
    await a.restore({ ssidHex: HOME_HEX, ssid: 'Home:Office "5G"' });
    expect(runner.calls.at(-1)?.args).toEqual(['-setairportnetwork', 'en0', 'Home:Office "5G"']);
  });
});

describe('MacosAdapterProvider', () => {
  it('lists the Wi-Fi device and uses the helper when it speaks protocol 1', async () => {
    const runner = new FakeRunner(helperHandler());
    const p = new MacosAdapterProvider({ runner, helperPath: HELPER });
    const [a, ...rest] = await p.list();
    expect(rest).toEqual([]);
    expect(a?.info).toEqual({ id: 'en0', name: 'en0', mac: 'a4:83:e7:1c:62:9d' });
    expect(a?.hasHelper).toBe(true);
    expect(await p.list()).toEqual([a]);
  });

  it('works without a helper that does not answer', async () => {
    const runner = new FakeRunner((call) =>
      call.file === HELPER ? { stdout: mac('helper-garbage.txt') } : helperHandler()(call),
    );
    const [a] = await new MacosAdapterProvider({ runner, helperPath: HELPER }).list();
    expect(a?.hasHelper).toBe(false);
  });
});
