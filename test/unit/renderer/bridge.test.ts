import { describe, expect, it } from 'vitest';
import {
  backoffMs,
  createPreloadStation,
  createSocketStation,
  NO_TOKEN_MESSAGE,
  socketUrl,
  StationCallError,
  takeToken,
  TOKEN_KEY,
  type AirliftPreload,
  type Connection,
} from '../../../renderer/src/bridge-core';
import { WS_CLOSE } from '../../../shared/station-api';
import { fakeNetwork } from './fake-socket';
import { idOf, row, snapshot } from './fixtures';

const flush = () => new Promise((r) => setTimeout(r, 0));

function setup(token: string | null = 'tok-123') {
  const net = fakeNetwork();
  const logs: string[] = [];
  const conns: Connection[] = [];
  const station = createSocketStation({
    url: 'ws://127.0.0.1:7770/ws',
    token,
    connect: net.connect,
    setTimeout: net.setTimeout,
    clearTimeout: net.clearTimeout,
    random: () => 0.5,
    now: () => 1000,
    log: (m) => logs.push(m),
  });
  station.onConnection((c) => conns.push(c));
  return { net, station, logs, conns };
}

describe('framing', () => {
  it('sends auth first, then calls queued before the socket opened, by id', async () => {
    const { net, station } = setup();
    const p = station.call('getSnapshot', {});
    const s = net.last();
    expect(s.url).toBe('ws://127.0.0.1:7770/ws');
    expect(s.sent).toEqual([]);
    s.open();
    expect(s.sent).toEqual([
      { t: 'auth', token: 'tok-123' },
      { t: 'call', id: 1, method: 'getSnapshot', params: {} },
    ]);
    s.receive({ t: 'ready' });
    s.receive({ t: 'reply', id: 1, ok: true, result: snapshot() });
    await expect(p).resolves.toMatchObject({ info: { version: '0.1.0' } });
  });

  it('parses params before sending: defaults applied, a bad call never leaves the page', async () => {
    const { net, station } = setup();
    net.last().open();
    const bad = station.call('addQr', { payload: 'x'.repeat(300) });
    await expect(bad).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    void station.call('identifyDevice', { deviceId: idOf(1) });
    expect(net.last().sent.at(-1)).toEqual({
      t: 'call',
      id: 1,
      method: 'identifyDevice',
      params: { deviceId: idOf(1), seconds: 10 },
    });
  });

  it('an error reply surfaces as { code, message }', async () => {
    const { net, station } = setup();
    net.last().open();
    const p = station.call('forgetDevices', { deviceIds: [idOf(1)] });
    net
      .last()
      .receive({ t: 'reply', id: 1, ok: false, error: { code: 'NOT_FOUND', message: 'No such device' } });
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StationCallError);
    expect(err).toMatchObject({ code: 'NOT_FOUND', message: 'No such device' });
  });

  it('a result that does not match the contract is a PROTOCOL_ERROR, never passed on', async () => {
    const { net, station } = setup();
    net.last().open();
    const p = station.call('forgetDevices', { deviceIds: [idOf(1)] });
    net.last().receive({ t: 'reply', id: 1, ok: true, result: { removed: 'lots' } });
    await expect(p).rejects.toMatchObject({ code: 'PROTOCOL_ERROR' });
    // An error reply with a code this page does not know still settles the call.
    const q = station.call('forgetDevices', { deviceIds: [idOf(1)] });
    net.last().receive({ t: 'reply', id: 2, ok: false, error: { code: 'NEW_CODE', message: 'x' } });
    await expect(q).rejects.toMatchObject({ code: 'PROTOCOL_ERROR' });
  });

  it('events are validated; malformed ones are dropped and logged; listeners are isolated', () => {
    const { net, station, logs } = setup();
    const got: unknown[] = [];
    station.subscribe('devices', () => {
      throw new Error('broken listener');
    });
    const off = station.subscribe('devices', (d) => got.push(d.upsert.map((r) => r.id)));
    net.last().open();
    net.last().receive({ t: 'event', name: 'devices', data: { upsert: [row({ id: idOf(7) })], remove: [] } });
    net.last().receive({ t: 'event', name: 'devices', data: { upsert: [{ id: 'nope' }], remove: [] } });
    net.last().receive({ t: 'event', name: 'somethingNew', data: {} });
    net.last().receiveRaw('not json');
    expect(got).toEqual([[idOf(7)]]);
    expect(logs.some((l) => l.includes('devices ignored'))).toBe(true);
    expect(logs.some((l) => l.includes('broken listener'))).toBe(true);
    expect(logs.some((l) => l.includes('not JSON'))).toBe(true);
    off();
    net.last().receive({ t: 'event', name: 'devices', data: { upsert: [row({ id: idOf(8) })], remove: [] } });
    expect(got).toHaveLength(1);
  });
});

