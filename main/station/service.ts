/**
 * The station service: one long-lived object that every front end drives — the web host over a
 * WebSocket, the desktop app over IPC. It owns the device registry, discovery, site profiles,
 * settings, jobs and their history, and answers the station API (shared/station-api.ts): every call
 * is parsed with its schema on the way in, every event goes out through `subscribe`.
 *
 * Secrets stay here. Setup secrets arrive in manifests and QR payloads and are kept in the registry;
 * site passwords go to the SecretStore; neither appears in a result or an event.
 */
import { join } from 'node:path';
import { AirliftError, toAirliftError } from '../../shared/errors';
import { parseManifest, type ManifestEntry } from '../../shared/manifest';
import { parseQrPayload } from '../../shared/qr';
import { ssidDisplay } from '../../shared/ssid';
import {
  DEFAULT_STATION_SETTINGS,
  stationEvents,
  stationMethods,
  type HeardNetwork,
  type Preflight,
  type StationEvent,
  type StationEventData,
  type StationMethod,
  type StationParsedParams,
  type StationResult,
  type StationSettings,
  type StationSnapshot,
} from '../../shared/station-api';
import { settingsFileSchema, STATION_STATE_VERSION } from '../../shared/station-state';
import { parseOrThrow } from '../../shared/validate';
import { readJournal } from '../engine/journal';
import { DeviceSecrets, saltHintOf } from '../engine/secrets';
import { buildReport, reportToCsv } from '../engine/report';
import type { JobEvent } from '../engine/types';
import type { DeviceTransport } from '../ports/device-transport';
import type { ServiceBrowser } from '../ports/discovery';
import type { WifiAdapterProvider } from '../ports/wifi-adapter';
import { DeviceLogs, logLineFor } from './device-log';
import { DiscoveryLoop } from './discovery-loop';
import { JobHistory } from './history';
import { JobController } from './jobs';
import { runPreflight } from './preflight';
import { ProfileStore } from './profiles';
import { DeviceRegistry, type SecretEntry } from './registry';
import type { SecretStore } from './secret-store';
import { StateFile } from './state-file';
import { lanApi, visitOverSetupAps } from './visits';

/** What the station runs on: this machine's adapters, mDNS and HTTP, or the lab's. */
export interface StationEnvironment {
  adapters: WifiAdapterProvider;
  browser: ServiceBrowser;
  transport: DeviceTransport;
  /** Port of a device's API on its setup AP (80 on real devices). */
  apPort?: number;
}

export interface StationServiceOptions {
  env: StationEnvironment;
  /** Profiles and settings live here; jobs in `jobsDir`, adapter locks in `<dataDir>/locks`. */
  dataDir: string;
  jobsDir: string;
  locksDir?: string;
  secrets: SecretStore;
  info: { version: string; host: 'web' | 'electron'; lab: boolean };
  /** How often free adapters scan for setup APs. */
  scanIntervalMs?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

type Listener = (name: StationEvent, data: unknown) => void;

/** How often the running job's changes go out at most (the UI batches per frame on its side). */
const LIVE_FLUSH_MS = 150;

export class StationService {
  private readonly listeners = new Set<Listener>();
  private readonly registry: DeviceRegistry;
  private readonly profiles: ProfileStore;
  private readonly history: JobHistory;
  private readonly jobs: JobController;
  private readonly discovery: DiscoveryLoop;
  private readonly logs = new DeviceLogs();
  private readonly settingsFile: StateFile<typeof settingsFileSchema>;
  private settings: StationSettings = DEFAULT_STATION_SETTINGS;
  private readonly locksDir: string;
  private liveDirty = { status: false, devices: new Set<string>(), whole: false };
  private liveTimer: NodeJS.Timeout | undefined;
  private started = false;
  private afterRunDone: Promise<void> = Promise.resolve();

