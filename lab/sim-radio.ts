/**
 * A simulated radio for one device, on a shared Airspace. It implements the agent's RadioPort with
 * the outcomes and the constraints of real hardware, so the agent core meets them in the lab first:
 *
 * - One operation at a time: a second scan/join/leave/startAp/stopAp while one is in flight is refused
 *   with BUSY (architecture: one actor owns the radio).
 * - Without concurrent AP+STA, `join` while the device's own AP is up fails with `hardware`: the agent
 *   must stop the AP first. With it, `keepAp: false` takes the AP down before joining.
 * - Starting the AP without concurrent AP+STA drops the station connection.
 * - With `singleChannel` (AP+STA whose combinations allow one channel, as most hardware), the AP
 *   follows the same plan the real backends do (agent/core/ap-plan.ts): it starts on the associated
 *   station's channel, goes off the air for a join that keeps it when the target is on another
 *   channel, and comes back on the station's channel after success or its configured one after a
 *   failure; a DFS target, or 5 GHz without `country`, takes turns. Its frequency in the airspace
 *   shows where it is.
 * - Once the target SSID is found, the current station connection is dropped before associating,
 *   so a failed join (other than `ssid_not_found`/`hardware`) leaves Wi-Fi down, as NetworkManager does.
 *
 * Time: latencies are "sim milliseconds". `timeoutMs` is compared with them unscaled, so an outcome
 * never depends on `timeScale`; only the real waiting (unref'd setTimeout) is multiplied by it.
 */
import type {
  JoinOutcome,
  JoinTarget,
  Lease,
  RadioCapabilities,
  RadioPort,
  RadioStatus,
  SetupApConfig,
} from '../agent/ports/radio';
import {
  afterJoinFollowsStation,
  channelOfFrequency,
  channelOfTarget,
  planApAfterJoin,
  planApForJoin,
  planApStart,
  type ApNow,
  type ApRadio,
  type JoinApPlan,
} from '../agent/core/ap-plan';
import { AirliftError, type ConnectFailureReason } from '../shared/errors';
import { isHex, toHex, utf8Encode } from '../shared/encoding';
import { bandOf, NETWORK_SECURITY, securityCompatible, type ScanResult } from '../shared/protocol/wifi';
import { EAP_METHODS } from '../shared/protocol/eap';
import type { StaticIpv4 } from '../shared/protocol/static-ipv4';
import {
  channelToFrequency,
  checkCredentials,
  stableHash,
  toScanResult,
  type AccessPoint,
  type Airspace,
  type HeardAp,
} from './airspace';

export interface SimLatency {
  scanMs: number;
  associateMs: number;
  dhcpMs: number;
  apStartMs: number;
  apStopMs: number;
  /** 0..1: each wait is spread uniformly over ±jitter of its nominal value. */
  jitter: number;
  /** How long a DHCP client keeps asking an AP whose DHCP never answers (bounded by the join timeout). */
  dhcpGiveUpMs: number;
}

export const DEFAULT_LATENCY: Readonly<SimLatency> = Object.freeze({
  scanMs: 1500,
  associateMs: 1200,
  dhcpMs: 800,
  apStartMs: 1000,
  apStopMs: 300,
  jitter: 0.2,
  dhcpGiveUpMs: 15_000,
});

export interface SimFaults {
  /** Overrides `capabilities.concurrentApSta`. */
  concurrentApSta?: boolean;
  /** Every join fails with this reason (after the delays the real failure would take). */
  forceJoinFailure?: ConnectFailureReason;
  /** The device hears nothing: scans are empty, joins find no SSID, a current association drops. */
  outOfRange?: boolean;
  /** A wired link that is up, with this lease. */
  ethernet?: Lease;
  /** A cellular link that is up, with this lease (a modem the image brings up). */
  cellular?: Lease;
  /**
   * Links whose uplink is dead: the link is up and its gateway answers, but nothing beyond it
   * (SimConnectivity fails DNS, NTP and URLs there). Wi-Fi follows its AP's `internet` instead.
   */
  noInternet?: readonly ('ethernet' | 'cellular')[];
  /** `startAp` fails as if hostapd would not start. */
  failApStart?: boolean;
  /** `join` throws, as a backend with a bug or a crashed helper would, instead of reporting a reason. */
  joinThrows?: boolean;
  /** `status` throws, as when the backend's status command cannot run. */
  statusThrows?: boolean;
}

