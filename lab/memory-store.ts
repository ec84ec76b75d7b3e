/**
 * The agent's store in memory, for large virtual fleets where hundreds of devices would otherwise
 * share one disk's fsyncs (each real device has its own). The file store is what ships and is
 * tested for crash safety on its own; this one keeps the same copy-on-save semantics.
 */
import { AirliftError } from '../shared/errors';
import {
  emptyCounters,
  materialInUse,
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
  private readonly material = new Map<string, string>();

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
  saveNetworkState(state: NetworkState, material?: ReadonlyMap<string, string>): Promise<void> {
    for (const [name, pem] of material ?? []) this.material.set(name, pem);
    this.network = clone(state);
    const keep = materialInUse(state);
    for (const name of [...this.material.keys()]) if (!keep.has(name)) this.material.delete(name);
    return Promise.resolve();
  }
  /** Not a file: the lab's radios read the PEM the agent hands them with the path. */
  materialPath(name: string): string {
    return `memory:${name}`;
  }
  readMaterial(name: string): Promise<string> {
    const pem = this.material.get(name);
    return pem === undefined
      ? Promise.reject(new AirliftError('STORE_CORRUPT', `No certificate ${name}`))
      : Promise.resolve(pem);
  }
  /** The material held now, by name (tests check it goes with its network). */
  materialNames(): string[] {
    return [...this.material.keys()].sort();
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
