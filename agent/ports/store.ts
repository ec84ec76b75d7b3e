/**
 * Persistent state of the agent. Every save replaces one file whole and atomically (temp file, fsync,
 * rename, fsync dir), mode 0600, so a kill at any moment leaves the old or the new content, never a mix.
 */
import type { NetworkSecurity } from '../../shared/protocol/wifi';

/** The device half of the SPAKE2+ identity. The setup secret itself is never stored. */
export interface StoredIdentity {
  deviceId: string;
  /** SPAKE2+ w0, 32-byte big-endian scalar, hex. */
  w0: string;
  /** SPAKE2+ L = w1·G, 65-byte uncompressed SEC1 point, hex. */
  L: string;
  /** PBKDF2 salt, hex (16..32 bytes). */
  salt: string;
  iterations: number;
  createdAt: string;
}

export interface StoredNetwork {
  /** Stable local id (8 hex chars), used by forget. */
  id: string;
  ssidHex: string;
  security: NetworkSecurity;
  passphrase?: string;
  psk?: string;
  hidden: boolean;
  /** Higher is tried first. */
  priority: number;
  addedAt: string;
  lastConnectedAt?: string;
}

/** A `wifi.set` on trial (fail-safe commit): `previous` is restored unless it is confirmed in time. */
export interface PendingChange {
  attemptId: string;
  /** The job nonce the station sent (hex); its first 8 chars are advertised as `pv`. */
  nonce?: string;
  previous: StoredNetwork[];
  /** Epoch ms after which the change is reverted; undefined until the device is online with it. */
  expiresAt?: number;
  failsafeSeconds: number;
}

export interface NetworkState {
  networks: StoredNetwork[];
  pending?: PendingChange;
}

/** Abuse limits of the secure session (protocol.md), persisted so a restart does not reset them. */
export interface AbuseCounters {
  consecutiveFailures: number;
  /** Failures since the current setup window opened. */
  windowFailures: number;
  lifetimeFailures: number;
  /** Epoch ms before which no handshake is accepted (exponential delay). */
  notBefore: number;
}

export interface DeviceMeta {
  name?: string;
  /** Last accepted job nonce (hex). */
  lastNonce?: string;
  lastAttempt?: { id: string; result: 'ok' | 'failed' | 'pending'; reason?: string; at: string };
}

export interface StoreSnapshot {
  identity?: StoredIdentity;
  network: NetworkState;
  counters: AbuseCounters;
  meta: DeviceMeta;
  /** Files that could not be read and were set aside (renamed `*.corrupt-<time>`), for doctor and logs. */
  quarantined: string[];
}

export interface StorePort {
  load(): Promise<StoreSnapshot>;
  saveIdentity(identity: StoredIdentity): Promise<void>;
  saveNetworkState(state: NetworkState): Promise<void>;
  saveCounters(counters: AbuseCounters): Promise<void>;
  saveMeta(meta: DeviceMeta): Promise<void>;
}

export const emptyCounters: AbuseCounters = {
  consecutiveFailures: 0,
  windowFailures: 0,
  lifetimeFailures: 0,
  notBefore: 0,
};
