import { describe, expect, it } from 'vitest';
import { createSocketStation } from '../../../renderer/src/bridge-core';
import type { FrameScheduler } from '../../../renderer/src/batcher';
import { createStationStore } from '../../../renderer/src/store';
import { fakeNetwork } from './fake-socket';
import { idOf, liveDevice, liveJob, row, snapshot } from './fixtures';

const tick = () => new Promise((r) => setTimeout(r, 0));

function setup() {
  const net = fakeNetwork();
  const station = createSocketStation({
    url: 'ws://x/ws',
    token: 't',
    connect: net.connect,
    setTimeout: net.setTimeout,
    clearTimeout: net.clearTimeout,
    random: () => 0.5,
  });
  const frames: (() => void)[] = [];
  const scheduler: FrameScheduler = {
    requestFrame: (cb) => frames.push(cb),
    cancelFrame: () => undefined,
    setTimeout: () => 0,
    clearTimeout: () => undefined,
  };
  const store = createStationStore(station, scheduler, () => 42);
  let renders = 0;
  store.subscribe(() => renders++);
  const frame = () => {
    for (const f of frames.splice(0)) f();
  };
  /** Answer every getSnapshot the page sent on the current socket. */
  const answerSnapshots = (snap = snapshot()) => {
    for (const f of net.last().sent as { t: string; id: number; method: string }[])
      if (f.t === 'call' && f.method === 'getSnapshot')
        net.last().receive({ t: 'reply', id: f.id, ok: true, result: snap });
  };
  return { net, store, frame, answerSnapshots, renders: () => renders };
}

describe('station store', () => {
  it('fetches the snapshot when the station answers, and applies events once per frame', async () => {
    const { net, store, frame, answerSnapshots, renders } = setup();
    net.last().open();
    net.last().receive({ t: 'ready' });
    answerSnapshots(snapshot({ devices: [row({ id: idOf(1) })] }));
    await tick();
    for (let i = 2; i < 200; i++)
      net
        .last()
        .receive({ t: 'event', name: 'devices', data: { upsert: [row({ id: idOf(i) })], remove: [] } });
    expect(store.getState().loaded).toBe(false); // nothing applied before the frame
    frame();
    expect(renders()).toBe(1);
    expect(store.getState().loaded).toBe(true);
    expect(store.getState().devices.size).toBe(199);
    expect(store.getState().connection.status).toBe('open');
  });

  it('after a reconnection the snapshot is fetched again and replaces what was missed', async () => {
    const { net, store, frame, answerSnapshots } = setup();
    net.last().open();
    net.last().receive({ t: 'ready' });
    answerSnapshots(snapshot({ job: liveJob({ devices: [liveDevice({ id: idOf(1) })] }) }));
    await tick();
    frame();
    expect(store.getState().job?.devices.get(idOf(1))?.step).toBe('queued');
    net.last().drop(1006);
    frame();
    expect(store.getState().connection.status).toBe('reconnecting');
    net.fire();
    net.last().open();
    net.last().receive({ t: 'ready' });
    answerSnapshots(snapshot({ job: liveJob({ devices: [liveDevice({ id: idOf(1), step: 'verified' })] }) }));
    await tick();
    frame();
    expect(store.getState().connection.status).toBe('open');
    expect(store.getState().job?.devices.get(idOf(1))?.step).toBe('verified');
  });

  it('a snapshot that fails is an error state with the message; reload retries', async () => {
    const { net, store, frame } = setup();
    net.last().open();
    net
      .last()
      .receive({ t: 'reply', id: 1, ok: false, error: { code: 'INTERNAL', message: 'disk on fire' } });
    await tick();
    frame();
    expect(store.getState().loadError).toEqual({ code: 'INTERNAL', message: 'disk on fire' });
    const p = store.reload();
    net.last().receive({ t: 'reply', id: 2, ok: true, result: snapshot() });
    await p;
    frame();
    expect(store.getState().loadError).toBeNull();
    expect(store.getState().loaded).toBe(true);
  });

  it('events stamped with the time they arrived (notices)', async () => {
    const { net, store, frame } = setup();
    net.last().open();
    net.last().receive({ t: 'event', name: 'notice', data: { level: 'warn', text: 'Scan failed on wlan1' } });
    await tick();
    frame();
    expect(store.getState().notices).toEqual([
      { id: 1, level: 'warn', text: 'Scan failed on wlan1', at: 42 },
    ]);
  });
});
