/**
 * The preload as it ships: bundled by scripts/build-desktop.mjs exactly as `npm run build:desktop`
 * does, then run in a vm with a fake `require` that has only a fake `electron` (contextBridge and
 * ipcRenderer) — the way Electron's sandbox runs it. Its ipcRenderer is wired to the real main-
 * process handlers (ipc.ts) over a fake ipcMain, so a call goes page → preload → IPC → handler.
 */
import { pathToFileURL } from 'node:url';
import { runInNewContext } from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import { AirliftError } from '../../../../shared/errors';
import { STATION_EVENTS, STATION_METHODS } from '../../../../shared/station-api';
import { createPreloadStation, isAirliftPreload, StationCallError, type AirliftPreload } from '../../../../renderer/src/bridge-core';
import { DESKTOP_METHODS, IPC, PRELOAD_EVENTS, PRELOAD_METHODS } from '../../../../main/electron/channels';
import { registerStationIpc, type StationLike } from '../../../../main/electron/ipc';
import { FakeIpcMain, FakeWebContents } from './fake-electron';

let bundle: string;

beforeAll(async () => {
  const script = pathToFileURL(new URL('../../../../scripts/build-desktop.mjs', import.meta.url).pathname).href;
  const mod = (await import(script)) as { buildPreload(o: { write: boolean }): Promise<string> };
  bundle = await mod.buildPreload({ write: false });
}, 60_000);

type IpcListener = (event: unknown, ...args: unknown[]) => void;

/** Run the bundle as Electron's sandbox would; returns what it exposed and the fakes. */
function runPreload(station: StationLike & { emit?: (n: string, d: unknown) => void }) {
  const ipcMain = new FakeIpcMain();
  const wc = new FakeWebContents();
  const exposed: { name: string; api: unknown }[] = [];
  const listeners = new Map<string, IpcListener[]>();
  const required: string[] = [];
  const ipcRenderer = {
    invoke: (channel: string, ...args: unknown[]) =>
      // Structured clone, as Electron's IPC does: nothing but data crosses.
      ipcMain.invoke(channel, { sender: wc, senderFrame: wc.mainFrame }, ...structuredClone(args)).then((r) => structuredClone(r)),
    on: (channel: string, l: IpcListener) => listeners.set(channel, [...(listeners.get(channel) ?? []), l]),
    removeListener: (channel: string, l: IpcListener) => listeners.set(channel, (listeners.get(channel) ?? []).filter((x) => x !== l)),
  };
  const electron = {
    contextBridge: { exposeInMainWorld: (name: string, api: unknown) => exposed.push({ name, api }) },
    ipcRenderer,
  };
  const fakeRequire = (id: string) => {
    required.push(id);
    if (id === 'electron') return electron;
    throw new Error(`module not found in the sandbox: ${id}`);
  };
  const module = { exports: {} };
  registerStationIpc({
    ipcMain,
    station,
    ours: () => wc,
    desktop: {
      openDevicePage: () => Promise.resolve({}),
      openLocationSettings: () => Promise.reject(new AirliftError('BACKEND_UNAVAILABLE', 'No Location page here')),
    },
  });
  runInNewContext(bundle, { require: fakeRequire, module, exports: module.exports, console });
  /** The main process sends an event to the window. */
  const send = (name: string, data: unknown) => {
    const fakeEvent = { sender: ipcRenderer, senderId: 0, ports: [] };
    for (const l of listeners.get(IPC.event) ?? []) l(fakeEvent, name, structuredClone(data));
  };
  return { exposed, required, listeners, send };
}

class EchoStation implements StationLike {
  readonly calls: { method: string; params: unknown }[] = [];
  call(method: string, params: unknown): Promise<unknown> {
    this.calls.push({ method, params });
    if (method === 'addQr') return Promise.reject(new AirliftError('INVALID_QR', 'Not an Airlift label'));
    return Promise.resolve({ method });
  }
  subscribe(): () => void {
    return () => undefined;
  }
}