/** Faults as set and patched: a key holding `undefined` reads as that fault being off. */
export type FaultState = { [K in keyof SimFaults]?: SimFaults[K] | undefined };

/**
 * Puts the setup AP's address on a real interface while the sim AP is up (network-namespace tests),
 * so listeners bound to it meet the kernel's rules. `up` may add the address later than it returns,
 * as a backend whose interface is configured behind its back does.
 */
export interface ApAddressHook {
  up(config: SetupApConfig): Promise<void>;
  down(config: SetupApConfig): Promise<void>;
}

export interface SimRadioOptions {
  airspace: Airspace;
  deviceId: string;
  latency?: Partial<SimLatency>;
  /** Multiplies every real wait; 0 makes every operation complete without timers. Default 1. */
  timeScale?: number;
  faults?: SimFaults;
  capabilities?: Partial<RadioCapabilities>;
  /** Source of jitter, in [0, 1). Default: a PRNG seeded from the device id (reproducible runs). */
  random?: () => number;
  /** Mirror the AP's address onto a real interface (see ApAddressHook). */
  apAddress?: ApAddressHook;
  /** With concurrent AP+STA: one channel for both, so the AP follows the station. */
  singleChannel?: boolean;
  /** The regulatory country of the setup AP; without one it never goes onto 5 GHz. */
  country?: string;
}

/** Default level a station hears a setup AP at: the technician stands next to the devices. */
const SETUP_AP_SIGNAL_DBM = -42;

/** The join deadline, kept in sim milliseconds. */
class Budget {
  private elapsed = 0;

  constructor(
    private readonly total: number,
    private readonly sleep: (simMs: number) => Promise<void>,
  ) {}

  get remaining(): number {
    return Math.max(0, this.total - this.elapsed);
  }

  /** Spend `ms`; if the deadline comes first, wait only until it and return false. */
  async spend(ms: number): Promise<boolean> {
    if (this.elapsed + ms > this.total) {
      await this.sleep(this.remaining);
      this.elapsed = this.total;
      return false;
    }
    await this.sleep(ms);
    this.elapsed += ms;
    return true;
  }
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fail(reason: ConnectFailureReason, detail: string): JoinOutcome {
  return { ok: false, reason, detail };
}

export class SimRadio implements RadioPort {
  readonly airspace: Airspace;
  readonly deviceId: string;
  readonly latency: Readonly<SimLatency>;
  readonly timeScale: number;
  private faultState: FaultState;
  private readonly baseCapabilities: Partial<RadioCapabilities>;
  private readonly random: () => number;
  private readonly apAddressHook: ApAddressHook | undefined;
  /** Chosen once, so a restarted setup AP keeps its BSSID (and any signal overrides on it). */
  private ownBssid: string | undefined;
  private apConfig: SetupApConfig | undefined;
  /** The channel the AP beacons on (or last did, while it is off the air for a join). */
  private apChannel: number | undefined;
  private readonly singleChannel: boolean;
  private readonly country: string | undefined;
  private busy: string | undefined;
  private closed = false;

  constructor(options: SimRadioOptions) {
    this.airspace = options.airspace;
    this.deviceId = options.deviceId;
    this.latency = Object.freeze({ ...DEFAULT_LATENCY, ...options.latency });
    if (this.latency.jitter < 0 || this.latency.jitter > 1) {
      throw new AirliftError('INVALID_CONFIG', 'latency.jitter must be within 0..1');
    }
    this.timeScale = options.timeScale ?? 1;
    if (!(this.timeScale >= 0) || !Number.isFinite(this.timeScale)) {
      throw new AirliftError('INVALID_CONFIG', 'timeScale must be a finite number >= 0');
    }
    this.faultState = { ...options.faults };
    this.baseCapabilities = { ...options.capabilities };
    this.random = options.random ?? mulberry32(stableHash(options.deviceId));
    this.apAddressHook = options.apAddress;
    this.singleChannel = options.singleChannel ?? false;
    this.country = options.country;
  }

