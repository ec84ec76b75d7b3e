/**
 * The station's radio port: one per Wi-Fi adapter on the technician's machine. Linux (nmcli),
 * Windows (netsh wlan) and macOS (CoreWLAN helper) implement it in main/wifi/; the lab's sim adapter
 * implements it over the airspace.
 */
import type { EapConfig } from '../../shared/protocol/eap';
import type { NetworkSecurity, ScanResult } from '../../shared/protocol/wifi';

export interface AdapterInfo {
  /** Stable id on this machine: the interface name (wlan0) or the Windows interface GUID. */
  id: string;
  /** What a person calls it: "wlan0", "Wi-Fi 2", "en0". */
  name: string;
  mac?: string;
}

export interface CurrentConnection {
  ssidHex: string;
  ssid: string;
  bssid?: string;
  /** The adapter's IPv4 address on that network, when it has one. */
  ip?: string;
  /** An OS-level handle to restore it later (NetworkManager connection UUID, Windows profile name). */
  profile?: string;
}

export interface JoinRequest {
  ssidHex: string;
  security: NetworkSecurity;
  /** WPA2 passphrase (8..63 printable ASCII) or WPA3-SAE password. Never logged, never in argv. */
  passphrase?: string | undefined;
  /** WPA2 raw pre-shared key, 64 hex digits, instead of a passphrase (never with WPA3-SAE). */
  psk?: string | undefined;
  /**
   * Enterprise (802.1X) only, and only on an adapter with `joinsEnterprise`: the whole block,
   * secrets included. Its secrets and key go in 0600 files or a passwd-file, never in argv or logs.
   */
  eap?: EapConfig;
  hidden?: boolean;
  /** Overall deadline for association and an address. */
  timeoutMs: number;
  /** The address the adapter must be able to reach once joined (the device at 10.X.Y.1): checked before success. */
  expectReachable?: { host: string; port: number } | undefined;
}

export type JoinResult =
  | { ok: true; ip: string; durationMs: number; bssid?: string; signal?: number }
  | {
      ok: false;
      reason:
        | 'auth_failed'
        | 'eap_failed'
        | 'cert_rejected'
        | 'ssid_not_found'
        | 'dhcp_timeout'
        | 'timeout'
        | 'unreachable'
        | 'hardware';
      detail?: string;
      durationMs: number;
    };

/** Whether an adapter joins 802.1X networks itself, and if not, why (decision 0012). */
export interface EnterpriseSupport {
  join: boolean;
  /** Why not, in a technician's words (shown by the pre-flight). */
  why?: string;
}

export interface WifiAdapter {
  readonly info: AdapterInfo;
  /**
   * Whether `join` takes `eap`. Absent: it cannot, and a job with an Enterprise target verifies
   * from the network the adapter had before the job (decision 0012).
   */
  readonly enterprise?: EnterpriseSupport;
  scan(): Promise<ScanResult[]>;
  current(): Promise<CurrentConnection | undefined>;
  /** Join and wait for an address (and reachability of `expectReachable`). Never throws for an ordinary failure. */
  join(req: JoinRequest): Promise<JoinResult>;
  /** Disconnect, leaving no temporary profile behind. */
  leave(): Promise<void>;
  /** Reconnect to what `current()` returned before the job (the technician's own network). */
  restore(previous: CurrentConnection | undefined): Promise<void>;
}

export interface WifiAdapterProvider {
  /** Adapters present now, by OS name or id. */
  list(): Promise<WifiAdapter[]>;
}
