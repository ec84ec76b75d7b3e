import { describe, expect, it } from 'vitest';
import {
  advance,
  IllegalStep,
  resumeAction,
  type DeviceEvent,
  type DeviceState,
} from '../../../../main/engine/device-machine';
import { DEVICE_STEPS, type DeviceOutcome, type DeviceStep } from '../../../../main/engine/types';
import { requeueOutcomes } from '../../../../main/engine/retry';
import { replayJournal } from '../../../../main/engine/journal';

const ID = 'K7Q2M6XA';
const WALL = '2026-12-02T10:00:00.000Z';

function at(step: DeviceStep, extra: Partial<DeviceOutcome> = {}): DeviceState {
  return { outcome: { deviceId: ID, step, timings: {}, attempts: 1, ...extra }, enteredAt: 0 };
}

const EVENTS: DeviceEvent[] = [
  { type: 'begin', route: 'ap' },
  { type: 'reached' },
  { type: 'opened' },
  { type: 'linkOk' },
  { type: 'pushed', attemptId: 'a1' },
  { type: 'await' },
  { type: 'verified', ip: '192.168.1.5' },
  { type: 'failed', reason: 'auth_failed' },
  { type: 'restart' },
  { type: 'requeued' },
];

/** The whole table: which step each event may leave, and where it leads. */
const TABLE: Record<DeviceStep, Partial<Record<DeviceEvent['type'], DeviceStep>>> = {
  queued: { begin: 'joining', failed: 'failed' },
  joining: { reached: 'session', failed: 'failed', restart: 'queued' },
  session: { opened: 'linkCheck', failed: 'failed', restart: 'queued' },
  linkCheck: { linkOk: 'pushing', failed: 'failed', restart: 'queued' },
  pushing: { pushed: 'pushed', failed: 'failed', restart: 'queued' },
  pushed: { await: 'awaiting', failed: 'failed' },
  awaiting: { await: 'awaiting', verified: 'verified', failed: 'failed' },
  verified: { requeued: 'queued' },
  failed: { requeued: 'queued' },
};