describe('the preload bundle', () => {
  it('requires electron and nothing else, and exposes one object as window.airlift', () => {
    const p = runPreload(new EchoStation());
    expect([...new Set(p.required)]).toEqual(['electron']);
    expect(p.exposed.map((e) => e.name)).toEqual(['airlift']);
  });

  it('exposes exactly the station methods, the desktop extras and subscribe — all functions', () => {
    const { api } = runPreload(new EchoStation()).exposed[0] ?? {};
    const keys = Object.keys(api as object).sort();
    expect(keys).toEqual([...STATION_METHODS, ...DESKTOP_METHODS, 'subscribe'].sort());
    for (const k of keys) expect(typeof (api as Record<string, unknown>)[k]).toBe('function');
    expect(keys).not.toContain('invoke');
    expect(keys).not.toContain('ipcRenderer');
    expect(keys).not.toContain('openExternal');
  });

  it('lists the contract exactly (method and event names)', () => {
    expect([...PRELOAD_METHODS].sort()).toEqual([...STATION_METHODS].sort());
    expect([...PRELOAD_EVENTS].sort()).toEqual([...STATION_EVENTS].sort());
  });

  it('calls go through IPC as JSON and come back as results', async () => {
    const station = new EchoStation();
    const api = runPreload(station).exposed[0]?.api as Record<string, (p?: unknown) => Promise<unknown>>;
    await expect(api['getSnapshot']?.({})).resolves.toEqual({ method: 'getSnapshot' });
    await expect(api['forgetDevices']?.({ deviceIds: ['K7Q2M6XA'] })).resolves.toEqual({ method: 'forgetDevices' });
    expect(station.calls).toEqual([
      { method: 'getSnapshot', params: {} },
      { method: 'forgetDevices', params: { deviceIds: ['K7Q2M6XA'] } },
    ]);
  });

  it('a failure rejects with a plain { code, message } (what contextBridge keeps)', async () => {
    const api = runPreload(new EchoStation()).exposed[0]?.api as Record<string, (p?: unknown) => Promise<unknown>>;
    const err: unknown = await api['addQr']?.({ payload: 'nope' }).catch((e: unknown) => e);
    expect(err).toEqual({ code: 'INVALID_QR', message: 'Not an Airlift label' });
    expect(err instanceof Error).toBe(false);
    const invalid: unknown = await api['identifyDevice']?.({ deviceId: 'bad' }).catch((e: unknown) => e);
    expect(invalid).toMatchObject({ code: 'BAD_REQUEST' });
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    await expect(api['getSnapshot']?.(cyclic)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(api['getSnapshot']?.({ n: 1n })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(api['openLocationSettings']?.({ adapterId: 'wlan0' })).rejects.toEqual({ code: 'BACKEND_UNAVAILABLE', message: 'No Location page here' });
  });

  it('event callbacks receive the data only, never the IPC event', () => {
    const p = runPreload(new EchoStation());
    const api = p.exposed[0]?.api as { subscribe(e: string, cb: (...a: unknown[]) => void): () => void };
    const got: unknown[][] = [];
    const off = api.subscribe('notice', (...args) => got.push(args));
    p.send('notice', { level: 'info', text: 'hi' });
    p.send('devices', { upsert: [], remove: [] });
    expect(got).toEqual([[{ level: 'info', text: 'hi' }]]);
    off();
    p.send('notice', { level: 'info', text: 'after' });
    expect(got).toHaveLength(1);
    // The last unsubscribe detaches the one IPC listener; unsubscribing again is harmless.
    expect(p.listeners.get(IPC.event)).toEqual([]);
    off();
  });

  it('one failing callback does not starve the others', () => {
    const p = runPreload(new EchoStation());
    const api = p.exposed[0]?.api as { subscribe(e: string, cb: (d: unknown) => void): () => void };
    const got: unknown[] = [];
    api.subscribe('notice', () => {
      throw new Error('listener bug');
    });
    api.subscribe('notice', (d) => got.push(d));
    p.send('notice', { level: 'warn', text: 'x' });
    expect(got).toHaveLength(1);
  });

  it('refuses unknown events and non-function callbacks', () => {
    const p = runPreload(new EchoStation());
    const api = p.exposed[0]?.api as { subscribe(e: unknown, cb: unknown): () => void };
    expect(() => api.subscribe('ipc-internal', () => undefined)).toThrow(/Unknown station event/);
    expect(() => api.subscribe('__proto__', () => undefined)).toThrow(/Unknown station event/);
    expect(() => api.subscribe('notice', 'not a function')).toThrow(/callback/);
  });

  it('works with the renderer bridge (renderer/src/bridge-core.ts)', async () => {
    const api = runPreload(new EchoStation()).exposed[0]?.api;
    expect(isAirliftPreload(api)).toBe(true);
    const station = createPreloadStation(api as AirliftPreload);
    const err: unknown = await station.call('addQr', { payload: 'AIRLIFT1:K7Q2M6XA:AAAAAAAAAAAAAAAAAAAAAAAAAA' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StationCallError);
    expect(err).toMatchObject({ code: 'INVALID_QR', message: 'Not an Airlift label' });
  });
});
