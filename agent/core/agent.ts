/**
 * The agent: runs the lifecycle machine, carries out its effects through the radio actor, and keeps
 * the stored networks, attempts and identity. HTTP, the control socket and the compatibility
 * surfaces call the methods here; none of them touches the radio.
 */
import { AirliftError, type ConnectFailureReason } from '../../shared/errors';
import { randomBytes, toHex } from '../../shared/encoding';
import { setupSubnet } from '../../shared/addressing';
import { defaultHostname, setupSsid } from '../../shared/identity';
import { ssidDisplay } from '../../shared/ssid';
import { buildTxt, instanceName } from '../../shared/protocol/mdns';
import type { AgentConfig } from '../../shared/agent-config';
import type {
  AgentEvent,
  AppStatus,
  DeviceInfo,
  DeviceState,
  DeviceStatus,
  LastAttempt,
  SavedNetworkSummary,
  StatusDetail,
  WifiSetResult,
} from '../../shared/protocol/api';
import type { ScanResult } from '../../shared/protocol/wifi';
import type { AdvertiserPort } from '../ports/advertiser';
import type { ClockPort, TimerHandle } from '../ports/clock';
import type { ConnectivityPort, ConnectivityTargets } from '../ports/connectivity';
import type { JoinOutcome, RadioCapabilities, RadioPort, RadioStatus } from '../ports/radio';
import type {
  DeviceMeta,
  NetworkState,
  StoredIdentity,
  StoredNetwork,
  StorePort,
  AbuseCounters,
} from '../ports/store';
import type { Logger } from '../log';
import { EventBus } from './event-bus';
import {
  initialContext,
  transition,
  type Context,
  type Effect,
  type Event,
  type Policy,
  type Via,
} from './lifecycle';
import {
  candidatesInRange,
  connectionOrder,
  markKnown,
  mergeNetworks,
  MAX_SAVED_NETWORKS,
  strongestSignal,
  summarize,
  type IncomingNetwork,
} from './networks';
import { RadioActor } from './radio-actor';

export interface AgentDeps {
  config: AgentConfig;
  radio: RadioPort;
  store: StorePort;
  connectivity: ConnectivityPort;
  clock: ClockPort;
  logger: Logger;
  advertiser?: AdvertiserPort;
  agentVersion: string;
  /** Device-specific hooks: blink an LED, reboot the machine. */
  hooks?: { identify?: (seconds: number) => Promise<void>; reboot?: () => Promise<void> };
}

export interface WifiSetRequest {
  networks: IncomingNetwork[];
  mode: 'replace' | 'add';
  nonce?: string;
  commit: 'auto' | 'confirm';
  failsafeSeconds: number;
  /** `later` stores the networks without switching to them (staged rotation). */
  apply: 'now' | 'later';
}

/** The setup AP as the radio last reported it: what listeners on the AP's address follow. */
export interface SetupApState {
  up: boolean;
  /** The AP's own address (`10.X.Y.1`); empty without an identity. */
  address: string;
}

export interface AppReport {
  name: string;
  state: AppStatus['appstate']['state'];
  code: number;
  connectivity?: { state: AppStatus['connectivity']['state']; code: number };
}

/** How long the agent waits before starting a setup AP again that failed to start. */
export const AP_RETRY_MS = 15_000;

const EMPTY_RADIO_STATUS: RadioStatus = {
  wifi: { up: false },
  ethernet: { up: false },
  cellular: { up: false },
  ap: { up: false, clients: 0 },
};

export class Agent {
  readonly events: EventBus<AgentEvent>;
  /**
   * Internal: emitted whenever the radio's report of the setup AP (up, address) changes, after any
   * AP start or stop and any status refresh, whatever the lifecycle state does. Not part of the
   * public event stream.
   */
  readonly setupApChanges: EventBus<SetupApState>;
  private ctx!: Context;
  private readonly policy: Policy;
  private readonly actor: RadioActor;
  private identity?: StoredIdentity;
  private net: NetworkState = { networks: [] };
  private meta: DeviceMeta = {};
  private counters?: AbuseCounters;
  private caps!: RadioCapabilities;
  private radioStatus: RadioStatus = EMPTY_RADIO_STATUS;
  private readonly apps = new Map<string, AppStatus>();
  private readonly timers = new Map<string, TimerHandle>();
  /** Bumped on every state change so long-running effects notice they are stale. */
  private epoch = 0;
  private startedAt = 0;
  private advertising = false;
  private stopped = false;
  private readonly background = new Set<Promise<unknown>>();
  private lastScan: ScanResult[] = [];
  /** Online (or on trial) since setup was last entered. In memory only: a restart forgets it. */
  private onlineSinceSetup = false;
  /** A `wifi.set` between its BUSY check and its dispatch (it awaits the store in between). */
  private claimingApply = false;
  /**
   * Called on every entry into setup. `afterOnline`: the device was online since it last entered
   * setup in this run — only then may the session layer open a new setup window; a restart, an
   * idle timeout's round through connecting, or a failed push never does.
   */
  onSetupEntered?: (afterOnline: boolean) => void;
  /** When a station last spoke to us (ms); the agent avoids pulling the AP from under it. */
  lastClientActivity: () => number = () => 0;

