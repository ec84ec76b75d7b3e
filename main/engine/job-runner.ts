/**
 * Runs one job (ARCHITECTURE.md "Main flows"): the shell around the per-device step machine
 * (device-machine.ts). The machine decides where each device may go; this file does the I/O —
 * Wi-Fi joins, HTTP, sessions — journals every step before acting on it, and keeps every device
 * isolated: one failing never stops the others, and every device ends with a result.
 *
 * AP path: each Wi-Fi adapter is a lane that joins one device's setup AP at a time; per-device AP
 * subnets make lanes safe side by side. Devices whose setup AP is on a fixed address instead
 * (`setupAddressOf`: thingymcconfig's 10.0.0.1) share one subnet, so only one lane at a time holds
 * such an AP: it takes the address's lock before joining and leaves the AP before giving it back. After a chunk, a lane returns to the target network and the
 * pushed devices must reappear there over mDNS with their id, `st` failsafe/online and the job's `pv`;
 * each is then confirmed (`device.commit`) and its health read (`status.detail`). Devices that do not
 * reappear are probed by unicast at the LAN addresses the job knows for them (client isolation keeps
 * mDNS from crossing), the rest looked for again as setup APs, to read why they failed.
 * LAN path: the same sequence to devices already on the network, with bounded concurrency.
 * The AP path, the LAN path and the rescue share one way to reach a device and push to it.
 *
 * Pause is a safe point: lanes stop taking devices, what is under way is pushed and verified, and
 * the run returns with the rest still queued. Abort (the signal) stops where it stands; the journal
 * holds every step either way, and the next run continues from it.
 */
import { AirliftError } from '../../shared/errors';
import { setupSubnet } from '../../shared/addressing';
import { DEFAULT_SSID_PREFIX, setupSsid } from '../../shared/identity';
import type { NetworkInput } from '../../shared/protocol/network-input';
import { isEnterprise } from '../../shared/protocol/wifi';
import { LAN_API_PORT, type WifiSetResult } from '../../shared/protocol/api';
import type { SecureSession } from '../../shared/session/client';
import { systemClock, type StationClock } from '../ports/clock';
import type { DeviceTransport } from '../ports/device-transport';
import type { DiscoveredService, ServiceBrowser } from '../ports/discovery';
import type { CurrentConnection, JoinRequest, JoinResult, WifiAdapter } from '../ports/wifi-adapter';
import { DeviceApi, asAirlift, retryAfterMsOf } from './device-api';
import { advance, isTerminal, resumeAction, type DeviceEvent, type DeviceState } from './device-machine';
import { TEXT_LIMITS, boundFacts, boundOutcome, clip, reportedFailure } from './device-text';
import type { JobJournal } from './journal';
import { claimsPush, probeAddresses, probeByUnicast, txtClaim } from './rediscovery';
import type { DeviceSecrets } from './secrets';
import type {
  DeviceOutcome,
  DeviceStep,
  FailureReason,
  JobDevice,
  JobEvent,
  JobSpec,
  JobSummary,
  TargetNetwork,
} from './types';

/** Where the runner writes each step and result before it moves on: the job's journal. */
export type JobRecord = Pick<JobJournal, 'step' | 'result'>;

export interface RunnerDeps {
  /** Lanes for the AP path and the way back to the target network (the first one returns). */
  adapters: WifiAdapter[];
  /** Started and stopped by the run; the station hands in a view of its long-lived browser. */
  browser: ServiceBrowser;
  /** How devices are reached; told after every join and restore (decision 0011). */
  transport: DeviceTransport;
  secrets: DeviceSecrets;
  journal?: JobRecord;
  onEvent?: (event: JobEvent) => void;
  clock?: StationClock;
  /** The SSID a device's setup AP was seen with (product lines differ); else `<prefix><id>`. */
  setupSsidOf?: (deviceId: string) => string | undefined;
  ssidPrefix?: string;
  /** Port of the API on the setup AP (80 on devices). */
  apPort?: number;
  /** Port of the API on the LAN, for a device probed by unicast (4780, `api.lanPort`). */
  lanPort?: number;
  /**
   * A device's setup AP address when it is not the one derived from its id (a device with
   * `compat.thingymcconfig.apAddress: "10.0.0.1"`, as the station's manifest or settings say).
   * Devices with the same such address are reached one adapter at a time.
   */
  setupAddressOf?: (deviceId: string) => string | undefined;
  /** Put each adapter back on the network it had before the job (default true). */
  restoreNetworks?: boolean;
  /** Stops the job where it stands (Ctrl-C, cancel): the journal already has every step. */
  signal?: AbortSignal;
  /** Asked before each device is taken: true stops at the next safe point (see the header). */
  shouldPause?: () => boolean;
}

/** The job was stopped; devices keep the step they reached and the next run continues from there. */
export class JobAborted extends Error {
  constructor() {
    super('job stopped');
  }
}

