/**
 * Runs one job (ARCHITECTURE.md "Main flows"). Every device walks
 * queued → joining → session → linkCheck → pushing → pushed → awaiting → verified | failed(reason),
 * in isolation: one device failing never stops the others, and every device ends with a result.
 *
 * AP path: each Wi-Fi adapter is a lane that joins one device's setup AP at a time; per-device AP
 * subnets make lanes safe side by side. After a chunk, a lane returns to the target network and the
 * pushed devices must reappear there over mDNS with their id, `st` failsafe/online and the job's `pv`;
 * each is then confirmed (`device.commit`) and its health read (`status.detail`). Devices that do not
 * reappear are looked for again as setup APs, to read why they failed.
 * LAN path: the same session and RPCs to devices already on the network, with bounded concurrency.
 */
import { performance } from 'node:perf_hooks';
import { AirliftError } from '../../shared/errors';
import { setupSubnet } from '../../shared/addressing';
import { DEFAULT_SSID_PREFIX, setupSsid } from '../../shared/identity';
import { parseTxt } from '../../shared/protocol/mdns';
import type { NetworkInput } from '../../shared/protocol/network-input';
import { statusDetailSchema, wifiSetResultSchema, type WifiSetResult } from '../../shared/protocol/api';
import type { FetchLike, SecureSession } from '../../shared/session/client';
import { fixedTransport, type DeviceTransport } from '../ports/device-transport';
import type { DiscoveredService, ServiceBrowser } from '../ports/discovery';
import type { CurrentConnection, JoinRequest, JoinResult, WifiAdapter } from '../ports/wifi-adapter';
import { DeviceApi, asAirlift, parseDeviceReply, retryAfterMsOf } from './device-api';
import { TEXT_LIMITS, boundFacts, boundOutcome, clip, reportedFailure } from './device-text';
import type { DeviceSecrets } from './secrets';
import type { DeviceOutcome, DeviceStep, JobEvent, JobSpec, JobSummary, StepTimings } from './types';

export interface JobRecorder {
  step(deviceId: string, step: DeviceStep, facts: Partial<DeviceOutcome>): Promise<void>;
  result(outcome: DeviceOutcome): Promise<void>;
}

export interface RunnerDeps {
  /** Lanes for the AP path and the way back to the target network (the first one returns). */
  adapters: WifiAdapter[];
  browser: ServiceBrowser;
  /**
   * How devices are reached; told after every join and restore so no pooled connection outlives
   * its network (decision 0011). Give this, or `fetch`.
   */
  transport?: DeviceTransport;
  /** A transport with nothing pooled to drop, as a plain fetch (`transport` wins when both are given). */
  fetch?: FetchLike;
  secrets: DeviceSecrets;
  recorder?: JobRecorder;
  onEvent?: (event: JobEvent) => void;
  ssidPrefix?: string;
  /** Port of the API on the setup AP (80 on devices). */
  apPort?: number;
  /** Put each adapter back on the network it had before the job (default true). */
  restoreNetworks?: boolean;
  /** Stops the job where it stands (Ctrl-C, a crash in tests): the journal already has every step. */
  signal?: AbortSignal;
}

/** The job was stopped; devices keep the step they reached and `resume` continues from there. */
export class JobAborted extends Error {
  constructor() {
    super('job stopped');
  }
}

export interface RunInput {
  spec: JobSpec;
  /** The target network's secret, in memory only. */
  credentials: Pick<NetworkInput, 'passphrase' | 'psk'>;
  /** Outcomes replayed from the journal (resume) or left by an earlier run (retry). */
  previous?: ReadonlyMap<string, DeviceOutcome>;
}