  constructor(private readonly deps: AgentDeps) {
    this.events = new EventBus<AgentEvent>((err) => deps.logger.warn({ err }, 'event listener failed'));
    this.setupApChanges = new EventBus<SetupApState>((err) =>
      deps.logger.warn({ err }, 'setup AP listener failed'),
    );
    this.actor = new RadioActor(deps.radio, () => deps.clock.now());
    const c = deps.config;
    this.policy = {
      setupIdleMs: c.setup.idleTimeoutSeconds * 1000,
      retryKnownMs: c.setup.retryKnownSeconds * 1000,
      connectivityIntervalMs: c.connectivity.intervalSeconds * 1000,
      failuresBeforeLoss: c.connectivity.failuresBeforeLoss,
      onLoss: c.connectivity.onLoss,
      lingerMs: c.setup.lingerSeconds * 1000,
    };
  }

  // ---- lifecycle --------------------------------------------------------------------------------

  async start(): Promise<void> {
    this.startedAt = this.deps.clock.now();
    const snap = await this.deps.store.load();
    for (const q of snap.quarantined) this.deps.logger.error({ file: q }, 'unreadable state file set aside');
    this.identity = snap.identity;
    this.net = snap.network;
    this.meta = snap.meta;
    this.counters = snap.counters;
    this.caps = await this.actor.run((r) => r.capabilities());
    this.ctx = initialContext(this.net.networks.length > 0, this.caps.concurrentApSta);
    const resume = await this.recoverPendingAtBoot();
    await this.startAdvertising();
    this.dispatch(resume ? { type: 'start', resume } : { type: 'start' });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
    await Promise.allSettled([...this.background]);
    if (this.advertising) await this.deps.advertiser?.stop().catch(() => undefined);
    await this.actor.run((r) => r.close()).catch(() => undefined);
  }

  /** Resolves when no effect is running (tests and the lab use it to wait for quiet). */
  async idle(): Promise<void> {
    while (this.background.size > 0) await Promise.allSettled([...this.background]);
  }

  get state(): DeviceState {
    return this.ctx.state;
  }

  get deviceId(): string | undefined {
    return this.identity?.deviceId;
  }

  get storedIdentity(): StoredIdentity | undefined {
    return this.identity;
  }

  get storedCounters(): AbuseCounters | undefined {
    return this.counters;
  }

  get capabilities(): RadioCapabilities {
    return this.caps;
  }

  /** Addresses this device answers on, for the API's Host check. */
  addresses(): string[] {
    const out: string[] = [];
    const s = this.radioStatus;
    for (const lease of [s.wifi.lease, s.ethernet.lease, s.cellular.lease]) if (lease) out.push(lease.ip);
    if (this.identity) out.push(setupSubnet(this.identity.deviceId).address);
    return out;
  }

  hostname(): string {
    return this.identity ? defaultHostname(this.identity.deviceId) : 'airlift-unprovisioned';
  }

  // ---- reads ------------------------------------------------------------------------------------

  info(): DeviceInfo {
    const id = this.identity?.deviceId ?? '';
    return {
      id,
      name: this.meta.name ?? this.deps.config.name ?? this.hostname(),
      model: this.deps.config.model,
      fw: this.deps.config.fw,
      agentVersion: this.deps.agentVersion,
      protocol: 1,
      state: this.ctx.state,
      hostname: this.hostname(),
      setupSsid: id ? setupSsid(id, this.deps.config.setup.ssidPrefix) : '',
      capabilities: {
        concurrentApSta: this.caps.concurrentApSta,
        security: this.caps.security,
        bands: this.caps.bands,
        ethernet: this.caps.ethernet,
        cellular: this.caps.cellular,
      },
    };
  }

  status(): DeviceStatus {
    const s = this.radioStatus;
    const via = this.ctx.via;
    const lease =
      via === 'ethernet' ? s.ethernet.lease : via === 'cellular' ? s.cellular.lease : s.wifi.lease;
    const id = this.identity?.deviceId;
    const pending = this.net.pending;
    const wifiSsid = s.wifi.up ? s.wifi.ssidHex : undefined;
    return {
      state: this.ctx.state,
      via,
      ...(wifiSsid !== undefined ? { ssid: ssidDisplay(wifiSsid), ssidHex: wifiSsid } : {}),
      ...(lease ? { ip: lease.ip } : {}),
      hostname: this.hostname(),
      pv: this.pv(),
      setupAp: {
        up: s.ap.up,
        ssid: id ? setupSsid(id, this.deps.config.setup.ssidPrefix) : '',
        address: id ? setupSubnet(id).address : '',
      },
      ...(this.ctx.state === 'failsafe' && pending?.expiresAt !== undefined
        ? {
            failsafe: {
              attemptId: pending.attemptId,
              expiresInMs: Math.max(0, pending.expiresAt - this.deps.clock.now()),
            },
          }
        : {}),
      ...(this.meta.lastAttempt ? { lastAttempt: this.meta.lastAttempt } : {}),
      network: {
        config_state: this.net.networks.length > 0 ? 'configured' : 'unconfigured',
        supplicant: { connected: s.wifi.up },
        dhcp4: lease ? { state: 'bound', lease } : { state: 'none' },
      },
      apps: [...this.apps.values()],
    };
  }

