/**
 * The whole desktop app over a recording fake Electron, with the real StationService: what happens
 * before `ready`, the single-instance lock, the window and its session, IPC end to end, the
 * keychain file — and, on the lab's virtual fleet, a real job through IPC that keeps the computer
 * awake and, asked to quit mid-run, pauses and leaves the job resumable.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatManifestCsv } from '../../../../shared/manifest';
import type { LiveJob, Profile, StationSnapshot } from '../../../../shared/station-api';
import { runDesktopApp, type DesktopAppOptions, type StationSetup } from '../../../../main/electron/app';
import { APP_ENTRY_URL, APP_PARTITION, IPC, type IpcReply } from '../../../../main/electron/channels';
import { MemorySecretStore } from '../../../../main/station/secret-store';
import { StationService } from '../../../../main/station/service';
import { LABNET, startFleet, type Fleet } from '../../../../lab/fleet';
import { fakeElectron, type FakeElectron, type FakeWindow } from './fake-electron';

let dir: string;
let fleet: Fleet | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlift-desktop-app-'));
  await mkdir(join(dir, 'desktop'));
  await mkdir(join(dir, 'renderer'));
  await writeFile(join(dir, 'renderer', 'index.html'), '<!doctype html><title>Airlift</title>');
});
afterEach(async () => {
  await fleet?.close();
  fleet = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** A station environment with no adapters and no devices. */
function emptySetup(): StationSetup & { closed: boolean } {
  const setup = {
    closed: false,
    env: {
      adapters: { list: () => Promise.resolve([]) },
      browser: {
        start: () => Promise.resolve(),
        stop: () => Promise.resolve(),
        subscribe: () => () => undefined,
        services: () => [],
        refresh: () => undefined,
      },
      transport: { fetch: () => Promise.reject(new Error('no network in this test')), networkChanged: () => undefined },
    },
    paths: { dataDir: join(dir, 'state'), jobsDir: join(dir, 'jobs'), locksDir: join(dir, 'locks') },
    close: () => {
      setup.closed = true;
      return Promise.resolve();
    },
  };
  return setup;
}

function start(e: FakeElectron, over: Partial<DesktopAppOptions> = {}) {
  const logs: string[] = [];
  const app = runDesktopApp(e, {
    lab: false,
    desktopDir: join(dir, 'desktop'),
    platform: 'linux',
    env: {},
    station: () => Promise.resolve(emptySetup()),
    log: (level, m) => logs.push(`${level}: ${m}`),
    ...over,
  });
  return { app, logs };
}

async function call(e: FakeElectron, win: FakeWindow, method: string, params: unknown = {}): Promise<unknown> {
  const reply = (await e.ipcMain.invoke(IPC.call, { sender: win.webContents, senderFrame: win.webContents.mainFrame }, method, JSON.stringify(params))) as IpcReply;
  if (!reply.ok) throw new Error(`${reply.error.code}: ${reply.error.message}`);
  return reply.result;
}

