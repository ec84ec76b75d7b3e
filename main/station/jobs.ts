/**
 * Jobs in the station service: start, pause at a safe point, resume, cancel, and retry a failure
 * group — one job at a time in this station, each holding its adapters' locks (which the CLI honours
 * too). The job runs here, not in a page: front ends come and go and reattach to `live()`.
 *
 * The journal is the record: every step is on disk before the job moves on, so a station that
 * crashes resumes where it stood, and a pushed device is verified, never pushed again.
 */
import { AirliftError } from '../../shared/errors';
import type { NetworkInput } from '../../shared/protocol/network-input';
import type { JobStartOptions, LiveJob, StationSettings } from '../../shared/station-api';
import { jobStartOptionsSchema } from '../../shared/station-api';
import { AdapterLocks } from '../engine/adapter-lock';
import { JobAborted, JobRunner } from '../engine/job-runner';
import { newJobSpec } from '../engine/job-spec';
import { JobJournal, readJournal } from '../engine/journal';
import { requeueOutcomes } from '../engine/retry';
import { DeviceSecrets } from '../engine/secrets';
import type { DeviceOutcome, JobEvent, JobSpec } from '../engine/types';
import type { DeviceTransport } from '../ports/device-transport';
import type { ServiceBrowser } from '../ports/discovery';
import type { WifiAdapter, WifiAdapterProvider } from '../ports/wifi-adapter';
import { applyJobEvent, liveJobOf, newLiveJob, statusOf, type LiveJobState } from './live-job';
import type { ProfileStore } from './profiles';
import type { DeviceRegistry } from './registry';

export interface JobControllerDeps {
  adapters: WifiAdapterProvider;
  /** The station's long-lived browser; a job borrows it. */
  browser: ServiceBrowser;
  transport: DeviceTransport;
  jobsDir: string;
  locksDir: string;
  registry: DeviceRegistry;
  profiles: ProfileStore;
  settings: () => StationSettings;
  /** Port of the API on a setup AP (80 on devices). */
  apPort?: number;
  onEvent: (e: JobEvent) => void;
  /** The live job changed: counters (`status`), some devices, or all of it (`whole`). */
  onLive: (change: { status?: boolean; devices?: string[]; whole?: boolean }) => void;
  /** A run ended (finished, paused, cancelled, failed): history and rows need reading again. */
  onRunEnded: (jobId: string) => void;
}

interface ActiveRun {
  live: LiveJobState;
  journal: JobJournal;
  locks: AdapterLocks;
  abort: AbortController;
  pause: boolean;
  done: Promise<void>;
}

/** A browser the job may start and stop without stopping the station's discovery. */
function borrowed(browser: ServiceBrowser): ServiceBrowser {
  return {
    start: () => Promise.resolve(),
    stop: () => Promise.resolve(),
    subscribe: (l) => browser.subscribe(l),
    services: () => browser.services(),
    refresh: () => browser.refresh(),
  };
}

export class JobController {
  private run: ActiveRun | undefined;
  /** The run that ended last, shown until the next starts (a page that reattaches sees how it ended). */
  private last: LiveJobState | undefined;

  constructor(private readonly deps: JobControllerDeps) {}

  /** The running job, or the one that ended last. */
  live(): LiveJob | null {
    const s = this.run?.live ?? this.last;
    return s ? liveJobOf(s, this.endedAt(s)) : null;
  }

  liveStatus() {
    const s = this.run?.live ?? this.last;
    return s ? statusOf(s, this.endedAt(s)) : undefined;
  }

  liveDevices(ids: readonly string[]) {
    const s = this.run?.live ?? this.last;
    if (!s) return [];
    return ids.flatMap((id) => {
      const d = s.devices.get(id);
      return d ? [d] : [];
    });
  }

  /** A job runs now (the desktop app keeps the computer awake and asks before quitting). */
  running(): boolean {
    return this.run !== undefined;
  }

  private endedAt(s: LiveJobState): number {
    return s === this.last ? (s.endedAt ?? Date.now()) : Date.now();
  }

  isRunning(jobId: string): boolean {
    return this.run?.live.spec.id === jobId;
  }