  // -- lab controls ---------------------------------------------------------------------------

  get faults(): Readonly<FaultState> {
    return { ...this.faultState };
  }

  /** Merge `patch` into the current faults; a key set to `undefined` clears that fault. */
  setFaults(patch: FaultState): void {
    this.faultState = { ...this.faultState, ...patch };
    if (this.faultState.outOfRange === true) this.airspace.leave(this.deviceId, 'out-of-range');
  }

  /** The device's setup AP as the airspace has it, if it is up. */
  /** The setup AP's configuration as the agent last started it (undefined while it is down). */
  get setupApConfig(): Readonly<SetupApConfig> | undefined {
    return this.apConfig;
  }

  ownAp(): AccessPoint | undefined {
    if (this.ownBssid === undefined || this.apConfig === undefined) return undefined;
    const ap = this.airspace.getAp(this.ownBssid);
    return ap?.owner === this.deviceId ? ap : undefined;
  }

  // -- RadioPort ------------------------------------------------------------------------------

  capabilities(): Promise<RadioCapabilities> {
    return Promise.resolve(this.effectiveCapabilities());
  }

  scan(): Promise<ScanResult[]> {
    return this.exclusive('scan', async () => {
      await this.sleep(this.duration(this.latency.scanMs));
      this.assertOpen();
      return this.audible().map(toScanResult);
    });
  }

  join(target: JoinTarget, options: { timeoutMs: number; keepAp: boolean }): Promise<JoinOutcome> {
    return this.exclusive('join', async () => {
      if (this.faultState.joinThrows === true) throw new Error('simulated fault: the join crashed');
      const ap = this.apConfig;
      const plan =
        this.ownAp() && this.concurrentApSta() ? this.planForJoin(target, options.keepAp) : undefined;
      if (plan?.kind === 'pause') await this.takeApOffAir();
      if (plan?.kind === 'turns') await this.stopApNow();
      const outcome = await this.doJoin(target, options);
      if (plan && ap) await this.afterJoin(plan, outcome.ok, ap);
      return outcome;
    });
  }

  leave(): Promise<void> {
    return this.exclusive('leave', () => {
      this.airspace.leave(this.deviceId);
      return Promise.resolve();
    });
  }

  startAp(config: SetupApConfig): Promise<void> {
    return this.exclusive('startAp', async () => {
      if (config.passphrase !== undefined && !/^[\x20-\x7e]{8,63}$/.test(config.passphrase)) {
        throw new AirliftError('INVALID_PASSPHRASE', 'A WPA2 passphrase is 8..63 printable ASCII characters');
      }
      channelToFrequency(config.channel); // an unknown channel is refused before anything changes
      // Restarting: the old AP goes first, as hostapd would be restarted.
      await this.removeOwnAp();
      if (this.faultState.failApStart === true) {
        await this.sleep(this.duration(this.latency.apStartMs));
        throw new AirliftError('COMMAND_FAILED', 'Access point failed to start (simulated fault)');
      }
      const start = planApStart(this.apRadio(), config.channel, this.stationChannel());
      if (start.station !== 'stays') this.airspace.leave(this.deviceId);
      await this.sleep(this.duration(this.latency.apStartMs));
      this.assertOpen();
      this.putApOnAir(config, start.channel);
      this.apConfig = config;
      await this.apAddressHook?.up(config);
    });
  }

  stopAp(): Promise<void> {
    return this.exclusive('stopAp', () => this.stopApNow());
  }

