/**
 * The desktop app, assembled from an injected Electron (boot.ts passes the real one; the tests a
 * recording fake). The station service runs here in the main process, exactly as the web host runs
 * it — one in-process StationService, its jobs, journal and adapter locks — and the renderer
 * reaches it only through the preload's IPC (ipc.ts).
 *
 * Why not a utilityProcess: the service is I/O-bound (Wi-Fi commands, HTTP to devices, mDNS) and
 * its one CPU-heavy step, PBKDF2, already runs on Node's thread pool; a second process would add a
 * second message hop and a second serialisation of every event, and a crash there would still
 * leave the journal to recover from, as it does here. What we give up: a long synchronous parse
 * (a 10 MB manifest) briefly delays IPC replies, never the renderer's own painting.
 *
 * Before `ready`: the sandbox for every renderer, the app:// scheme's privileges, the single-
 * instance lock. After: the window's session hardened, the app:// handler, the keychain, the
 * service, IPC, the window (hardened too), keep-awake, the quit guard and the updater.
 */
import { AirliftError } from '../../shared/errors';
import type { JobStatus, StationEventData } from '../../shared/station-api';
import type { SecretStore } from '../station/secret-store';
import { StationService, type StationEnvironment, type StationServiceOptions } from '../station/service';
import { appProtocolHandler } from './app-protocol';
import { APP_ENTRY_URL, APP_PARTITION, APP_SCHEME } from './channels';
import { desktopHandlers } from './desktop-api';
import type { ElectronApi, WebContentsLike, WindowLike } from './electron-api';
import { registerStationIpc } from './ipc';
import { KeepAwake, JOB_EVENTS } from './keep-awake';
import { KeychainSecretStore } from './keychain';
import { UPDATE_FEED_URL } from './packaging';
import { bundlePaths, stationPaths, type StationPaths } from './paths';
import { QuitGuard } from './quit';
import { APP_SCHEME_PRIVILEGES, hardenSession, hardenWebContents, windowOptions } from './security';
import { updateDecision, UpdateScheduler, type UpdaterLike } from './updates';

type Log = (level: 'info' | 'warn' | 'error', message: string) => void;

/** What the station runs on: this machine (main.ts) or the lab's virtual fleet (lab/desktop.ts). */
export interface StationSetup {
  env: StationEnvironment;
  /** A lab run keeps its state in a scratch directory. */
  paths?: Partial<StationPaths>;
  scanIntervalMs?: number;
  /** After the service started (the lab imports its manifest here). */
  afterStart?: (service: StationService) => Promise<void>;
  close(): Promise<void>;
}

export interface DesktopAppOptions {
  lab: boolean;
  /** Built after `ready`. */
  station: (ctx: { log: Log }) => Promise<StationSetup>;
  /** The directory of the main bundle (dist/desktop): the preload and the UI are found from it. */
  desktopDir: string;
  platform?: NodeJS.Platform;
  env?: NodeJS.ProcessEnv;
  /** Lab runs use their own userData (and so their own single-instance lock). */
  userData?: string;
  /** electron-updater's autoUpdater, created only when the policy allows updates at all. */
  updater?: () => UpdaterLike;
  /** For tests: the service (default: StationService). */
  createService?: (o: StationServiceOptions) => StationService;
  log?: Log;
}

export interface DesktopRuntime {
  service: StationService;
  secrets: SecretStore;
  window: () => WindowLike | undefined;
  quitGuard: QuitGuard;
  keepAwake: KeepAwake;
  updates?: UpdateScheduler;
}

export interface DesktopApp {
  /** Resolves when the app is up (undefined: another instance had the lock, or start failed). */
  ready: Promise<DesktopRuntime | undefined>;
}

const defaultLog: Log = (level, message) => process.stderr.write(`airlift ${level}: ${message}\n`);

