/**
 * Reading discovery results as devices: a scanned SSID names a device under one of the setup SSID
 * prefixes; an mDNS service names one by its TXT `id`. `airlift discover` merges them into one
 * entry per device; the station's registry keeps the same readings over time.
 */
import { deviceIdFromSetupSsid } from '../../shared/identity';
import { parseTxt } from '../../shared/protocol/mdns';
import type { DeviceState } from '../../shared/protocol/api';
import type { ScanResult } from '../../shared/protocol/wifi';
import type { DiscoveredService } from '../ports/discovery';

/** The device a scanned SSID is the setup AP of, under any of the prefixes. */
export function deviceIdOfSetupSsid(ssid: string, prefixes: readonly string[]): string | undefined {
  for (const p of prefixes) {
    const id = deviceIdFromSetupSsid(ssid, p);
    if (id !== undefined) return id;
  }
  return undefined;
}

export interface LanReading {
  id: string;
  state: DeviceState;
  /** The advertised job nonce prefix (`pv`). */
  pv: string;
  ipv4?: string;
}

/** What an advertisement says about its device; undefined for a TXT record that is not ours. */
export function lanReadingOf(svc: DiscoveredService): LanReading | undefined {
  let txt;
  try {
    txt = parseTxt(svc.txt);
  } catch {
    return undefined;
  }
  const ipv4 = svc.addresses.find((a) => !a.includes(':'));
  return { id: txt.id, state: txt.st, pv: txt.pv, ...(ipv4 !== undefined ? { ipv4 } : {}) };
}

export interface DiscoveredDevice {
  id: string;
  setupAp?: { ssid: string; signal: number; bssid: string; adapter: string };
  lan?: { addresses: string[]; port: number; state: DeviceState; host: string };
}

/** One entry per device from scans (its strongest setup AP) and advertisements, sorted by id. */
export function mergeDiscovery(
  scans: readonly { adapter: string; results: readonly ScanResult[] }[],
  services: readonly DiscoveredService[],
  prefixes: readonly string[],
): DiscoveredDevice[] {
  const devices = new Map<string, DiscoveredDevice>();
  for (const { adapter, results } of scans) {
    for (const s of results) {
      const id = deviceIdOfSetupSsid(s.ssid, prefixes);
      if (id === undefined) continue;
      const prev = devices.get(id);
      if (!prev?.setupAp || prev.setupAp.signal < s.signal)
        devices.set(id, {
          ...prev,
          id,
          setupAp: { ssid: s.ssid, signal: s.signal, bssid: s.bssid, adapter },
        });
    }
  }
  for (const svc of services) {
    const r = lanReadingOf(svc);
    if (!r) continue;
    devices.set(r.id, {
      ...devices.get(r.id),
      id: r.id,
      lan: { addresses: svc.addresses, port: svc.port, state: r.state, host: svc.host },
    });
  }
  return [...devices.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