export interface RunInput {
  spec: JobSpec;
  /**
   * The target network's secret, in memory only: a passphrase or PSK, or an Enterprise target's
   * whole `eap` block (its identity and certificates are not in the spec either).
   */
  credentials: Pick<NetworkInput, 'passphrase' | 'psk' | 'eap'>;
  /** Outcomes replayed from the journal (resume) or left by an earlier run (retry). */
  previous?: ReadonlyMap<string, DeviceOutcome>;
}

export interface RunResult {
  summary: JobSummary;
  outcomes: DeviceOutcome[];
  /** It stopped at a safe point with devices still queued. */
  paused: boolean;
}

class DeviceFailure extends Error {
  constructor(
    readonly reason: FailureReason,
    readonly detail?: string,
  ) {
    super(detail ?? reason);
  }
}

/** The station's own failure for one device (its journal, a bug): never the device's fault. */
function stationFailure(what: string, err: unknown): DeviceFailure {
  const message = err instanceof Error ? err.message : String(err);
  return new DeviceFailure('station_error', clip(`${what}: ${message}`, TEXT_LIMITS.detail));
}

/** What to do on the device when it refuses handshakes after too many failed ones (protocol.md). */
const LOCKOUT_FIX = {
  LOCKED_OUT:
    'the device refuses every handshake after 100 failed ones (a wrong setup secret?). On the device run ' +
    '`airliftctl reset-lockout`, or use its reset button or reboot policy; then retry this group',
  SETUP_CLOSED:
    'the device closed its setup window after 20 failed handshakes (a wrong setup secret?). The window ' +
    'reopens when setup is opened again after the device was online, or at once with ' +
    '`airliftctl reset-lockout` on the device; then retry this group',
} as const;

/** Map an error met at a step to a failure reason (protocol reasons pass through). */
function reasonFor(step: DeviceStep, err: unknown): DeviceFailure {
  if (err instanceof JobAborted) throw err;
  if (err instanceof DeviceFailure) return err;
  const e = asAirlift(err);
  switch (e.code) {
    case 'UNREACHABLE':
    case 'TIMEOUT':
      return new DeviceFailure('unreachable', `${step}: ${e.message}`);
    case 'AUTH_FAILED':
      return new DeviceFailure(step === 'session' ? 'auth_failed_setup' : 'session_failed', e.message);
    case 'RATE_LIMITED': {
      const after = retryAfterMsOf(e);
      const wait = after === undefined ? 'later' : `in ${Math.ceil(after / 1000)} s`;
      return new DeviceFailure(
        'rate_limited',
        `the device limits handshakes after failed ones; retry this group ${wait} (the device said: ${e.message})`,
      );
    }
    case 'LOCKED_OUT':
    case 'SETUP_CLOSED':
      return new DeviceFailure(
        e.code === 'LOCKED_OUT' ? 'locked_out' : 'setup_closed',
        `${LOCKOUT_FIX[e.code]} (the device said: ${e.message})`,
      );
    case 'BUSY':
      return new DeviceFailure(
        'device_busy',
        `another handshake kept the device busy (a phone on its portal, another station?): ${e.message}`,
      );
    case 'DEVICE_MISMATCH':
      return new DeviceFailure('device_mismatch', e.message);
    default:
      return new DeviceFailure(step === 'pushing' ? 'rejected' : 'session_failed', `${e.code}: ${e.message}`);
  }
}

/** Where a pushed device was found again: advertised over mDNS, or answering a unicast probe. */
interface Sighting {
  ip: string | undefined;
  port: number;
  hostname?: string;
  /** How it was found, when not over mDNS: kept in the verified outcome. */
  detail?: string;
}

/** How a device is reached for its push: over its setup AP on a lane, or at its LAN address. */
type Route = { kind: 'ap'; lane: WifiAdapter } | { kind: 'lan'; service: DiscoveredService | undefined };

/** One holder at a time per key, the others waiting in order: a shared setup-AP address. */
class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>();

  async acquire(key: string): Promise<() => void> {
    const before = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = before.then(() => mine);
    this.tails.set(key, tail);
    await before;
    return () => {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
  }
}

export class JobRunner {
  private readonly states = new Map<string, DeviceState>();
  /** Setup-AP addresses several devices share: one lane at a time on them. */
  private readonly sharedAddresses = new KeyedLock();
  /** Sessions opened for the push, reused to confirm the device at its new address. */
  private readonly sessions = new Map<string, SecureSession>();
  /** Why the unicast probe did not find a device, for its not_rediscovered detail. */
  private readonly probeNotes = new Map<string, string>();
  /** Each lane's network before the job, where it verifies from when it cannot join the target. */
  private readonly originals = new Map<WifiAdapter, CurrentConnection | undefined>();
  private readonly devicesById: ReadonlyMap<string, JobDevice>;
  private readonly apiPort: number;
  private readonly nonce8: string;
  private readonly clock: StationClock;
  private paused = false;