describe('connection', () => {
  it('open once the station answers; generation increments on each reconnection', () => {
    const { net, station, conns } = setup();
    expect(station.connection().status).toBe('connecting');
    net.last().open();
    net.last().receive({ t: 'ready' });
    expect(station.connection()).toMatchObject({ status: 'open', generation: 1 });
    net.last().drop(1006);
    expect(station.connection()).toMatchObject({ status: 'reconnecting', attempt: 1, retryAt: 1000 + 250 });
    expect(net.timers[0]?.ms).toBe(250);
    net.fire();
    expect(net.sockets).toHaveLength(2);
    net.last().open();
    expect(net.last().sent[0]).toEqual({ t: 'auth', token: 'tok-123' });
    net.last().receive({ t: 'ready' });
    expect(station.connection()).toMatchObject({ status: 'open', generation: 2, attempt: 0 });
    expect(conns.map((c) => c.status)).toEqual(['open', 'reconnecting', 'open']);
  });

  it('backs off, doubling to 5 s', () => {
    expect([1, 2, 3, 4, 5, 6, 9].map((n) => backoffMs(n, () => 0.5))).toEqual([
      250, 500, 1000, 2000, 4000, 5000, 5000,
    ]);
    expect(backoffMs(1, () => 0)).toBe(188);
    expect(backoffMs(1, () => 1)).toBe(313);
    const { net } = setup();
    for (let i = 0; i < 4; i++) {
      net.last().drop(1006);
      net.fire();
    }
    expect(net.sockets).toHaveLength(5);
  });

  it('calls in flight when the socket drops fail as UNREACHABLE; calls not yet sent go out after reconnecting', async () => {
    const { net, station } = setup();
    net.last().open();
    const inFlight = station.call('getSnapshot', {});
    net.last().drop(1006);
    await expect(inFlight).rejects.toMatchObject({ code: 'UNREACHABLE' });
    const later = station.call('listJobs', {});
    net.fire();
    net.last().open();
    expect(net.last().sent).toEqual([
      { t: 'auth', token: 'tok-123' },
      { t: 'call', id: 2, method: 'listJobs', params: {} },
    ]);
    net.last().receive({ t: 'reply', id: 2, ok: true, result: { jobs: [] } });
    await expect(later).resolves.toEqual({ jobs: [] });
  });

  it('a refused token stops reconnecting and says what to do', async () => {
    const { net, station } = setup();
    const p = station.call('getSnapshot', {});
    net.last().open();
    net.last().drop(WS_CLOSE.unauthorized, 'bad token');
    await expect(p).rejects.toMatchObject({ code: 'UNREACHABLE' });
    expect(station.connection().status).toBe('unauthorized');
    expect(station.connection().message).toContain('airlift station');
    expect(net.timers).toHaveLength(0);
    await expect(station.call('listJobs', {})).rejects.toMatchObject({ code: 'SESSION_REQUIRED' });
  });

  it('no token: no connection at all, and the reason', () => {
    const { net, station } = setup(null);
    expect(net.sockets).toHaveLength(0);
    expect(station.connection()).toMatchObject({ status: 'unauthorized', message: NO_TOKEN_MESSAGE });
  });

  it('reconnectNow skips the wait; close stops everything', async () => {
    const { net, station } = setup();
    net.last().open();
    net.last().drop(1006);
    station.reconnectNow();
    expect(net.sockets).toHaveLength(2);
    expect(net.timers).toHaveLength(0);
    const p = station.call('listJobs', {});
    station.close();
    await expect(p).rejects.toMatchObject({ code: 'UNREACHABLE' });
    expect(net.last().closed?.code).toBe(1000);
    expect(station.connection().status).toBe('closed');
    await flush();
    expect(net.sockets).toHaveLength(2);
  });
});