  constructor(private readonly o: StationServiceOptions) {
    this.locksDir = o.locksDir ?? join(o.dataDir, 'locks');
    this.registry = new DeviceRegistry({
      onChange: (change) => this.emit('devices', change),
      context: () => ({ now: Date.now(), minSignal: this.settings.minSignal }),
    });
    this.profiles = new ProfileStore(join(o.dataDir, 'profiles.json'), o.secrets, () => {
      void this.profiles.list().then((profiles) => this.emit('profiles', { profiles }));
    });
    this.settingsFile = new StateFile(join(o.dataDir, 'settings.json'), settingsFileSchema);
    this.history = new JobHistory(o.jobsDir, (id) => this.jobs.isRunning(id));
    this.jobs = new JobController({
      adapters: o.env.adapters,
      browser: o.env.browser,
      transport: o.env.transport,
      jobsDir: o.jobsDir,
      locksDir: this.locksDir,
      registry: this.registry,
      profiles: this.profiles,
      settings: () => this.settings,
      ...(o.env.apPort !== undefined ? { apPort: o.env.apPort } : {}),
      onEvent: (e) => this.onJobEvent(e),
      onLive: (c) => this.markLive(c),
      onRunEnded: (jobId) => {
        this.afterRunDone = this.afterRun(jobId);
      },
    });
    this.discovery = new DiscoveryLoop({
      adapters: o.env.adapters,
      browser: o.env.browser,
      registry: this.registry,
      locksDir: this.locksDir,
      prefixes: () => this.settings.ssidPrefixes,
      heldByUs: () => this.jobs.held(),
      onAdapters: (adapters) => this.emit('adapters', { adapters }),
      onNotice: (level, text) => this.notice(level, text),
      ...(o.scanIntervalMs !== undefined ? { intervalMs: o.scanIntervalMs } : {}),
    });
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const settings = await this.settingsFile.read({
      v: STATION_STATE_VERSION,
      settings: DEFAULT_STATION_SETTINGS,
    });
    this.settings = settings.value.settings;
    if (settings.setAside)
      this.o.log?.('warn', `settings were unreadable and were set aside: ${settings.setAside}`);
    const profiles = await this.profiles.load();
    if (profiles) this.o.log?.('warn', `profiles were unreadable and were set aside: ${profiles}`);
    await this.history.load();
    this.registry.setHistory(this.history.byDevice());
    await this.discovery.start();
  }

  async stop(): Promise<void> {
    await this.discovery.stop();
    this.registry.close();
    if (this.liveTimer) clearTimeout(this.liveTimer);
  }

  /** Whether a job is running (the desktop app keeps the computer awake and asks before quitting). */
  get busy(): boolean {
    return this.jobs.running();
  }

