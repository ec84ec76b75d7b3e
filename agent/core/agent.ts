/**
 * The agent: the shell around the lifecycle machine (lifecycle.ts). It feeds the machine requests
 * and facts, runs the effects the machine returns through the radio actor, the store and the other
 * ports, and feeds each effect's outcome back with the generation it was started under (a stale one
 * is ignored by the machine). It decides nothing about the lifecycle itself and never writes the
 * machine's context. HTTP, the control socket and the compatibility surfaces call the methods here;
 * none of them touches the radio.
 */
import { AirliftError } from '../../shared/errors';
import { randomBytes, toHex } from '../../shared/encoding';
import { setupSubnet, type SetupSubnet } from '../../shared/addressing';
import { THINGYMCCONFIG_SETUP_SUBNET } from '../../shared/protocol/compat';
import { defaultHostname, setupSsid } from '../../shared/identity';
import { ssidDisplay } from '../../shared/ssid';
import { buildTxt, instanceName } from '../../shared/protocol/mdns';
import type { AgentConfig } from '../../shared/agent-config';
import type {
  AgentEvent,
  AppStatus,
  DeviceInfo,
  Reach,
  DeviceState,
  DeviceStatus,
  RpcParams,
  SavedNetworkSummary,
  StatusDetail,
  WifiSetResult,
} from '../../shared/protocol/api';
import type { ScanResult } from '../../shared/protocol/wifi';
import type { AdvertiserPort } from '../ports/advertiser';
import type { ClockPort, TimerHandle } from '../ports/clock';
import type { ConnectivityPort, ConnectivityTargets } from '../ports/connectivity';
import type { JoinOutcome, RadioCapabilities, RadioPort, RadioStatus } from '../ports/radio';
import type { AbuseCounters, StoredIdentity, StoredNetwork, StorePort } from '../ports/store';
import type { Logger } from '../log';
import { EventBus } from './event-bus';
import {
  initialContext,
  isCurrent,
  transition,
  type Context,
  type Effect,
  type Event,
  type Links,
  type Policy,
} from './lifecycle';
import {
  candidatesInRange,
  connectionOrder,
  markKnown,
  mergeNetworks,
  MAX_SAVED_NETWORKS,
  sameCredentials,
  strongestSignal,
  summarize,
} from './networks';
import { joinTargetOf, refuseUnsupported, toIncoming } from './site-networks';
import { RadioActor } from './radio-actor';
import { AgentRecords } from './records';

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

/**
 * A `wifi.set` as the agent carries it out: the RPC's params after their schema (networks
 * normalised, defaults applied). The control socket and the compatibility surfaces build the same.
 */
export type WifiSetRequest = RpcParams<'wifi.set'>;

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
  connectivity?: { state: AppStatus['connectivity']['state']; code: number } | undefined;
}

/** How long the agent waits before starting a setup AP again that failed to start. */
export const AP_RETRY_MS = 15_000;
/** A station that spoke within this long may still be on the setup AP (a probe leaves it up). */
const STATION_QUIET_MS = 60_000;

const EMPTY_RADIO_STATUS: RadioStatus = {
  wifi: { up: false },
  ethernet: { up: false },
  cellular: { up: false },
  ap: { up: false, clients: 0 },
};

type EffectOf<T extends Effect['type']> = Extract<Effect, { type: T }>;

/** What the log says when work the machine waits for throws, by kind of work. */
const WORK_FAILED = {
  connect: ['error', 'connecting to known networks failed'],
  probe: ['warn', 'background retry of known networks failed'],
  ap: ['error', `the setup access point did not start; trying again in ${AP_RETRY_MS} ms`],
  check: ['warn', 'connectivity check failed to run'],
} as const;

