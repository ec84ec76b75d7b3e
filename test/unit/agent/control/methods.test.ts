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

const conn = (subscribed = false) => ({ subscribed, subscribe: vi.fn<() => void>() });

describe('the control method table', () => {
  it('has one entry per method, each with the shared params schema', () => {
    const { methods } = table();
    expect(Object.keys(methods).sort()).toEqual([...CONTROL_METHODS].sort());
    for (const m of CONTROL_METHODS) expect(methods[m].params).toBe(controlParamsSchemas[m]);
  });

  it('status carries the session limits', async () => {
    const { methods } = table();
    expect((await methods.status.handler({}, conn())).result).toMatchObject({
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
      await methods['wifi.add'].handler(apply ? { network, apply } : { network }, conn());
      expect(agent.setWifi).toHaveBeenCalledWith(
        expect.objectContaining({ networks: [network], mode: 'add', commit: 'auto', apply: expected }),
      );
    }
  });

  it('wifi.forget by SSID text forgets by its hex', async () => {
    const { methods, agent } = table();
    await methods['wifi.forget'].handler({ ssid: 'Home' }, conn());
    expect(agent.forgetWifi).toHaveBeenCalledWith({ ssidHex: '486f6d65' });
  });

  it('events.subscribe subscribes after the answer, once', async () => {
    const { methods } = table();
    const fresh = conn();
    const first = await methods['events.subscribe'].handler({}, fresh);
    expect(first.result).toEqual({ subscribed: true, state: 'setup' });
    expect(fresh.subscribe).not.toHaveBeenCalled();
    first.afterAnswer?.();
    expect(fresh.subscribe).toHaveBeenCalledOnce();
    const again = await methods['events.subscribe'].handler({}, conn(true));
    expect(again.afterAnswer).toBeUndefined();
  });

  it('limits.reset resets and answers the counters; doctor needs one configured', async () => {
    const { methods, sessions } = table();
    expect((await methods['limits.reset'].handler({}, conn())).result).toMatchObject({ ok: true });
    expect(sessions.resetLimits).toHaveBeenCalledOnce();
    await expect(methods.doctor.handler({}, conn())).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
    const report = { ok: true, checks: [] };
    const withDoctor = table(fakeAgent(), () => Promise.resolve(report));
    expect((await withDoctor.methods.doctor.handler({}, conn())).result).toBe(report);
  });
});
