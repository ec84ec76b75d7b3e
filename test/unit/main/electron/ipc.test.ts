import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AirliftError } from '../../../../shared/errors';
import { STATION_LIMITS, stationMethods } from '../../../../shared/station-api';
import { IPC, IPC_MAX_PAYLOAD_BYTES } from '../../../../main/electron/channels';
import { decodePayload, registerStationIpc, type StationLike } from '../../../../main/electron/ipc';
import { FakeFrame, FakeIpcMain, FakeWebContents } from './fake-electron';

const hostile: unknown = JSON.parse(readFileSync(new URL('../../../fixtures/hostile-inputs.json', import.meta.url), 'utf8'));

class RecordingStation implements StationLike {
  readonly calls: { method: string; params: unknown }[] = [];
  private listener: ((name: string, data: unknown) => void) | undefined;
  fail: Error | undefined;
  call(method: string, params: unknown): Promise<unknown> {
    this.calls.push({ method, params });
    if (this.fail !== undefined) return Promise.reject(this.fail);
    return Promise.resolve({ echoed: method });
  }
  subscribe(listener: (name: string, data: unknown) => void): () => void {
    this.listener = listener;
    return () => (this.listener = undefined);
  }
  emit(name: string, data: unknown): void {
    this.listener?.(name, data);
  }
}

function setup() {
  const ipcMain = new FakeIpcMain();
  const station = new RecordingStation();
  const wc = new FakeWebContents();
  let window: FakeWebContents | undefined = wc;
  const desktopCalls: unknown[] = [];
  const logs: string[] = [];
  const dispose = registerStationIpc({
    ipcMain,
    station,
    ours: () => window,
    desktop: {
      openDevicePage: (p) => {
        desktopCalls.push(['openDevicePage', p]);
        return Promise.resolve({});
      },
      openLocationSettings: (p) => {
        desktopCalls.push(['openLocationSettings', p]);
        return Promise.resolve({});
      },
    },
    log: (_l, m) => logs.push(m),
  });
  const trusted = { sender: wc, senderFrame: wc.mainFrame };
  const call = (method: unknown, params: unknown, event: Parameters<FakeIpcMain['invoke']>[1] = trusted) =>
    ipcMain.invoke(IPC.call, event, method, params === undefined ? undefined : JSON.stringify(params));
  return { ipcMain, station, wc, trusted, call, desktopCalls, logs, dispose, closeWindow: () => (window = undefined) };
}