class DeviceFailure extends Error {
  constructor(
    readonly reason: string,
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

const TERMINAL: readonly DeviceStep[] = ['verified', 'failed'];
const PUSHED: readonly DeviceStep[] = ['pushed', 'awaiting'];

/** Map an error from a step to a failure reason (protocol reasons pass through). */
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
        e.code.toLowerCase(),
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

export class JobRunner {
  private readonly outcomes = new Map<string, DeviceOutcome>();
  /** Sessions opened for the push, reused to confirm the device at its new address. */
  private readonly sessions = new Map<string, SecureSession>();
  private readonly apiPort: number;
  private readonly nonce8: string;
  private readonly transport: DeviceTransport;
  private originals: (CurrentConnection | undefined)[] = [];

  constructor(
    private readonly deps: RunnerDeps,
    private readonly input: RunInput,
  ) {
    this.apiPort = deps.apPort ?? 80;
    this.nonce8 = input.spec.nonce.slice(0, 8);
    const transport = deps.transport ?? (deps.fetch ? fixedTransport(deps.fetch) : undefined);
    if (!transport) throw new AirliftError('INTERNAL', 'The job runner needs a device transport');
    this.transport = transport;
  }

  get spec(): JobSpec {
    return this.input.spec;
  }

  async run(): Promise<{ summary: JobSummary; outcomes: DeviceOutcome[] }> {
    const { spec } = this.input;
    for (const d of spec.devices) {
      const prev = this.input.previous?.get(d.deviceId);
      this.outcomes.set(
        d.deviceId,
        prev ? { ...prev } : { deviceId: d.deviceId, ...pick(d), step: 'queued', timings: {}, attempts: 1 },
      );
    }
    this.emit({ type: 'job-started', jobId: spec.id, total: spec.devices.length, path: spec.options.path });
    await this.deps.browser.start();
    const lanes = this.lanes();
    this.originals = await Promise.all(lanes.map((l) => l.current().catch(() => undefined)));
    try {
      if (spec.options.path === 'ap') await this.runApPath(lanes);
      else await this.runLanPath(lanes);
    } finally {
      this.emit({ type: 'phase', jobId: spec.id, phase: 'restore' });
      if (this.deps.restoreNetworks !== false) {
        await Promise.all(lanes.map((l, i) => this.restoreLane(l, this.originals[i])));
      }
      await this.deps.browser.stop();
    }
    const summary = summarize([...this.outcomes.values()]);
    this.emit({ type: 'phase', jobId: spec.id, phase: 'done' });
    this.emit({ type: 'job-finished', jobId: spec.id, summary });
    return { summary, outcomes: [...this.outcomes.values()] };
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

  // ---- AP path --------------------------------------------------------------------------------

  private async runApPath(lanes: WifiAdapter[]): Promise<void> {
    const { spec } = this.input;
    const pending = this.pendingDevices();
    // Devices pushed before a crash are verified, never pushed again.
    const carried = pending.filter((id) => PUSHED.includes(this.get(id).step));
    const fresh = pending.filter((id) => !carried.includes(id));
    const chunks = chunk(fresh, Math.max(1, spec.options.chunkSize));
    if (chunks.length === 0) chunks.push([]);
    for (const [i, ids] of chunks.entries()) {
      this.emit({ type: 'phase', jobId: spec.id, phase: 'push', chunk: i });
      this.deps.secrets.precompute(ids);
      const queue = [...ids];
      await Promise.all(
        lanes.map(async (lane) => {
          for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
            const next = queue.slice(0, 2);
            this.deps.secrets.precompute(next);
            const deviceId = id;
            await this.isolated(deviceId, () => this.pushOverAp(lane, deviceId));
          }
        }),
      );
      const toVerify = [...(i === 0 ? carried : []), ...ids].filter((id) =>
        PUSHED.includes(this.get(id).step),
      );
      if (toVerify.length === 0) continue;
      this.emit({ type: 'phase', jobId: spec.id, phase: 'return', chunk: i });
      const back = lanes[0];
      if (back) await this.returnToTarget(back);
      await this.verify(toVerify);
      const missing = toVerify.filter((id) => !TERMINAL.includes(this.get(id).step));
      if (missing.length > 0 && back) {
        this.emit({ type: 'phase', jobId: spec.id, phase: 'rescue', chunk: i });
        await this.rescue(back, missing);
      }
    }
  }

  private async pushOverAp(lane: WifiAdapter, deviceId: string): Promise<void> {
    const o = this.get(deviceId);
    o.startedAt ??= new Date().toISOString();
    let step: DeviceStep = 'joining';
    try {
      await this.step(deviceId, 'joining', {}, lane.info.id);
      const subnet = setupSubnet(deviceId);
      const ssid = setupSsid(deviceId, this.deps.ssidPrefix ?? DEFAULT_SSID_PREFIX);
      const joined = await this.joinLane(lane, {
        ssidHex: Buffer.from(ssid, 'utf8').toString('hex'),
        security: 'open',
        timeoutMs: this.input.spec.options.joinTimeoutMs,
        expectReachable: { host: subnet.address, port: this.apiPort },
      });
      if (!joined.ok)
        throw new DeviceFailure(
          'unreachable',
          `setup AP ${ssid}: ${joined.reason}${joined.detail ? ` (${clip(joined.detail, TEXT_LIMITS.quoted)})` : ''}`,
        );
      // Where the station met the device's setup AP, for the report.
      if (joined.bssid !== undefined) o.bssid = joined.bssid;
      if (joined.signal !== undefined) o.rssi = joined.signal;
      const api = new DeviceApi(
        `http://${subnet.address}${this.apiPort === 80 ? '' : `:${this.apiPort}`}`,
        this.transport.fetch,
      );
      step = 'session';
      await this.step(deviceId, 'session', {}, lane.info.id);
      const session = await api.session(deviceId, this.deps.secrets);
      step = 'linkCheck';
      await this.step(deviceId, 'linkCheck', {}, lane.info.id);
      const targetSignal = await this.linkCheck(api);
      step = 'pushing';
      await this.step(deviceId, 'pushing', targetSignal === undefined ? {} : { targetSignal }, lane.info.id);
      const set = await this.pushCredentials(session.call.bind(session));
      this.sessions.set(deviceId, session);
      if (set.apStaysUp) await this.awaitOnAp(api, set.attemptId);
      await this.step(deviceId, 'pushed', { attemptId: set.attemptId }, lane.info.id);
    } catch (err) {
      await this.fail(deviceId, reasonFor(step, err));
    }
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

  private async pushCredentials(
    call: (method: string, params?: unknown) => Promise<unknown>,
  ): Promise<WifiSetResult> {
    const { target, options, nonce } = this.input.spec;
    const { passphrase, psk } = this.input.credentials;
    const result = await call('wifi.set', {
      networks: [
        {
          ssidHex: target.ssidHex,
          security: target.security,
          hidden: target.hidden,
          ...(passphrase !== undefined ? { passphrase } : {}),
          ...(psk !== undefined ? { psk } : {}),
        },
      ],
      mode: options.mode,
      nonce,
      commit: 'confirm',
      failsafeSeconds: options.failsafeSeconds,
    });
    return parseDeviceReply(wifiSetResultSchema, result, 'wifi.set result');
  }

  /** With AP+STA the device reports its result on the AP: wait for it there. */
  private async awaitOnAp(api: DeviceApi, attemptId: string): Promise<void> {
    const deadline = performance.now() + this.input.spec.options.joinTimeoutMs + 15_000;
    while (performance.now() < deadline) {
      const s = await api.status().catch(() => undefined);
      const a = s?.lastAttempt;
      if (a?.id === attemptId && a.result === 'failed') {
        const f = reportedFailure(a.reason, 'reported on the setup AP');
        throw new DeviceFailure(f.reason, f.detail);
      }
      if (a?.id === attemptId && a.result === 'ok') return;
      await sleep(200);
    }
  }

  private async returnToTarget(lane: WifiAdapter): Promise<void> {
    const current = await lane.current().catch(() => undefined);
    const { target, options } = this.input.spec;
    if (current?.ssidHex === target.ssidHex) return;
    const { passphrase, psk } = this.input.credentials;
    const r = await this.joinLane(lane, {
      ssidHex: target.ssidHex,
      security: target.security,
      hidden: target.hidden,
      timeoutMs: options.joinTimeoutMs,
      ...(passphrase !== undefined ? { passphrase } : {}),
      ...(psk !== undefined ? { psk } : {}),
    });
    if (!r.ok) {
      // The station cannot verify: devices stay unverified and are looked for as setup APs.
      this.emit({ type: 'phase', jobId: this.input.spec.id, phase: 'verify' });
      return;
    }
    this.deps.browser.refresh();
  }

  // ---- verification -----------------------------------------------------------------------------

  /** Wait for pushed devices to reappear with our nonce, then confirm each over the LAN. */
  private async verify(ids: string[]): Promise<void> {
    const { spec } = this.input;
    this.emit({ type: 'phase', jobId: spec.id, phase: 'verify' });
    for (const id of ids) await this.awaitStep(id);
    const waiting = new Set(ids.filter((id) => !TERMINAL.includes(this.get(id).step)));
    const confirming: Promise<void>[] = [];
    const consider = (svc: DiscoveredService) => {
      const txt = safeTxt(svc.txt);
      if (!txt || !waiting.has(txt.id)) return;
      if (txt.pv !== this.nonce8 || (txt.st !== 'failsafe' && txt.st !== 'online')) return;
      waiting.delete(txt.id);
      confirming.push(this.isolated(txt.id, () => this.confirm(txt.id, svc)));
    };
    const allSeen = new Promise<void>((resolve) => {
      const check = () => {
        if (waiting.size === 0) resolve();
      };
      const unsubscribe = this.deps.browser.subscribe((e) => {
        if (e.type !== 'down') consider(e.service);
        check();
        if (waiting.size === 0) unsubscribe();
      });
      for (const svc of this.deps.browser.services()) consider(svc);
      check();
    });
    await Promise.race([allSeen, sleep(spec.options.verifyTimeoutMs)]);
    await Promise.all(confirming);
  }

  /** Into `awaiting`; a journal that cannot record it fails this device only. */
  private async awaitStep(deviceId: string): Promise<void> {
    try {
      await this.step(deviceId, 'awaiting', {});
    } catch (err) {
      await this.fail(deviceId, reasonFor('awaiting', err));
    }
  }

  private async confirm(deviceId: string, svc: DiscoveredService): Promise<void> {
    const ip = svc.addresses.find((a) => !a.includes(':')) ?? svc.addresses[0];
    try {
      if (!ip) throw new DeviceFailure('not_rediscovered', 'advertised without an address');
      const url = `http://${ip}:${svc.port}`;
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
        session = await new DeviceApi(url, this.transport.fetch).session(deviceId, this.deps.secrets);
        await session.call('device.commit', commit).catch((err: unknown) => {
          throw new DeviceFailure('commit_failed', asAirlift(err).message);
        });
      }
      const detail = await session
        ?.call('status.detail')
        .then((r) => parseDeviceReply(statusDetailSchema, r, 'status.detail'))
        .catch(() => undefined);
      this.sessions.delete(deviceId);
      const o = this.get(deviceId);
      o.ip = ip;
      o.hostname = svc.host;
      if (detail) {
        o.apps = detail.status.apps.map((a) => ({
          name: a.name,
          state: a.appstate.state,
          code: a.appstate.code,
        }));
        o.checks = detail.checks.map((c) => ({ id: c.id, target: c.target, state: c.state }));
      }
      await this.finish(deviceId, 'verified');
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
    for (const id of ids) await this.isolated(id, () => this.rescueOne(lane, id, scan, scanError));
  }

  /** One device that did not come back: its setup AP, and the reason it recorded there. */
  private async rescueOne(
    lane: WifiAdapter,
    id: string,
    scan: readonly { ssid: string }[],
    scanError: string | undefined,
  ): Promise<void> {
    const ssid = setupSsid(id, this.deps.ssidPrefix ?? DEFAULT_SSID_PREFIX);
    if (!scan.some((s) => s.ssid === ssid)) {
      await this.fail(
        id,
        new DeviceFailure(
          'not_rediscovered',
          scanError === undefined
            ? 'neither on the target network nor in setup mode'
            : `not on the target network, and the scan for its setup AP failed: ${scanError}`,
        ),
      );
      return;
    }
    const subnet = setupSubnet(id);
    const joined = await this.joinLane(lane, {
      ssidHex: Buffer.from(ssid, 'utf8').toString('hex'),
      security: 'open',
      timeoutMs: this.input.spec.options.joinTimeoutMs,
      expectReachable: { host: subnet.address, port: this.apiPort },
    });
    if (!joined.ok) {
      await this.fail(
        id,
        new DeviceFailure(
          'not_rediscovered',
          `back in setup mode but its AP could not be joined (${joined.reason})`,
        ),
      );
      return;
    }
    const api = new DeviceApi(
      `http://${subnet.address}${this.apiPort === 80 ? '' : `:${this.apiPort}`}`,
      this.transport.fetch,
    );
    const status = await api.status().catch(() => undefined);
    const a = status?.lastAttempt;
    if (a && a.id === this.get(id).attemptId && a.result === 'failed') {
      const f = reportedFailure(a.reason, 'reported by the device after it reopened setup');
      await this.fail(id, new DeviceFailure(f.reason, f.detail));
    } else {
      await this.fail(
        id,
        new DeviceFailure('not_rediscovered', 'back in setup mode without a recorded reason'),
      );
    }
  }

  // ---- LAN path ---------------------------------------------------------------------------------

  private async runLanPath(lanes: WifiAdapter[]): Promise<void> {
    const { spec } = this.input;
    const pending = this.pendingDevices();
    const carried = pending.filter((id) => PUSHED.includes(this.get(id).step));
    const fresh = pending.filter((id) => !carried.includes(id));
    this.emit({ type: 'phase', jobId: spec.id, phase: 'push' });
    this.deps.secrets.precompute(fresh);
    const found = await this.discoverOnLan(fresh, spec.options.verifyTimeoutMs);
    const queue = [...fresh];
    const workers = Array.from(
      { length: Math.max(1, Math.min(spec.options.concurrency, queue.length)) },
      async () => {
        for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
          const deviceId = id;
          await this.isolated(deviceId, () => this.pushOverLan(deviceId, found.get(deviceId)));
        }
      },
    );
    await Promise.all(workers);
    const toVerify = [...carried, ...fresh].filter((id) => PUSHED.includes(this.get(id).step));
    if (toVerify.length === 0) return;
    const back = lanes[0];
    if (back) await this.returnToTarget(back);
    await this.verify(toVerify);
    const missing = toVerify.filter((id) => !TERMINAL.includes(this.get(id).step));
    if (missing.length > 0 && back) await this.rescue(back, missing);
    for (const id of missing)
      if (!TERMINAL.includes(this.get(id).step)) await this.fail(id, new DeviceFailure('not_rediscovered'));
  }

  /** Wait until every device is seen on the LAN, or the timeout. */
  private async discoverOnLan(ids: string[], timeoutMs: number): Promise<Map<string, DiscoveredService>> {
    const found = new Map<string, DiscoveredService>();
    const want = new Set(ids);
    const take = (svc: DiscoveredService) => {
      const txt = safeTxt(svc.txt);
      if (txt && want.has(txt.id)) found.set(txt.id, svc);
    };
    for (const s of this.deps.browser.services()) take(s);
    if (found.size < want.size) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, timeoutMs);
        const unsubscribe = this.deps.browser.subscribe((e) => {
          if (e.type !== 'down') take(e.service);
          if (found.size >= want.size) done();
        });
        function done() {
          clearTimeout(timer);
          unsubscribe();
          resolve();
        }
        this.deps.browser.refresh();
      });
    }
    return found;
  }

  private async pushOverLan(deviceId: string, svc: DiscoveredService | undefined): Promise<void> {
    const o = this.get(deviceId);
    o.startedAt ??= new Date().toISOString();
    let step: DeviceStep = 'session';
    try {
      const ip = svc?.addresses.find((a) => !a.includes(':'));
      if (!svc || !ip) throw new DeviceFailure('unreachable', 'not found on the network');
      Object.assign(o, boundFacts({ ip, hostname: svc.host }));
      const api = new DeviceApi(`http://${ip}:${svc.port}`, this.transport.fetch);
      await this.step(deviceId, 'session', {});
      const session = await api.session(deviceId, this.deps.secrets);
      step = 'linkCheck';
      await this.step(deviceId, 'linkCheck', {});
      const targetSignal = await this.linkCheck(api);
      step = 'pushing';
      await this.step(deviceId, 'pushing', targetSignal === undefined ? {} : { targetSignal });
      const set = await this.pushCredentials(session.call.bind(session));
      this.sessions.set(deviceId, session);
      await this.step(deviceId, 'pushed', { attemptId: set.attemptId });
    } catch (err) {
      await this.fail(deviceId, reasonFor(step, err));
    }
  }

  // ---- bookkeeping ------------------------------------------------------------------------------

  private pendingDevices(): string[] {
    return this.input.spec.devices
      .map((d) => d.deviceId)
      .filter((id) => !TERMINAL.includes(this.get(id).step));
  }

  private get(deviceId: string): DeviceOutcome {
    const o = this.outcomes.get(deviceId);
    if (!o) throw new AirliftError('INTERNAL', `unknown device ${deviceId}`);
    return o;
  }

  /** Enter a step: close the timing of the previous one, journal it, tell the listeners. */
  private async step(
    deviceId: string,
    step: DeviceStep,
    facts: Partial<DeviceOutcome>,
    lane?: string,
  ): Promise<void> {
    if (this.deps.signal?.aborted) throw new JobAborted();
    const o = this.get(deviceId);
    this.closeTiming(o);
    const bounded = boundFacts(facts);
    Object.assign(o, bounded, { step });
    this.stepStarted.set(deviceId, performance.now());
    try {
      await this.deps.recorder?.step(deviceId, step, bounded);
    } catch (err) {
      // Going on unrecorded would let a resume push to this device again: stop here for it.
      throw stationFailure(`the job journal could not record step ${step}`, err);
    }
    this.emit({
      type: 'device-step',
      jobId: this.input.spec.id,
      deviceId,
      step,
      at: Date.now(),
      ...(lane ? { lane } : {}),
    });
  }

  private readonly stepStarted = new Map<string, number>();

  private closeTiming(o: DeviceOutcome): void {
    const t0 = this.stepStarted.get(o.deviceId);
    if (t0 === undefined) return;
    const key = o.step as keyof StepTimings;
    if (o.step !== 'queued' && o.step !== 'verified' && o.step !== 'failed') {
      o.timings = { ...o.timings, [key]: Math.round((o.timings[key] ?? 0) + performance.now() - t0) };
    }
    this.stepStarted.delete(o.deviceId);
  }

  private async fail(deviceId: string, f: DeviceFailure): Promise<void> {
    const o = this.get(deviceId);
    o.reason = f.reason;
    if (f.detail !== undefined) o.detail = f.detail;
    await this.finish(deviceId, 'failed');
  }

  /** The definite result; never throws: a result the journal refuses fails the device as station_error. */
  private async finish(deviceId: string, result: 'verified' | 'failed'): Promise<void> {
    const o = this.get(deviceId);
    if (TERMINAL.includes(o.step)) return;
    this.closeTiming(o);
    o.step = result;
    o.result = result;
    if (result === 'verified') delete o.reason;
    o.endedAt = new Date().toISOString();
    Object.assign(o, boundOutcome(o));
    try {
      await this.deps.recorder?.result({ ...o });
    } catch (err) {
      await this.recordUnrecorded(o, err);
    }
    this.emit({ type: 'device-result', jobId: this.input.spec.id, outcome: { ...o } });
  }

  /**
   * The journal refused a result: the device fails as station_error (the record does not hold what
   * happened), and the bare facts are tried once more, without anything the device said.
   */
  private async recordUnrecorded(o: DeviceOutcome, err: unknown): Promise<void> {
    const was = o.result === 'verified' ? 'verified' : `failed (${o.reason ?? 'unknown'})`;
    const f = stationFailure(`the job journal could not record the result; the device was ${was}`, err);
    o.step = 'failed';
    o.result = 'failed';
    o.reason = f.reason;
    o.detail = f.detail ?? f.reason;
    const bare: DeviceOutcome = {
      deviceId: o.deviceId,
      ...(o.name === undefined ? {} : { name: o.name }),
      ...(o.group === undefined ? {} : { group: o.group }),
      step: 'failed',
      result: 'failed',
      reason: f.reason,
      detail: o.detail,
      timings: o.timings,
      attempts: o.attempts,
      ...(o.startedAt === undefined ? {} : { startedAt: o.startedAt }),
      ...(o.endedAt === undefined ? {} : { endedAt: o.endedAt }),
    };
    await this.deps.recorder?.result(bare).catch(() => undefined);
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
      await this.fail(
        deviceId,
        err instanceof DeviceFailure ? err : stationFailure('the station failed', err),
      );
    }
  }

  /** Join on a lane, then tell the transport: pooled connections belong to the network left. */
  private async joinLane(lane: WifiAdapter, req: JoinRequest): Promise<JoinResult> {
    try {
      return await lane.join(req);
    } finally {
      this.transport.networkChanged();
    }
  }

  private async restoreLane(lane: WifiAdapter, previous: CurrentConnection | undefined): Promise<void> {
    try {
      await lane.restore(previous);
    } catch {
      // The technician's network could not be restored: nothing the job can do about it now.
    } finally {
      this.transport.networkChanged();
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

function pick(d: { name?: string; group?: string }): { name?: string; group?: string } {
  return {
    ...(d.name !== undefined ? { name: d.name } : {}),
    ...(d.group !== undefined ? { group: d.group } : {}),
  };
}

function safeTxt(txt: Record<string, string>) {
  try {
    return parseTxt(txt);
  } catch {
    return undefined;
  }
}

function chunk<T>(xs: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export function summarize(outcomes: DeviceOutcome[]): JobSummary {
  const byReason: Record<string, number> = {};
  let verified = 0;
  let failed = 0;
  for (const o of outcomes) {
    if (o.result === 'verified') verified++;
    else if (o.result === 'failed') {
      failed++;
      const r = o.reason ?? 'unknown';
      byReason[r] = (byReason[r] ?? 0) + 1;
    }
  }
  return { total: outcomes.length, verified, failed, pending: outcomes.length - verified - failed, byReason };
}
