/**
 * The radio port: everything the agent asks of the device's network hardware. Real backends
 * (NetworkManager, wpa_supplicant+hostapd+dnsmasq) and the lab's sim radio implement it.
 * Only the radio actor calls it, one command at a time (ARCHITECTURE.md, "one owner for the radio").
 * How the setup AP and the station share the hardware (AP+STA, one channel, DFS and country) is the
 * backend's to carry out, by the pure planner in agent/core/ap-plan.ts.
 */
import type { ConnectFailureReason } from '../../shared/errors';
import type { EapMethod, EapPhase2 } from '../../shared/protocol/eap';
import type { StaticIpv4 } from '../../shared/protocol/static-ipv4';
import type { Band, NetworkSecurity, ScanResult } from '../../shared/protocol/wifi';

export interface RadioCapabilities {
  /** The hardware can run the setup AP and a station connection at the same time. */
  concurrentApSta: boolean;
  /** Enterprise securities only when `eap` lists a method. */
  security: NetworkSecurity[];
  /** EAP methods the Wi-Fi stack can do; empty or absent: no Enterprise networks. */
  eap?: EapMethod[];
  /** The backend can give a network static IPv4 instead of DHCP. */
  staticIpv4?: boolean;
  bands: Band[];
  ethernet: boolean;
  cellular: boolean;
}

/** A network to join, as the agent stores it. The SSID is raw bytes in hex: SSIDs need not be UTF-8. */
export interface JoinTarget {
  ssidHex: string;
  security: NetworkSecurity;
  /** WPA2 passphrase (8..63 printable ASCII) or SAE password. Never logged. */
  passphrase?: string | undefined;
  /** 64-hex pre-shared key, instead of a passphrase. Never logged. */
  psk?: string | undefined;
  /** Enterprise networks: the 802.1X settings, certificates as files the backends point at. */
  eap?: JoinEap;
  /** Static addressing instead of DHCP; the outcome's lease is this address. */
  ipv4?: StaticIpv4;
  hidden: boolean;
}

/** A certificate file of the agent's store: where it is (for the backends' configs) and what it says. */
export interface MaterialFile {
  path: string;
  pem: string;
}

/**
 * The 802.1X settings of a join. No `caCert`: the technician chose to join without checking the
 * server (insecureNoCaValidation); the backends then configure no CA. Secrets never logged.
 */
export interface JoinEap {
  method: EapMethod;
  phase2?: EapPhase2 | undefined;
  identity: string;
  anonymousIdentity?: string | undefined;
  password?: string | undefined;
  caCert?: MaterialFile | undefined;
  domainMatch?: string | undefined;
  clientCert?: MaterialFile | undefined;
  /** The client key's file: only its path travels, the backends' tools read it. */
  clientKeyPath?: string | undefined;
  clientKeyPassphrase?: string | undefined;
}

export interface Lease {
  ip: string;
  /** Dotted subnet mask, as thingymcconfig reports it. */
  subnetmask: string;
  defaultgw: string;
  nameservers: string[];
}

export type JoinOutcome =
  | { ok: true; lease: Lease; bssid?: string; signal?: number }
  | { ok: false; reason: ConnectFailureReason; detail?: string };

export interface SetupApConfig {
  ssid: string;
  /** The AP's own address, `10.X.Y.1`, and prefix length (24). */
  address: string;
  prefixLength: number;
  /** DHCP range handed to clients. */
  dhcpRange: { start: string; end: string };
  channel: number;
  /** Undefined: an open AP (the PAKE protects the session, see protocol.md). */
  passphrase?: string | undefined;
}

export interface LinkState {
  up: boolean;
  lease?: Lease;
}

export interface RadioStatus {
  wifi: LinkState & { ssidHex?: string; bssid?: string; signal?: number };
  ethernet: LinkState;
  cellular: LinkState;
  ap: { up: boolean; ssid?: string; address?: string; clients: number };
}

export interface JoinOptions {
  timeoutMs: number;
  /** Keep the setup AP up during and after the join (needs concurrentApSta). */
  keepAp: boolean;
}

export interface RadioPort {
  capabilities(): Promise<RadioCapabilities>;
  /** Scan for networks. `known` is filled in by the agent; backends may leave it false. */
  scan(): Promise<ScanResult[]>;
  /**
   * Join `target` and obtain an address. Resolves with a reason on failure, never throws for an
   * ordinary failure (wrong key, absent SSID, DHCP). With `keepAp` and concurrentApSta, the AP stays up.
   */
  join(target: JoinTarget, options: JoinOptions): Promise<JoinOutcome>;
  /** Drop the station connection (if any). */
  leave(): Promise<void>;
  startAp(config: SetupApConfig): Promise<void>;
  stopAp(): Promise<void>;
  status(): Promise<RadioStatus>;
  /** Release resources (subprocesses, sockets). */
  close(): Promise<void>;
}