describe('station calls over IPC', () => {
  it('a trusted call reaches the station with parsed params and answers ok', async () => {
    const t = setup();
    const reply = await t.call('identifyDevice', { deviceId: 'K7Q2M6XA' });
    expect(reply).toEqual({ ok: true, result: { echoed: 'identifyDevice' } });
    // Defaults applied by the schema on the way in.
    expect(t.station.calls).toEqual([{ method: 'identifyDevice', params: { deviceId: 'K7Q2M6XA', seconds: 10 } }]);
  });

  it('absent params are an empty object', async () => {
    const t = setup();
    expect(await t.ipcMain.invoke(IPC.call, t.trusted, 'getSnapshot')).toMatchObject({ ok: true });
    expect(t.station.calls[0]?.params).toEqual({});
  });

  describe('an untrusted sender never reaches the station', () => {
    const cases: [string, (t: ReturnType<typeof setup>) => Parameters<FakeIpcMain['invoke']>[1]][] = [
      ['a subframe', (t) => ({ sender: t.wc, senderFrame: new FakeFrame('app://airlift/index.html', 'app://airlift') })],
      ['a frame that navigated away', (t) => ({ sender: t.wc, senderFrame: null })],
      ['another webContents', () => {
        const other = new FakeWebContents();
        return { sender: other, senderFrame: other.mainFrame };
      }],
      ['our window at a foreign URL', (t) => {
        t.wc.mainFrame.url = 'https://evil.example/';
        t.wc.mainFrame.origin = 'https://evil.example';
        return t.trusted;
      }],
    ];
    it.each(cases)('%s', async (_what, event) => {
      const t = setup();
      const reply = await t.call('forgetDevices', { deviceIds: ['K7Q2M6XA'] }, event(t));
      expect(reply).toMatchObject({ ok: false, error: { code: 'FORBIDDEN_ORIGIN' } });
      expect(t.station.calls).toEqual([]);
      expect(t.logs.some((l) => l.includes('untrusted sender'))).toBe(true);
    });

    it('when the window is gone', async () => {
      const t = setup();
      t.closeWindow();
      expect(await t.call('getSnapshot', {})).toMatchObject({ ok: false, error: { code: 'FORBIDDEN_ORIGIN' } });
      expect(t.station.calls).toEqual([]);
    });

    it('on the desktop channel too', async () => {
      const t = setup();
      const other = new FakeWebContents();
      const reply = await t.ipcMain.invoke(IPC.desktop, { sender: other, senderFrame: other.mainFrame }, 'openDevicePage', JSON.stringify({ deviceId: 'K7Q2M6XA' }));
      expect(reply).toMatchObject({ ok: false, error: { code: 'FORBIDDEN_ORIGIN' } });
      expect(t.desktopCalls).toEqual([]);
    });
  });

  it.each([
    ['an unknown method', 'deleteEverything'],
    ['a prototype key', '__proto__'],
    ['toString', 'toString'],
    ['constructor', 'constructor'],
    ['hasOwnProperty', 'hasOwnProperty'],
    ['a desktop extra on the station channel', 'openDevicePage'],
    ['a number', 42],
    ['an object', { toString: () => 'getSnapshot' }],
    ['a very long name', 'getSnapshot'.repeat(100)],
  ])('refuses %s', async (_what, method) => {
    const t = setup();
    expect(await t.call(method, {})).toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } });
    expect(t.station.calls).toEqual([]);
  });

  it.each([
    ['extra keys', 'getSnapshot', { evil: true }],
    ['a bad device id', 'identifyDevice', { deviceId: '../../etc' }],
    ['a wrong type', 'forgetDevices', { deviceIds: 'K7Q2M6XA' }],
    ['an empty list', 'forgetDevices', { deviceIds: [] }],
    ['seconds out of range', 'identifyDevice', { deviceId: 'K7Q2M6XA', seconds: 1e9 }],
    ['a QR payload over its cap', 'addQr', { payload: 'A'.repeat(STATION_LIMITS.qrChars + 1) }],
    ['a password over its cap', 'saveProfile', { name: 'x', ssid: 'x', security: 'wpa2-psk', password: 'p'.repeat(STATION_LIMITS.passwordChars + 1) }],
    ['a prototype-polluting key', 'getSnapshot', JSON.parse('{"__proto__":{"polluted":true}}') as unknown],
    ['an array', 'getSnapshot', []],
    ['null', 'getDeviceLog', null],
    ['a string', 'getDeviceLog', 'K7Q2M6XA'],
  ])('hostile params (%s) are a validation error', async (_what, method, params) => {
    const t = setup();
    const reply = (await t.call(method, params)) as { ok: boolean; error?: { code: string; message: string } };
    expect(reply.ok).toBe(false);
    expect(reply.error?.code).toMatch(/^(BAD_REQUEST|INVALID_[A-Z_]+)$/);
    expect(t.station.calls).toEqual([]);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('params from the hostile corpus never reach the station unvalidated', async () => {
    const t = setup();
    const strings = JSON.stringify(hostile).match(/"(?:[^"\\]|\\.)*"/g) ?? [];
    for (const s of strings.slice(0, 200)) {
      const value = JSON.parse(s) as string;
      await t.call('identifyDevice', { deviceId: value });
      await t.call('addQr', { payload: value });
    }
    for (const c of t.station.calls) {
      const parsed = stationMethods[c.method as 'addQr' | 'identifyDevice'].params.safeParse(c.params);
      expect(parsed.success).toBe(true);
    }
  });

  it('params must arrive as JSON text', async () => {
    const t = setup();
    const reply = await t.ipcMain.invoke(IPC.call, t.trusted, 'getSnapshot', { already: 'an object' });
    expect(reply).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(await t.ipcMain.invoke(IPC.call, t.trusted, 'getSnapshot', '{not json')).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(t.station.calls).toEqual([]);
  });

  it('oversized params are refused before they are parsed', async () => {
    const t = setup();
    const huge = `{"fileName":"m.csv","text":"${'a'.repeat(IPC_MAX_PAYLOAD_BYTES)}"}`;
    expect(await t.ipcMain.invoke(IPC.call, t.trusted, 'importManifest', huge)).toMatchObject({ ok: false, error: { code: 'PAYLOAD_TOO_LARGE' } });
    // Multi-byte text: within the cap in UTF-16 units, over it in UTF-8 bytes.
    const wide = `"${'é'.repeat(IPC_MAX_PAYLOAD_BYTES / 2 + 10)}"`;
    expect(wide.length).toBeLessThan(IPC_MAX_PAYLOAD_BYTES);
    expect(() => decodePayload(wide)).toThrow(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }) as Error);
    expect(t.station.calls).toEqual([]);
  });

  it('a manifest at the station limit fits', async () => {
    const t = setup();
    const text = 'deviceId,setupSecret\n'.padEnd(STATION_LIMITS.manifestChars, 'x');
    expect(await t.call('importManifest', { fileName: 'm.csv', text })).toMatchObject({ ok: true });
  });

  it('errors cross as code and message only', async () => {
    const t = setup();
    t.station.fail = new AirliftError('BUSY', 'A job is using the Wi-Fi adapters', { secret: 'x' });
    const busy = await t.call('getSnapshot', {});
    expect(busy).toEqual({ ok: false, error: { code: 'BUSY', message: 'A job is using the Wi-Fi adapters' } });
    t.station.fail = new Error('ENOENT: /home/tech/.secret at /app/main.js:12');
    const internal = await t.call('getSnapshot', {});
    expect(internal).toEqual({ ok: false, error: { code: 'INTERNAL', message: 'Internal error' } });
  });
});