const until = async (pred: () => boolean, what: string, ms = 20_000) => {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('before ready', () => {
  it('enables the sandbox, registers app:// and takes the single-instance lock, all before ready', async () => {
    const e = fakeElectron({ userData: join(dir, 'user') });
    const { app } = start(e);
    expect(e.calls).toEqual(['app.enableSandbox', 'protocol.registerSchemesAsPrivileged', 'app.requestSingleInstanceLock']);
    expect(e.schemes.map((s) => s.scheme)).toEqual(['app']);
    e.app.ready();
    const rt = await app.ready;
    expect(rt).toBeDefined();
    expect(e.calls.indexOf('ready')).toBeGreaterThan(e.calls.indexOf('app.requestSingleInstanceLock'));
    await rt?.service.stop();
  });

  it('a second instance quits at once and never opens a window', async () => {
    const e = fakeElectron({ userData: join(dir, 'user') });
    e.app.gotLock = false;
    const { app } = start(e);
    e.app.ready();
    expect(await app.ready).toBeUndefined();
    expect(e.app.quits).toBe(1);
    expect(e.windows).toEqual([]);
  });

  it('a lab run uses its own userData (and so its own lock)', () => {
    const e = fakeElectron({ userData: join(dir, 'user') });
    start(e, { userData: join(dir, 'lab-user') });
    expect(e.calls[0]).toBe('app.setPath userData');
    expect(e.app.getPath('userData')).toBe(join(dir, 'lab-user'));
  });
});

describe('after ready', () => {
  it('opens one hardened window on app://airlift, served by the app:// handler', async () => {
    const e = fakeElectron({ userData: join(dir, 'user') });
    const { app } = start(e);
    e.app.ready();
    const rt = await app.ready;
    const win = e.windows[0];
    if (!win || !rt) throw new Error('no window');
    expect(e.windows).toHaveLength(1);
    expect(win.options.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, partition: APP_PARTITION });
    expect(win.options.webPreferences.preload).toBe(join(dir, 'desktop', 'preload.cjs'));
    expect(win.loaded).toEqual([APP_ENTRY_URL]);
    expect(win.webContents.windowOpenHandler?.({ url: 'https://evil.example/' })).toEqual({ action: 'deny' });
    win.emit('ready-to-show');
    expect(win.shown).toBe(1);

    const ses = e.sessions.get(APP_PARTITION);
    expect(ses?.request('https://example.com/')).toBe('cancel');
    const page = await ses?.protocols.get('app')?.(new Request(APP_ENTRY_URL));
    expect(page?.status).toBe(200);
    expect(await page?.text()).toContain('<title>Airlift</title>');
    // The session was hardened before the window existed.
    expect(e.calls.indexOf(`session.fromPartition ${APP_PARTITION}`)).toBeLessThan(e.calls.indexOf('createWindow'));
    await rt.service.stop();
  });

  it('a second launch brings the window forward', async () => {
    const e = fakeElectron({ userData: join(dir, 'user') });
    const { app } = start(e);
    e.app.ready();
    const rt = await app.ready;
    const win = e.windows[0];
    if (!win) throw new Error('no window');
    win.minimized = true;
    e.app.emit('second-instance');
    expect([win.restored, win.shown, win.focused]).toEqual([1, 1, 1]);
    await rt?.service.stop();
  });

  it('answers the station API over IPC as host electron, with the keychain state', async () => {
    const e = fakeElectron({ userData: join(dir, 'user'), backend: 'gnome_libsecret' });
    const { app } = start(e);
    e.app.ready();
    const rt = await app.ready;
    const win = e.windows[0];
    if (!win) throw new Error('no window');
    const snap = (await call(e, win, 'getSnapshot')) as StationSnapshot;
    expect(snap.info).toMatchObject({ host: 'electron', lab: false, version: '9.9.9-test', keychain: { available: true } });

    const profile = (await call(e, win, 'saveProfile', { name: 'Site', ssid: 'Site', security: 'wpa2-psk', password: 'site password 1', storage: 'keychain' })) as Profile;
    expect(profile.password).toEqual({ held: true, storage: 'keychain' });
    const sealed = await readFile(join(dir, 'user', 'site-passwords.json'), 'utf8');
    expect(sealed).toContain(profile.id);
    expect(sealed).not.toContain('site password 1');
    // Nothing the station sends back carries the password.
    expect(JSON.stringify(await call(e, win, 'getSnapshot'))).not.toContain('site password 1');
    await rt?.service.stop();
  });

  it('on basic_text the keychain option is unavailable with its reason; session passwords work', async () => {
    const e = fakeElectron({ userData: join(dir, 'user'), backend: 'basic_text' });
    const { app } = start(e);
    e.app.ready();
    const rt = await app.ready;
    const win = e.windows[0];
    if (!win) throw new Error('no window');
    const snap = (await call(e, win, 'getSnapshot')) as StationSnapshot;
    expect(snap.info.keychain.available).toBe(false);
    expect(snap.info.keychain.why).toMatch(/keyring/i);
    await expect(call(e, win, 'saveProfile', { name: 'Site', ssid: 'Site', security: 'wpa2-psk', password: 'pw12345678', storage: 'keychain' })).rejects.toThrow(/BACKEND_UNAVAILABLE/);
    const p = (await call(e, win, 'saveProfile', { name: 'Site', ssid: 'Site', security: 'wpa2-psk', password: 'pw12345678' })) as Profile;
    expect(p.password).toEqual({ held: true, storage: 'session' });
    await rt?.service.stop();
  });

  it('closing the window with nothing running stops the service and the environment, then quits', async () => {
    const e = fakeElectron({ userData: join(dir, 'user') });
    const setup = emptySetup();
    const { app } = start(e, { station: () => Promise.resolve(setup) });
    e.app.ready();
    await app.ready;
    e.windows[0]?.close();
    await until(() => e.calls.includes('quit allowed'), 'the quit');
    expect(setup.closed).toBe(true);
    expect(e.dialog.asked).toEqual([]);
    expect(e.ipcMain.handlers.size).toBe(0);
  });

  it('a start that fails says so in a dialog and exits, no crash', async () => {
    const e = fakeElectron({ userData: join(dir, 'user') });
    const { app } = start(e, { station: () => Promise.reject(new Error('no Wi-Fi stack')) });
    e.app.ready();
    expect(await app.ready).toBeUndefined();
    expect(e.dialog.errors[0]?.title).toBe('Airlift could not start');
    expect(e.app.exitCode).toBe(1);
  });

  it('updates are never started in lab mode or in a development build', async () => {
    let made = 0;
    const updater = () => {
      made++;
      throw new Error('must not be created');
    };
    for (const [lab, packaged] of [[true, true], [false, false]] as const) {
      const e = fakeElectron({ userData: join(dir, `user-${String(lab)}`) });
      e.app.isPackaged = packaged;
      const { app } = start(e, { lab, updater });
      e.app.ready();
      const rt = await app.ready;
      expect(rt?.updates).toBeUndefined();
      await rt?.service.stop();
    }
    expect(made).toBe(0);
  });
});

