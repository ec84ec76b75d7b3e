/** Wi-Fi vocabulary shared by agent, station and portal. */
import { z } from 'zod';

/**
 * Security a network can be configured with. `wpa2-psk` also covers WPA1/WPA2 mixed and WPA2/WPA3
 * transition. The Enterprise ones (802.1X, EAP) carry an `eap` block (shared/protocol/eap.ts);
 * `wpa3-enterprise` is WPA3-Enterprise "only" mode: EAP with SHA-256 key management and PMF required.
 */
export const NETWORK_SECURITY = [
  'open',
  'wpa2-psk',
  'wpa3-sae',
  'wpa2-enterprise',
  'wpa3-enterprise',
] as const;
export type NetworkSecurity = (typeof NETWORK_SECURITY)[number];
export const networkSecuritySchema = z.enum(NETWORK_SECURITY);

export const ENTERPRISE_SECURITY = ['wpa2-enterprise', 'wpa3-enterprise'] as const;
export type EnterpriseSecurity = (typeof ENTERPRISE_SECURITY)[number];

/** Whether `security` authenticates with 802.1X/EAP (an `eap` block) rather than a shared secret. */
export function isEnterprise(security: NetworkSecurity): security is EnterpriseSecurity {
  return security === 'wpa2-enterprise' || security === 'wpa3-enterprise';
}

/** Security an access point advertises, as seen in a scan. */
export const SCAN_SECURITY = [
  'open',
  'wep',
  'wpa2-psk',
  'wpa3-sae',
  'wpa2-wpa3',
  'owe',
  'enterprise',
] as const;
export type ScanSecurity = (typeof SCAN_SECURITY)[number];
export const scanSecuritySchema = z.enum(SCAN_SECURITY);

export const BANDS = ['2.4GHz', '5GHz', '6GHz'] as const;
export type Band = (typeof BANDS)[number];

/** One access point in a scan. `ssidHex` is authoritative; `ssid` is for display (escaped if not UTF-8). */
export const scanResultSchema = z.object({
  ssid: z.string(),
  ssidHex: z.string(),
  bssid: z.string(),
  frequency: z.number().int(),
  signal: z.number(),
  security: scanSecuritySchema,
  known: z.boolean(),
});
export type ScanResult = z.infer<typeof scanResultSchema>;

export function bandOf(frequencyMHz: number): Band {
  if (frequencyMHz >= 5925) return '6GHz';
  if (frequencyMHz >= 4900) return '5GHz';
  return '2.4GHz';
}

/** Whether a scan entry can be joined with a configuration of `security`. */
export function securityCompatible(scan: ScanSecurity, config: NetworkSecurity): boolean {
  switch (config) {
    case 'open':
      return scan === 'open' || scan === 'owe';
    case 'wpa2-psk':
      return scan === 'wpa2-psk' || scan === 'wpa2-wpa3';
    case 'wpa3-sae':
      return scan === 'wpa3-sae' || scan === 'wpa2-wpa3';
    // A scan says only that an AP is 802.1X, not which generation: either may be tried.
    case 'wpa2-enterprise':
    case 'wpa3-enterprise':
      return scan === 'enterprise';
  }
}
