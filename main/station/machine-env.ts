/**
 * The station on this machine: the OS's Wi-Fi adapters (temporary profiles a crashed run left
 * behind swept before first use), the mDNS browser on every interface, and undici for device HTTP.
 * The CLI, the web host and the desktop app all run on it; the lab passes its fleet instead.
 */
import { MdnsBrowser } from '../discovery/mdns-browser';
import { UndiciDeviceTransport } from '../engine/device-http';
import type { WifiAdapterProvider } from '../ports/wifi-adapter';
import { NmcliAdapterProvider } from '../wifi/linux-nmcli';
import { wifiAdapterProvider, type WifiSelectOptions } from '../wifi/select';
import type { StationEnvironment } from './service';

export interface MachineEnvironment extends StationEnvironment {
  close(): Promise<void>;
}

/** The OS provider, sweeping NetworkManager profiles a crashed run left behind before first use. */
export function machineAdapters(options: WifiSelectOptions = {}): WifiAdapterProvider {
  const base = wifiAdapterProvider(process.platform, undefined, options);
  let swept = false;
  return {
    async list() {
      if (!swept && base instanceof NmcliAdapterProvider) {
        swept = true;
        await base.sweepStaleProfiles().catch(() => 0);
      }
      return base.list();
    },
  };
}

export function machineEnvironment(
  o: { wifi?: WifiSelectOptions; onWarning?: (message: string) => void } = {},
): MachineEnvironment {
  const transport = new UndiciDeviceTransport();
  const browser = new MdnsBrowser({ ...(o.onWarning ? { onWarning: o.onWarning } : {}) });
  return {
    adapters: machineAdapters(o.wifi),
    browser,
    transport,
    close: () => transport.close(),
  };
}
