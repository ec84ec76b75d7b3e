import { describe, expect, it, vi } from 'vitest';
import { controlMethods, type ControlMethodDeps } from '../../../../agent/control/methods';
import { CONTROL_METHODS, controlParamsSchemas } from '../../../../shared/protocol/control';
import { parseOrThrow } from '../../../../shared/validate';

function fakeAgent(state: 'online' | 'setup' = 'setup') {
  return {
    state,
    status: vi.fn(() => ({ state })),
    scan: vi.fn(() => Promise.resolve([])),
    setWifi: vi.fn(() => Promise.resolve({ attemptId: 'a1', accepted: 1 })),
    forgetWifi: vi.fn(() => Promise.resolve({ removed: 1 })),
    listWifi: vi.fn(() => []),
    startAp: vi.fn(),
    stopAp: vi.fn(),
    reportApp: vi.fn(),
  };
}

function table(agent = fakeAgent(), doctor?: ControlMethodDeps['doctor']) {
  const sessions = {
    resetLimits: vi.fn(() => Promise.resolve()),
    limits: { consecutiveFailures: 0, windowFailures: 0, lifetimeFailures: 0, notBefore: 0 },
    limitsStatus: vi.fn(() => ({ open: true })),
  };
  const deps = { agent, sessions, ...(doctor ? { doctor } : {}) } as unknown as ControlMethodDeps;
  return { methods: controlMethods(deps), agent, sessions };
}

/** A request's context; `after` holds what the method asked to run once its answer is written. */
function conn(subscribed = false) {
  const after: (() => void)[] = [];
  return {
    subscribed,
    subscribe: vi.fn<() => void>(),
    afterAnswer: (fn: () => void) => after.push(fn),
    after,
  };
}

describe('the control method table', () => {
  it('has one handler per method of the contract', () => {
    const { methods } = table();
    expect(Object.keys(methods).sort()).toEqual([...CONTROL_METHODS].sort());
    expect(Object.keys(controlParamsSchemas).sort()).toEqual([...CONTROL_METHODS].sort());
  });

  it('status carries the session limits', async () => {
    const { methods } = table();
    expect(await methods.status({}, conn())).toMatchObject({
      state: 'setup',
      limits: { open: true },
    });
  });

  it('wifi.add stores without switching while online, applies now otherwise, unless told', async () => {
    const network = parseOrThrow(
      controlParamsSchemas['wifi.add'],
      { ssid: 'Home', passphrase: 'correct horse' },
      'p',
    ).network;
    for (const [state, apply, expected] of [
      ['online', undefined, 'later'],
      ['setup', undefined, 'now'],
      ['online', 'now', 'now'],
    ] as const) {
      const { methods, agent } = table(fakeAgent(state));
      await methods['wifi.add'](apply ? { network, apply } : { network }, conn());
      expect(agent.setWifi).toHaveBeenCalledWith(
        expect.objectContaining({ networks: [network], mode: 'add', commit: 'auto', apply: expected }),
      );
    }
  });

  it('wifi.forget by SSID text forgets by its hex', async () => {
    const { methods, agent } = table();
    await methods['wifi.forget']({ ssid: 'Home' }, conn());
    expect(agent.forgetWifi).toHaveBeenCalledWith({ ssidHex: '486f6d65' });
  });

  it('events.subscribe subscribes after the answer, once', async () => {
    const { methods } = table();
    const fresh = conn();
    expect(await methods['events.subscribe']({}, fresh)).toEqual({ subscribed: true, state: 'setup' });
    expect(fresh.subscribe).not.toHaveBeenCalled();
    for (const fn of fresh.after) fn();
    expect(fresh.subscribe).toHaveBeenCalledOnce();
    const already = conn(true);
    await methods['events.subscribe']({}, already);
    expect(already.after).toEqual([]);
  });

  it('limits.reset resets and answers the counters; doctor needs one configured', async () => {
    const { methods, sessions } = table();
    expect(await methods['limits.reset']({}, conn())).toMatchObject({ ok: true });
    expect(sessions.resetLimits).toHaveBeenCalledOnce();
    await expect(methods.doctor({}, conn())).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    const report = { ok: true, checks: [] };
    const withDoctor = table(fakeAgent(), () => Promise.resolve(report));
    expect(await withDoctor.methods.doctor({}, conn())).toBe(report);
  });
});