describe('a job on the virtual fleet, through IPC', () => {
  it('keeps the computer awake while it runs; quitting mid-run asks, pauses, and leaves it resumable', async () => {
    fleet = await startFleet({ devices: 4, adapters: 1, timeScale: 0.02 });
    const f = fleet;
    const paths = { dataDir: join(dir, 'state'), jobsDir: join(dir, 'jobs'), locksDir: join(dir, 'locks') };
    const e = fakeElectron({ userData: join(dir, 'user') });
    const { app } = start(e, {
      lab: true,
      station: () =>
        Promise.resolve({
          env: { adapters: f.provider, browser: f.browser(), transport: f.transport },
          paths,
          scanIntervalMs: 300,
          close: () => Promise.resolve(),
        }),
    });
    e.app.ready();
    const rt = await app.ready;
    const win = e.windows[0];
    if (!win || !rt) throw new Error('no window');

    const manifest = formatManifestCsv(f.manifest.map((m) => ({ ...m, extra: { salt: m.salt, iter: String(m.iter) } })));
    await call(e, win, 'importManifest', { fileName: 'lab.csv', text: manifest });
    const snap = (await call(e, win, 'getSnapshot')) as StationSnapshot;
    await call(e, win, 'saveSettings', { settings: { ...snap.settings, chunkSize: 1, verifyTimeoutSeconds: 5 } });
    const profile = (await call(e, win, 'saveProfile', { name: 'LabNet', ssid: LABNET.ssid, security: 'wpa2-psk', password: LABNET.passphrase, storage: 'keychain' })) as Profile;

    // Ask to quit as soon as the first device is under way; answer "Pause and quit".
    let asked = false;
    rt.service.subscribe((name, data) => {
      if (!asked && name === 'jobStatus' && (data as LiveJob).counts.active > 0) {
        asked = true;
        e.dialog.answers.push(0);
        win.close();
      }
    });
    const ids = snap.devices.map((d) => d.id);
    const { jobId } = (await call(e, win, 'startJob', { deviceIds: ids, profileId: profile.id, options: { path: 'ap' } })) as { jobId: string };
    expect(e.powerSaveBlocker.log[0]).toBe('start prevent-app-suspension');
    expect(e.powerSaveBlocker.active.size).toBe(1);
    // Events reached the window, and only as data.
    await until(() => win.webContents.sent.some((s) => s.args[0] === 'jobStatus'), 'a jobStatus event');

    await until(() => e.calls.includes('quit allowed'), 'the quit', 60_000);
    expect(e.dialog.asked[0]?.buttons).toEqual(['Pause and quit', 'Keep running', 'Quit now']);
    expect(e.powerSaveBlocker.active.size).toBe(0);

    // The journal leaves it resumable: a station started afresh on the same files says so.
    const again = new StationService({
      env: { adapters: f.provider, browser: f.browser(), transport: f.transport },
      ...paths,
      secrets: new MemorySecretStore(),
      info: { version: 't', host: 'web', lab: true },
    });
    await again.start();
    const { jobs } = (await again.call('listJobs', {})) as { jobs: { id: string; ended: boolean; resumable: boolean; counts: { pending: number } }[] };
    const entry = jobs.find((j) => j.id === jobId);
    expect(entry).toMatchObject({ ended: false, resumable: true });
    expect(entry?.counts.pending).toBeGreaterThan(0);
    await again.stop();
  }, 90_000);
});