  /** The setup AP as the radio last reported it; the address falls back to the one derived from the id. */
  setupApState(): SetupApState {
    const ap = this.radioStatus.ap;
    const derived = this.identity ? setupSubnet(this.identity.deviceId).address : '';
    return { up: ap.up, address: ap.address ?? derived };
  }

  /** The setup AP's subnet while the AP is up (thingymcconfig serves only clients on it). */
  setupApSubnet(): { address: string; prefixLength: number } | undefined {
    const ap = this.setupApState();
    if (!ap.up || !this.identity || ap.address === '') return undefined;
    return { address: ap.address, prefixLength: setupSubnet(this.identity.deviceId).prefixLength };
  }

  /**
   * What the device hears. Unforced reads accept a scan up to a minute old: setup mode keeps one
   * warm, so a station checking link quality does not wait for the radio.
   */
  async scan(force = false): Promise<ScanResult[]> {
    const results = await this.actor.scan(force, 60_000);
    this.lastScan = results;
    return markKnown(results, this.net.networks);
  }

  listWifi(): SavedNetworkSummary[] {
    const provisional = this.provisionalIds();
    return connectionOrder(this.net.networks).map((n) => summarize(n, provisional));
  }

  async statusDetail(): Promise<StatusDetail> {
    const lease = this.currentLease();
    const checks = await this.deps.connectivity.check(lease, this.connectivityTargets());
    return {
      status: this.status(),
      checks,
      signals: this.net.networks.map((n) => ({
        ssidHex: n.ssidHex,
        signal: strongestSignal(n.ssidHex, this.lastScan),
      })),
      uptimeSeconds: Math.round((this.deps.clock.now() - this.startedAt) / 1000),
    };
  }

  // ---- commands ---------------------------------------------------------------------------------

  /**
   * Store new networks and try them. Answers at once with the attempt id; the outcome arrives in
   * `/v1/status.lastAttempt` and as an `attempt` event. The previous networks are kept aside and
   * restored if the new ones fail or are not confirmed in time.
   */
  async setWifi(req: WifiSetRequest): Promise<WifiSetResult> {
    if (req.networks.length === 0) throw new AirliftError('BAD_REQUEST', 'No networks given');
    if (this.ctx.state === 'applying' || this.claimingApply)
      throw new AirliftError('BUSY', 'Already applying networks; wait for the result');
    // Refuse before storing anything: a change the machine will not apply must not replace the list.
    if (this.ctx.state === 'booting')
      throw new AirliftError('BUSY', 'The device is starting; try again in a moment');
    // Claimed until dispatched: two calls racing through the awaits below would otherwise both
    // store a pending change, and the one the machine refuses would stay pending for ever.
    this.claimingApply = true;
    try {
      return await this.storeAndApply(req);
    } finally {
      this.claimingApply = false;
    }
  }

  private async storeAndApply(req: WifiSetRequest): Promise<WifiSetResult> {
    await this.refreshCapabilities();
    // A network this radio cannot join (WPA3 on a driver without SAE) is refused up front, with a
    // reason the station can show, rather than found out as an auth failure after the AP went down.
    const unsupported = req.networks.find((n) => !this.caps.security.includes(n.security));
    if (unsupported) {
      throw new AirliftError(
        'UNSUPPORTED_SECURITY',
        `This device's Wi-Fi cannot join ${unsupported.security} networks (it supports ${this.caps.security.join(', ')})`,
      );
    }
    const now = new Date(this.deps.clock.now()).toISOString();
    const merged = mergeNetworks(this.net.networks, req.networks, req.mode, () => toHex(randomBytes(4)), now);
    if (merged.length > MAX_SAVED_NETWORKS) {
      throw new AirliftError('BAD_REQUEST', `At most ${MAX_SAVED_NETWORKS} networks can be saved`);
    }
    if (req.apply === 'later') {
      await this.saveNetworks({ ...this.net, networks: merged });
      return { attemptId: '', apStaysUp: this.ctx.apUp, state: this.ctx.state };
    }
    const attemptId = toHex(randomBytes(8));
    const before = { net: this.net, meta: this.meta };
    // A trial on top of a trial: what we fall back to is still the last confirmed list.
    const previous = this.net.pending?.previous ?? this.net.networks;
    const tried = new Set(
      merged
        .filter((m) =>
          req.networks.some(
            (n) => n.ssidHex === m.ssidHex && n.passphrase === m.passphrase && n.psk === m.psk,
          ),
        )
        .map((m) => m.id),
    );
    try {
      await this.saveNetworks({
        networks: merged,
        pending: {
          attemptId,
          previous,
          failsafeSeconds: req.failsafeSeconds,
          ...(req.nonce !== undefined ? { nonce: req.nonce } : {}),
        },
      });
      await this.setLastAttempt({
        id: attemptId,
        result: 'pending',
        at: now,
        ...(req.networks[0] ? { ssidHex: req.networks[0].ssidHex } : {}),
      });
    } catch (err) {
      // Not stored: nothing is applied, and no half-stored change is left pending in memory.
      await this.saveNetworks(before.net).catch(() => undefined);
      await this.saveMeta(before.meta).catch(() => undefined);
      throw err;
    }
    this.attemptTargets.set(attemptId, [...tried]);
    const r = this.dispatch({
      type: 'apply',
      attemptId,
      commit: req.commit,
      failsafeMs: req.failsafeSeconds * 1000,
    });
    if (!r) throw new AirliftError('BUSY', `Cannot apply networks while ${this.ctx.state}`);
    return { attemptId, apStaysUp: this.ctx.apSta && this.radioStatus.ap.up, state: this.ctx.state };
  }

