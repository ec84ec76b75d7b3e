/**
 * DeviceApi's handshake retries: BUSY, a short RATE_LIMITED and a device unreachable for a moment
 * are tried again, a bounded number of times and within a total wait; anything else, or a long
 * wait, fails at once. Reads are tried again while the device is unreachable. The device here
 * answers every hello with the error under test (the lab tests drive the real agent).
 */
import { describe, expect, it } from 'vitest';
import { AirliftError } from '../../../../shared/errors';
import type { FetchLike } from '../../../../shared/session/client';
import { DeviceApi, HANDSHAKE_RETRY } from '../../../../main/engine/device-api';
import { DeviceSecrets } from '../../../../main/engine/secrets';

const ID = 'K7Q2M6XA';

function refusingDevice(err: AirliftError): { fetch: FetchLike; hellos: () => number } {
  let hellos = 0;
  return {
    hellos: () => hellos,
    fetch: (url) => {
      if (url.endsWith('/v1/session/hello')) hellos++;
      return Promise.resolve({ status: err.status, json: () => Promise.resolve({ error: err.toBody() }) });
    },
  };
}

function api(fetch: FetchLike) {
  const pauses: number[] = [];
  const secrets = new DeviceSecrets();
  secrets.set(ID, 'ABCDEFGHIJKLMNOPQRSTUVWXYQ');
  const a = new DeviceApi('http://10.150.7.1', fetch, 1000, {
    sleep: (ms) => {
      pauses.push(ms);
      return Promise.resolve();
    },
  });
  return { open: () => a.session(ID, secrets), device: a, pauses };
}

async function refusal(p: Promise<unknown>): Promise<AirliftError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof AirliftError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('DeviceApi.session retries', () => {
  it('backs off on BUSY, growing with jitter, and gives up after the last try saying so', async () => {
    const device = refusingDevice(new AirliftError('BUSY', 'Another handshake is in progress'));
    const { open, pauses } = api(device.fetch);
    const e = await refusal(open());
    expect(e.code).toBe('BUSY');
    expect(e.message).toMatch(/6 tries over \d+\.\d s/);
    expect(device.hellos()).toBe(HANDSHAKE_RETRY.attempts);
    expect(pauses).toHaveLength(HANDSHAKE_RETRY.attempts - 1);
    pauses.forEach((p, i) => {
      const base = Math.min(HANDSHAKE_RETRY.busyMaxMs, HANDSHAKE_RETRY.busyFirstMs * 2 ** i);
      expect(p).toBeGreaterThanOrEqual(Math.floor(base * 0.75));
      expect(p).toBeLessThanOrEqual(Math.ceil(base * 1.25));
    });
  });

  it('waits out a short RATE_LIMITED by the device’s retryAfterMs', async () => {
    const device = refusingDevice(new AirliftError('RATE_LIMITED', 'later', { retryAfterMs: 2000 }));
    const { open, pauses } = api(device.fetch);
    const e = await refusal(open());
    expect(e.code).toBe('RATE_LIMITED');
    expect(pauses.every((p) => p === 2100)).toBe(true);
    // Bounded by the total wait: 20 s of 2.1 s pauses.
    expect(pauses.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(HANDSHAKE_RETRY.maxTotalWaitMs);
    expect(device.hellos()).toBe(pauses.length + 1);
  });

  it.each([
    ['a long RATE_LIMITED', new AirliftError('RATE_LIMITED', 'later', { retryAfterMs: 32_000 })],
    ['RATE_LIMITED without a wait', new AirliftError('RATE_LIMITED', 'later')],
    ['LOCKED_OUT', new AirliftError('LOCKED_OUT', 'locked')],
    ['AUTH_FAILED', new AirliftError('AUTH_FAILED', 'no')],
  ])('fails at once on %s', async (_what, err) => {
    const device = refusingDevice(err);
    const { open, pauses } = api(device.fetch);
    expect((await refusal(open())).code).toBe(err.code);
    expect(device.hellos()).toBe(1);
    expect(pauses).toEqual([]);
  });

  it('tries a handshake again while the device is unreachable, briefly, and says how often', async () => {
    let hellos = 0;
    const { open, pauses } = api(() => {
      hellos++;
      return Promise.reject(new Error('connect EHOSTUNREACH 10.150.7.1:80'));
    });
    const e = await refusal(open());
    expect(e.code).toBe('UNREACHABLE');
    expect(e.message).toMatch(/tries over/);
    expect(pauses.length).toBeGreaterThanOrEqual(2);
    expect(pauses.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(HANDSHAKE_RETRY.unreachableMaxWaitMs);
    expect(hellos).toBe(pauses.length + 1);
  });

  it('reads again while the device is unreachable for a moment', async () => {
    let calls = 0;
    const { device: a, pauses } = api(() =>
      ++calls <= 2
        ? Promise.reject(new Error('connect EHOSTUNREACH 10.150.7.1:80'))
        : Promise.resolve({ status: 200, json: () => Promise.resolve({ networks: [] }) }),
    );
    expect(await a.networks()).toEqual({ networks: [] });
    expect(calls).toBe(3);
    expect(pauses).toHaveLength(2);
    expect(pauses[1]).toBeGreaterThan(pauses[0] ?? Infinity);
  });

  it('does not read again when the device answered with an error', async () => {
    const device = refusingDevice(new AirliftError('NOT_FOUND', 'no such thing'));
    const { device: a, pauses } = api(device.fetch);
    await expect(a.status()).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(pauses).toEqual([]);
  });
});
