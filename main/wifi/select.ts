/**
 * The station's Wi-Fi adapter provider for the OS it runs on (decision 0001): NetworkManager on
 * Linux, netsh wlan on Windows, networksetup plus the CoreWLAN helper on macOS.
 */
import { AirliftError } from '../../shared/errors';
import type { WifiAdapterProvider } from '../ports/wifi-adapter';
import { ExecRunner } from '../../platform/commands';
import { STATION_COMMAND_TIMEOUT_MS, type AdapterDeps, type CommandRunner } from './command';
import { NmcliAdapterProvider } from './linux-nmcli';
import { MacosAdapterProvider } from './macos';
import { NetshAdapterProvider } from './windows-netsh';

export interface WifiSelectOptions extends Omit<AdapterDeps, 'runner'> {
  /** macOS: path of the built `airlift-wifi-helper` (main/wifi/macos-helper/README.md). */
  macosHelperPath?: string;
}

export const SUPPORTED_PLATFORMS: readonly NodeJS.Platform[] = ['linux', 'win32', 'darwin'];

export function wifiAdapterProvider(
  platform: NodeJS.Platform = process.platform,
  runner: CommandRunner = new ExecRunner({ platform, timeoutMs: STATION_COMMAND_TIMEOUT_MS }),
  options: WifiSelectOptions = {},
): WifiAdapterProvider {
  const { macosHelperPath, ...deps } = options;
  switch (platform) {
    case 'linux':
      return new NmcliAdapterProvider({ ...deps, runner });
    case 'win32':
      return new NetshAdapterProvider({ ...deps, runner });
    case 'darwin':
      return new MacosAdapterProvider({
        ...deps,
        runner,
        ...(macosHelperPath === undefined ? {} : { helperPath: macosHelperPath }),
      });
    default:
      throw new AirliftError(
        'BACKEND_UNAVAILABLE',
        `The station cannot drive Wi-Fi on "${platform}": it supports Linux (NetworkManager), Windows (netsh wlan) ` +
          'and macOS (networksetup with the CoreWLAN helper). Devices already on the network can still be ' +
          'provisioned over the LAN path.',
        { platform, supported: [...SUPPORTED_PLATFORMS] },
      );
  }
}