describe('the per-device step machine', () => {
  for (const step of DEVICE_STEPS) {
    for (const e of EVENTS) {
      const to = TABLE[step][e.type];
      it(`${step} + ${e.type} → ${to ?? 'refused'}`, () => {
        if (to === undefined) {
          expect(() => advance(at(step), e, 10, WALL)).toThrow(IllegalStep);
          return;
        }
        expect(advance(at(step), e, 10, WALL).state.outcome.step).toBe(to);
      });
    }
  }

  it('never leads from pushed or awaiting back to pushing', () => {
    const reachable = new Set<DeviceStep>(['pushed']);
    for (let round = 0; round < 5; round++)
      for (const s of [...reachable])
        for (const e of EVENTS.filter((x) => x.type !== 'requeued')) {
          try {
            reachable.add(advance(at(s), e, 1, WALL).state.outcome.step);
          } catch {
            // refused
          }
        }
    expect([...reachable].sort()).toEqual(['awaiting', 'failed', 'pushed', 'verified']);
  });

  it('starts the LAN path at session, with the address it was found at', () => {
    const r = advance(
      at('queued'),
      { type: 'begin', route: 'lan', ip: '192.168.1.40', hostname: 'airlift-k7q2m6xa.local' },
      5,
      WALL,
    );
    expect(r.state.outcome).toMatchObject({ step: 'session', ip: '192.168.1.40', startedAt: WALL });
    expect(r.write).toEqual({
      kind: 'step',
      step: 'session',
      facts: { ip: '192.168.1.40', hostname: 'airlift-k7q2m6xa.local' },
    });
  });

  it('times each step it leaves and journals a result whole', () => {
    let s: DeviceState = at('queued');
    const walk: [DeviceEvent, number][] = [
      [{ type: 'begin', route: 'ap' }, 0],
      [{ type: 'reached', bssid: '02:00:00:00:00:01', rssi: -51 }, 2500],
      [{ type: 'opened' }, 2700],
      [{ type: 'linkOk', targetSignal: -60 }, 2800],
      [{ type: 'pushed', attemptId: 'a1' }, 3000],
      [{ type: 'await' }, 3100],
      [{ type: 'verified', ip: '192.168.1.5', hostname: 'h.local' }, 9100],
    ];
    let last;
    for (const [e, t] of walk) {
      last = advance(s, e, t, WALL);
      s = last.state;
    }
    expect(s.outcome).toMatchObject({
      step: 'verified',
      result: 'verified',
      bssid: '02:00:00:00:00:01',
      rssi: -51,
      targetSignal: -60,
      attemptId: 'a1',
      ip: '192.168.1.5',
      timings: { joining: 2500, session: 200, linkCheck: 100, pushing: 200, pushed: 100, awaiting: 6000 },
    });
    expect(last?.write).toEqual({ kind: 'result', outcome: s.outcome });
  });

  it('keeps what a failure says, and forgets it on success after a retry', () => {
    const failed = advance(
      at('pushing'),
      { type: 'failed', reason: 'rejected', detail: 'UNSUPPORTED_SECURITY' },
      1,
      WALL,
    ).state;
    expect(failed.outcome).toMatchObject({
      result: 'failed',
      reason: 'rejected',
      detail: 'UNSUPPORTED_SECURITY',
      endedAt: WALL,
    });
    const again = advance(failed, { type: 'requeued' }, 2, WALL).state;
    expect(again.outcome).toEqual({ deviceId: ID, step: 'queued', timings: {}, attempts: 2 });
  });

  it('says what a resumed job does with each step', () => {
    expect(DEVICE_STEPS.map((s) => resumeAction(s))).toEqual([
      'start',
      'restart',
      'restart',
      'restart',
      'restart',
      'verify',
      'verify',
      'done',
      'done',
    ]);
  });
});

describe('a retry built in memory equals one replayed from the journal', () => {
  it('keeps the setup AP facts and counts the attempt either way', () => {
    const spec = {
      id: '20261202-100000-abcd',
      createdAt: WALL,
      nonce: '0123456789abcdef0123456789abcdef',
      target: { ssidHex: '4c61624e6574', ssid: 'LabNet', security: 'wpa2-psk' as const, hidden: false },
      options: {
        path: 'ap' as const,
        concurrency: 4,
        chunkSize: 10,
        minSignal: -80,
        failsafeSeconds: 600,
        verifyTimeoutMs: 1000,
        joinTimeoutMs: 1000,
        mode: 'replace' as const,
        adapters: ['wlan0'],
      },
      devices: [{ deviceId: ID, name: 'unit-001', group: 'line-1' }],
    };
    const failed: DeviceOutcome = {
      deviceId: ID,
      name: 'unit-001',
      group: 'line-1',
      step: 'failed',
      result: 'failed',
      reason: 'auth_failed',
      bssid: '02:00:00:00:00:01',
      rssi: -51,
      targetSignal: -60,
      attemptId: 'a1',
      timings: { joining: 10 },
      startedAt: WALL,
      endedAt: WALL,
      attempts: 1,
    };
    const lines =
      [
        { t: 'job', v: 1, spec },
        { t: 'result', outcome: failed },
        { t: 'requeue', deviceIds: [ID], at: WALL },
      ]
        .map((r) => JSON.stringify(r))
        .join('\n') + '\n';
    const replayed = replayJournal(Buffer.from(lines)).devices;
    const inMemory = requeueOutcomes(new Map([[ID, failed]]), [ID]);
    expect(replayed.get(ID)).toEqual(inMemory.get(ID));
    expect(inMemory.get(ID)).toMatchObject({
      bssid: '02:00:00:00:00:01',
      rssi: -51,
      attempts: 2,
      step: 'queued',
    });
  });
});
