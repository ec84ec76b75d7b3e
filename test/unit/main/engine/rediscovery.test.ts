/**
 * Telling a pushed device from what it says about itself, over mDNS or by unicast (one check for
 * both), the addresses worth a probe, the probe's bounds and what it says when it finds nothing; and
 * the step machine's part: the reported address kept with the push, the way it was verified kept
 * with the result.
 */
import { describe, expect, it } from 'vitest';
import { buildTxt } from '../../../../shared/protocol/mdns';
import type { DeviceStatus } from '../../../../shared/protocol/api';
import type { FetchLike } from '../../../../shared/session/client';
import { advance, type DeviceState } from '../../../../main/engine/device-machine';
import {
  claimsPush,
  probeAddresses,
  probeByUnicast,
  statusClaim,
  txtClaim,
} from '../../../../main/engine/rediscovery';

const ID = 'K7Q2M6XA';
const NONCE = '0123456789abcdef0123456789abcdef';
const NONCE8 = NONCE.slice(0, 8);

function status(over: Partial<DeviceStatus> = {}): DeviceStatus {
  return {
    state: 'failsafe',
    via: 'wifi',
    ip: '192.168.50.23',
    hostname: `airlift-${ID.toLowerCase()}`,
    pv: NONCE8,
    setupAp: { up: true, ssid: `Airlift-${ID}`, address: '10.150.7.1' },
    network: {
      config_state: 'configured',
      supplicant: { connected: true },
      dhcp4: { state: 'bound' },
    },
    apps: [],
    ...over,
  };
}

/** Answers `/v1/status` per host; a host without an answer is unreachable. */
function devices(byHost: Record<string, unknown>, seen: string[] = []): FetchLike {
  return (url) => {
    const u = new URL(url);
    seen.push(`${u.host}${u.pathname}`);
    const body = byHost[u.hostname];
    if (body === undefined) return Promise.reject(new Error('connect EHOSTUNREACH'));
    if (body === 'hang') return new Promise(() => undefined);
    return Promise.resolve({ status: 200, json: () => Promise.resolve(body) });
  };
}

describe('what a device claims', () => {
  it('the same check takes a TXT record and a status answer', () => {
    const txt = buildTxt({ deviceId: ID, state: 'failsafe', lastNonceHex: NONCE, model: 'm', fw: '1' });
    for (const claim of [txtClaim(txt), statusClaim(status(), ID)]) {
      expect(claim && claimsPush(claim, ID, NONCE8)).toBe(true);
      expect(claim && claimsPush(claim, 'AAAAAAAA', NONCE8)).toBe(false);
      expect(claim && claimsPush(claim, ID, 'ffffffff')).toBe(false);
    }
    const online = txtClaim(
      buildTxt({ deviceId: ID, state: 'online', lastNonceHex: NONCE, model: '', fw: '' }),
    );
    expect(online && claimsPush(online, ID, NONCE8)).toBe(true);
    for (const state of ['setup', 'applying', 'connecting'] as const) {
      expect(claimsPush(statusClaim(status({ state }), ID), ID, NONCE8), state).toBe(false);
    }
    // A status answered by another device: its hostname names another id.
    expect(claimsPush(statusClaim(status({ hostname: 'airlift-aaaaaaaa' }), ID), ID, NONCE8)).toBe(false);
    expect(txtClaim({ id: 'not an id', v: '1', st: 'online' })).toBeUndefined();
  });

  it('probes IPv4 unicast addresses only, each once, in order', () => {
    expect(
      probeAddresses([
        undefined,
        '192.168.50.23',
        'fe80::1',
        '127.0.0.1',
        '0.0.0.0',
        '224.0.0.251',
        '255.255.255.255',
        '192.168.50.023',
        'airlift-k7q2m6xa.local',
        '10.1.2.3',
        '192.168.50.23',
      ]),
    ).toEqual(['192.168.50.23', '10.1.2.3']);
  });
});