describe('token', () => {
  function memory() {
    const m = new Map<string, string>();
    return {
      getItem: (k: string) => m.get(k) ?? null,
      setItem: (k: string, v: string) => void m.set(k, v),
      m,
    };
  }

  it('from the fragment into session storage; the fragment is to be removed', () => {
    const store = memory();
    expect(takeToken('#token=abc%2Fdef', store)).toEqual({ token: 'abc/def', stripHash: true });
    expect(store.m.get(TOKEN_KEY)).toBe('abc/def');
    // A reload: no fragment, the stored token reattaches.
    expect(takeToken('', store)).toEqual({ token: 'abc/def', stripHash: false });
  });

  it('nothing anywhere, or storage that throws', () => {
    expect(takeToken('', memory()).token).toBeNull();
    const throwing = {
      getItem: () => {
        throw new Error('denied');
      },
      setItem: () => {
        throw new Error('denied');
      },
    };
    expect(takeToken('#token=x', throwing)).toEqual({ token: 'x', stripHash: true });
    expect(takeToken('', throwing).token).toBeNull();
  });

  it('socket URL on the page origin', () => {
    expect(socketUrl({ protocol: 'http:', host: '127.0.0.1:7770' }, '/ws')).toBe('ws://127.0.0.1:7770/ws');
    expect(socketUrl({ protocol: 'https:', host: 'x' }, '/ws')).toBe('wss://x/ws');
  });
});

describe('Electron preload', () => {
  function preload(over: Partial<Record<string, unknown>> = {}) {
    const subs = new Map<string, (d: unknown) => void>();
    const api = {
      getSnapshot: () => Promise.resolve(snapshot()),
      forgetDevices: () => Promise.reject(Object.assign(new Error('No such device'), { code: 'NOT_FOUND' })),
      listJobs: () => Promise.resolve({ jobs: 'nope' }),
      subscribe: (event: string, cb: (d: unknown) => void) => {
        subs.set(event, cb);
        return () => subs.delete(event);
      },
      ...over,
    } as unknown as AirliftPreload;
    return { api, subs };
  }

  it('calls through, validates results and events, maps errors', async () => {
    const { api, subs } = preload();
    const st = createPreloadStation(api);
    expect(st.connection().status).toBe('open');
    await expect(st.call('getSnapshot', {})).resolves.toMatchObject({ info: { host: 'web' } });
    await expect(st.call('forgetDevices', { deviceIds: [idOf(1)] })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'No such device',
    });
    await expect(st.call('listJobs', {})).rejects.toMatchObject({ code: 'PROTOCOL_ERROR' });
    await expect(st.call('importManifest', { fileName: 'm.csv', text: 'x' })).rejects.toMatchObject({
      code: 'UNKNOWN_METHOD',
    });
    const got: unknown[] = [];
    st.subscribe('notice', (d) => got.push(d.text));
    subs.get('notice')?.({ level: 'info', text: 'hello' });
    subs.get('notice')?.({ level: 'loud', text: 'bad' });
    expect(got).toEqual(['hello']);
  });
});

describe('desktop extras', () => {
  it('a browser page has none', () => {
    const { station } = setup();
    expect(station.desktop).toBeNull();
  });

  it("the desktop app's links out: params checked, errors as { code, message }", async () => {
    const opened: unknown[] = [];
    const api = {
      getSnapshot: () => Promise.resolve(snapshot()),
      subscribe: () => () => undefined,
      openDevicePage: (p: unknown) => {
        opened.push(p);
        return Promise.resolve({});
      },
      // The real preload rejects with a plain { code, message } (contextBridge drops an Error's fields).
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      openLocationSettings: () => Promise.reject({ code: 'NOT_FOUND', message: 'No adapter wlan9' }),
    } as unknown as AirliftPreload;
    const st = createPreloadStation(api);
    if (!st.desktop) throw new Error('desktop extras missing');
    await st.desktop.call('openDevicePage', { deviceId: idOf(3), jobId: 'job-1' });
    expect(opened).toEqual([{ deviceId: idOf(3), jobId: 'job-1' }]);
    await expect(st.desktop.call('openDevicePage', { deviceId: 'nope' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    await expect(st.desktop.call('openLocationSettings', { adapterId: 'wlan9' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'No adapter wlan9',
    });
  });

  it('a preload without them (an older app) has none', () => {
    const api = {
      getSnapshot: () => Promise.resolve(snapshot()),
      subscribe: () => () => undefined,
    } as unknown as AirliftPreload;
    expect(createPreloadStation(api).desktop).toBeNull();
  });
});