  async forgetWifi(match: { id?: string; ssidHex?: string }): Promise<{ removed: number }> {
    const keep = this.net.networks.filter((n) => !(n.id === match.id || n.ssidHex === match.ssidHex));
    const removed = this.net.networks.length - keep.length;
    if (removed === 0) throw new AirliftError('NETWORK_NOT_FOUND', 'No saved network matches');
    await this.saveNetworks({ ...this.net, networks: keep });
    return { removed };
  }

  /** The station saw the device on the target network: make the trial permanent. */
  async commit(nonce?: string): Promise<{ committed: boolean; attemptId: string }> {
    const pending = this.net.pending;
    if (!pending) {
      // Idempotent: a retried commit for the attempt we already confirmed is fine.
      if (nonce !== undefined && this.meta.lastNonce === nonce) {
        return { committed: true, attemptId: this.meta.lastAttempt?.id ?? '' };
      }
      throw new AirliftError('NOTHING_TO_COMMIT', 'No network change is waiting for confirmation');
    }
    if (nonce !== undefined && pending.nonce !== undefined && nonce !== pending.nonce) {
      throw new AirliftError(
        'NOTHING_TO_COMMIT',
        'The change waiting for confirmation belongs to another job',
      );
    }
    if (!this.dispatch({ type: 'commit' })) {
      throw new AirliftError(
        'BUSY',
        `Cannot commit while ${this.ctx.state}; wait until the device is online`,
      );
    }
    await this.idleEffects();
    return { committed: true, attemptId: pending.attemptId };
  }

  async rename(name: string): Promise<void> {
    await this.saveMeta({ ...this.meta, name });
  }

  async identify(seconds: number): Promise<void> {
    if (!this.deps.hooks?.identify) {
      this.deps.logger.info({ seconds }, 'identify requested (no identify hook configured)');
      return;
    }
    await this.deps.hooks.identify(seconds);
  }

  reboot(): void {
    const hook = this.deps.hooks?.reboot;
    if (!hook) throw new AirliftError('BACKEND_UNAVAILABLE', 'Reboot is not available on this device');
    // Answer first, then reboot.
    this.deps.clock.setTimer(
      500,
      () => void hook().catch((err: unknown) => this.deps.logger.error({ err }, 'reboot failed')),
    );
  }

  startAp(): void {
    if (!this.dispatch({ type: 'apStart' }))
      throw new AirliftError('BUSY', `Cannot open setup while ${this.ctx.state}`);
  }

  stopAp(): void {
    if (!this.dispatch({ type: 'apStop' }))
      throw new AirliftError('BUSY', 'The setup access point is not up');
  }

  reportApp(report: AppReport): AppStatus {
    const app: AppStatus = {
      name: report.name,
      appstate: { state: report.state, code: report.code },
      connectivity: report.connectivity ?? { state: 'unknown', code: 0 },
      at: new Date(this.deps.clock.now()).toISOString(),
    };
    this.apps.set(report.name, app);
    this.events.emit({ type: 'app', app });
    return app;
  }

  async saveIdentity(identity: StoredIdentity): Promise<void> {
    await this.deps.store.saveIdentity(identity);
    this.identity = identity;
  }

  // ---- the machine and its effects --------------------------------------------------------------

  private readonly attemptTargets = new Map<string, string[]>();

  /** Feed an event to the machine and start its effects. Returns whether it was accepted. */
  dispatch(event: Event): boolean {
    if (this.stopped) return false;
    const r = transition(this.ctx, event, this.policy);
    this.ctx = r.ctx;
    if (r.accepted && event.type !== 'timer')
      this.deps.logger.debug({ event: event.type, state: r.ctx.state }, 'event');
    for (const effect of r.effects) {
      // One effect that throws must not keep the others of this transition from running.
      try {
        this.runEffect(effect);
      } catch (err) {
        this.deps.logger.error({ err, effect: effect.type }, 'effect failed to start');
      }
    }
    return r.accepted;
  }

  private track(p: Promise<unknown>): void {
    const tracked = p.catch((err: unknown) => this.deps.logger.error({ err }, 'effect failed'));
    this.background.add(tracked);
    void tracked.finally(() => this.background.delete(tracked));
  }

  private async idleEffects(): Promise<void> {
    await Promise.allSettled([...this.background]);
  }