  constructor(
    private readonly deps: RunnerDeps,
    private readonly input: RunInput,
  ) {
    this.apiPort = deps.apPort ?? 80;
    this.nonce8 = input.spec.nonce.slice(0, 8);
    this.clock = deps.clock ?? systemClock;
    this.devicesById = new Map(input.spec.devices.map((d) => [d.deviceId, d]));
  }

  get spec(): JobSpec {
    return this.input.spec;
  }

  async run(): Promise<RunResult> {
    const { spec } = this.input;
    for (const d of spec.devices) {
      const prev = this.input.previous?.get(d.deviceId);
      this.states.set(d.deviceId, {
        outcome: prev
          ? { ...prev }
          : {
              deviceId: d.deviceId,
              ...(d.name !== undefined ? { name: d.name } : {}),
              ...(d.group !== undefined ? { group: d.group } : {}),
              step: 'queued',
              timings: {},
              attempts: 1,
            },
      });
    }
    this.emit({ type: 'job-started', jobId: spec.id, total: spec.devices.length, path: spec.options.path });
    const lanes = this.lanes();
    await this.deps.browser.start();
    const originals = await Promise.all(lanes.map((l) => l.current().catch(() => undefined)));
    lanes.forEach((l, i) => this.originals.set(l, originals[i]));
    try {
      if (spec.options.path === 'ap') await this.runApPath(lanes);
      else await this.runLanPath(lanes);
    } finally {
      this.emit({ type: 'phase', jobId: spec.id, phase: 'restore' });
      if (this.deps.restoreNetworks !== false)
        await Promise.all(lanes.map((l, i) => this.restoreLane(l, originals[i])));
      await this.deps.browser.stop();
    }
    const outcomes = [...this.states.values()].map((s) => s.outcome);
    const summary = summarize(outcomes);
    this.emit({ type: 'phase', jobId: spec.id, phase: 'done' });
    this.emit({ type: 'job-finished', jobId: spec.id, summary });
    return { summary, outcomes, paused: this.paused && summary.pending > 0 };
  }

  private lanes(): WifiAdapter[] {
    const wanted = this.input.spec.options.adapters;
    const all = this.deps.adapters;
    const lanes =
      wanted.length > 0 ? all.filter((a) => wanted.includes(a.info.id) || wanted.includes(a.info.name)) : all;
    if (this.input.spec.options.path === 'ap' && lanes.length === 0) {
      throw new AirliftError('BACKEND_UNAVAILABLE', 'No Wi-Fi adapter to reach setup access points with');
    }
    return lanes;
  }

  /**
   * What this run does with each unfinished device: verify those that took our credentials before
   * (never push twice), start the others — over again where an earlier run left them mid-way.
   */
  private async plan(): Promise<{ verify: string[]; start: string[] }> {
    const verify: string[] = [];
    const start: string[] = [];
    for (const d of this.input.spec.devices) {
      const id = d.deviceId;
      const action = resumeAction(this.outcome(id).step);
      if (action === 'verify') verify.push(id);
      else if (action === 'start') start.push(id);
      else if (action === 'restart') {
        await this.isolated(id, () => this.apply(id, { type: 'restart' }));
        if (this.outcome(id).step === 'queued') start.push(id);
      }
    }
    return { verify, start };
  }

  /** Take the next device unless a pause was asked for. */
  private take(queue: string[]): string | undefined {
    if (this.deps.shouldPause?.() === true) {
      this.paused = true;
      return undefined;
    }
    return queue.shift();
  }

  // ---- AP path --------------------------------------------------------------------------------

  private async runApPath(lanes: WifiAdapter[]): Promise<void> {
    const { spec } = this.input;
    const plan = await this.plan();
    const chunks = chunk(plan.start, Math.max(1, spec.options.chunkSize));
    if (chunks.length === 0) chunks.push([]);
    for (const [i, ids] of chunks.entries()) {
      if (i > 0 && this.deps.shouldPause?.() === true) {
        this.paused = true;
        break;
      }
      this.emit({ type: 'phase', jobId: spec.id, phase: 'push', chunk: i });
      this.deps.secrets.precompute(ids);
      const queue = [...ids];
      await Promise.all(
        lanes.map(async (lane) => {
          for (let id = this.take(queue); id !== undefined; id = this.take(queue)) {
            this.deps.secrets.precompute(queue.slice(0, 2));
            const deviceId = id;
            await this.isolated(deviceId, () =>
              this.onSharedSubnet(lane, deviceId, () => this.pushVia({ kind: 'ap', lane }, deviceId)),
            );
          }
        }),
      );
      const toVerify = [...(i === 0 ? plan.verify : []), ...ids].filter((id) => this.pushed(id));
      if (toVerify.length > 0) {
        this.emit({ type: 'phase', jobId: spec.id, phase: 'return', chunk: i });
        const back = lanes[0];
        if (back) await this.returnToTarget(back);
        await this.verify(toVerify);
        const missing = await this.probeMissing(toVerify);
        if (missing.length > 0 && back) {
          this.emit({ type: 'phase', jobId: spec.id, phase: 'rescue', chunk: i });
          await this.rescue(back, missing);
        }
      }
      if (this.paused) break;
    }
  }