  /** Adapters the running job holds. */
  held(): { jobId: string; adapters: readonly string[] } | undefined {
    const run = this.run;
    return run ? { jobId: run.live.spec.id, adapters: run.live.spec.options.adapters } : undefined;
  }

  /** Wait for the running job's run to end (tests, shutdown). */
  async settled(): Promise<void> {
    await this.run?.done;
  }

  async start(args: { deviceIds: string[]; profileId: string; options: JobStartOptions }): Promise<string> {
    this.refuseWhileRunning();
    const options = jobStartOptionsSchema.parse(args.options);
    const { profile, network } = await this.deps.profiles.target(args.profileId);
    if (network.ipv4 !== undefined && args.deviceIds.length > 1)
      throw new AirliftError(
        'INVALID_IPV4',
        `The profile gives every device the address ${network.ipv4.address}: provision one device with it`,
      );
    const secrets = this.secretsFor(args.deviceIds);
    const lanes = await this.lanes(options.adapters, options.path);
    const s = this.deps.settings();
    const spec = newJobSpec({
      target: network,
      profileId: profile.id,
      devices: args.deviceIds.map((id) => {
        const row = this.deps.registry.row(id);
        return {
          deviceId: id,
          ...(row?.name !== undefined ? { name: row.name } : {}),
          ...(row?.group !== undefined ? { group: row.group } : {}),
          ...(row?.site !== undefined ? { site: row.site } : {}),
        };
      }),
      options: {
        path: options.path,
        concurrency: s.concurrency,
        chunkSize: s.chunkSize,
        minSignal: s.minSignal,
        failsafeSeconds: s.failsafeSeconds,
        verifyTimeoutMs: s.verifyTimeoutSeconds * 1000,
        joinTimeoutMs: s.joinTimeoutSeconds * 1000,
        mode: options.mode,
        adapters: lanes.map((l) => l.info.id),
      },
    });
    const locks = await AdapterLocks.acquire(this.deps.locksDir, spec.options.adapters, spec.id);
    let journal: JobJournal;
    try {
      journal = await JobJournal.create(this.deps.jobsDir, spec);
    } catch (err) {
      await locks.release();
      throw err;
    }
    this.launch({
      spec,
      journal,
      locks,
      lanes,
      secrets,
      network,
      profile: { id: profile.id, name: profile.name },
    });
    return spec.id;
  }

  /** Finish the chunk under way, verify it, then stop; the job stays resumable. */
  pause(jobId: string): void {
    const run = this.current(jobId);
    if (run.live.status !== 'running') return;
    run.pause = true;
    run.live.status = 'pausing';
    this.deps.onLive({ status: true });
  }

  /** Stop now; every device without a result ends `cancelled`. */
  cancel(jobId: string): void {
    const run = this.current(jobId);
    if (run.live.status === 'cancelling') return;
    run.live.status = 'cancelling';
    run.abort.abort();
    this.deps.onLive({ status: true });
  }

  async resume(jobId: string, profileId?: string): Promise<string> {
    this.refuseWhileRunning();
    const replay = await readJournal(this.deps.jobsDir, jobId);
    const pending = [...replay.devices.values()].filter((o) => o.result === undefined);
    if (pending.length === 0) throw new AirliftError('BAD_REQUEST', `Job ${jobId} has nothing left to do`);
    return this.reopen(
      replay.spec,
      new Map(replay.devices),
      pending.map((o) => o.deviceId),
      profileId,
    );
  }

  /** Run these devices of the job again; the job's own unfinished devices run too. */
  async retry(jobId: string, deviceIds: readonly string[], profileId?: string): Promise<string> {
    this.refuseWhileRunning();
    const replay = await readJournal(this.deps.jobsDir, jobId);
    const strangers = deviceIds.filter((id) => !replay.devices.has(id));
    if (strangers.length > 0)
      throw new AirliftError('BAD_REQUEST', `Not in job ${jobId}: ${strangers.slice(0, 5).join(', ')}`);
    const previous = requeueOutcomes(replay.devices, deviceIds);
    const pending = [...previous.values()].filter((o) => o.result === undefined).map((o) => o.deviceId);
    return this.reopen(replay.spec, previous, pending, profileId, deviceIds);
  }

