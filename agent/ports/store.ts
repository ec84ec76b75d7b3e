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