describe('the unicast probe', () => {
  const base = { deviceId: ID, nonce8: NONCE8, port: 4780 };

  it('takes the first address, in order, whose answer claims the push', async () => {
    const seen: string[] = [];
    const fetch = devices(
      { '10.0.0.9': status({ pv: 'ffffffff' }), '10.0.0.8': status(), '10.0.0.7': status() },
      seen,
    );
    const r = await probeByUnicast({ ...base, addresses: ['10.0.0.9', '10.0.0.8', '10.0.0.7'], fetch });
    expect(r).toEqual({
      ok: true,
      address: '10.0.0.8',
      hostname: `airlift-${ID.toLowerCase()}`,
    });
    expect(seen.sort()).toEqual([
      '10.0.0.7:4780/v1/status',
      '10.0.0.8:4780/v1/status',
      '10.0.0.9:4780/v1/status',
    ]);
  });

  it('says what each address answered when none is the device', async () => {
    const fetch = devices({
      '10.0.0.1': status({ hostname: 'airlift-aaaaaaaa' }),
      '10.0.0.2': status({ pv: '' }),
      '10.0.0.3': status({ state: 'setup' }),
      '10.0.0.4': { hello: 'not a status' },
    });
    const r = await probeByUnicast({
      ...base,
      addresses: ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'],
      fetch,
    });
    expect(r.ok).toBe(false);
    const why = r.ok ? '' : r.why;
    expect(why).toContain(`10.0.0.1: another device answered there, not ${ID}`);
    expect(why).toContain("10.0.0.2: it answered without this job's credentials (pv none)");
    expect(why).toContain('10.0.0.3: it answered in state setup, not failsafe or online');
    expect(why).toContain('10.0.0.4: The device answered an invalid status');
    expect(why).toContain('10.0.0.5: Device unreachable: connect EHOSTUNREACH');
  });

  it('is bounded: an address that never answers fails in the probe time', async () => {
    const started = Date.now();
    const r = await probeByUnicast({
      ...base,
      addresses: ['10.0.0.1'],
      fetch: devices({ '10.0.0.1': 'hang' }),
      timeoutMs: 50,
    });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(r).toEqual({ ok: false, why: 'GET /v1/status did not answer within 50 ms' });
  });

  it('without an address there is nothing to ask', async () => {
    const r = await probeByUnicast({ ...base, addresses: [], fetch: devices({}) });
    expect(r).toEqual({ ok: false, why: 'no address is known for it' });
  });
});

describe('the step machine', () => {
  const pushing: DeviceState = {
    outcome: { deviceId: ID, step: 'pushing', timings: {}, attempts: 1 },
    enteredAt: 0,
  };

  it('keeps the address a device reported with its push, journaled as a fact', () => {
    const a = advance(pushing, { type: 'pushed', attemptId: 'a1', ip: '192.168.50.23' }, 10, 'now');
    expect(a.state.outcome).toMatchObject({ step: 'pushed', attemptId: 'a1', ip: '192.168.50.23' });
    expect(a.write).toEqual({
      kind: 'step',
      step: 'pushed',
      facts: { attemptId: 'a1', ip: '192.168.50.23' },
    });
  });

  it('keeps how a device was verified, when it says; a plain verification has no detail', () => {
    const awaiting: DeviceState = {
      outcome: { deviceId: ID, step: 'awaiting', timings: {}, attempts: 1, detail: 'earlier' },
      enteredAt: 0,
    };
    const by = advance(awaiting, { type: 'verified', ip: '192.168.50.23', detail: 'by unicast' }, 5, 'now');
    expect(by.state.outcome).toMatchObject({ result: 'verified', detail: 'by unicast' });
    const plain = advance(awaiting, { type: 'verified', ip: '192.168.50.23' }, 5, 'now');
    expect(plain.state.outcome.detail).toBeUndefined();
  });
});