  private runEffect(effect: Effect): void {
    switch (effect.type) {
      case 'enter':
        this.epoch++;
        this.onEnter(effect.state, effect.previous);
        return;
      case 'startTimer': {
        this.timers.get(effect.kind)?.cancel();
        const { kind, gen } = effect;
        this.timers.set(
          kind,
          this.deps.clock.setTimer(effect.ms, () => this.dispatch({ type: 'timer', kind, gen })),
        );
        return;
      }
      case 'apUp':
        this.track(this.apUp());
        return;
      case 'apDown':
        this.track(this.apDown(effect.afterAnswer === true));
        return;
      case 'connectKnown':
        this.track(this.connectKnownOrFail(this.epoch));
        return;
      case 'probeKnown':
        this.track(this.probeKnown(this.epoch));
        return;
      case 'apply':
        this.track(this.applyAttempt(effect.attemptId, effect.keepAp));
        return;
      case 'armFailsafe':
        this.track(this.armFailsafe(effect.attemptId, effect.ms));
        return;
      case 'commitAttempt':
        this.track(this.commitAttempt(effect.attemptId));
        return;
      case 'revertAttempt':
        this.track(this.revertAttempt(effect.attemptId));
        return;
      case 'checkConnectivity':
        this.track(this.checkConnectivityOrFail(this.epoch));
        return;
    }
  }

  private onEnter(state: DeviceState, previous: DeviceState): void {
    this.deps.logger.info({ state, previous }, 'state');
    this.events.emit({ type: 'state', state, previous, at: new Date(this.deps.clock.now()).toISOString() });
    if (state === 'online' || state === 'failsafe') this.onlineSinceSetup = true;
    if (state === 'setup') this.enteredSetup();
    this.track(this.updateTxt());
  }

  private enteredSetup(): void {
    const afterOnline = this.onlineSinceSetup;
    this.onlineSinceSetup = false;
    try {
      this.onSetupEntered?.(afterOnline);
    } catch (err) {
      this.deps.logger.warn({ err }, 'setup hook failed');
    }
  }

  private async refreshStatus(): Promise<void> {
    this.setRadioStatus(await this.actor.run((r) => r.status()));
    await this.refreshCapabilities();
  }

  /** Every radio status passes here, so a change of the setup AP is signalled whatever caused it. */
  private setRadioStatus(next: RadioStatus): void {
    const before = this.setupApState();
    this.radioStatus = next;
    const after = this.setupApState();
    if (before.up !== after.up || before.address !== after.address) this.setupApChanges.emit(after);
  }

  /**
   * Backends learn some capabilities only by using the radio (the AP interface could not be made,
   * wpa_supplicant answered for SAE only once running). Re-read them (backends cache them, so
   * this costs no command); AP+STA is a fact about the hardware the machine must plan with.
   */
  private async refreshCapabilities(): Promise<void> {
    const caps = await this.actor.run((r) => r.capabilities());
    if (caps.concurrentApSta !== this.ctx.apSta) {
      this.deps.logger.warn(
        { concurrentApSta: caps.concurrentApSta },
        'the radio changed its AP+STA support',
      );
      this.ctx = { ...this.ctx, apSta: caps.concurrentApSta };
    }
    this.caps = caps;
  }

  /**
   * Start the setup AP. One that fails to start is tried again every AP_RETRY_MS while the machine
   * still wants it (same state, AP meant to be up): a device in setup without its AP waits for
   * nobody.
   */
  private async apUp(): Promise<void> {
    const epoch = this.epoch;
    try {
      if (!(await this.startSetupAp())) return;
    } catch (err) {
      this.deps.logger.error({ err, retryInMs: AP_RETRY_MS }, 'the setup access point did not start');
      this.retryApLater(epoch);
      return;
    }
    // Warm the scan cache once the AP is up, for a station's link check and the portal's list.
    if (this.ctx.state === 'setup') {
      this.lastScan = await this.actor.scan(true).catch((err: unknown) => {
        this.deps.logger.warn({ err }, 'scan after the AP came up failed');
        return this.lastScan;
      });
    }
  }

  private retryApLater(epoch: number): void {
    this.timers.get('apRetry')?.cancel();
    this.timers.set(
      'apRetry',
      this.deps.clock.setTimer(AP_RETRY_MS, () => {
        // A state change since then made its own plan for the AP.
        if (!this.stopped && epoch === this.epoch && this.ctx.apUp) this.track(this.apUp());
      }),
    );
  }

  /** False when there is no identity to derive the AP from. */
  private async startSetupAp(): Promise<boolean> {
    const id = this.identity?.deviceId;
    if (!id) {
      this.deps.logger.warn('no identity: the setup access point stays down (airliftctl provision-identity)');
      return false;
    }
    const subnet = setupSubnet(id);
    const passphrase = this.deps.config.setup.passphrase;
    await this.actor.run((r) =>
      r.startAp({
        ssid: setupSsid(id, this.deps.config.setup.ssidPrefix),
        address: subnet.address,
        prefixLength: subnet.prefixLength,
        dhcpRange: subnet.dhcpRange,
        channel: this.deps.config.setup.channel,
        ...(passphrase !== undefined ? { passphrase } : {}),
      }),
    );
    await this.refreshStatus();
    return true;
  }

  private async apDown(afterAnswer: boolean): Promise<void> {
    const delay = afterAnswer ? this.deps.config.setup.teardownDelayMs : 0;
    try {
      await this.actor.run(async (r) => {
        if (delay > 0) await this.sleep(delay);
        await r.stopAp();
      });
    } finally {
      // What the radio says now, even when stopping failed: the AP's listeners follow it.
      await this.refreshStatus();
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.deps.clock.setTimer(ms, resolve));
  }