  // ---- LAN path ---------------------------------------------------------------------------------

  private async runLanPath(lanes: WifiAdapter[]): Promise<void> {
    const { spec } = this.input;
    const plan = await this.plan();
    this.emit({ type: 'phase', jobId: spec.id, phase: 'push' });
    this.deps.secrets.precompute(plan.start);
    const found = await this.discoverOnLan(plan.start, spec.options.verifyTimeoutMs);
    const queue = [...plan.start];
    const workers = Array.from(
      { length: Math.max(1, Math.min(spec.options.concurrency, queue.length)) },
      async () => {
        for (let id = this.take(queue); id !== undefined; id = this.take(queue)) {
          const deviceId = id;
          await this.isolated(deviceId, () =>
            this.pushVia({ kind: 'lan', service: found.get(deviceId) }, deviceId),
          );
        }
      },
    );
    await Promise.all(workers);
    const toVerify = [...plan.verify, ...plan.start].filter((id) => this.pushed(id));
    if (toVerify.length === 0) return;
    const back = lanes[0];
    if (back) await this.returnToTarget(back);
    await this.verify(toVerify);
    const missing = await this.probeMissing(toVerify);
    if (missing.length > 0 && back) await this.rescue(back, missing);
    for (const id of missing)
      if (!isTerminal(this.outcome(id).step))
        await this.isolated(id, () =>
          this.fail(id, this.withProbeNote(id, new DeviceFailure('not_rediscovered'))),
        );
  }

  /** Wait until every device is seen on the LAN, or the timeout. */
  private async discoverOnLan(ids: string[], timeoutMs: number): Promise<Map<string, DiscoveredService>> {
    const found = new Map<string, DiscoveredService>();
    const want = new Set(ids);
    const take = (svc: DiscoveredService) => {
      const claim = txtClaim(svc.txt);
      if (claim && want.has(claim.id)) found.set(claim.id, svc);
    };
    for (const s of this.deps.browser.services()) take(s);
    if (found.size >= want.size) return found;
    let unsubscribe: () => void = () => undefined;
    const all = new Promise<void>((resolve) => {
      unsubscribe = this.deps.browser.subscribe((e) => {
        if (e.type !== 'down') take(e.service);
        if (found.size >= want.size) resolve();
      });
      this.deps.browser.refresh();
    });
    await Promise.race([all, this.clock.sleep(timeoutMs)]);
    unsubscribe();
    return found;
  }

  // ---- one device: reach it, open a session, check the link, push ---------------------------------

  private async pushVia(route: Route, deviceId: string): Promise<void> {
    const lane = route.kind === 'ap' ? route.lane.info.id : undefined;
    try {
      let api: DeviceApi;
      if (route.kind === 'ap') {
        await this.apply(deviceId, { type: 'begin', route: 'ap' }, lane);
        const reached = await this.reachSetupAp(route.lane, deviceId);
        await this.apply(deviceId, { type: 'reached', ...reached.facts }, lane);
        api = reached.api;
      } else {
        const svc = route.service;
        const ip = svc?.addresses.find((a) => !a.includes(':'));
        if (!svc || ip === undefined) throw new DeviceFailure('unreachable', 'not found on the network');
        await this.apply(deviceId, { type: 'begin', route: 'lan', ip, hostname: svc.host });
        api = new DeviceApi(`http://${ip}:${svc.port}`, this.deps.transport.fetch);
      }
      const session = await api.session(deviceId, this.deps.secrets);
      await this.apply(deviceId, { type: 'opened' }, lane);
      const targetSignal = await this.linkCheck(api);
      await this.apply(
        deviceId,
        targetSignal === undefined ? { type: 'linkOk' } : { type: 'linkOk', targetSignal },
        lane,
      );
      const set = await this.pushCredentials(session, deviceId);
      this.sessions.set(deviceId, session);
      const ip = route.kind === 'ap' && set.apStaysUp ? await this.awaitOnAp(api, set.attemptId) : undefined;
      await this.apply(
        deviceId,
        { type: 'pushed', attemptId: set.attemptId, ...(ip !== undefined ? { ip } : {}) },
        lane,
      );
    } catch (err) {
      await this.fail(deviceId, reasonFor(this.outcome(deviceId).step, err));
    }
  }