// The outcomes that stand for work that threw: each ends by the normal failure path.
const crashed = (gen: number): Event => ({ type: 'connectCrashed', gen });
const nothingBack = (gen: number): Event => ({ type: 'returnTried', gen, joined: false });
const apFailed = (gen: number): Event => ({ type: 'apUpDone', gen, outcome: 'failed' });
const checkFailed = (gen: number): Event => ({ type: 'checked', gen });

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
  private readonly records: AgentRecords;
  private identity: StoredIdentity | undefined;
  private counters?: AbuseCounters;
  private caps!: RadioCapabilities;
  private radioStatus: RadioStatus = EMPTY_RADIO_STATUS;
  private readonly apps = new Map<string, AppStatus>();
  private readonly timers = new Map<string, TimerHandle>();
  private startedAt = 0;
  private advertising = false;
  /** The address last given to the advertiser for the device's own name (null: none given yet). */
  private advertisedIp: string | undefined | null = null;
  private stopped = false;
  private readonly background = new Set<Promise<unknown>>();
  private lastScan: ScanResult[] = [];
  /** Known networks a background probe found in range, for the join that may follow it. */
  private returning: StoredNetwork[] = [];
  /** A `wifi.set` between its BUSY check and its dispatch (it awaits the store in between). */
  private claimingApply = false;
  /** The networks each attempt tries (ids), from its `wifi.set` until its outcome. */
  private readonly attemptTargets = new Map<string, string[]>();
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
    this.records = new AgentRecords({
      store: deps.store,
      logger: deps.logger,
      onAttempt: (attempt) => this.events.emit({ type: 'attempt', attempt }),
      onKnownChanged: (hasKnown) => this.dispatch({ type: 'networksChanged', hasKnown }),
    });
    const c = deps.config;
    this.policy = {
      setupIdleMs: c.setup.idleTimeoutSeconds * 1000,
      retryKnownMs: c.setup.retryKnownSeconds * 1000,
      connectivityIntervalMs: c.connectivity.intervalSeconds * 1000,
      failuresBeforeLoss: c.connectivity.failuresBeforeLoss,
      onLoss: c.connectivity.onLoss,
      lingerMs: c.setup.lingerSeconds * 1000,
      teardownMs: c.setup.teardownDelayMs,
      apRetryMs: AP_RETRY_MS,
      stationQuietMs: STATION_QUIET_MS,
      checkInternetOnJoin:
        c.connectivity.requireOnJoin &&
        c.connectivity.dns.length + c.connectivity.ntp.length + c.connectivity.urls.length > 0,
      apHoldMs: c.setup.apStopHoldSeconds * 1000,
    };
  }

  // ---- lifecycle --------------------------------------------------------------------------------

  async start(): Promise<void> {
    this.startedAt = this.deps.clock.now();
    const snap = await this.deps.store.load();
    for (const q of snap.quarantined) this.deps.logger.error({ file: q }, 'unreadable state file set aside');
    this.identity = snap.identity;
    this.records.load(snap.network, snap.meta);
    this.counters = snap.counters;
    this.caps = await this.actor.send({ kind: 'capabilities' });
    this.ctx = initialContext(this.records.networks.length > 0, this.caps.concurrentApSta);
    const trial = this.records.trialAtBoot(this.deps.clock.now());
    await this.startAdvertising();
    this.dispatch(trial ? { type: 'start', trial } : { type: 'start' });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
    await Promise.allSettled([...this.background]);
    if (this.advertising) await this.deps.advertiser?.stop().catch(() => undefined);
    await this.actor.send({ kind: 'close' }).catch(() => undefined);
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
    const ap = this.apSubnet();
    if (ap) out.push(ap.address);
    return out;
  }

  /**
   * The setup AP's subnet: derived from the device id, or thingymcconfig's fixed 10.0.0.1/24 when
   * `compat.thingymcconfig.apAddress` asks for it. Undefined without an identity.
   */
  apSubnet(): Pick<SetupSubnet, 'address' | 'prefixLength' | 'dhcpRange'> | undefined {
    if (!this.identity) return undefined;
    return this.deps.config.compat.thingymcconfig.apAddress === '10.0.0.1'
      ? THINGYMCCONFIG_SETUP_SUBNET
      : setupSubnet(this.identity.deviceId);
  }

  hostname(): string {
    return this.identity ? defaultHostname(this.identity.deviceId) : 'airlift-unprovisioned';
  }

  // ---- reads ------------------------------------------------------------------------------------

  info(): DeviceInfo {
    const id = this.identity?.deviceId ?? '';
    return {
      id,
      name: this.records.device.name ?? this.deps.config.name ?? this.hostname(),
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
        ...(this.caps.eap !== undefined ? { eap: this.caps.eap } : {}),
        ...(this.caps.staticIpv4 !== undefined ? { staticIpv4: this.caps.staticIpv4 } : {}),
      },
    };
  }

  status(): DeviceStatus {
    const s = this.radioStatus;
    const via = this.ctx.via;
    const lease =
      via === 'ethernet' ? s.ethernet.lease : via === 'cellular' ? s.cellular.lease : s.wifi.lease;
    const id = this.identity?.deviceId;
    const pending = this.records.pending;
    const last = this.records.lastAttempt;
    const wifiSsid = s.wifi.up ? s.wifi.ssidHex : undefined;
    return {
      state: this.ctx.state,
      via,
      ...(wifiSsid !== undefined ? { ssid: ssidDisplay(wifiSsid), ssidHex: wifiSsid } : {}),
      ...(lease ? { ip: lease.ip } : {}),
      hostname: this.hostname(),
      pv: this.records.nonce()?.slice(0, 8) ?? '',
      setupAp: {
        up: s.ap.up,
        ssid: id ? setupSsid(id, this.deps.config.setup.ssidPrefix) : '',
        address: this.apSubnet()?.address ?? '',
      },
      ...(this.ctx.state === 'failsafe' && pending?.expiresAt !== undefined
        ? {
            failsafe: {
              attemptId: pending.attemptId,
              expiresInMs: Math.max(0, pending.expiresAt - this.deps.clock.now()),
            },
          }
        : {}),
      ...(last ? { lastAttempt: last } : {}),
      network: {
        config_state: this.records.networks.length > 0 ? 'configured' : 'unconfigured',
        supplicant: { connected: s.wifi.up },
        dhcp4: lease ? { state: 'bound', lease } : { state: 'none' },
      },
      apps: [...this.apps.values()],
    };
  }

  /** The setup AP as the radio last reported it; the address falls back to the one derived from the id. */
  setupApState(): SetupApState {
    const ap = this.radioStatus.ap;
    return { up: ap.up, address: ap.address ?? this.apSubnet()?.address ?? '' };
  }

  /** The setup AP's subnet while the AP is up (thingymcconfig serves only clients on it). */
  setupApSubnet(): { address: string; prefixLength: number } | undefined {
    const ap = this.setupApState();
    const subnet = this.apSubnet();
    if (!ap.up || !subnet || ap.address === '') return undefined;
    return { address: ap.address, prefixLength: subnet.prefixLength };
  }

  /**
   * What the device hears. Unforced reads accept a scan up to a minute old: setup mode keeps one
   * warm, so a station checking link quality does not wait for the radio.
   */
  async scan(force = false): Promise<ScanResult[]> {
    const results = await this.actor.scan(force, 60_000);
    this.lastScan = results;
    return markKnown(results, this.records.networks);
  }

  listWifi(): SavedNetworkSummary[] {
    const provisional = this.records.provisionalIds();
    return connectionOrder(this.records.networks).map((n) => summarize(n, provisional));
  }

  async statusDetail(): Promise<StatusDetail> {
    const checks = await this.deps.connectivity.check(this.currentLease(), this.connectivityTargets());
    return {
      status: this.status(),
      checks,
      signals: this.records.networks.map((n) => ({
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
    // Refused before storing anything: a change the machine will not apply must not replace the list.
    const apply = { type: 'apply', attemptId: '', commit: req.commit, failsafeMs: 0 } as const;
    if (this.claimingApply || !this.wouldAccept(apply)) {
      throw this.ctx.state === 'booting'
        ? new AirliftError('BUSY', 'The device is starting; try again in a moment')
        : new AirliftError('BUSY', 'Already applying networks; wait for the result');
    }
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
    // A network this radio cannot join (WPA3 on a driver without SAE, EAP on a supplicant built
    // without it) is refused up front, with a reason the station can show, rather than found out
    // as an auth failure after the AP went down.
    refuseUnsupported(req.networks, this.caps);
    const { incoming, material } = toIncoming(req.networks);
    for (const n of incoming.filter((i) => i.eap?.insecureNoCaValidation === true))
      this.deps.logger.warn(
        { ssid: ssidDisplay(n.ssidHex) },
        'an Enterprise network without a CA: the device will not check who it authenticates to (insecureNoCaValidation)',
      );
    const now = this.isoNow();
    const current = this.records.networks;
    const merged = mergeNetworks(current, incoming, req.mode, () => toHex(randomBytes(4)), now);
    if (merged.length > MAX_SAVED_NETWORKS) {
      throw new AirliftError('BAD_REQUEST', `At most ${MAX_SAVED_NETWORKS} networks can be saved`);
    }
    if (req.apply === 'later') {
      await this.records.saveNetworks(
        { ...(this.records.pending ? { pending: this.records.pending } : {}), networks: merged },
        material,
      );
      return { attemptId: '', apStaysUp: this.ctx.apUp, state: this.ctx.state };
    }
    const attemptId = toHex(randomBytes(8));
    const tried = merged.filter((m) => incoming.some((n) => sameCredentials(n, m))).map((m) => m.id);
    const first = incoming[0];
    await this.records.stage(
      merged,
      {
        attemptId,
        failsafeSeconds: req.failsafeSeconds,
        ...(req.nonce !== undefined ? { nonce: req.nonce } : {}),
      },
      { id: attemptId, result: 'pending', at: now, ...(first ? { ssidHex: first.ssidHex } : {}) },
      material,
    );
    this.attemptTargets.set(attemptId, tried);
    const apply = {
      type: 'apply',
      attemptId,
      commit: req.commit,
      failsafeMs: req.failsafeSeconds * 1000,
    } as const;
    if (!this.dispatch(apply)) {
      throw new AirliftError('BUSY', `Cannot apply networks while ${this.ctx.state}`);
    }
    return {
      attemptId,
      apStaysUp: this.ctx.apSta && this.radioStatus.ap.up,
      state: this.ctx.state,
      reach: this.reach(first?.ssidHex, first?.ipv4?.address),
    };
  }

  /** The LAN API's origins a page may poll for the device: its `.local` name, the addresses it had. */
  reachOrigins(): string[] {
    const port = this.deps.config.api.lanPort;
    const hosts = [`${this.hostname()}.local`, ...this.records.lastIps()];
    return [...new Set(hosts)].map((h) => `http://${h}:${port}`);
  }

  /**
   * Where a client that loses the setup AP with the device finds it on `ssidHex`: the `.local`
   * name, the address it will have there (`staticIp`: the network's own, certain) or had there last
   * time (its DHCP client asks for that one again), and the LAN API's URLs to poll once the client
   * is back on that network.
   */
  reach(ssidHex: string | undefined, staticIp?: string): Reach {
    const host = `${this.hostname()}.local`;
    const port = this.deps.config.api.lanPort;
    const ipHint = staticIp ?? (ssidHex === undefined ? undefined : this.records.lastIpOn(ssidHex));
    const urls = [host, ...(ipHint !== undefined ? [ipHint] : [])].map((h) => `http://${h}:${port}/v1/info`);
    return {
      host,
      port,
      ...(ipHint !== undefined ? { ipHint } : {}),
      ...(staticIp !== undefined ? { ipStatic: true } : {}),
      urls,
    };
  }

  async forgetWifi(match: { id?: string; ssidHex?: string }): Promise<{ removed: number }> {
    const networks = this.records.networks;
    const keep = networks.filter((n) => !(n.id === match.id || n.ssidHex === match.ssidHex));
    const removed = networks.length - keep.length;
    if (removed === 0) throw new AirliftError('NETWORK_NOT_FOUND', 'No saved network matches');
    const pending = this.records.pending;
    await this.records.saveNetworks({ ...(pending ? { pending } : {}), networks: keep });
    return { removed };
  }

  /**
   * netconnectd's `forget_wifi` and `reset`: every saved network goes (a change on trial with them),
   * and the device stops using the one it is on at once — Ethernet or cellular if there is one,
   * else setup. Resolves once the list is on disk and the machine has been told.
   */
  async forgetAll(): Promise<{ removed: number }> {
    const removed = this.records.networks.length;
    await this.records.saveNetworks({ networks: [] });
    if (!this.dispatch({ type: 'leaveWifi' }))
      this.deps.logger.info(
        { state: this.ctx.state },
        'networks forgotten; the device leaves Wi-Fi after this',
      );
    return { removed };
  }

  /**
   * conman's `setConnected(False)`: an app on the device says it is cut off. The machine checks
   * the targets now and reconnects (or opens setup) if they fail. `connected: true` changes nothing.
   */
  setConnected(connected: boolean, app?: string): { rechecking: boolean; state: DeviceState } {
    if (connected) return { rechecking: false, state: this.ctx.state };
    const { connectivity, retryKnown } = this.ctx.gen;
    const accepted = this.dispatch({ type: 'appLost' });
    this.deps.logger.info(
      { ...(app !== undefined ? { app } : {}), state: this.ctx.state, accepted },
      'an app says the device is disconnected',
    );
    // A check (online) or a look for known networks (setup) started because of this call.
    const started = this.ctx.gen.connectivity !== connectivity || this.ctx.gen.retryKnown !== retryKnown;
    return { rechecking: accepted && started, state: this.ctx.state };
  }

  /** The station saw the device on the target network: make the trial permanent. */
  async commit(nonce?: string): Promise<{ committed: boolean; attemptId: string }> {
    const pending = this.records.pending;
    if (!pending) {
      // Idempotent: a retried commit for the attempt we already confirmed is fine.
      if (nonce !== undefined && this.records.device.lastNonce === nonce) {
        return { committed: true, attemptId: this.records.lastAttempt?.id ?? '' };
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
    await Promise.allSettled([...this.background]);
    return { committed: true, attemptId: pending.attemptId };
  }

  async rename(name: string): Promise<void> {
    await this.records.saveMeta({ ...this.records.device, name });
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

  /**
   * An app's health. A report whose connectivity turns `failed` (it was not before) is the app
   * saying it is cut off: the same as `setConnected(false)`.
   */
  reportApp(report: AppReport): AppStatus {
    const before = this.apps.get(report.name);
    const app: AppStatus = {
      name: report.name,
      appstate: { state: report.state, code: report.code },
      connectivity: report.connectivity ?? { state: 'unknown', code: 0 },
      at: this.isoNow(),
    };
    this.apps.set(report.name, app);
    this.events.emit({ type: 'app', app });
    if (app.connectivity.state === 'failed' && before?.connectivity.state !== 'failed')
      this.setConnected(false, report.name);
    return app;
  }

  /** Apps reported so far, by name. */
  appStatus(name: string): AppStatus | undefined {
    return this.apps.get(name);
  }

  async saveIdentity(identity: StoredIdentity): Promise<void> {
    await this.deps.store.saveIdentity(identity);
    this.identity = identity;
  }

  // ---- the machine ------------------------------------------------------------------------------

  /** Feed an event to the machine and start its effects. Returns whether it was accepted. */
  private dispatch(event: Event): boolean {
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

  /** Whether the machine would take `event` now (it is pure: asking changes nothing). */
  private wouldAccept(event: Event): boolean {
    return !this.stopped && transition(this.ctx, event, this.policy).accepted;
  }

  private track(p: Promise<unknown>): void {
    const tracked = p.catch((err: unknown) => this.deps.logger.error({ err }, 'effect failed'));
    this.background.add(tracked);
    void tracked.finally(() => this.background.delete(tracked));
  }

  /**
   * Run `work` and feed its outcome to the machine. Work that throws is reported as `failed`, the
   * outcome the normal failure path expects: the machine never waits for an event that never comes.
   */
  private report(work: () => Promise<Event>, failed: Event, what: keyof typeof WORK_FAILED): void {
    const [level, message] = WORK_FAILED[what];
    this.track(
      work().then(
        (event) => this.dispatch(event),
        (err: unknown) => {
          this.deps.logger[level]({ err }, message);
          return this.dispatch(failed);
        },
      ),
    );
  }

  private runEffect(effect: Effect): void {
    switch (effect.type) {
      case 'enter':
        return this.onEnter(effect);
      case 'startTimer':
        return this.startTimer(effect);
      case 'connectKnown':
        return this.report(() => this.readLinks('linksRead', effect.gen), crashed(effect.gen), 'connect');
      case 'joinKnown':
        return this.report(() => this.joinKnown(effect.gen), crashed(effect.gen), 'connect');
      case 'probeKnown':
        return this.report(() => this.probeKnown(effect.gen), nothingBack(effect.gen), 'probe');
      case 'joinReturning':
        return this.report(() => this.joinReturning(effect), nothingBack(effect.gen), 'probe');
      case 'apUp':
        return this.report(() => this.apUp(effect.gen), apFailed(effect.gen), 'ap');
      case 'apDown':
        return this.track(this.afterRadio({ kind: 'stopAp' }));
      case 'leave':
        return this.track(this.afterRadio({ kind: 'leave' }));
      case 'warmScan':
        return this.track(this.warmScan());
      case 'apply':
        return this.track(this.applyAttempt(effect));
      case 'markConnected':
        return this.track(this.markConnected(effect.networkId));
      case 'recordAttempt':
        return this.track(this.records.setLastAttempt({ ...effect.attempt, at: this.isoNow() }));
      case 'armFailsafe':
        return this.track(this.records.armFailsafe(effect.attemptId, this.deps.clock.now() + effect.ms));
      case 'commitAttempt':
        return this.track(this.commitAttempt(effect.attemptId));
      case 'revertAttempt':
        return this.track(this.records.revert(effect.attemptId, effect.reason, this.isoNow()));
      case 'checkConnectivity':
        return this.report(() => this.readLinks('checkLinks', effect.gen), checkFailed(effect.gen), 'check');
      case 'runChecks':
        return this.report(() => this.runChecks(effect.gen), checkFailed(effect.gen), 'check');
    }
  }

  private onEnter({ state, previous, afterOnline }: EffectOf<'enter'>): void {
    this.deps.logger.info({ state, previous }, 'state');
    this.events.emit({ type: 'state', state, previous, at: this.isoNow() });
    this.syncAddresses();
    if (state === 'setup') {
      try {
        this.onSetupEntered?.(afterOnline === true);
      } catch (err) {
        this.deps.logger.warn({ err }, 'setup hook failed');
      }
    }
    this.track(this.updateTxt());
  }

  private startTimer({ kind, ms, gen }: EffectOf<'startTimer'>): void {
    this.timers.get(kind)?.cancel();
    this.timers.set(
      kind,
      this.deps.clock.setTimer(ms, () => this.dispatch({ type: 'timer', kind, gen })),
    );
  }

  // ---- the radio --------------------------------------------------------------------------------

  private async refreshStatus(): Promise<void> {
    this.setRadioStatus(await this.actor.send({ kind: 'status' }));
    await this.refreshCapabilities();
  }

  /** A radio command, then what the radio says now, even when the command failed. */
  private async afterRadio(command: { kind: 'stopAp' } | { kind: 'leave' }): Promise<void> {
    try {
      await this.actor.send(command);
    } finally {
      // The AP's listeners follow the radio's report.
      await this.refreshStatus();
    }
  }

  /** Every radio status passes here, so a change of the setup AP is signalled whatever caused it. */
  private setRadioStatus(next: RadioStatus): void {
    const before = this.setupApState();
    this.radioStatus = next;
    const after = this.setupApState();
    if (before.up !== after.up || before.address !== after.address) this.setupApChanges.emit(after);
    this.syncAddresses();
  }

  /** The advertiser publishes the device's own name for the address of the link carrying traffic. */
  private syncAddresses(): void {
    const ad = this.deps.advertiser;
    if (!this.advertising || !ad?.updateAddresses) return;
    const ip = this.currentLease()?.ip;
    if (ip === this.advertisedIp) return;
    this.advertisedIp = ip;
    ad.updateAddresses(ip !== undefined ? [ip] : []);
  }

  /**
   * Backends learn some capabilities only by using the radio (the AP interface could not be made,
   * wpa_supplicant answered for SAE only once running). Re-read them (backends cache them, so this
   * costs no command) and tell the machine when AP+STA changed: it plans with it.
   */
  private async refreshCapabilities(): Promise<void> {
    const caps = await this.actor.send({ kind: 'capabilities' });
    this.caps = caps;
    if (caps.concurrentApSta !== this.ctx.apSta) {
      this.deps.logger.warn(
        { concurrentApSta: caps.concurrentApSta },
        'the radio changed its AP+STA support',
      );
      this.dispatch({ type: 'capabilities', apSta: caps.concurrentApSta });
    }
  }

  private links(): Links {
    const s = this.radioStatus;
    return { wifi: s.wifi.up, ethernet: s.ethernet.up, cellular: s.cellular.up };
  }

  /** The links as the radio reports them now, for connecting or for a connectivity check. */
  private async readLinks(type: 'linksRead' | 'checkLinks', gen: number): Promise<Event> {
    await this.refreshStatus();
    return { type, gen, links: this.links() };
  }

  private async runChecks(gen: number): Promise<Event> {
    const checks = await this.deps.connectivity.check(this.currentLease(), this.connectivityTargets());
    return { type: 'checked', gen, checks };
  }

  private async apUp(gen: number): Promise<Event> {
    return { type: 'apUpDone', gen, outcome: await this.startSetupAp() };
  }

  /** The AP from the identity; `noIdentity` when there is none to derive it from. */
  private async startSetupAp(): Promise<'up' | 'noIdentity'> {
    const id = this.identity?.deviceId;
    if (!id) {
      this.deps.logger.warn('no identity: the setup access point stays down (airliftctl provision-identity)');
      return 'noIdentity';
    }
    const subnet = this.apSubnet() ?? setupSubnet(id);
    const passphrase = this.deps.config.setup.passphrase;
    await this.actor.send({
      kind: 'startAp',
      config: {
        ssid: setupSsid(id, this.deps.config.setup.ssidPrefix),
        address: subnet.address,
        prefixLength: subnet.prefixLength,
        dhcpRange: subnet.dhcpRange,
        channel: this.deps.config.setup.channel,
        ...(passphrase !== undefined ? { passphrase } : {}),
      },
    });
    await this.refreshStatus();
    return 'up';
  }

  /** Warm the scan cache once the AP is up, for a station's link check and the portal's list. */
  private async warmScan(): Promise<void> {
    this.lastScan = await this.actor.scan(true).catch((err: unknown) => {
      this.deps.logger.warn({ err }, 'scan after the AP came up failed');
      return this.lastScan;
    });
  }

  /** A join that throws (a backend bug, a helper that crashed) is a join that failed: `hardware`. */
  private async join(net: StoredNetwork, keepAp: boolean): Promise<JoinOutcome> {
    let outcome: JoinOutcome;
    try {
      // A certificate file that cannot be read fails this join as `hardware`, like a radio that throws.
      const target = await joinTargetOf(net, this.deps.store);
      outcome = await this.actor.send({
        kind: 'join',
        target,
        options: { timeoutMs: this.deps.config.join.timeoutSeconds * 1000, keepAp },
      });
    } catch (err) {
      this.deps.logger.error({ err, ssid: ssidDisplay(net.ssidHex) }, 'the radio threw instead of joining');
      outcome = { ok: false, reason: 'hardware', detail: err instanceof Error ? err.message : String(err) };
    }
    await this.refreshStatus();
    return outcome;
  }

  /** Connecting: saved networks in range by priority, until one joins or the connect is stale. */
  private async joinKnown(gen: number): Promise<Event> {
    const scan = await this.actor.scan(true).catch(() => [] as ScanResult[]);
    this.lastScan = scan;
    for (const net of candidatesInRange(this.records.networks, scan)) {
      if (!isCurrent(this.ctx, 'connect', gen)) break;
      const outcome = await this.join(net, false);
      if (outcome.ok) {
        await this.markConnected(net.id);
        return { type: 'knownTried', gen, joined: true, links: this.links() };
      }
      this.deps.logger.info(
        { ssid: ssidDisplay(net.ssidHex), reason: outcome.reason },
        'known network failed',
      );
    }
    if (isCurrent(this.ctx, 'connect', gen)) await this.refreshStatus();
    return { type: 'knownTried', gen, joined: false, links: this.links() };
  }

  /** Setup: which known networks are back in range, and whether a station is on the AP. */
  private async probeKnown(gen: number): Promise<Event> {
    const scan = await this.actor.scan(true).catch(() => [] as ScanResult[]);
    this.lastScan = scan;
    this.returning = candidatesInRange(this.records.networks, scan).filter((n) => !n.hidden);
    if (this.returning.length > 0 && isCurrent(this.ctx, 'probe', gen)) await this.refreshStatus();
    return {
      type: 'probed',
      gen,
      candidates: this.returning.length,
      apClients: this.radioStatus.ap.clients,
      sinceStationSpokeMs: this.deps.clock.now() - this.lastClientActivity(),
    };
  }

  private async joinReturning({ gen, keepAp }: EffectOf<'joinReturning'>): Promise<Event> {
    for (const net of this.returning) {
      if (!isCurrent(this.ctx, 'probe', gen)) break;
      const outcome = await this.join(net, keepAp);
      if (outcome.ok) {
        await this.markConnected(net.id);
        return { type: 'returnTried', gen, joined: true };
      }
    }
    return { type: 'returnTried', gen, joined: false };
  }

  /**
   * The attempt's networks in order; the first that joins is checked for connectivity when asked.
   * Anything that throws (a status refresh, a connectivity check) ends the attempt as `hardware` by
   * the normal failure path: left in `applying`, every later push would be BUSY.
   */
  private async applyAttempt(effect: EffectOf<'apply'>): Promise<void> {
    const { gen, attemptId } = effect;
    let outcome: Event;
    try {
      outcome = await this.tryAttempt(effect);
    } catch (err) {
      this.deps.logger.error({ err, attemptId }, 'applying networks failed; the attempt ends as hardware');
      const last = this.records.lastAttempt;
      const ssidHex = last?.id === attemptId ? last.ssidHex : undefined;
      outcome = {
        type: 'applied',
        gen,
        attemptId,
        reason: 'hardware',
        ...(ssidHex !== undefined ? { ssidHex } : {}),
      };
    } finally {
      this.attemptTargets.delete(attemptId);
    }
    // Refused only when stale (the agent stopping meanwhile): nothing is left to decide.
    if (!this.dispatch(outcome))
      this.deps.logger.debug({ attemptId }, 'an attempt ended after the machine moved on');
  }

  private async tryAttempt({ gen, attemptId, keepAp, checkInternet }: EffectOf<'apply'>): Promise<Event> {
    const ids = this.attemptTargets.get(attemptId) ?? [];
    const targets = connectionOrder(this.records.networks.filter((n) => ids.includes(n.id)));
    const ssidHex = targets[0]?.ssidHex ?? '';
    let reason: Extract<JoinOutcome, { ok: false }>['reason'] = 'ssid_not_found';
    for (const net of targets) {
      const outcome = await this.join(net, keepAp);
      if (!outcome.ok) {
        reason = outcome.reason;
        continue;
      }
      const checks = checkInternet
        ? await this.deps.connectivity.check(this.currentLease(), this.connectivityTargets())
        : undefined;
      const ip = this.radioStatus.wifi.lease?.ip;
      const addressing = net.ipv4 !== undefined ? ('static' as const) : ('dhcp' as const);
      const joined = { networkId: net.id, ssidHex: net.ssidHex, addressing, ...(ip ? { ip } : {}) };
      return { type: 'applied', gen, attemptId, joined, reason, ssidHex, ...(checks ? { checks } : {}) };
    }
    return { type: 'applied', gen, attemptId, reason, ssidHex };
  }

  /** A saved network joined: when, and at which address (where the device asks to be next time). */
  private markConnected(networkId: string): Promise<void> {
    return this.records.markConnected(networkId, this.isoNow(), this.radioStatus.wifi.lease?.ip);
  }

  private async commitAttempt(attemptId: string): Promise<void> {
    if (await this.records.commit(attemptId)) await this.updateTxt();
  }

  private connectivityTargets(): ConnectivityTargets {
    const c = this.deps.config.connectivity;
    return { dns: c.dns, ntp: c.ntp, urls: c.urls, timeoutMs: c.timeoutMs };
  }

  /** The lease of the link carrying traffic (the checks judge that link), else the first one up. */
  private currentLease() {
    const s = this.radioStatus;
    const via = this.ctx.via;
    const own = via === null ? undefined : s[via].lease;
    return own ?? s.ethernet.lease ?? s.wifi.lease ?? s.cellular.lease;
  }

  private isoNow(): string {
    return new Date(this.deps.clock.now()).toISOString();
  }

  // ---- advertisement ----------------------------------------------------------------------------

  private txt(): Record<string, string> {
    const nonce = this.records.nonce();
    return buildTxt({
      deviceId: this.identity?.deviceId ?? '',
      state: this.ctx.state,
      ...(nonce !== undefined ? { lastNonceHex: nonce } : {}),
      model: this.deps.config.model,
      fw: this.deps.config.fw,
    });
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