  private joinTimeoutMs(): number {
    return this.deps.config.join.timeoutSeconds * 1000;
  }

  /** connectKnown, whose failure is a verdict too: the machine waits in connecting for one. */
  private async connectKnownOrFail(epoch: number): Promise<void> {
    try {
      await this.connectKnown(epoch);
    } catch (err) {
      this.deps.logger.error({ err }, 'connecting to known networks failed');
      if (epoch === this.epoch && this.ctx.state === 'connecting') this.dispatch({ type: 'connectFailed' });
    }
  }

  /** Ethernet first, then saved Wi-Fi networks in range by priority, then cellular. */
  private async connectKnown(epoch: number): Promise<void> {
    await this.refreshStatus();
    const viaWired = this.wiredVia();
    if (viaWired) {
      this.dispatch({ type: 'connected', via: viaWired });
      return;
    }
    const outcome = await this.tryKnownNetworks(epoch, false);
    if (epoch !== this.epoch) return;
    if (outcome) {
      this.dispatch({ type: 'connected', via: 'wifi' });
      return;
    }
    await this.refreshStatus();
    if (this.radioStatus.cellular.up) this.dispatch({ type: 'connected', via: 'cellular' });
    else this.dispatch({ type: 'connectFailed' });
  }

  private wiredVia(): Via | null {
    return this.radioStatus.ethernet.up ? 'ethernet' : null;
  }

  /** Try saved networks that are in range. Returns true once one is joined. */
  private async tryKnownNetworks(epoch: number, keepAp: boolean): Promise<boolean> {
    if (this.net.networks.length === 0) return false;
    const scan = await this.actor.scan(true).catch(() => [] as ScanResult[]);
    this.lastScan = scan;
    for (const net of candidatesInRange(this.net.networks, scan)) {
      if (epoch !== this.epoch) return false;
      const outcome = await this.join(net, keepAp);
      if (outcome.ok) {
        await this.markConnected(net.id);
        return true;
      }
      this.deps.logger.info(
        { ssid: ssidDisplay(net.ssidHex), reason: outcome.reason },
        'known network failed',
      );
    }
    return false;
  }

  /** A join that throws (a backend bug, a helper that crashed) is a join that failed: `hardware`. */
  private async join(net: StoredNetwork, keepAp: boolean): Promise<JoinOutcome> {
    let outcome: JoinOutcome;
    try {
      outcome = await this.actor.run((r) =>
        r.join(
          {
            ssidHex: net.ssidHex,
            security: net.security,
            hidden: net.hidden,
            ...(net.passphrase !== undefined ? { passphrase: net.passphrase } : {}),
            ...(net.psk !== undefined ? { psk: net.psk } : {}),
          },
          { timeoutMs: this.joinTimeoutMs(), keepAp },
        ),
      );
    } catch (err) {
      this.deps.logger.error({ err, ssid: ssidDisplay(net.ssidHex) }, 'the radio threw instead of joining');
      outcome = { ok: false, reason: 'hardware', detail: err instanceof Error ? err.message : String(err) };
    }
    await this.refreshStatus();
    return outcome;
  }

  /** In setup: look for a known network coming back, without pulling the AP from under a client. */
  private async probeKnown(epoch: number): Promise<void> {
    if (this.ctx.state !== 'setup') return;
    const ap = { takenDown: false };
    try {
      if (await this.joinReturningNetwork(epoch, ap)) return;
    } catch (err) {
      this.deps.logger.warn({ err }, 'background retry of known networks failed');
    }
    // Nothing came back, or the retry failed: reopen the AP if we took it down in this same setup.
    if (ap.takenDown && epoch === this.epoch) await this.apUp();
  }

  /** True once a known network in range is joined and the machine told. */
  private async joinReturningNetwork(epoch: number, ap: { takenDown: boolean }): Promise<boolean> {
    const scan = await this.actor.scan(true).catch(() => [] as ScanResult[]);
    this.lastScan = scan;
    const candidates = candidatesInRange(this.net.networks, scan).filter((n) => !n.hidden);
    if (candidates.length === 0 || epoch !== this.epoch) return false;
    await this.refreshStatus();
    const busy =
      this.radioStatus.ap.clients > 0 || this.deps.clock.now() - this.lastClientActivity() < 60_000;
    if (!this.caps.concurrentApSta && busy) return false;
    if (!this.caps.concurrentApSta) {
      ap.takenDown = true;
      await this.actor.run((r) => r.stopAp());
    }
    for (const net of candidates) {
      if (epoch !== this.epoch) break;
      const outcome = await this.join(net, this.caps.concurrentApSta);
      if (outcome.ok) {
        await this.markConnected(net.id);
        this.dispatch({ type: 'knownReturned', via: 'wifi' });
        return true;
      }
    }
    return false;
  }

  private async applyAttempt(attemptId: string, keepAp: boolean): Promise<void> {
    try {
      await this.tryAttempt(attemptId, keepAp);
    } catch (err) {
      await this.endCrashedAttempt(attemptId, err);
    } finally {
      this.attemptTargets.delete(attemptId);
    }
  }

