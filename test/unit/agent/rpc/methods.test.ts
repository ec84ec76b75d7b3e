/** The encrypted RPC's methods as one table (agent/rpc/methods.ts) over the shared contract. */
import { describe, expect, it, vi } from 'vitest';
import { rpcDispatcher, rpcMethods, type RpcAgent } from '../../../../agent/rpc/methods';
import { AirliftError } from '../../../../shared/errors';
import {
  RPC_METHODS,
  rpcParamsSchemas,
  rpcResultSchemas,
  type StatusDetail,
} from '../../../../shared/protocol/api';

const detail: StatusDetail = {
  status: {
    state: 'online',
    via: 'wifi',
    hostname: 'airlift-k7q2m6xa',
    pv: '',
    setupAp: { up: false, ssid: 'Airlift-K7Q2M6XA', address: '10.170.23.1' },
    network: { config_state: 'configured', supplicant: { connected: true }, dhcp4: { state: 'none' } },
    apps: [],
  },
  checks: [],
  signals: [],
  uptimeSeconds: 12,
};

function fakeAgent() {
  return {
    setWifi: vi.fn(() => Promise.resolve({ attemptId: 'a1', apStaysUp: false, state: 'applying' as const })),
    forgetWifi: vi.fn(() => Promise.resolve({ removed: 1 })),
    listWifi: vi.fn(() => []),
    commit: vi.fn(() => Promise.resolve({ committed: true, attemptId: 'a1' })),
    identify: vi.fn(() => Promise.resolve()),
    rename: vi.fn(() => Promise.resolve()),
    stopAp: vi.fn(),
    reboot: vi.fn(),
    statusDetail: vi.fn(() => Promise.resolve(detail)),
  } satisfies RpcAgent;
}

const ctx = { sid: 'AAAAAAAAAAAAAAAAAAAAAA' };
const network = { ssid: 'LabNet', passphrase: 'correct horse' };
/** Params every method accepts. */
const PARAMS: Record<(typeof RPC_METHODS)[number], unknown> = {
  'wifi.set': { networks: [network] },
  'wifi.forget': { ssid: 'LabNet' },
  'wifi.list': undefined,
  'device.commit': {},
  'device.identify': {},
  'device.rename': { name: ' Pump 1 ' },
  'ap.stop': undefined,
  'device.reboot': {},
  'status.detail': undefined,
};

async function codeOf(p: Promise<unknown>): Promise<string> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof AirliftError)) throw new Error('expected an AirliftError');
  return err.code;
}

describe('the RPC method table', () => {
  it('has one handler for each method of the contract, and schemas for both sides', () => {
    const table = rpcMethods(fakeAgent());
    expect(Object.keys(table).sort()).toEqual([...RPC_METHODS].sort());
    expect(Object.keys(rpcResultSchemas).sort()).toEqual(Object.keys(rpcParamsSchemas).sort());
  });

  it('answers every method with what its result schema reads', async () => {
    const dispatch = rpcDispatcher(fakeAgent());
    for (const method of RPC_METHODS) {
      const result = await dispatch(method, PARAMS[method], ctx);
      expect(rpcResultSchemas[method].safeParse(result).success, method).toBe(true);
    }
  });

  it('hands each handler its params as the schema outputs them (defaults, normalised networks)', async () => {
    const agent = fakeAgent();
    const dispatch = rpcDispatcher(agent);
    await dispatch('wifi.set', { networks: [network], nonce: '0123456789ABCDEF' }, ctx);
    expect(agent.setWifi).toHaveBeenCalledWith({
      networks: [
        {
          ssidHex: '4c61624e6574',
          security: 'wpa2-psk',
          passphrase: 'correct horse',
          hidden: false,
          priority: 0,
        },
      ],
      mode: 'replace',
      commit: 'confirm',
      failsafeSeconds: 300,
      apply: 'now',
      nonce: '0123456789abcdef',
    });
    await dispatch('wifi.forget', { ssid: 'LabNet' }, ctx);
    expect(agent.forgetWifi).toHaveBeenCalledWith({ ssidHex: '4c61624e6574' });
    await dispatch('device.identify', undefined, ctx);
    expect(agent.identify).toHaveBeenCalledWith(10);
    await expect(dispatch('device.rename', { name: ' Pump 1 ' }, ctx)).resolves.toEqual({
      ok: true,
      name: 'Pump 1',
    });
    await dispatch('ap.stop', null, ctx);
    expect(agent.stopAp).toHaveBeenCalledOnce();
  });

  it('refuses unknown methods and bad params with stable codes, before the agent is touched', async () => {
    const agent = fakeAgent();
    const dispatch = rpcDispatcher(agent);
    expect(await codeOf(dispatch('no.such', {}, ctx))).toBe('UNKNOWN_METHOD');
    expect(await codeOf(dispatch('toString', {}, ctx))).toBe('UNKNOWN_METHOD');
    expect(await codeOf(dispatch('__proto__', {}, ctx))).toBe('UNKNOWN_METHOD');
    expect(await codeOf(dispatch('wifi.list', { stray: 1 }, ctx))).toBe('BAD_REQUEST');
    expect(await codeOf(dispatch('wifi.set', { networks: [{ ssid: 'x'.repeat(33) }] }, ctx))).toBe(
      'INVALID_SSID',
    );
    expect(await codeOf(dispatch('wifi.forget', { id: 'a', ssid: 'b' }, ctx))).toBe('BAD_REQUEST');
    expect(await codeOf(dispatch('device.identify', { seconds: 0 }, ctx))).toBe('BAD_REQUEST');
    expect(agent.setWifi).not.toHaveBeenCalled();
    expect(agent.forgetWifi).not.toHaveBeenCalled();
    expect(agent.identify).not.toHaveBeenCalled();
  });
});