  private async reopen(
    spec: JobSpec,
    previous: Map<string, DeviceOutcome>,
    pending: string[],
    profileId: string | undefined,
    requeue?: readonly string[],
  ): Promise<string> {
    const recorded =
      spec.profileId !== undefined && this.deps.profiles.find(spec.profileId) ? spec.profileId : undefined;
    const stored = profileId ?? recorded ?? (await this.deps.profiles.matching(spec.target))?.id;
    if (stored === undefined) {
      throw new AirliftError(
        'INVALID_PASSPHRASE',
        `No profile holds the password of ${spec.target.ssid}: open its profile and enter it`,
      );
    }
    const { profile, network } = await this.deps.profiles.target(stored);
    if (network.ssidHex !== spec.target.ssidHex || network.security !== spec.target.security)
      throw new AirliftError('BAD_REQUEST', `Profile ${profile.name} is not for ${spec.target.ssid}`);
    const secrets = this.secretsFor(pending);
    const lanes = await this.lanes(spec.options.adapters, spec.options.path, true);
    const resumed: JobSpec = { ...spec, options: { ...spec.options, adapters: lanes.map((l) => l.info.id) } };
    const locks = await AdapterLocks.acquire(this.deps.locksDir, resumed.options.adapters, spec.id);
    let journal: JobJournal;
    try {
      journal = await JobJournal.open(this.deps.jobsDir, spec.id);
      if (requeue && requeue.length > 0) await journal.requeue(requeue);
    } catch (err) {
      await locks.release();
      throw err;
    }
    this.launch({
      spec: resumed,
      journal,
      locks,
      lanes,
      secrets,
      network,
      profile: { id: profile.id, name: profile.name },
      previous,
    });
    return spec.id;
  }

  private launch(a: {
    spec: JobSpec;
    journal: JobJournal;
    locks: AdapterLocks;
    lanes: WifiAdapter[];
    secrets: DeviceSecrets;
    network: NetworkInput;
    profile: { id: string; name: string };
    previous?: ReadonlyMap<string, DeviceOutcome>;
  }): void {
    const outcomes =
      a.previous ??
      new Map(
        a.spec.devices.map((d) => [
          d.deviceId,
          {
            deviceId: d.deviceId,
            ...(d.name !== undefined ? { name: d.name } : {}),
            ...(d.group !== undefined ? { group: d.group } : {}),
            step: 'queued' as const,
            timings: {},
            attempts: 1,
          },
        ]),
      );
    const live = newLiveJob({
      spec: a.spec,
      outcomes: outcomes.values(),
      lanes: a.lanes.map((l) => ({ id: l.info.id, name: l.info.name })),
      profile: a.profile,
      now: Date.now(),
    });
    const abort = new AbortController();
    const run: ActiveRun = {
      live,
      journal: a.journal,
      locks: a.locks,
      abort,
      pause: false,
      done: Promise.resolve(),
    };
    const runner = new JobRunner(
      {
        adapters: a.lanes,
        browser: borrowed(this.deps.browser),
        transport: this.deps.transport,
        secrets: a.secrets,
        journal: a.journal,
        signal: abort.signal,
        shouldPause: () => run.pause,
        ...(this.deps.apPort !== undefined ? { apPort: this.deps.apPort } : {}),
        setupSsidOf: (id) => this.deps.registry.setupSsidOf(id),
        setupAddressOf: (id) => this.deps.registry.setupAddressOf(id),
        onEvent: (e) => {
          this.deps.onEvent(e);
          const changed = applyJobEvent(live, e, Date.now());
          this.deps.onLive({ status: true, devices: changed });
        },
      },
      {
        spec: a.spec,
        credentials: {
          ...(a.network.passphrase !== undefined ? { passphrase: a.network.passphrase } : {}),
          ...(a.network.psk !== undefined ? { psk: a.network.psk } : {}),
          ...(a.network.eap !== undefined ? { eap: a.network.eap } : {}),
        },
        ...(a.previous ? { previous: a.previous } : {}),
      },
    );
    this.run = run;
    this.last = undefined;
    this.deps.onLive({ whole: true });
    run.done = this.execute(run, runner);
  }

