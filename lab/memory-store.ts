/**
 * The agent's store in memory, for large virtual fleets where hundreds of devices would otherwise
 * share one disk's fsyncs (each real device has its own). The file store is what ships and is
 * tested for crash safety on its own; this one keeps the same copy-on-save semantics.
 */
import {
  emptyCounters,
  type AbuseCounters,
  type DeviceMeta,
  type NetworkState,
  type StoredIdentity,
  type StorePort,
  type StoreSnapshot,
} from '../agent/ports/store';

const clone = <T>(v: T): T => structuredClone(v);

export class MemoryStore implements StorePort {
  private identity?: StoredIdentity;
  private network: NetworkState = { networks: [] };
  private counters: AbuseCounters = { ...emptyCounters };
  private meta: DeviceMeta = {};

  load(): Promise<StoreSnapshot> {
    return Promise.resolve({
      ...(this.identity ? { identity: clone(this.identity) } : {}),
      network: clone(this.network),
      counters: clone(this.counters),
      meta: clone(this.meta),
      quarantined: [],
    });
  }
  saveIdentity(identity: StoredIdentity): Promise<void> {
    this.identity = clone(identity);
    return Promise.resolve();
  }
  saveNetworkState(state: NetworkState): Promise<void> {
    this.network = clone(state);
    return Promise.resolve();
  }
  saveCounters(counters: AbuseCounters): Promise<void> {
    this.counters = clone(counters);
    return Promise.resolve();
  }
  saveMeta(meta: DeviceMeta): Promise<void> {
    this.meta = clone(meta);
    return Promise.resolve();
  }
}