  /** Join the device's setup AP on `lane` and reach its API there; an unreachable AP is a failure. */
  private async reachSetupAp(
    lane: WifiAdapter,
    deviceId: string,
  ): Promise<{ api: DeviceApi; facts: { bssid?: string; rssi?: number } }> {
    const ssid = this.setupSsidOf(deviceId);
    const address = this.setupAddress(deviceId);
    const joined = await this.joinLane(lane, {
      ssidHex: Buffer.from(ssid, 'utf8').toString('hex'),
      security: 'open',
      timeoutMs: this.input.spec.options.joinTimeoutMs,
      expectReachable: { host: address, port: this.apiPort },
    });
    if (!joined.ok)
      throw new DeviceFailure(
        'unreachable',
        `setup AP ${ssid}: ${joined.reason}${joined.detail ? ` (${clip(joined.detail, TEXT_LIMITS.quoted)})` : ''}`,
      );
    const api = new DeviceApi(
      `http://${address}${this.apiPort === 80 ? '' : `:${this.apiPort}`}`,
      this.deps.transport.fetch,
    );
    // Where the station met the device's setup AP, for the report.
    return {
      api,
      facts: {
        ...(joined.bssid !== undefined ? { bssid: joined.bssid } : {}),
        ...(joined.signal !== undefined ? { rssi: joined.signal } : {}),
      },
    };
  }

  /** Where the device's setup AP answers: the derived address, or the fixed one it shares. */
  private setupAddress(deviceId: string): string {
    return this.deps.setupAddressOf?.(deviceId) ?? setupSubnet(deviceId).address;
  }

  /**
   * Run `work` (which joins the device's setup AP on `lane`) alone among the devices sharing its
   * setup-AP address: the lane takes the address's lock first, and leaves the AP before releasing
   * it, so no two adapters are ever on two APs with one subnet. Derived addresses need no lock.
   */
  private async onSharedSubnet(
    lane: WifiAdapter,
    deviceId: string,
    work: () => Promise<void>,
  ): Promise<void> {
    const shared = this.deps.setupAddressOf?.(deviceId);
    if (shared === undefined) return work();
    const release = await this.sharedAddresses.acquire(shared);
    try {
      await work();
    } finally {
      await lane.leave().catch(() => undefined);
      this.deps.transport.networkChanged();
      release();
    }
  }

  private setupSsidOf(deviceId: string): string {
    return (
      this.deps.setupSsidOf?.(deviceId) ?? setupSsid(deviceId, this.deps.ssidPrefix ?? DEFAULT_SSID_PREFIX)
    );
  }

  /** The link quality the device sees for the target, checked before credentials go out. */
  private async linkCheck(api: DeviceApi): Promise<number | undefined> {
    const { target, options } = this.input.spec;
    if (target.hidden) return undefined;
    const strongest = async (fresh: boolean) => {
      const { networks } = await api.networks(fresh);
      const heard = networks.filter((n) => n.ssidHex === target.ssidHex).map((n) => n.signal);
      return heard.length > 0 ? Math.max(...heard) : undefined;
    };
    // The device's recent scan answers at once; before failing on it, ask for a fresh one (the
    // technician may just have moved the device or the access point).
    let best = await strongest(false);
    if (best === undefined || best < options.minSignal) best = await strongest(true);
    if (best === undefined)
      throw new DeviceFailure('target_not_seen', `the device does not hear ${target.ssid}`);
    if (best < options.minSignal) {
      throw new DeviceFailure(
        'weak_signal',
        `the device hears ${target.ssid} at ${best} dBm (minimum ${options.minSignal})`,
      );
    }
    return best;
  }

  private async pushCredentials(session: SecureSession, deviceId: string): Promise<WifiSetResult> {
    const { target, options, nonce } = this.input.spec;
    const { passphrase, psk, eap } = this.input.credentials;
    const ipv4 = this.staticIpv4Of(deviceId);
    return session.call('wifi.set', {
      networks: [
        {
          ssidHex: target.ssidHex,
          security: target.security,
          hidden: target.hidden,
          ...(passphrase !== undefined ? { passphrase } : {}),
          ...(psk !== undefined ? { psk } : {}),
          ...(eap !== undefined ? { eap } : {}),
          ...(ipv4 !== undefined ? { ipv4 } : {}),
        },
      ],
      mode: options.mode,
      nonce,
      commit: options.commit ?? 'confirm',
      failsafeSeconds: options.failsafeSeconds,
    });
  }

  /**
   * With AP+STA the device reports its result on the AP: wait for it there. Its success names the
   * LAN address it got, kept for a unicast probe should mDNS not bring it back.
   */
  private async awaitOnAp(api: DeviceApi, attemptId: string): Promise<string | undefined> {
    const deadline = this.clock.now() + this.input.spec.options.joinTimeoutMs + 15_000;
    while (this.clock.now() < deadline) {
      const a = (await api.status().catch(() => undefined))?.lastAttempt;
      if (a?.id === attemptId && a.result === 'failed') {
        const f = reportedFailure(a.reason, 'reported on the setup AP');
        throw new DeviceFailure(f.reason, f.detail);
      }
      if (a?.id === attemptId && a.result === 'ok') return probeAddresses([a.ip])[0];
      await this.clock.sleep(200);
    }
    return undefined;
  }