  /**
   * Anything that threw while applying (a status refresh, a connectivity check, the store) ends the
   * attempt as `hardware` by the normal failure path: the previous networks restored, setup
   * reopened or the old network rejoined. Left in `applying`, every later push would be BUSY.
   */
  private async endCrashedAttempt(attemptId: string, err: unknown): Promise<void> {
    if (this.ctx.state !== 'applying' || this.ctx.attempt?.id !== attemptId) {
      this.deps.logger.error({ err, attemptId }, 'an attempt failed after its outcome was decided');
      return;
    }
    this.deps.logger.error({ err, attemptId }, 'applying networks failed; the attempt ends as hardware');
    const last = this.meta.lastAttempt;
    const ssidHex = last?.id === attemptId ? last.ssidHex : undefined;
    const saved = this.setLastAttempt({
      id: attemptId,
      result: 'failed',
      reason: 'hardware',
      at: new Date(this.deps.clock.now()).toISOString(),
      ...(ssidHex !== undefined ? { ssidHex } : {}),
    });
    this.dispatch({ type: 'applyFailed' });
    await saved;
  }

  private async tryAttempt(attemptId: string, keepAp: boolean): Promise<void> {
    const ids = this.attemptTargets.get(attemptId) ?? [];
    const targets = connectionOrder(this.net.networks.filter((n) => ids.includes(n.id)));
    let reason: ConnectFailureReason = 'ssid_not_found';
    let joined: StoredNetwork | undefined;
    for (const net of targets) {
      const outcome = await this.join(net, keepAp);
      if (outcome.ok) {
        joined = net;
        break;
      }
      reason = outcome.reason;
    }
    if (joined && this.requiresInternet()) {
      const checks = await this.deps.connectivity.check(this.currentLease(), this.connectivityTargets());
      const ran = checks.filter((c) => c.state !== 'skipped');
      if (ran.length > 0 && ran.every((c) => c.state === 'failed')) {
        reason = 'no_internet';
        joined = undefined;
        await this.actor.run((r) => r.leave());
        await this.refreshStatus();
      }
    }
    const at = new Date(this.deps.clock.now()).toISOString();
    if (joined) {
      await this.markConnected(joined.id);
      const ip = this.radioStatus.wifi.lease?.ip;
      // Result and state change land together: a reader never sees one without the other.
      const saved = this.setLastAttempt({
        id: attemptId,
        result: 'ok',
        at,
        ssidHex: joined.ssidHex,
        ...(ip ? { ip } : {}),
      });
      this.dispatch({ type: 'applyOk', via: 'wifi' });
      await saved;
    } else {
      const saved = this.setLastAttempt({
        id: attemptId,
        result: 'failed',
        reason,
        at,
        ssidHex: targets[0]?.ssidHex ?? '',
      });
      this.dispatch({ type: 'applyFailed' });
      await saved;
    }
  }

  private async armFailsafe(attemptId: string, ms: number): Promise<void> {
    const pending = this.net.pending;
    if (pending?.attemptId !== attemptId) return;
    await this.saveNetworks({ ...this.net, pending: { ...pending, expiresAt: this.deps.clock.now() + ms } });
  }

  private async commitAttempt(attemptId: string): Promise<void> {
    const pending = this.net.pending;
    if (pending?.attemptId !== attemptId) return;
    const saved = [
      this.saveNetworks({ networks: this.net.networks }),
      this.saveMeta({ ...this.meta, ...(pending.nonce !== undefined ? { lastNonce: pending.nonce } : {}) }),
    ];
    this.deps.logger.info({ attemptId }, 'network change committed');
    await Promise.all(saved);
    await this.updateTxt();
  }

  private async revertAttempt(attemptId: string): Promise<void> {
    const pending = this.net.pending;
    if (pending?.attemptId !== attemptId) return;
    const saved = [this.saveNetworks({ networks: pending.previous })];
    const last = this.meta.lastAttempt;
    if (last?.id === attemptId && last.result === 'ok') {
      // Joined but never confirmed by the station within the fail-safe time.
      saved.push(
        this.setLastAttempt({
          ...last,
          result: 'failed',
          reason: 'not_confirmed',
          at: new Date(this.deps.clock.now()).toISOString(),
        }),
      );
    }
    this.deps.logger.info({ attemptId }, 'network change reverted');
    await Promise.all(saved);
  }

  /** At boot: a trial whose time ran out (or that was cut short while applying) is reverted now. */
  private async recoverPendingAtBoot(): Promise<{ attemptId: string; remainingMs: number } | undefined> {
    const pending = this.net.pending;
    if (!pending) return undefined;
    const remaining = pending.expiresAt === undefined ? 0 : pending.expiresAt - this.deps.clock.now();
    if (remaining > 0) return { attemptId: pending.attemptId, remainingMs: remaining };
    await this.saveNetworks({ networks: pending.previous });
    const last = this.meta.lastAttempt;
    await this.setLastAttempt({
      id: pending.attemptId,
      result: 'failed',
      reason: pending.expiresAt === undefined ? 'interrupted' : 'not_confirmed',
      at: new Date(this.deps.clock.now()).toISOString(),
      ...(last?.ssidHex !== undefined ? { ssidHex: last.ssidHex } : {}),
    });
    this.deps.logger.warn({ attemptId: pending.attemptId }, 'unconfirmed network change reverted at boot');
    return undefined;
  }

