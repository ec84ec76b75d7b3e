import { describe, expect, it } from 'vitest';
import {
  initialState,
  isJobLive,
  jobDevices,
  MAX_LOG_LINES,
  MAX_NOTICES,
  reduce,
  reduceAll,
  type StationAction,
  type StationState,
} from '../../../renderer/src/state';
import { idOf, liveDevice, liveJob, row, snapshot } from './fixtures';

const open = { status: 'open', attempt: 0, generation: 1 } as const;
const fresh = () => initialState(open);

const devicesEvent = (upsert: ReturnType<typeof row>[], remove: string[] = []): StationAction => ({
  type: 'event',
  event: 'devices',
  data: { upsert, remove },
});

describe('snapshot', () => {
  it('replaces everything the station knows and clears a load error', () => {
    let s: StationState = reduce(fresh(), {
      type: 'loadError',
      error: { code: 'UNREACHABLE', message: 'x' },
    });
    s = reduce(s, {
      type: 'snapshot',
      snapshot: snapshot({
        devices: [row({ id: idOf(1) }), row({ id: idOf(2) })],
        job: liveJob({ devices: [liveDevice({ id: idOf(1) })] }),
      }),
    });
    expect(s.loaded).toBe(true);
    expect(s.loadError).toBeNull();
    expect([...s.devices.keys()]).toEqual([idOf(1), idOf(2)]);
    expect(s.job?.order).toEqual([idOf(1)]);
    expect(s.info?.lab).toBe(true);
  });

  it('a later snapshot (after a reconnection) drops devices that went away meanwhile', () => {
    let s = reduce(fresh(), {
      type: 'snapshot',
      snapshot: snapshot({ devices: [row({ id: idOf(1) }), row({ id: idOf(2) })] }),
    });
    s = reduce(s, { type: 'snapshot', snapshot: snapshot({ devices: [row({ id: idOf(2) })] }) });
    expect([...s.devices.keys()]).toEqual([idOf(2)]);
  });
});

describe('device events', () => {
  it('upsert and remove', () => {
    let s = reduce(fresh(), { type: 'snapshot', snapshot: snapshot({ devices: [row({ id: idOf(1) })] }) });
    s = reduce(s, devicesEvent([row({ id: idOf(1), name: 'renamed' }), row({ id: idOf(2) })]));
    expect(s.devices.get(idOf(1))?.name).toBe('renamed');
    expect(s.devices.size).toBe(2);
    s = reduce(s, devicesEvent([], [idOf(1)]));
    expect([...s.devices.keys()]).toEqual([idOf(2)]);
  });

  it('an empty batch keeps the same state object (no render)', () => {
    const s = fresh();
    expect(reduce(s, devicesEvent([]))).toBe(s);
  });

  it('never mutates the previous state', () => {
    const s1 = reduce(fresh(), devicesEvent([row({ id: idOf(1) })]));
    const s2 = reduce(s1, devicesEvent([row({ id: idOf(2) })]));
    expect(s1.devices.size).toBe(1);
    expect(s2.devices.size).toBe(2);
  });
});