  /**
   * The lane goes where the pushed devices can be seen: the target network, or — for an Enterprise
   * target this adapter cannot join (decision 0012) — the network it had before the job, from
   * where mDNS and the unicast probe look for them.
   */
  private async returnToTarget(lane: WifiAdapter): Promise<void> {
    const current = await lane.current().catch(() => undefined);
    const { target, options } = this.input.spec;
    if (current?.ssidHex === target.ssidHex) return;
    if (isEnterprise(target.security) && lane.enterprise?.join !== true) {
      await this.restoreLane(lane, this.originals.get(lane));
      this.deps.browser.refresh();
      return;
    }
    const { passphrase, psk, eap } = this.input.credentials;
    const r = await this.joinLane(lane, {
      ssidHex: target.ssidHex,
      security: target.security,
      hidden: target.hidden,
      timeoutMs: options.joinTimeoutMs,
      ...(passphrase !== undefined ? { passphrase } : {}),
      ...(psk !== undefined ? { psk } : {}),
      ...(eap !== undefined ? { eap } : {}),
    });
    // Not back on the target: the devices cannot be seen there and are looked for as setup APs.
    if (r.ok) this.deps.browser.refresh();
  }

  /** The static IPv4 a device takes on the target: its own (a manifest column), or the network's. */
  private staticIpv4Of(deviceId: string): TargetNetwork['ipv4'] {
    return this.devicesById.get(deviceId)?.ipv4 ?? this.input.spec.target.ipv4;
  }

  // ---- verification -----------------------------------------------------------------------------

  /** Wait for pushed devices to reappear with our nonce, then confirm each over the LAN. */
  private async verify(ids: string[]): Promise<void> {
    const { spec } = this.input;
    this.emit({ type: 'phase', jobId: spec.id, phase: 'verify' });
    for (const id of ids) await this.isolated(id, () => this.apply(id, { type: 'await' }));
    const waiting = new Set(ids.filter((id) => this.outcome(id).step === 'awaiting'));
    const confirming: Promise<void>[] = [];
    const consider = (svc: DiscoveredService) => {
      const claim = txtClaim(svc.txt);
      if (!claim || !waiting.has(claim.id) || !claimsPush(claim, claim.id, this.nonce8)) return;
      const id = claim.id;
      // An AP+STA device advertises on its setup AP too, and a lane there heard it: that address
      // is no way to it from the target network. Heard there alone, it is not back yet.
      const setup = this.setupAddress(id);
      const ipv4 = svc.addresses.find((a) => !a.includes(':') && a !== setup);
      if (ipv4 === undefined && svc.addresses.includes(setup)) return;
      waiting.delete(id);
      const at = { ip: ipv4 ?? svc.addresses[0], port: svc.port, hostname: svc.host };
      confirming.push(this.isolated(id, () => this.confirm(id, at)));
    };
    let unsubscribe: () => void = () => undefined;
    const allSeen = new Promise<void>((resolve) => {
      unsubscribe = this.deps.browser.subscribe((e) => {
        if (e.type !== 'down') consider(e.service);
        if (waiting.size === 0) resolve();
      });
      for (const svc of this.deps.browser.services()) consider(svc);
      if (waiting.size === 0) resolve();
    });
    await Promise.race([allSeen, this.clock.sleep(spec.options.verifyTimeoutMs)]);
    unsubscribe();
    await Promise.all(confirming);
  }

  /**
   * Pushed devices still awaited after the verify window: probe each by unicast at the LAN
   * addresses the job knows for it, and confirm those whose answer claims the push there, as an
   * mDNS sighting would be. Returns the devices still missing; why the probe failed is kept for
   * their not_rediscovered detail.
   */
  private async probeMissing(ids: readonly string[]): Promise<string[]> {
    const missing = ids.filter((id) => this.outcome(id).step === 'awaiting');
    await Promise.all(missing.map((id) => this.isolated(id, () => this.probeOne(id))));
    return missing.filter((id) => !isTerminal(this.outcome(id).step));
  }

  private async probeOne(deviceId: string): Promise<void> {
    const addresses = probeAddresses(this.knownAddresses(deviceId));
    if (addresses.length === 0) return;
    const port = this.deps.lanPort ?? LAN_API_PORT;
    const probe = await probeByUnicast({
      deviceId,
      nonce8: this.nonce8,
      addresses,
      port,
      fetch: this.deps.transport.fetch,
    });
    if (!probe.ok) {
      const to = addresses.join(', ');
      this.probeNotes.set(
        deviceId,
        `not seen over mDNS, and the unicast probe to ${to} failed too (${probe.why})`,
      );
      return;
    }
    const seconds = Math.round(this.input.spec.options.verifyTimeoutMs / 1000);
    await this.confirm(deviceId, {
      ip: probe.address,
      port,
      hostname: probe.hostname,
      detail:
        `verified by unicast at ${probe.address}: it did not reappear over mDNS within ${seconds} s ` +
        '(does the network keep multicast from crossing between clients, as client isolation does?)',
    });
  }