  /** A check that could not run counts as failed: the machine re-arms its checks only on a verdict. */
  private async checkConnectivityOrFail(epoch: number): Promise<void> {
    try {
      await this.checkConnectivity();
    } catch (err) {
      this.deps.logger.warn({ err }, 'connectivity check failed to run');
      if (epoch === this.epoch) this.dispatch({ type: 'connectivity', ok: false });
    }
  }

  private async checkConnectivity(): Promise<void> {
    await this.refreshStatus();
    const s = this.radioStatus;
    const linkUp =
      this.ctx.via === 'ethernet' ? s.ethernet.up : this.ctx.via === 'cellular' ? s.cellular.up : s.wifi.up;
    if (!linkUp && this.ctx.state === 'online') {
      this.dispatch({ type: 'linkLost' });
      return;
    }
    // Wired link came back while on Wi-Fi or cellular: prefer it.
    if (this.ctx.via !== 'ethernet' && s.ethernet.up && this.ctx.state === 'online')
      this.ctx = { ...this.ctx, via: 'ethernet' };
    const checks = await this.deps.connectivity.check(this.currentLease(), this.connectivityTargets());
    const ran = checks.filter((c) => c.state !== 'skipped');
    const ok = ran.length === 0 || ran.some((c) => c.state === 'ok');
    this.dispatch({ type: 'connectivity', ok });
  }

  private requiresInternet(): boolean {
    const c = this.deps.config.connectivity;
    return c.requireOnJoin && c.dns.length + c.ntp.length + c.urls.length > 0;
  }

  private connectivityTargets(): ConnectivityTargets {
    const c = this.deps.config.connectivity;
    return { dns: c.dns, ntp: c.ntp, urls: c.urls, timeoutMs: c.timeoutMs };
  }

  private currentLease() {
    const s = this.radioStatus;
    return s.ethernet.lease ?? s.wifi.lease ?? s.cellular.lease;
  }

  /** Best effort: `lastConnectedAt` is information, and a store that failed must not undo a join. */
  private async markConnected(id: string): Promise<void> {
    const at = new Date(this.deps.clock.now()).toISOString();
    const networks = this.net.networks.map((n) => (n.id === id ? { ...n, lastConnectedAt: at } : n));
    await this.saveNetworks({ ...this.net, networks }).catch((err: unknown) =>
      this.deps.logger.error({ err }, 'could not record the network as connected'),
    );
  }

  private provisionalIds(): Set<string> {
    const pending = this.net.pending;
    if (!pending) return new Set();
    const before = new Set(pending.previous.map((n) => JSON.stringify([n.ssidHex, n.passphrase, n.psk])));
    return new Set(
      this.net.networks
        .filter((n) => !before.has(JSON.stringify([n.ssidHex, n.passphrase, n.psk])))
        .map((n) => n.id),
    );
  }

  private pv(): string {
    const nonce = this.net.pending?.nonce ?? this.meta.lastNonce;
    return nonce ? nonce.slice(0, 8) : '';
  }

  // ---- persistence and advertisement ------------------------------------------------------------

  /**
   * State changes apply in memory at once, so effects that run next see them, and are persisted in
   * order behind it (the store serialises writes per file). Callers that must not answer before the
   * change is on disk await the returned promise.
   */
  private saveNetworks(state: NetworkState): Promise<void> {
    const had = this.net.networks.length > 0;
    this.net = state;
    const has = state.networks.length > 0;
    if (had !== has) this.dispatch({ type: 'networksChanged', hasKnown: has });
    return this.deps.store.saveNetworkState(state);
  }

  private saveMeta(meta: DeviceMeta): Promise<void> {
    this.meta = meta;
    return this.deps.store.saveMeta(meta);
  }

  private setLastAttempt(attempt: LastAttempt): Promise<void> {
    const saved = this.saveMeta({ ...this.meta, lastAttempt: attempt });
    this.events.emit({ type: 'attempt', attempt });
    return saved;
  }

  private txt(): Record<string, string> {
    return buildTxt({
      deviceId: this.identity?.deviceId ?? '',
      state: this.ctx.state,
      ...(this.pvNonce() !== undefined ? { lastNonceHex: this.pvNonce() } : {}),
      model: this.deps.config.model,
      fw: this.deps.config.fw,
    });
  }

  private pvNonce(): string | undefined {
    return this.net.pending?.nonce ?? this.meta.lastNonce;
  }

  private async startAdvertising(): Promise<void> {
    const ad = this.deps.advertiser;
    const id = this.identity?.deviceId;
    if (!ad || !id) return;
    try {
      await ad.start({
        instance: instanceName(id),
        hostname: defaultHostname(id),
        port: this.deps.config.api.lanPort,
        txt: this.txt(),
        ...(this.deps.config.mdns.interfaces ? { interfaces: this.deps.config.mdns.interfaces } : {}),
      });
      this.advertising = true;
    } catch (err) {
      this.deps.logger.error(
        { err },
        'mDNS advertisement failed to start; the device is still reachable by address',
      );
    }
  }

  private async updateTxt(): Promise<void> {
    if (!this.advertising || !this.deps.advertiser) return;
    await this.deps.advertiser
      .updateTxt(this.txt())
      .catch((err: unknown) => this.deps.logger.warn({ err }, 'TXT update failed'));
  }
}