describe('job events', () => {
  const base = () =>
    reduce(fresh(), {
      type: 'event',
      event: 'job',
      data: { job: liveJob({ devices: [liveDevice({ id: idOf(1) }), liveDevice({ id: idOf(2) })] }) },
    });

  it('jobStatus updates counters and keeps the devices', () => {
    const { devices: _d, ...status } = liveJob({
      counts: { total: 2, queued: 1, active: 1, verified: 0, failed: 0 },
      phase: 'push',
    });
    const s = reduce(base(), { type: 'event', event: 'jobStatus', data: status });
    expect(s.job?.counts.active).toBe(1);
    expect(s.job?.phase).toBe('push');
    expect(s.job?.devices.size).toBe(2);
  });

  it("jobStatus for another job starts that job's state empty", () => {
    const { devices: _d, ...status } = liveJob({ id: 'job-2' });
    const s = reduce(base(), { type: 'event', event: 'jobStatus', data: status });
    expect(s.job?.id).toBe('job-2');
    expect(s.job?.devices.size).toBe(0);
  });

  it('jobDevices upserts in the job order; new ids go last; other jobs are ignored', () => {
    let s = reduce(base(), {
      type: 'event',
      event: 'jobDevices',
      data: {
        jobId: 'job-1',
        devices: [liveDevice({ id: idOf(2), step: 'joining', lane: 'wlan1' }), liveDevice({ id: idOf(3) })],
      },
    });
    expect(s.job && jobDevices(s.job).map((d) => [d.id, d.step])).toEqual([
      [idOf(1), 'queued'],
      [idOf(2), 'joining'],
      [idOf(3), 'queued'],
    ]);
    const before = s;
    s = reduce(s, {
      type: 'event',
      event: 'jobDevices',
      data: { jobId: 'other', devices: [liveDevice({ id: idOf(1), step: 'failed' })] },
    });
    expect(s).toBe(before);
  });

  it('job null clears it; isJobLive follows the status', () => {
    expect(isJobLive(base().job)).toBe(true);
    expect(reduce(base(), { type: 'event', event: 'job', data: { job: null } }).job).toBeNull();
    const finished = reduce(fresh(), {
      type: 'event',
      event: 'job',
      data: { job: liveJob({ status: 'finished' }) },
    });
    expect(isJobLive(finished.job)).toBe(false);
  });
});

describe('notices and logs', () => {
  it('notices get ids, are bounded, and dismiss by id', () => {
    let s = fresh();
    for (let i = 0; i < MAX_NOTICES + 2; i++)
      s = reduce(s, { type: 'event', event: 'notice', data: { level: 'warn', text: `n${i}` }, at: i });
    expect(s.notices).toHaveLength(MAX_NOTICES);
    expect(s.notices[0]?.text).toBe('n2');
    const id = s.notices[1]?.id ?? -1;
    s = reduce(s, { type: 'dismissNotice', id });
    expect(s.notices.some((n) => n.id === id)).toBe(false);
    s = reduce(s, { type: 'notice', level: 'error', text: 'local', at: 5 });
    expect(s.notices.at(-1)?.text).toBe('local');
  });

  it('log lines are kept only for open logs, bounded', () => {
    const line = (n: number) => ({ at: n, level: 'info' as const, text: `l${n}` });
    let s = reduce(fresh(), {
      type: 'event',
      event: 'deviceLog',
      data: { deviceId: idOf(1), line: line(0) },
    });
    expect(s.logs.size).toBe(0);
    s = reduce(s, { type: 'logOpened', deviceId: idOf(1), lines: [line(1)] });
    for (let i = 2; i < MAX_LOG_LINES + 10; i++)
      s = reduce(s, { type: 'event', event: 'deviceLog', data: { deviceId: idOf(1), line: line(i) } });
    expect(s.logs.get(idOf(1))).toHaveLength(MAX_LOG_LINES);
    expect(s.logs.get(idOf(1))?.at(-1)?.text).toBe(`l${MAX_LOG_LINES + 9}`);
    s = reduce(s, { type: 'logClosed', deviceId: idOf(1) });
    expect(s.logs.size).toBe(0);
  });
});

describe('a frame of events', () => {
  it('reduceAll equals applying them one by one', () => {
    const actions: StationAction[] = Array.from({ length: 500 }, (_, i) =>
      devicesEvent([row({ id: idOf(i), name: `d${i}` })]),
    );
    actions.push({ type: 'event', event: 'preflightProgress', data: { done: 1, total: 3 } });
    const once = reduceAll(fresh(), actions);
    let stepwise = fresh();
    for (const a of actions) stepwise = reduce(stepwise, a);
    expect(once.devices.size).toBe(500);
    expect([...once.devices.values()]).toEqual([...stepwise.devices.values()]);
    expect(once.preflightProgress).toEqual({ done: 1, total: 3 });
  });
});
