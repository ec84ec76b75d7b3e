/**
 * Persistent state of the agent. Every save replaces one file whole and atomically (temp file, fsync,
 * rename, fsync dir), mode 0600, so a kill at any moment leaves the old or the new content, never a mix.
 */
// The shapes live in shared/ as zod schemas (one source of truth for the files and their parsing).
import type { AbuseCounters, DeviceMeta, NetworkState, StoredIdentity } from '../../shared/agent-state';

export type {
  AbuseCounters,
  DeviceMeta,
  NetworkState,
  PendingChange,
  StoredIdentity,
  StoredNetwork,
} from '../../shared/agent-state';

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
  /**
   * The networks, with the certificates and keys of Enterprise networks: `material` (file name →
   * PEM, see `materialName`) is written first, 0600, then the state; then every material file that
   * neither `state.networks` nor `state.pending.previous` names is removed, so a certificate goes
   * with the last network that used it.
   */
  saveNetworkState(state: NetworkState, material?: ReadonlyMap<string, string>): Promise<void>;
  /** Where a material file is, for a backend's config. */
  materialPath(name: string): string;
  /** A material file's PEM. */
  readMaterial(name: string): Promise<string>;
  saveCounters(counters: AbuseCounters): Promise<void>;
  saveMeta(meta: DeviceMeta): Promise<void>;
}

export const emptyCounters: AbuseCounters = {
  consecutiveFailures: 0,
  windowFailures: 0,
  lifetimeFailures: 0,
  notBefore: 0,
};

/** The material names a network state refers to (saved networks and the list on trial's fallback). */
export function materialInUse(state: NetworkState): Set<string> {
  const names = new Set<string>();
  for (const n of [...state.networks, ...(state.pending?.previous ?? [])]) {
    const eap = n.eap;
    if (!eap) continue;
    for (const name of [eap.caCertFile, eap.clientCertFile, eap.clientKeyFile])
      if (name !== undefined) names.add(name);
  }
  return names;
}