export function runDesktopApp(e: ElectronApi, o: DesktopAppOptions): DesktopApp {
  const log = o.log ?? defaultLog;
  const platform = o.platform ?? process.platform;
  const env = o.env ?? process.env;
  const { app } = e;

  // ---- before ready ----------------------------------------------------------------------------
  if (o.userData !== undefined) app.setPath('userData', o.userData);
  app.enableSandbox();
  e.protocol.registerSchemesAsPrivileged([APP_SCHEME_PRIVILEGES]);
  if (!app.requestSingleInstanceLock()) {
    log('info', 'Airlift is already running; the running window was brought forward');
    app.quit();
    return { ready: Promise.resolve(undefined) };
  }

  let win: WindowLike | undefined;
  let runtime: DesktopRuntime | undefined;
  const ours = (): WebContentsLike | undefined => (win && !win.isDestroyed() ? win.webContents : undefined);
  const devTools = !app.isPackaged;

  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, (m) => log('warn', m)));
  app.on('second-instance', () => {
    if (!win || win.isDestroyed()) return;
    if (win.isMinimized()) win.restore();
    win.show();
    win.focus();
  });
  app.on('window-all-closed', () => app.quit());
  app.on('before-quit', (event) => {
    if (runtime && !runtime.quitGuard.request()) event.preventDefault();
  });

  // ---- after ready -----------------------------------------------------------------------------
  const start = async (): Promise<DesktopRuntime> => {
    const bundle = bundlePaths(o.desktopDir);
    const ses = e.session.fromPartition(APP_PARTITION);
    hardenSession(ses, { devTools, ours, log: (m) => log('warn', m) });
    ses.protocol.handle(
      APP_SCHEME,
      appProtocolHandler(bundle.rendererDir, (m) => log('warn', m)),
    );

    const setup = await o.station({ log });
    const paths = { ...stationPaths({ userData: app.getPath('userData'), env, platform }), ...setup.paths };
    const secrets = await KeychainSecretStore.open({
      safeStorage: e.safeStorage,
      platform,
      file: paths.secretsFile,
      log,
    });
    const serviceOptions: StationServiceOptions = {
      env: setup.env,
      dataDir: paths.dataDir,
      jobsDir: paths.jobsDir,
      locksDir: paths.locksDir,
      secrets,
      info: { version: app.getVersion(), host: 'electron', lab: o.lab },
      ...(setup.scanIntervalMs !== undefined ? { scanIntervalMs: setup.scanIntervalMs } : {}),
      log,
    };
    const service = (o.createService ?? ((x) => new StationService(x)))(serviceOptions);
    await service.start();
    await setup.afterStart?.(service);

    // The running job, as its events tell it; `service.busy` stays the truth for keep-awake.
    let job: { id: string; status: JobStatus } | undefined;
    const keepAwake = new KeepAwake(e.powerSaveBlocker);
    const unsubscribeJob = service.subscribe((name, data) => {
      if (name === 'job') {
        const j = (data as StationEventData<'job'>).job;
        job = j ? { id: j.id, status: j.status } : undefined;
      } else if (name === 'jobStatus') {
        const s = data as StationEventData<'jobStatus'>;
        job = { id: s.id, status: s.status };
      }
      if (JOB_EVENTS.includes(name)) keepAwake.sync(service.busy);
    });
    keepAwake.sync(service.busy);

    const disposeIpc = registerStationIpc({
      ipcMain: e.ipcMain,
      station: service,
      ours,
      desktop: desktopHandlers({ station: service, shell: e.shell, platform }),
      log,
    });

    const policyInput = () => ({
      packaged: app.isPackaged,
      lab: o.lab,
      busy: service.busy,
      feedUrl: UPDATE_FEED_URL,
      disabled: env['AIRLIFT_NO_UPDATES'] === '1',
    });
    let updates: UpdateScheduler | undefined;
    const allowed = updateDecision({ ...policyInput(), busy: false });
    if (allowed.go && o.updater) {
      updates = new UpdateScheduler({ updater: o.updater(), policy: policyInput, log });
      updates.start();
    } else {
      log('info', `updates off: ${allowed.go ? 'no updater' : allowed.why}`);
    }

    const quitGuard = new QuitGuard({
      dialog: e.dialog,
      busy: () => service.busy,
      job: () => job,
      pause: async (jobId) => {
        await service.call('pauseJob', { jobId });
      },
      settled: () => service.settled(),
      cleanup: async () => {
        updates?.stop();
        unsubscribeJob();
        disposeIpc();
        keepAwake.release();
        await service.stop().catch((err: unknown) => log('warn', `station stop failed: ${String(err)}`));
        await setup.close().catch((err: unknown) => log('warn', `environment close failed: ${String(err)}`));
      },
      quit: () => app.quit(),
      log,
    });

    const w = e.createWindow(windowOptions({ preload: bundle.preload, devTools }));
    win = w;
    hardenWebContents(w.webContents, (m) => log('warn', m));
    w.once('ready-to-show', () => w.show());
    w.on('close', (event) => {
      if (!quitGuard.request()) event.preventDefault();
    });
    w.on('closed', () => {
      if (win === w) win = undefined;
    });
    runtime = { service, secrets, window: () => win, quitGuard, keepAwake, ...(updates ? { updates } : {}) };
    await w
      .loadURL(APP_ENTRY_URL)
      .catch((err: unknown) => log('error', `the window did not load: ${String(err)}`));
    return runtime;
  };

  const ready = app
    .whenReady()
    .then(start)
    .catch((err: unknown) => {
      const message =
        err instanceof AirliftError
          ? err.message
          : err instanceof Error
            ? (err.stack ?? err.message)
            : String(err);
      log('error', `start failed: ${message}`);
      e.dialog.showErrorBox('Airlift could not start', message.slice(0, 2000));
      app.exit(1);
      return undefined;
    });
  return { ready };
}