  /**
   * Every LAN address the job knows for a device: the one it reported for its attempt on its setup
   * AP, or where the LAN path reached it (both in `ip` until it is verified), and the static
   * address it was given, where it will be even when mDNS does not cross.
   */
  private knownAddresses(deviceId: string): (string | undefined)[] {
    return [this.outcome(deviceId).ip, this.staticIpv4Of(deviceId)?.address];
  }

  /** A not_rediscovered failure with what the unicast probe met, when it probed this device. */
  private withProbeNote(deviceId: string, f: DeviceFailure): DeviceFailure {
    const note = this.probeNotes.get(deviceId);
    if (f.reason !== 'not_rediscovered' || note === undefined) return f;
    return new DeviceFailure('not_rediscovered', f.detail === undefined ? note : `${f.detail}; ${note}`);
  }

  /** Confirm a device where it was found: commit over the push's session, read its health. */
  private async confirm(deviceId: string, at: Sighting): Promise<void> {
    const { ip } = at;
    try {
      if (ip === undefined) throw new DeviceFailure('not_rediscovered', 'advertised without an address');
      const url = `http://${ip}:${at.port}`;
      const commit = { nonce: this.input.spec.nonce };
      // The push's session is still open on the device: move it to the new address. A device that
      // restarted (or dropped the session) gets a fresh handshake.
      let session = this.sessions.get(deviceId);
      let committed = false;
      if (session) {
        session.moveTo(url);
        committed = await session.call('device.commit', commit).then(
          () => true,
          () => false,
        );
      }
      if (!committed) {
        session = await new DeviceApi(url, this.deps.transport.fetch).session(deviceId, this.deps.secrets);
        await session.call('device.commit', commit).catch((err: unknown) => {
          throw new DeviceFailure('commit_failed', asAirlift(err).message);
        });
      }
      const detail = await session?.call('status.detail').catch(() => undefined);
      this.sessions.delete(deviceId);
      await this.apply(deviceId, {
        type: 'verified',
        ip,
        ...(at.hostname !== undefined ? { hostname: at.hostname } : {}),
        ...(at.detail !== undefined ? { detail: at.detail } : {}),
        ...(detail
          ? {
              apps: detail.status.apps.map((a) => ({
                name: a.name,
                state: a.appstate.state,
                code: a.appstate.code,
              })),
              checks: detail.checks.map((c) => ({ id: c.id, target: c.target, state: c.state })),
            }
          : {}),
      });
    } catch (err) {
      await this.fail(deviceId, reasonFor('awaiting', err));
    }
  }

  /** Devices that did not come back: find their setup AP again and read why. */
  private async rescue(lane: WifiAdapter, ids: string[]): Promise<void> {
    // A scan that fails (no Location consent on Windows, a busy radio) is reported with its own
    // message on every device it leaves unexplained: that text is the technician's fix-it.
    let scanError: string | undefined;
    const scan = await lane.scan().catch((err: unknown) => {
      scanError = asAirlift(err).message;
      return [];
    });
    for (const id of ids)
      await this.isolated(id, () =>
        this.rescueOne(lane, id, scan, scanError).catch((err: unknown) => {
          throw err instanceof DeviceFailure ? this.withProbeNote(id, err) : err;
        }),
      );
  }

  /** One device that did not come back: its setup AP, and the reason it recorded there. */
  private async rescueOne(
    lane: WifiAdapter,
    id: string,
    scan: readonly { ssid: string }[],
    scanError: string | undefined,
  ): Promise<void> {
    const ssid = this.setupSsidOf(id);
    if (!scan.some((s) => s.ssid === ssid)) {
      throw new DeviceFailure(
        'not_rediscovered',
        scanError === undefined
          ? 'neither on the target network nor in setup mode'
          : `not on the target network, and the scan for its setup AP failed: ${scanError}`,
      );
    }
    const reached = await this.reachSetupAp(lane, id).catch((err: unknown) => {
      const why = err instanceof DeviceFailure ? (err.detail ?? err.reason) : asAirlift(err).message;
      throw new DeviceFailure(
        'not_rediscovered',
        `back in setup mode but its AP could not be joined (${why})`,
      );
    });
    const a = (await reached.api.status().catch(() => undefined))?.lastAttempt;
    if (a && a.id === this.outcome(id).attemptId && a.result === 'failed') {
      const f = reportedFailure(a.reason, 'reported by the device after it reopened setup');
      throw new DeviceFailure(f.reason, f.detail);
    }
    throw new DeviceFailure('not_rediscovered', 'back in setup mode without a recorded reason');
  }

  // ---- bookkeeping ------------------------------------------------------------------------------

  private outcome(deviceId: string): DeviceOutcome {
    const s = this.states.get(deviceId);
    if (!s) throw new AirliftError('INTERNAL', `unknown device ${deviceId}`);
    return s.outcome;
  }