  status(): Promise<RadioStatus> {
    if (this.faultState.statusThrows === true) {
      return Promise.reject(new Error('simulated fault: the status command crashed'));
    }
    const membership = this.airspace.membershipOf(this.deviceId);
    const ethernet = this.faultState.ethernet;
    const cellular = this.faultState.cellular;
    const ap = this.ownAp();
    const wifi: RadioStatus['wifi'] =
      membership === undefined
        ? { up: false }
        : {
            up: true,
            lease: membership.lease,
            bssid: membership.bssid,
            ...withDefined('ssidHex', this.airspace.getAp(membership.bssid)?.ssidHex),
            ...withDefined('signal', this.airspace.signalFor(this.deviceId, membership.bssid)),
          };
    return Promise.resolve({
      wifi,
      ethernet: ethernet === undefined ? { up: false } : { up: true, lease: { ...ethernet } },
      cellular: cellular === undefined ? { up: false } : { up: true, lease: { ...cellular } },
      ap:
        ap === undefined || this.apConfig === undefined
          ? { up: false, clients: 0 }
          : {
              up: true,
              ssid: this.apConfig.ssid,
              address: this.apConfig.address,
              clients: this.airspace.clientsOf(ap.bssid).length,
            },
    });
  }

  async close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.airspace.leave(this.deviceId);
      await this.removeOwnAp();
    }
  }

  // -- internals ------------------------------------------------------------------------------

  private apRadio(): ApRadio {
    return {
      apSta: this.concurrentApSta(),
      singleChannel: this.singleChannel,
      ...(this.country === undefined ? {} : { country: this.country }),
    };
  }

  private apNow(): ApNow {
    const config = this.apConfig;
    return {
      up: config !== undefined,
      beaconing: this.ownAp() !== undefined,
      ...(this.apChannel === undefined ? {} : { channel: this.apChannel }),
      configured: config?.channel ?? 0,
    };
  }

  /** The channel of the AP the station is associated with. */
  private stationChannel(): number | undefined {
    const membership = this.airspace.membershipOf(this.deviceId);
    const ap = membership === undefined ? undefined : this.airspace.getAp(membership.bssid);
    return ap === undefined ? undefined : channelOfFrequency(ap.frequency);
  }

  private planForJoin(target: JoinTarget, keepAp: boolean): JoinApPlan {
    const heard = this.audible().map(toScanResult);
    return planApForJoin(this.apRadio(), this.apNow(), channelOfTarget(heard, target.ssidHex), keepAp);
  }

  private async afterJoin(plan: JoinApPlan, ok: boolean, config: SetupApConfig): Promise<void> {
    const now = this.apNow();
    const station = afterJoinFollowsStation(this.apRadio(), plan, ok, now)
      ? this.stationChannel()
      : undefined;
    const follow = planApAfterJoin(this.apRadio(), plan, ok, now, station);
    switch (follow.kind) {
      case 'none':
        return;
      case 'restart':
        await this.takeApOffAir();
        await this.sleep(this.duration(this.latency.apStartMs));
        this.putApOnAir(config, follow.channel);
        return;
      case 'stop':
        await this.stopApNow();
        return;
      case 'start':
        await this.sleep(this.duration(this.latency.apStartMs));
        this.putApOnAir(config, config.channel);
        this.apConfig = config;
        await this.apAddressHook?.up(config);
        return;
    }
  }

  /** The setup AP in the airspace on `channel` (its BSSID kept across restarts). */
  private putApOnAir(config: SetupApConfig, channel: number): void {
    this.ownBssid ??= this.airspace.allocateBssid(this.deviceId);
    this.airspace.addAp({
      ssidHex: toHex(utf8Encode(config.ssid)),
      bssid: this.ownBssid,
      security: config.passphrase === undefined ? 'open' : 'wpa2-psk',
      ...(config.passphrase === undefined ? {} : { passphrase: config.passphrase }),
      frequency: channelToFrequency(channel),
      signal: SETUP_AP_SIGNAL_DBM,
      subnet: `${config.address}/${config.prefixLength}`,
      gateway: config.address,
      nameservers: [config.address],
      dhcpRange: config.dhcpRange,
      internet: false,
      dhcp: 'ok',
      owner: this.deviceId,
    });
    this.apChannel = channel;
  }

  /** Off the air for a join (hostapd paused): its configuration and address stay. */
  private async takeApOffAir(): Promise<void> {
    if (this.ownAp() === undefined || this.ownBssid === undefined) return;
    await this.sleep(this.duration(this.latency.apStopMs));
    this.airspace.removeAp(this.ownBssid);
  }

  private async doJoin(
    target: JoinTarget,
    options: { timeoutMs: number; keepAp: boolean },
  ): Promise<JoinOutcome> {
    if (!isHex(target.ssidHex) || target.ssidHex.length < 2 || target.ssidHex.length > 64) {
      throw new AirliftError('INVALID_SSID', 'SSID must be 1..32 bytes of hex');
    }
    if (this.ownAp() !== undefined) {
      if (!this.concurrentApSta()) {
        return fail(
          'hardware',
          'The setup AP is up and this radio cannot run an AP and a station at once: stop the AP first',
        );
      }
      if (!options.keepAp) await this.stopApNow();
    }
    if (!this.effectiveCapabilities().security.includes(target.security)) {
      return fail('hardware', `This radio does not support ${target.security}`);
    }
    const budget = new Budget(options.timeoutMs, (ms) => this.sleep(ms));
    if (!(await budget.spend(this.duration(this.latency.scanMs)))) {
      return fail('timeout', 'The scan for the network did not finish in time');
    }
    const forced = this.faultState.forceJoinFailure;
    if (forced === 'ssid_not_found' || forced === 'hardware') return fail(forced, 'Injected fault');
    const candidate = this.pickCandidate(target);
    if (candidate === undefined && forced === undefined) {
      return fail(
        'ssid_not_found',
        target.hidden ? 'No AP answered a probe for this SSID' : 'The SSID is not in range',
      );
    }
    // Associating with something new: the radio gives up its current station connection.
    this.airspace.leave(this.deviceId);

    if (forced !== undefined) {
      if (forced === 'timeout') {
        await budget.spend(budget.remaining);
        return fail('timeout', 'Injected fault');
      }
      const ok = await budget.spend(this.duration(this.latency.associateMs));
      return ok ? fail(forced, 'Injected fault') : fail('timeout', 'Association did not finish in time');
    }
    if (candidate === undefined) return fail('ssid_not_found', 'The SSID is not in range'); // unreachable: narrows the type

    if (!(await budget.spend(this.duration(this.latency.associateMs)))) {
      return fail('timeout', 'Association did not finish in time');
    }
    // The AP may have gone, or the device moved away, while we were associating.
    const ap = this.airspace.getAp(candidate.bssid);
    if (
      ap === undefined ||
      this.faultState.outOfRange === true ||
      this.airspace.signalFor(this.deviceId, ap.bssid) === undefined
    ) {
      return fail('ssid_not_found', 'The AP disappeared during association');
    }
    const check = checkCredentials(ap, target);
    switch (check) {
      case 'assoc_rejected':
        return fail(
          'assoc_rejected',
          `The AP uses ${ap.security}; the network is configured as ${target.security}`,
        );
      case 'auth_failed':
        return fail(
          'auth_failed',
          target.eap
            ? 'The server refused the identity or password'
            : 'Wrong passphrase or key (handshake failed)',
        );
      case 'eap_failed':
        return fail(
          'eap_failed',
          `The server refused EAP-${(target.eap?.method ?? '').toUpperCase()} or its inner method`,
        );
      case 'cert_rejected':
        return fail(
          'cert_rejected',
          "The server's certificate failed the CA or domain check, or it refused the client's",
        );
      case 'ok':
        break;
    }
    if (target.ipv4 !== undefined) return this.joinStatic(ap, target.ipv4);
    if (ap.dhcp === 'timeout') {
      await budget.spend(Math.min(budget.remaining, this.duration(this.latency.dhcpGiveUpMs)));
      return fail('dhcp_timeout', 'Associated, but no DHCP server answered');
    }
    if (!(await budget.spend(this.duration(this.latency.dhcpMs)))) {
      return fail('timeout', 'No address obtained in time');
    }
    this.assertOpen();
    try {
      const lease = this.airspace.join(this.deviceId, ap.bssid);
      return {
        ok: true,
        lease,
        bssid: ap.bssid,
        ...withDefined('signal', this.airspace.signalFor(this.deviceId, ap.bssid)),
      };
    } catch (error) {
      if (error instanceof AirliftError) {
        return error.code === 'TIMEOUT'
          ? fail('dhcp_timeout', error.message)
          : fail('ssid_not_found', 'The AP disappeared before an address was obtained');
      }
      throw error;
    }
  }

  /** A network with static IPv4: no DHCP, the address as given. */
  private joinStatic(ap: AccessPoint, ipv4: StaticIpv4): JoinOutcome {
    this.assertOpen();
    const lease = this.airspace.join(this.deviceId, ap.bssid, ipv4);
    return {
      ok: true,
      lease,
      bssid: ap.bssid,
      ...withDefined('signal', this.airspace.signalFor(this.deviceId, ap.bssid)),
    };
  }

  /** Same SSID, findable (hidden ones only by a directed probe), security-compatible first, then loudest. */
  private pickCandidate(target: JoinTarget): AccessPoint | undefined {
    const ssidHex = target.ssidHex.toLowerCase();
    const matches = this.audible()
      .map((h) => h.ap)
      .filter((ap) => ap.ssidHex === ssidHex && (!ap.hidden || target.hidden));
    return matches.find((ap) => securityCompatible(ap.security, target.security)) ?? matches[0];
  }

  /** What this device can hear: nothing when out of range, nothing on bands it lacks, never its own AP. */
  private audible(): HeardAp[] {
    if (this.faultState.outOfRange === true) return [];
    const bands = this.effectiveCapabilities().bands;
    return this.airspace.scanFor(this.deviceId).filter(({ ap }) => bands.includes(bandOf(ap.frequency)));
  }

  private async stopApNow(): Promise<void> {
    // Off the air for a join (one channel) is still an AP to stop.
    if (this.ownAp() === undefined && this.apConfig === undefined) return;
    if (this.ownAp() !== undefined) await this.sleep(this.duration(this.latency.apStopMs));
    await this.removeOwnAp();
  }

  private async removeOwnAp(): Promise<void> {
    if (this.ownAp() !== undefined && this.ownBssid !== undefined) this.airspace.removeAp(this.ownBssid);
    const config = this.apConfig;
    this.apConfig = undefined;
    this.apChannel = undefined;
    if (config !== undefined) await this.apAddressHook?.down(config);
  }

  private concurrentApSta(): boolean {
    return this.faultState.concurrentApSta ?? this.baseCapabilities.concurrentApSta ?? false;
  }

  private effectiveCapabilities(): RadioCapabilities {
    return {
      concurrentApSta: this.concurrentApSta(),
      security: [...(this.baseCapabilities.security ?? NETWORK_SECURITY)],
      eap: [...(this.baseCapabilities.eap ?? EAP_METHODS)],
      staticIpv4: this.baseCapabilities.staticIpv4 ?? true,
      bands: [...(this.baseCapabilities.bands ?? ['2.4GHz', '5GHz'])],
      ethernet: this.baseCapabilities.ethernet ?? true,
      cellular: this.baseCapabilities.cellular ?? false,
    };
  }

  /** A nominal sim duration with jitter applied. */
  private duration(nominalMs: number): number {
    const spread = this.latency.jitter * (2 * this.random() - 1);
    return Math.max(0, nominalMs * (1 + spread));
  }

  private sleep(simMs: number): Promise<void> {
    const realMs = simMs * this.timeScale;
    if (realMs <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      // Unref'd: a pending simulated delay never keeps the process alive on its own.
      setTimeout(resolve, realMs).unref();
    });
  }

  private assertOpen(): void {
    if (this.closed) throw new AirliftError('BACKEND_UNAVAILABLE', 'The radio was closed');
  }

  private async exclusive<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    this.assertOpen();
    if (this.busy !== undefined) {
      throw new AirliftError(
        'BUSY',
        `Radio busy with ${this.busy}; radio operations must be serialised (one actor owns the radio)`,
      );
    }
    this.busy = operation;
    try {
      return await fn();
    } finally {
      this.busy = undefined;
    }
  }
}

/** `{ key: value }` when value is defined, else `{}`: keeps optional fields absent rather than undefined. */
function withDefined<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Partial<Record<K, V>>);
}