describe('desktop extras over IPC', () => {
  it('are validated on their own channel', async () => {
    const t = setup();
    const ok = await t.ipcMain.invoke(IPC.desktop, t.trusted, 'openDevicePage', JSON.stringify({ deviceId: 'K7Q2M6XA' }));
    expect(ok).toEqual({ ok: true, result: {} });
    const bad = await t.ipcMain.invoke(IPC.desktop, t.trusted, 'openDevicePage', JSON.stringify({ url: 'https://evil.example/' }));
    expect(bad).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    const unknown = await t.ipcMain.invoke(IPC.desktop, t.trusted, 'openExternal', JSON.stringify({ url: 'https://evil.example/' }));
    expect(unknown).toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } });
    const station = await t.ipcMain.invoke(IPC.desktop, t.trusted, 'getSnapshot', '{}');
    expect(station).toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } });
    expect(t.desktopCalls).toEqual([['openDevicePage', { deviceId: 'K7Q2M6XA' }]]);
  });
});

describe('events', () => {
  it('go to our window only, while it shows our UI', () => {
    const t = setup();
    t.station.emit('notice', { level: 'info', text: 'hello' });
    expect(t.wc.sent).toEqual([{ channel: IPC.event, args: ['notice', { level: 'info', text: 'hello' }] }]);
    t.wc.url = 'https://evil.example/';
    t.station.emit('notice', { level: 'info', text: 'not for them' });
    t.wc.url = 'app://airlift/index.html';
    t.wc.destroyed = true;
    t.station.emit('notice', { level: 'info', text: 'gone' });
    expect(t.wc.sent).toHaveLength(1);
  });

  it('stop, and the handlers go, when disposed', async () => {
    const t = setup();
    t.dispose();
    t.station.emit('notice', { level: 'info', text: 'after' });
    expect(t.wc.sent).toEqual([]);
    await expect(t.call('getSnapshot', {})).rejects.toThrow(/No handler/);
  });
});