  private pushed(deviceId: string): boolean {
    return resumeAction(this.outcome(deviceId).step) === 'verify';
  }

  /**
   * Feed one event to the device's machine; journal what it says before anything acts on it, then
   * tell the listeners. A stop is honoured at every step but a result.
   */
  private async apply(deviceId: string, event: DeviceEvent, lane?: string): Promise<void> {
    const ends = event.type === 'verified' || event.type === 'failed';
    if (!ends && this.deps.signal?.aborted === true) throw new JobAborted();
    const before = this.states.get(deviceId);
    if (!before) throw new AirliftError('INTERNAL', `unknown device ${deviceId}`);
    if (ends && isTerminal(before.outcome.step)) return;
    const next = advance(before, event, this.clock.now(), this.clock.wall());
    const outcome = boundOutcome(next.state.outcome);
    this.states.set(deviceId, { ...next.state, outcome });
    const write = next.write;
    if (write?.kind === 'step') {
      try {
        await this.deps.journal?.step(deviceId, write.step, boundFacts(write.facts), lane);
      } catch (err) {
        // Going on unrecorded would let a resume push to this device again: stop here for it.
        throw stationFailure(`the job journal could not record step ${write.step}`, err);
      }
      this.emit({
        type: 'device-step',
        jobId: this.input.spec.id,
        deviceId,
        step: write.step,
        at: this.clock.epochMs(),
        ...(lane !== undefined ? { lane } : {}),
      });
      return;
    }
    if (write?.kind === 'result') {
      try {
        await this.deps.journal?.result({ ...outcome });
      } catch (err) {
        await this.recordUnrecorded(deviceId, err);
      }
      this.emit({ type: 'device-result', jobId: this.input.spec.id, outcome: { ...this.outcome(deviceId) } });
    }
  }

  private fail(deviceId: string, f: DeviceFailure): Promise<void> {
    return this.apply(deviceId, {
      type: 'failed',
      reason: f.reason,
      ...(f.detail !== undefined ? { detail: f.detail } : {}),
    });
  }

  /**
   * The journal refused a result: the device fails as station_error (the record does not hold what
   * happened), and the bare facts are tried once more, without anything the device said.
   */
  private async recordUnrecorded(deviceId: string, err: unknown): Promise<void> {
    const o = this.outcome(deviceId);
    const was = o.result === 'verified' ? 'verified' : `failed (${o.reason ?? 'unknown'})`;
    const f = stationFailure(`the job journal could not record the result; the device was ${was}`, err);
    const bare: DeviceOutcome = {
      deviceId: o.deviceId,
      ...(o.name === undefined ? {} : { name: o.name }),
      ...(o.group === undefined ? {} : { group: o.group }),
      step: 'failed',
      result: 'failed',
      reason: f.reason,
      detail: f.detail ?? f.reason,
      timings: o.timings,
      attempts: o.attempts,
      ...(o.startedAt === undefined ? {} : { startedAt: o.startedAt }),
      ...(o.endedAt === undefined ? {} : { endedAt: o.endedAt }),
    };
    this.states.set(deviceId, { outcome: bare });
    await this.deps.journal?.result(bare).catch(() => undefined);
  }

  /**
   * Run one device's work so that nothing it throws ends the job: the device fails with a station
   * reason and the others go on. Only a stop (JobAborted) passes.
   */
  private async isolated(deviceId: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (err) {
      if (err instanceof JobAborted) throw err;
      const f = err instanceof DeviceFailure ? err : stationFailure('the station failed', err);
      await this.fail(deviceId, f).catch(() => undefined);
    }
  }

  /** Join on a lane, then tell the transport: pooled connections belong to the network left. */
  private async joinLane(lane: WifiAdapter, req: JoinRequest): Promise<JoinResult> {
    try {
      return await lane.join(req);
    } finally {
      this.deps.transport.networkChanged();
    }
  }

  private async restoreLane(lane: WifiAdapter, previous: CurrentConnection | undefined): Promise<void> {
    try {
      await lane.restore(previous);
    } catch {
      // The technician's network could not be restored: nothing the job can do about it now.
    } finally {
      this.deps.transport.networkChanged();
    }
  }

  private emit(event: JobEvent): void {
    try {
      this.deps.onEvent?.(event);
    } catch {
      // a broken progress display must not break the job
    }
  }
}

function chunk<T>(xs: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

export function summarize(outcomes: DeviceOutcome[]): JobSummary {
  const byReason: Record<string, number> = {};
  let verified = 0;
  let failed = 0;
  for (const o of outcomes) {
    if (o.result === 'verified') verified++;
    else if (o.result === 'failed') {
      failed++;
      // A failure without a reason is the station's own bug (see report.ts).
      const r = o.reason ?? 'station_error';
      byReason[r] = (byReason[r] ?? 0) + 1;
    }
  }
  return { total: outcomes.length, verified, failed, pending: outcomes.length - verified - failed, byReason };
}