  /** Wait for the running job's run to end, and the history to be read again after it. */
  async settled(): Promise<void> {
    await this.jobs.settled();
    await this.afterRunDone;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * One API call from a front end. Parses the params with the method's schema; every failure is an
   * AirliftError (code and message) — nothing else reaches the caller.
   */
  async call(method: string, params: unknown): Promise<unknown> {
    if (!Object.hasOwn(stationMethods, method))
      throw new AirliftError('UNKNOWN_METHOD', `No station method ${method.slice(0, 64)}`);
    const m = method as StationMethod;
    const parsed = parseOrThrow(stationMethods[m].params, params ?? {}, `${m} params`);
    try {
      return await this.dispatch(m, parsed);
    } catch (err) {
      const e = toAirliftError(err);
      if (e.code === 'INTERNAL')
        this.o.log?.('error', `${m} failed: ${err instanceof Error ? err.stack : String(err)}`);
      throw e;
    }
  }

  private dispatch(m: StationMethod, p: unknown): Promise<unknown> {
    const handlers: { [K in StationMethod]: (params: StationParsedParams<K>) => Promise<StationResult<K>> } =
      {
        getSnapshot: () => this.snapshot(),
        importManifest: (q) => Promise.resolve(this.importManifest(q.text)),
        addQr: (q) => Promise.resolve(this.addQr(q.payload)),
        forgetDevices: (q) => Promise.resolve({ removed: this.registry.forget(q.deviceIds) }),
        refreshDiscovery: async () => {
          await this.discovery.sweep();
          this.registry.flushNow();
          return { devices: this.registry.rows().length };
        },
        identifyDevice: async (q) => {
          await this.identify(q.deviceId, q.seconds);
          return {};
        },
        getDeviceLog: (q) => Promise.resolve({ lines: this.logs.lines(q.deviceId) }),
        saveProfile: (q) => this.profiles.save(q),
        deleteProfile: async (q) => {
          await this.profiles.delete(q.id);
          return {};
        },
        listHeardNetworks: (q) => Promise.resolve({ networks: this.heardNetworks(q.deviceIds) }),
        runPreflight: (q) => this.preflight(q),
        startJob: async (q) => ({ jobId: await this.jobs.start(q) }),
        pauseJob: (q) => {
          this.jobs.pause(q.jobId);
          return Promise.resolve({});
        },
        resumeJob: async (q) => ({ jobId: await this.jobs.resume(q.jobId, q.profileId) }),
        cancelJob: (q) => {
          this.jobs.cancel(q.jobId);
          return Promise.resolve({});
        },
        retryDevices: async (q) => ({ jobId: await this.jobs.retry(q.jobId, q.deviceIds, q.profileId) }),
        getReport: async (q) => ({ report: await this.report(q.jobId) }),
        exportReport: async (q) => {
          const report = await this.report(q.jobId);
          return q.format === 'csv'
            ? { fileName: `airlift-${q.jobId}.csv`, mimeType: 'text/csv', content: reportToCsv(report) }
            : {
                fileName: `airlift-${q.jobId}.json`,
                mimeType: 'application/json',
                content: `${JSON.stringify(report, null, 2)}\n`,
              };
        },
        listJobs: () => Promise.resolve({ jobs: this.history.entries() }),
        saveSettings: async (q) => {
          await this.settingsFile.write({ v: STATION_STATE_VERSION, settings: q.settings });
          this.settings = q.settings;
          this.registry.touchAll();
          this.emit('settings', this.settings);
          return this.settings;
        },
      };
    const handler = handlers[m] as (params: unknown) => Promise<unknown>;
    return handler(p);
  }

  // ---- reads ---------------------------------------------------------------------------------------

  private async snapshot(): Promise<StationSnapshot> {
    return {
      info: {
        version: this.o.info.version,
        host: this.o.info.host,
        lab: this.o.info.lab,
        keychain: this.o.secrets.keychain,
        jobsDir: this.o.jobsDir,
      },
      devices: this.registry.rows(),
      adapters: this.discovery.adapters(),
      profiles: await this.profiles.list(),
      settings: this.settings,
      job: this.jobs.live(),
      history: this.history.entries(),
    };
  }

  private async report(jobId: string) {
    // Every step is on disk before the job moves on, so a running job's journal is current too.
    const replay = await readJournal(this.o.jobsDir, jobId);
    return buildReport(
      replay.spec,
      replay.devices,
      replay.endedAt !== undefined ? { finishedAt: replay.endedAt } : {},
    );
  }

  /** SSIDs the given devices hear (from their own scans), with the station's own view beside. */
  private heardNetworks(deviceIds: readonly string[]): HeardNetwork[] {
    const rows = this.registry.rows();
    const chosen = deviceIds.length > 0 ? rows.filter((r) => deviceIds.includes(r.id)) : rows;
    const byHex = new Map<string, HeardNetwork>();
    for (const r of chosen) {
      for (const n of r.hears ?? []) {
        const h = byHex.get(n.ssidHex) ?? {
          ssid: n.ssid,
          ssidHex: n.ssidHex,
          security: '',
          devicesHearing: 0,
        };
        h.devicesHearing++;
        h.deviceSignal = Math.max(h.deviceSignal ?? -127, n.signal);
        byHex.set(n.ssidHex, h);
      }
    }
    for (const s of this.discovery.stationScan()) {
      if (this.settings.ssidPrefixes.some((p) => s.ssid.startsWith(p))) continue;
      const h = byHex.get(s.ssidHex) ?? {
        ssid: ssidDisplay(s.ssidHex),
        ssidHex: s.ssidHex,
        security: s.security,
        devicesHearing: 0,
      };
      h.security = h.security === '' ? s.security : h.security;
      h.stationSignal = Math.max(h.stationSignal ?? -127, s.signal);
      byHex.set(s.ssidHex, h);
    }
    return [...byHex.values()].sort(
      (a, b) =>
        b.devicesHearing - a.devicesHearing ||
        (b.deviceSignal ?? b.stationSignal ?? -127) - (a.deviceSignal ?? a.stationSignal ?? -127),
    );
  }

  // ---- devices -------------------------------------------------------------------------------------

  private importManifest(text: string): StationResult<'importManifest'> {
    let entries: ManifestEntry[];
    try {
      entries = parseManifest(text).entries;
    } catch (err) {
      const e = toAirliftError(err);
      const problems = (e.details?.['errors'] as { message?: string }[] | undefined) ?? [];
      const listed = problems
        .slice(0, 5)
        .map((p) => p.message)
        .filter(Boolean);
      throw new AirliftError(e.code, listed.length > 0 ? `${e.message}: ${listed.join('; ')}` : e.message);
    }
    let added = 0;
    let updated = 0;
    for (const entry of entries) {
      const r = this.registry.addLabel(
        {
          deviceId: entry.deviceId,
          ...(entry.name !== undefined ? { name: entry.name } : {}),
          ...(entry.group !== undefined ? { group: entry.group } : {}),
          ...(entry.site !== undefined ? { site: entry.site } : {}),
          ...(entry.setupAddress !== undefined ? { setupAddress: entry.setupAddress } : {}),
          secret: secretEntryOf(entry),
        },
        'manifest',
      );
      if (r.change === 'added') added++;
      else if (r.change === 'updated') updated++;
    }
    this.registry.flushNow();
    return { added, updated, total: entries.length, problems: [] };
  }

  private addQr(payload: string): StationResult<'addQr'> {
    const qr = parseQrPayload(payload);
    const r = this.registry.addLabel({ deviceId: qr.deviceId, secret: { secret: qr.setupSecret } }, 'qr');
    this.registry.flushNow();
    return { deviceId: qr.deviceId, added: r.change === 'added', replaced: r.replacedSecret };
  }

  private async identify(deviceId: string, seconds: number): Promise<void> {
    const row = this.registry.row(deviceId);
    const secret = this.registry.secretOf(deviceId);
    if (!row) throw new AirliftError('NOT_FOUND', `No device ${deviceId}`);
    if (!secret)
      throw new AirliftError(
        'INVALID_SECRET',
        `No setup secret for ${deviceId}: import its manifest or scan its label`,
      );
    const secrets = new DeviceSecrets();
    secrets.set(deviceId, secret.secret, secret.hint);
    const blink = async (api: NonNullable<ReturnType<typeof lanApi>>) => {
      const session = await api.session(deviceId, secrets);
      await session.call('device.identify', { seconds });
    };
    const visitor = this.visitor();
    const onLan = lanApi(visitor, row);
    if (onLan) return blink(onLan);
    if (!row.setupAp)
      throw new AirliftError(
        'UNREACHABLE',
        `${deviceId} is neither on this network nor in range in setup mode`,
      );
    const lane = await this.freeLane();
    const results = await visitOverSetupAps(visitor, lane, [{ row, setupSsid: row.setupAp.ssid }], blink);
    const r = results.get(deviceId);
    if (r instanceof Error) throw r;
  }

  private visitor() {
    return {
      transport: this.o.env.transport,
      apPort: this.o.env.apPort ?? 80,
      joinTimeoutMs: this.settings.joinTimeoutSeconds * 1000,
    };
  }

  /** An adapter no job holds, for a short visit. */
  private async freeLane() {
    if (this.jobs.held())
      throw new AirliftError('BUSY', 'A job is using the Wi-Fi adapters; try when it has finished');
    const free = (await this.o.env.adapters.list()).filter(
      (a) => !this.discovery.adapters().some((r) => r.id === a.info.id && r.busy),
    );
    const lane = free[0];
    if (!lane) throw new AirliftError('BACKEND_UNAVAILABLE', 'No free Wi-Fi adapter');
    return lane;
  }

  // ---- pre-flight ----------------------------------------------------------------------------------

  private async preflight(q: StationParsedParams<'runPreflight'>): Promise<Preflight> {
    return runPreflight({
      request: q,
      registry: this.registry,
      profiles: this.profiles,
      adapters: this.discovery.adapters(),
      settings: this.settings,
      visitor: this.visitor(),
      freeLane: () => this.freeLane(),
      onProgress: (done, total, deviceId) =>
        this.emit('preflightProgress', { done, total, ...(deviceId !== undefined ? { deviceId } : {}) }),
    });
  }

  // ---- jobs ----------------------------------------------------------------------------------------

  private onJobEvent(e: JobEvent): void {
    const entry = logLineFor(e, Date.now());
    if (entry) {
      this.logs.add(entry.deviceId, entry.line);
      this.emit('deviceLog', entry);
    }
  }

  private markLive(c: { status?: boolean; devices?: string[]; whole?: boolean }): void {
    if (c.whole) this.liveDirty.whole = true;
    if (c.status) this.liveDirty.status = true;
    for (const id of c.devices ?? []) this.liveDirty.devices.add(id);
    if (this.liveDirty.whole) {
      this.flushLive();
      return;
    }
    this.liveTimer ??= setTimeout(() => this.flushLive(), LIVE_FLUSH_MS);
  }

  private flushLive(): void {
    if (this.liveTimer) clearTimeout(this.liveTimer);
    this.liveTimer = undefined;
    const dirty = this.liveDirty;
    this.liveDirty = { status: false, devices: new Set(), whole: false };
    if (dirty.whole) {
      this.emit('job', { job: this.jobs.live() });
      return;
    }
    const status = this.jobs.liveStatus();
    if (!status) return;
    if (dirty.devices.size > 0)
      this.emit('jobDevices', { jobId: status.id, devices: this.jobs.liveDevices([...dirty.devices]) });
    if (dirty.status) this.emit('jobStatus', status);
  }

  private async afterRun(jobId: string): Promise<void> {
    this.flushLive();
    await this.history.refresh(jobId).catch(() => undefined);
    this.registry.setHistory(this.history.byDevice());
    this.emit('history', { jobs: this.history.entries() });
    this.emit('job', { job: this.jobs.live() });
    void this.discovery.sweep();
  }

  // ---- events --------------------------------------------------------------------------------------

  private notice(level: 'info' | 'warn' | 'error', text: string): void {
    this.emit('notice', { level, text: text.slice(0, 4096) });
  }

  private emit<E extends StationEvent>(name: E, data: StationEventData<E>): void {
    // Events are checked on the way out too: a row that breaks the contract is a bug to hear about.
    const checked = stationEvents[name].safeParse(data);
    if (!checked.success) {
      this.o.log?.(
        'error',
        `station event ${name} does not match its schema: ${checked.error.message.slice(0, 500)}`,
      );
      return;
    }
    for (const l of [...this.listeners]) {
      try {
        l(name, checked.data);
      } catch (err) {
        this.o.log?.('warn', `event listener failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}

function secretEntryOf(entry: ManifestEntry): SecretEntry {
  const hint = saltHintOf(entry);
  return hint ? { secret: entry.setupSecret, hint } : { secret: entry.setupSecret };
}
