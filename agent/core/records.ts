/**
 * What the agent keeps on disk about networks and attempts: the saved networks with a change on
 * trial (`pending`, the list to fall back to), the last attempt, the last committed job nonce. Every
 * change applies in memory at once, so an effect that runs next sees it, and is persisted in order
 * behind it (the store serialises writes per file); callers that must not answer before a change is
 * on disk await the returned promise. Nothing here decides when to commit or revert: the lifecycle
 * machine does, and the agent carries its effects out here.
 */
import { MAX_LAST_IPS } from '../../shared/agent-state';
import type { LastAttempt } from '../../shared/protocol/api';
import type { Logger } from '../log';
import type { DeviceMeta, NetworkState, PendingChange, StoredNetwork, StorePort } from '../ports/store';
import { credentialsKey } from './networks';

export interface RecordsDeps {
  store: StorePort;
  logger: Logger;
  /** A new last attempt (the `attempt` event). */
  onAttempt: (attempt: LastAttempt) => void;
  /** Whether networks are known changed (the machine's `networksChanged`). */
  onKnownChanged: (hasKnown: boolean) => void;
}

export class AgentRecords {
  private net: NetworkState = { networks: [] };
  private meta: DeviceMeta = {};

  constructor(private readonly deps: RecordsDeps) {}

  /** As loaded at start; no event is raised. */
  load(net: NetworkState, meta: DeviceMeta): void {
    this.net = net;
    this.meta = meta;
  }

  get networks(): StoredNetwork[] {
    return this.net.networks;
  }

  get pending(): PendingChange | undefined {
    return this.net.pending;
  }

  get device(): DeviceMeta {
    return this.meta;
  }

  get lastAttempt(): LastAttempt | undefined {
    return this.meta.lastAttempt;
  }

  /** `material`: certificate and key files the new networks name (file name → PEM). */
  saveNetworks(state: NetworkState, material?: ReadonlyMap<string, string>): Promise<void> {
    const had = this.net.networks.length > 0;
    this.net = state;
    const has = state.networks.length > 0;
    if (had !== has) this.deps.onKnownChanged(has);
    return this.deps.store.saveNetworkState(state, material);
  }

  saveMeta(meta: DeviceMeta): Promise<void> {
    this.meta = meta;
    return this.deps.store.saveMeta(meta);
  }

  setLastAttempt(attempt: LastAttempt): Promise<void> {
    const saved = this.saveMeta({ ...this.meta, lastAttempt: attempt });
    this.deps.onAttempt(attempt);
    return saved;
  }

  /**
   * A `wifi.set` to try now: the merged list with the one to fall back to kept aside, and the attempt
   * on record as pending. If either cannot be stored, both are put back and nothing is applied.
   */
  async stage(
    networks: StoredNetwork[],
    pending: Omit<PendingChange, 'previous'>,
    attempt: LastAttempt,
    material?: ReadonlyMap<string, string>,
  ): Promise<void> {
    const before = { net: this.net, meta: this.meta };
    // A trial on top of a trial: what we fall back to is still the last confirmed list.
    const previous = this.net.pending?.previous ?? this.net.networks;
    try {
      await this.saveNetworks({ networks, pending: { ...pending, previous } }, material);
      await this.setLastAttempt(attempt);
    } catch (err) {
      await this.saveNetworks(before.net).catch(() => undefined);
      await this.saveMeta(before.meta).catch(() => undefined);
      throw err;
    }
  }

  /**
   * Best effort: `lastConnectedAt` and the address are information, and a store that failed must
   * not undo a join. The address is kept per SSID (the newest MAX_LAST_IPS networks).
   */
  async markConnected(id: string, at: string, ip?: string): Promise<void> {
    const networks = this.net.networks.map((n) => (n.id === id ? { ...n, lastConnectedAt: at } : n));
    const ssidHex = this.net.networks.find((n) => n.id === id)?.ssidHex;
    const saved: Promise<void>[] = [this.saveNetworks({ ...this.net, networks })];
    if (ssidHex !== undefined && ip !== undefined && this.meta.lastIps?.[ssidHex] !== ip) {
      const others = Object.entries(this.meta.lastIps ?? {}).filter(([k]) => k !== ssidHex);
      const lastIps = Object.fromEntries([...others.slice(-(MAX_LAST_IPS - 1)), [ssidHex, ip]]);
      saved.push(this.saveMeta({ ...this.meta, lastIps }));
    }
    await Promise.all(saved).catch((err: unknown) =>
      this.deps.logger.error({ err }, 'could not record the network as connected'),
    );
  }

  /** Every address the device remembers having had (one per network). */
  lastIps(): string[] {
    return Object.values(this.meta.lastIps ?? {});
  }

  /** The address the device last had on `ssidHex`, if it was ever there. */
  lastIpOn(ssidHex: string): string | undefined {
    return this.meta.lastIps?.[ssidHex];
  }

  async armFailsafe(attemptId: string, expiresAt: number): Promise<void> {
    const pending = this.net.pending;
    if (pending?.attemptId !== attemptId) return;
    await this.saveNetworks({ ...this.net, pending: { ...pending, expiresAt } });
  }

  /** The trial becomes the saved list. False when `attemptId` is not the one on trial. */
  async commit(attemptId: string): Promise<boolean> {
    const pending = this.net.pending;
    if (pending?.attemptId !== attemptId) return false;
    const saved = [
      this.saveNetworks({ networks: this.net.networks }),
      this.saveMeta({ ...this.meta, ...(pending.nonce !== undefined ? { lastNonce: pending.nonce } : {}) }),
    ];
    this.deps.logger.info({ attemptId }, 'network change committed');
    await Promise.all(saved);
    return true;
  }

  /**
   * The list from before the trial comes back. With a reason, the attempt's record (if it is the
   * latest) becomes a failure with it, keeping where the attempt went.
   */
  async revert(attemptId: string, reason: string | undefined, at: string): Promise<void> {
    const pending = this.net.pending;
    if (pending?.attemptId !== attemptId) return;
    const saved = [this.saveNetworks({ networks: pending.previous })];
    const last = this.meta.lastAttempt;
    if (reason !== undefined && last?.id === attemptId)
      saved.push(this.setLastAttempt({ ...last, result: 'failed', reason, at }));
    this.deps.logger.info(
      { attemptId, ...(reason !== undefined ? { reason } : {}) },
      'network change reverted',
    );
    await Promise.all(saved);
  }

  /** The trial found at boot, with the time it has left (none: never armed, cut short while applying). */
  trialAtBoot(now: number): { attemptId: string; remainingMs?: number } | undefined {
    const pending = this.net.pending;
    if (!pending) return undefined;
    return {
      attemptId: pending.attemptId,
      ...(pending.expiresAt !== undefined ? { remainingMs: pending.expiresAt - now } : {}),
    };
  }

  /** Networks of the change on trial (not in the list it falls back to). */
  provisionalIds(): Set<string> {
    const pending = this.net.pending;
    if (!pending) return new Set();
    const before = new Set(pending.previous.map(credentialsKey));
    return new Set(this.net.networks.filter((n) => !before.has(credentialsKey(n))).map((n) => n.id));
  }

  /** The job nonce advertised: the one on trial, else the last committed one. */
  nonce(): string | undefined {
    return this.net.pending?.nonce ?? this.meta.lastNonce;
  }
}