  private async execute(run: ActiveRun, runner: JobRunner): Promise<void> {
    const { live, journal } = run;
    try {
      const { paused } = await runner.run();
      if (paused) live.status = 'paused';
      else {
        live.status = 'finished';
        await journal.end();
      }
    } catch (err) {
      if (!(err instanceof JobAborted)) live.problem = err instanceof Error ? err.message : String(err);
      await this.cancelRemaining(run);
      live.status = 'cancelled';
    } finally {
      await journal.close().catch(() => undefined);
      await run.locks.release();
      live.endedAt = Date.now();
      this.last = live;
      this.run = undefined;
      this.deps.onRunEnded(live.spec.id);
    }
  }

  /**
   * Devices not yet sent the network end `cancelled`, in the journal and on screen. Those that took
   * it stay `pushed`: they hold it on trial, and the next run of the job (a resume, or the retry of
   * the cancelled group) verifies them without pushing again; left alone, they revert after their
   * fail-safe. The job ends only when nothing is left to verify.
   */
  private async cancelRemaining(run: ActiveRun): Promise<void> {
    const at = new Date().toISOString();
    let holding = 0;
    for (const d of run.live.devices.values()) {
      if (d.step === 'verified' || d.step === 'failed') continue;
      if (d.step === 'pushed' || d.step === 'awaiting') {
        holding++;
        continue;
      }
      const outcome: DeviceOutcome = {
        deviceId: d.id,
        ...(d.name !== undefined ? { name: d.name } : {}),
        ...(d.group !== undefined ? { group: d.group } : {}),
        step: 'failed',
        result: 'failed',
        reason: 'cancelled',
        detail: `cancelled at ${d.step}`,
        timings: d.timings,
        endedAt: at,
        attempts: d.attempts,
      };
      await run.journal.result(outcome).catch(() => undefined);
      applyJobEvent(run.live, { type: 'device-result', jobId: run.live.spec.id, outcome }, Date.now());
    }
    if (holding === 0) await run.journal.end().catch(() => undefined);
  }

  private current(jobId: string): ActiveRun {
    const run = this.run;
    if (!run || run.live.spec.id !== jobId)
      throw new AirliftError('NOT_FOUND', `Job ${jobId} is not running`);
    return run;
  }

  private refuseWhileRunning(): void {
    if (this.run)
      throw new AirliftError('BUSY', `Job ${this.run.live.spec.id} is running; pause or cancel it first`);
  }

  private secretsFor(deviceIds: readonly string[]): DeviceSecrets {
    const secrets = new DeviceSecrets();
    const missing: string[] = [];
    for (const id of deviceIds) {
      const s = this.deps.registry.secretOf(id);
      if (s) secrets.set(id, s.secret, s.hint);
      else missing.push(id);
    }
    if (missing.length > 0) {
      throw new AirliftError(
        'INVALID_SECRET',
        `No setup secret for ${missing.length} device${missing.length === 1 ? '' : 's'} (${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', …' : ''}): import their manifest or scan their labels. The station never stores setup secrets.`,
        { deviceIds: missing.slice(0, 100) },
      );
    }
    return secrets;
  }

  /** The adapters a job uses: those asked for (all present ones when none), at least one for the AP path. */
  private async lanes(
    wanted: readonly string[],
    path: 'ap' | 'lan',
    lenient = false,
  ): Promise<WifiAdapter[]> {
    const all = await this.deps.adapters.list();
    const chosen = wanted.length === 0 ? all : all.filter((a) => wanted.includes(a.info.id));
    if (!lenient && chosen.length < wanted.length) {
      const missing = wanted.filter((w) => !all.some((a) => a.info.id === w));
      throw new AirliftError('BACKEND_UNAVAILABLE', `Wi-Fi adapter ${missing.join(', ')} is not present`);
    }
    const lanes = chosen.length > 0 ? chosen : lenient ? all : [];
    if (path === 'ap' && lanes.length === 0)
      throw new AirliftError('BACKEND_UNAVAILABLE', 'No Wi-Fi adapter to reach setup access points with');
    return lanes;
  }
}
