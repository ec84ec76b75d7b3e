import { describe, expect, it } from 'vitest';
import { AirliftError } from '../../../../shared/errors';
import { NmcliAdapterProvider } from '../../../../main/wifi/linux-nmcli';
import { MacosAdapterProvider } from '../../../../main/wifi/macos';
import { SUPPORTED_PLATFORMS, wifiAdapterProvider } from '../../../../main/wifi/select';
import { NetshAdapterProvider } from '../../../../main/wifi/windows-netsh';
import { FakeRunner } from './fakes';

describe('wifiAdapterProvider', () => {
  const runner = new FakeRunner(() => ({}));

  it('picks the provider for the OS', () => {
    expect(wifiAdapterProvider('linux', runner)).toBeInstanceOf(NmcliAdapterProvider);
    expect(wifiAdapterProvider('win32', runner)).toBeInstanceOf(NetshAdapterProvider);
    expect(wifiAdapterProvider('darwin', runner, { macosHelperPath: '/opt/h' })).toBeInstanceOf(
      MacosAdapterProvider,
    );
    expect(SUPPORTED_PLATFORMS).toEqual(['linux', 'win32', 'darwin']);
  });

  it('passes the runner through: listing runs nmcli on it', async () => {
    const recording = new FakeRunner(() => ({ stdout: 'wlan0:wifi:disconnected::\n' }));
    const adapters = await wifiAdapterProvider('linux', recording).list();
    expect(adapters.map((a) => a.info.name)).toEqual(['wlan0']);
    expect(recording.calls[0]?.file).toBe('nmcli');
  });

  it.each(['freebsd', 'openbsd', 'aix', 'sunos', 'android'] as const)(
    'refuses %s with BACKEND_UNAVAILABLE and a clear message',
    (platform) => {
      let err: unknown;
      try {
        wifiAdapterProvider(platform, runner);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(AirliftError);
      expect(err).toMatchObject({ code: 'BACKEND_UNAVAILABLE', details: { platform } });
      expect((err as Error).message).toContain(`"${platform}"`);
      expect((err as Error).message).toContain('LAN path');
    },
  );

  it('builds a real runner by default without running anything', () => {
    expect(wifiAdapterProvider('linux')).toBeInstanceOf(NmcliAdapterProvider);
  });
});
