/** The station's adapter edges, run for real on this machine (Linux); its runner is tested in test/unit/platform. */
import { existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { JoinRequest } from '../../../../main/ports/wifi-adapter';
import { AirliftError } from '../../../../shared/errors';
import {
  ipv4Before,
  macOf,
  requestSecret,
  resolveDeps,
  tcpReachable,
  usableIpv4,
  withPrivateDir,
  withSecretFile,
} from '../../../../main/wifi/command';
import { ipv4, manualClock, table } from './fakes';

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

describe('secret files', () => {
  it('writes 0600 in a fresh private directory and removes both, also on failure', async () => {
    let seen = '';
    await withSecretFile(tmpdir(), 'passwd', 'psk', (path) => {
      seen = path;
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(statSync(dirname(path)).mode & 0o777).toBe(0o700);
      return Promise.resolve();
    });
    expect(existsSync(dirname(seen))).toBe(false);
    await expect(
      withSecretFile(tmpdir(), 'passwd', 'psk', (path) => {
        seen = path;
        return Promise.reject(new Error('boom'));
      }),
    ).rejects.toThrow('boom');
    expect(existsSync(dirname(seen))).toBe(false);
    let dir = '';
    await withPrivateDir(tmpdir(), (d) => {
      dir = d;
      return Promise.resolve();
    });
    expect(existsSync(dir)).toBe(false);
  });
});

describe('addresses and reachability', () => {
  it('picks a usable IPv4 address and the MAC', () => {
    const t = table({
      wlan0: [ipv4('169.254.3.4', 'AA:BB:CC:00:11:22'), ipv4('10.150.7.23', 'AA:BB:CC:00:11:22')],
    })();
    expect(usableIpv4(t, 'wlan0')).toBe('10.150.7.23');
    expect(usableIpv4(t, 'wlan1')).toBeUndefined();
    expect(macOf(t, 'wlan0')).toBe('aa:bb:cc:00:11:22');
  });

  it('waits for an address until the deadline', async () => {
    const clock = manualClock();
    const deps = resolveDeps({
      runner: { run: () => Promise.reject(new Error('unused')) },
      ...clock,
      interfaces: table({}),
    });
    expect(await ipv4Before(deps, 'wlan0', 1000)).toBeUndefined();
    expect(clock.now()).toBeGreaterThanOrEqual(1000);
  });

  it('checks TCP reachability for real', async () => {
    server = createServer((s) => s.end());
    await new Promise<void>((r) => server?.listen(0, '127.0.0.1', () => r()));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    expect(await tcpReachable('127.0.0.1', port, 2000)).toBe(true);
    await new Promise<void>((r) => server?.close(() => r()));
    server = undefined;
    expect(await tcpReachable('127.0.0.1', port, 2000)).toBe(false);
  });
});

describe('requestSecret', () => {
  it('validates the secret for its security', () => {
    expect(requestSecret({ ssidHex: '41', security: 'open', timeoutMs: 1 })).toBeUndefined();
    expect(
      requestSecret({ ssidHex: '41', security: 'wpa3-sae', passphrase: 'ünïcode', timeoutMs: 1 }),
    ).toEqual({ kind: 'passphrase', value: 'ünïcode' });
    expect(() =>
      requestSecret({ ssidHex: '41', security: 'wpa2-psk', passphrase: 'ünïcode1', timeoutMs: 1 }),
    ).toThrow(AirliftError);
    expect(() =>
      requestSecret({ ssidHex: '41', security: 'wpa3-sae', passphrase: 'a\nb', timeoutMs: 1 }),
    ).toThrow(AirliftError);
  });

  it('takes a WPA2 raw PSK of 64 hex digits, lowercased, and refuses it anywhere else', () => {
    const psk = 'AB'.repeat(32);
    expect(requestSecret({ ssidHex: '41', security: 'wpa2-psk', psk, timeoutMs: 1 })).toEqual({
      kind: 'psk',
      value: 'ab'.repeat(32),
    });
    const refused = (req: Omit<JoinRequest, 'ssidHex' | 'timeoutMs'>) => () =>
      requestSecret({ ssidHex: '41', timeoutMs: 1, ...req });
    expect(refused({ security: 'wpa2-psk', psk: 'ab'.repeat(31) })).toThrow(/64 hex digits/);
    expect(refused({ security: 'wpa3-sae', psk })).toThrow(/WPA2 only/);
    expect(refused({ security: 'open', psk })).toThrow(AirliftError);
    expect(refused({ security: 'wpa2-psk', psk, passphrase: 'correct horse' })).toThrow(/not both/);
    // 64 hex digits given as a passphrase are a PSK sent the wrong way: refused, not hashed.
    expect(refused({ security: 'wpa2-psk', passphrase: psk })).toThrow(/raw PSK/);
  });
});
