/**
 * The real agent over HTTP on loopback with the sim radio: the whole provisioning path a station
 * drives, its failure paths, the fail-safe commit, and the abuse limits.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AirliftError } from '../../../shared/errors';
import { startLabDevice, type LabDevice, type LabDeviceOptions } from '../../../lab/lab-device';
import { ManualClock } from '../../../lab/manual-clock';
import { Airspace } from '../../../lab/airspace';
import { LAB_ID, LAB_SECRET, LABNET_HEX, open, status, waitFor } from '../../helpers/lab';

const devices: LabDevice[] = [];
const dirs: string[] = [];

async function device(opts: Partial<LabDeviceOptions> = {}): Promise<LabDevice> {
  const d = await startLabDevice({
    deviceId: LAB_ID,
    setupSecret: LAB_SECRET,
    timeScale: 0,
    ...opts,
    config: { setup: { teardownDelayMs: 0, lingerSeconds: 0 }, mdns: { mode: 'off' }, ...opts.config },
  });
  devices.push(d);
  return d;
}

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'airlift-it-'));
  dirs.push(d);
  return d;
}

afterEach(async () => {
  await Promise.all(devices.splice(0).map((d) => d.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const labNet = { ssid: 'LabNet', passphrase: 'correct horse' };

describe('provisioning over the setup AP', () => {
  it('starts in setup with its AP up when it knows no network', async () => {
    const d = await device();
    const s = await waitFor(
      () => status(d),
      (s) => s.state === 'setup',
      'setup',
    );
    expect(s.setupAp).toMatchObject({ up: true, ssid: `Airlift-${LAB_ID}` });
    expect(s.setupAp.address).toMatch(/^10\.\d+\.\d+\.1$/);
    expect(d.airspace.scanFor('station').some((h) => h.ap.owner === LAB_ID)).toBe(true);
  });

  it('runs a SPAKE2+ session, joins the target network, and commits on confirmation', async () => {
    const d = await device();
    await waitFor(
      () => status(d),
      (s) => s.state === 'setup',
      'setup',
    );
    const session = await open(d);
    const nonce = 'a1b2c3d4e5f60718';
    const reply = (await session.call('wifi.set', { networks: [labNet], nonce, failsafeSeconds: 120 })) as {
      attemptId: string;
      apStaysUp: boolean;
    };
    expect(reply.attemptId).toMatch(/^[0-9a-f]{16}$/);
    expect(reply.apStaysUp).toBe(false);
    const s = await waitFor(
      () => status(d),
      (s) => s.state === 'failsafe',
      'failsafe',
    );
    expect(s.lastAttempt).toMatchObject({ id: reply.attemptId, result: 'ok', ssidHex: LABNET_HEX });
    expect(s.lastAttempt?.ip).toMatch(/^192\.168\.50\./);
    expect(s.ip).toBe(s.lastAttempt?.ip);
    expect(s.pv).toBe(nonce.slice(0, 8));
    expect(s.setupAp.up).toBe(false);
    expect(s.failsafe?.attemptId).toBe(reply.attemptId);

    // The station confirms over the LAN (same session works: the lab has one loopback path).
    await expect(session.call('device.commit', { nonce })).resolves.toMatchObject({ committed: true });
    const after = await waitFor(
      () => status(d),
      (s) => s.state === 'online',
      'online',
    );
    expect(after.failsafe).toBeUndefined();
    // Committing again with the same nonce is harmless (the station may retry).
    await expect(session.call('device.commit', { nonce })).resolves.toMatchObject({ committed: true });

    const list = (await session.call('wifi.list')) as { networks: Record<string, unknown>[] };
    expect(list.networks).toHaveLength(1);
    expect(list.networks[0]).toMatchObject({ ssid: 'LabNet', ssidHex: LABNET_HEX, provisional: false });
    expect(JSON.stringify(list)).not.toContain('correct horse');
  });

  it('reports auth_failed for a wrong passphrase, restores the AP and keeps no new network', async () => {
    const d = await device();
    await waitFor(
      () => status(d),
      (s) => s.state === 'setup',
      'setup',
    );
    const session = await open(d);
    const { attemptId } = (await session.call('wifi.set', {
      networks: [{ ssid: 'LabNet', passphrase: 'wrong horse' }],
    })) as { attemptId: string };
    const s = await waitFor(
      () => status(d),
      (s) => s.lastAttempt?.id === attemptId && s.lastAttempt.result === 'failed',
      'failed attempt',
    );
    expect(s.lastAttempt?.reason).toBe('auth_failed');
    const back = await waitFor(
      () => status(d),
      (s) => s.state === 'setup' && s.setupAp.up,
      'setup again',
    );
    expect(back.network.config_state).toBe('unconfigured');
    // The station reconnects to the AP and can try again: a new session works.
    const again = await open(d);
    await expect(again.call('wifi.list')).resolves.toEqual({ networks: [] });
  });

  it('reports ssid_not_found and dhcp_timeout with their reasons', async () => {
    const airspace = Airspace.withDefaults();
    const d = await device({ airspace });
    await waitFor(
      () => status(d),
      (s) => s.state === 'setup',
      'setup',
    );
    const session = await open(d);
    const r1 = (await session.call('wifi.set', {
      networks: [{ ssid: 'Nowhere', passphrase: 'whatever1' }],
    })) as { attemptId: string };
    const s1 = await waitFor(
      () => status(d),
      (s) => s.lastAttempt?.id === r1.attemptId && s.lastAttempt.result !== 'pending',
      'r1',
    );
    expect(s1.lastAttempt?.reason).toBe('ssid_not_found');
    await waitFor(
      () => status(d),
      (s) => s.state === 'setup',
      'setup',
    );

    const labNetAp = airspace.listAps().find((ap) => ap.ssidHex === LABNET_HEX);
    if (!labNetAp) throw new Error('LabNet missing from the default airspace');
    airspace.updateAp(labNetAp.bssid, { dhcp: 'timeout' });
    const s2session = await open(d);
    const r2 = (await s2session.call('wifi.set', { networks: [labNet] })) as { attemptId: string };
    const s2 = await waitFor(
      () => status(d),
      (s) => s.lastAttempt?.id === r2.attemptId && s.lastAttempt.result !== 'pending',
      'r2',
    );
    expect(s2.lastAttempt?.reason).toBe('dhcp_timeout');
  });

  it('with AP+STA keeps the AP up while joining and reports the result on it', async () => {
    const d = await device({ faults: { concurrentApSta: true }, config: { setup: { lingerSeconds: 30 } } });
    await waitFor(
      () => status(d),
      (s) => s.state === 'setup',
      'setup',
    );
    const session = await open(d);
    const reply = (await session.call('wifi.set', { networks: [labNet] })) as {
      apStaysUp: boolean;
      attemptId: string;
    };
    expect(reply.apStaysUp).toBe(true);
    const s = await waitFor(
      () => status(d),
      (s) => s.lastAttempt?.result === 'ok',
      'ok',
    );
    expect(s.setupAp.up).toBe(true);
    expect(s.state).toBe('failsafe');
  });

  it('plans with AP+STA as the radio reports it now: lost after start, the AP goes down to join', async () => {
    const d = await device({ faults: { concurrentApSta: true } });
    await waitFor(
      () => status(d),
      (s) => s.state === 'setup',
      'setup',
    );
    // As when the backend could not create its AP interface after all.
    d.radio.setFaults({ concurrentApSta: false });
    const session = await open(d);
    const reply = (await session.call('wifi.set', { networks: [labNet] })) as { apStaysUp: boolean };
    expect(reply.apStaysUp).toBe(false);
    expect(await (await fetch(`${d.url}/v1/info`)).json()).toMatchObject({
      capabilities: { concurrentApSta: false },
    });
  });

  it('refuses a second wifi.set while one is being applied (BUSY)', async () => {
    const d = await startLabDevice({
      deviceId: LAB_ID,
      setupSecret: LAB_SECRET,
      timeScale: 0.05,
      config: { mdns: { mode: 'off' } },
    });
    devices.push(d);
    await waitFor(
      () => status(d),
      (s) => s.state === 'setup',
      'setup',
    );
    const session = await open(d);
    await session.call('wifi.set', { networks: [labNet] });
    await expect(session.call('wifi.set', { networks: [labNet] })).rejects.toMatchObject({ code: 'BUSY' });
  });

  it('validates networks with stable codes', async () => {
    const d = await device();
    await waitFor(
      () => status(d),
      (s) => s.state === 'setup',
      'setup',
    );
    const session = await open(d);
    const cases: [unknown, string][] = [
      [{ networks: [{ ssid: 'x'.repeat(33), passphrase: 'correct horse' }] }, 'INVALID_SSID'],
      [{ networks: [{ ssid: 'LabNet', passphrase: 'short' }] }, 'INVALID_PASSPHRASE'],
      [
        { networks: [{ ssid: 'LabNet', security: 'wep', passphrase: 'correct horse' }] },
        'UNSUPPORTED_SECURITY',
      ],
      [{ networks: [] }, 'BAD_REQUEST'],
      [{ networks: [labNet], surprise: 1 }, 'BAD_REQUEST'],
    ];
    for (const [params, code] of cases) {
      await expect(session.callRaw('wifi.set', params)).rejects.toMatchObject({ code });
    }
    await expect(session.callRaw('no.such.method')).rejects.toMatchObject({ code: 'UNKNOWN_METHOD' });
  });

  it('refuses a network whose security the radio cannot do, before touching anything', async () => {
    const d = await device({ capabilities: { security: ['open', 'wpa2-psk'] } });
    await waitFor(
      () => status(d),
      (s) => s.state === 'setup',
      'setup',
    );
    const session = await open(d);
    const info = (await (await fetch(`${d.url}/v1/info`)).json()) as { capabilities: { security: string[] } };
    expect(info.capabilities.security).toEqual(['open', 'wpa2-psk']);
    await expect(
      session.call('wifi.set', {
        networks: [{ ssid: 'LabNet', security: 'wpa3-sae', passphrase: 'correct horse' }],
      }),
    ).rejects.toMatchObject({ code: 'UNSUPPORTED_SECURITY' });
    const s = await status(d);
    expect(s.state).toBe('setup');
    expect(s.lastAttempt).toBeUndefined();
    expect((await d.radio.status()).ap.up).toBe(true);
  });
});

describe('fail-safe commit', () => {
  it('reverts unconfirmed credentials when the fail-safe time runs out, and reopens setup', async () => {
    const clock = new ManualClock();
    const d = await device({ clock });
    await waitFor(
      () => status(d),
      (s) => s.state === 'setup',
      'setup',
    );
    const session = await open(d);
    await session.call('wifi.set', { networks: [labNet], failsafeSeconds: 60 });
    await waitFor(
      () => status(d),
      (s) => s.state === 'failsafe',
      'failsafe',
    );
    clock.advance(59_000);
    expect((await status(d)).state).toBe('failsafe');
    clock.advance(2_000);
    const s = await waitFor(
      () => status(d),
      (s) => s.state === 'setup',
      'setup after revert',
    );
    expect(s.lastAttempt).toMatchObject({ result: 'failed', reason: 'not_confirmed' });
    expect(s.network.config_state).toBe('unconfigured');
    expect(s.setupAp.up).toBe(true);
  });

  it('never loses the last working network: a bad rotation over the LAN falls back to it', async () => {
    const clock = new ManualClock();
    const d = await device({ clock });
    await waitFor(
      () => status(d),
      (s) => s.state === 'setup',
      'setup',
    );
    const s1 = await open(d);
    await s1.call('wifi.set', { networks: [labNet], commit: 'auto' });
    await waitFor(
      () => status(d),
      (s) => s.state === 'online',
      'online',
    );
    // Rotate to a network whose password is wrong: the device must come back on LabNet.
    const { attemptId } = (await s1.call('wifi.set', {
      networks: [{ ssid: 'LabNet', passphrase: 'new password!' }],
    })) as { attemptId: string };
    const s = await waitFor(
      () => status(d),
      (s) => s.lastAttempt?.id === attemptId && s.lastAttempt.result === 'failed',
      'failure',
    );
    expect(s.lastAttempt?.reason).toBe('auth_failed');
    const back = await waitFor(
      () => status(d),
      (s) => s.state === 'online',
      'back online',
    );
    expect(back.ssidHex).toBe(LABNET_HEX);
    const list = (await s1.call('wifi.list')) as { networks: unknown[] };
    expect(list.networks).toHaveLength(1);
  });

  it('resumes a trial after a restart and reverts it if it then expires', async () => {
    const clock = new ManualClock();
    const stateDir = await tempDir();
    const airspace = Airspace.withDefaults();
    const d1 = await device({ clock, stateDir, airspace });
    await waitFor(
      () => status(d1),
      (s) => s.state === 'setup',
      'setup',
    );
    await (await open(d1)).call('wifi.set', { networks: [labNet], failsafeSeconds: 120 });
    await waitFor(
      () => status(d1),
      (s) => s.state === 'failsafe',
      'failsafe',
    );
    await d1.close();
    devices.splice(devices.indexOf(d1), 1);

    clock.advance(30_000);
    const d2 = await device({ clock, stateDir, airspace });
    const s = await waitFor(
      () => status(d2),
      (s) => s.state === 'failsafe',
      'failsafe resumed',
    );
    expect(s.failsafe?.expiresInMs).toBe(90_000);
    clock.advance(91_000);
    await waitFor(
      () => status(d2),
      (s) => s.state === 'setup',
      'reverted after restart',
    );
  });
});

describe('background retry in setup', () => {
  it('leaves setup when a known network comes back', async () => {
    const clock = new ManualClock();
    const airspace = Airspace.withDefaults();
    const d = await device({
      clock,
      airspace,
      config: { setup: { retryKnownSeconds: 60, teardownDelayMs: 0, lingerSeconds: 0 } },
    });
    await waitFor(
      () => status(d),
      (s) => s.state === 'setup',
      'setup',
    );
    await (await open(d)).call('wifi.set', { networks: [labNet], commit: 'auto' });
    await waitFor(
      () => status(d),
      (s) => s.state === 'online',
      'online',
    );

    d.radio.setFaults({ outOfRange: true });
    clock.advance(60_000); // connectivity check notices the link is gone
    await waitFor(
      () => status(d),
      (s) => s.state === 'setup',
      'setup after outage',
      5000,
    );

    d.radio.setFaults({ outOfRange: false });
    clock.advance(60_000); // background retry
    const s = await waitFor(
      () => status(d),
      (s) => s.state === 'online',
      'online again',
    );
    expect(s.setupAp.up).toBe(false);
    expect(s.ssidHex).toBe(LABNET_HEX);
  });
});

describe('abuse limits', () => {
  async function failHandshake(d: LabDevice): Promise<AirliftError> {
    try {
      await open(d, 'ZZZZZZZZZZZZZZZZZZZZZZZZZQ');
    } catch (err) {
      if (err instanceof AirliftError) return err;
      throw err;
    }
    throw new Error('handshake with a wrong secret succeeded');
  }

  it('delays after 5 failures, and the delay survives a restart', async () => {
    const clock = new ManualClock();
    const stateDir = await tempDir();
    const d1 = await device({ clock, stateDir });
    for (let i = 0; i < 5; i++) expect((await failHandshake(d1)).code).toBe('AUTH_FAILED');
    expect((await failHandshake(d1)).code).toBe('RATE_LIMITED');
    await d1.close();
    devices.splice(devices.indexOf(d1), 1);

    const d2 = await device({ clock, stateDir });
    expect((await failHandshake(d2)).code).toBe('RATE_LIMITED');
    clock.advance(1_001);
    // The right secret works after the delay and resets the consecutive count.
    await expect(open(d2)).resolves.toBeDefined();
  });

  it('closes the setup window after 20 failures, locks out after 100 lifetime failures until a local reset', async () => {
    const clock = new ManualClock();
    const stateDir = await tempDir();
    const d1 = await device({ clock, stateDir });
    for (let i = 0; i < 20; i++) {
      const e = await failHandshake(d1);
      expect(e.code).toBe('AUTH_FAILED');
      clock.advance(6 * 60_000);
    }
    expect((await failHandshake(d1)).code).toBe('SETUP_CLOSED');
    expect(d1.running.sessions.limits.lifetimeFailures).toBe(20);
    await d1.running.sessions.resetLimits();
    await expect(open(d1)).resolves.toBeDefined();
    await d1.close();
    devices.splice(devices.indexOf(d1), 1);

    // Seed 99 lifetime failures, then one more locks the device, across a restart.
    const { FileStore } = await import('../../../agent/store/file-store');
    await new FileStore(stateDir).saveCounters({
      consecutiveFailures: 0,
      windowFailures: 0,
      lifetimeFailures: 99,
      notBefore: 0,
    });
    const d2 = await device({ clock, stateDir });
    expect((await failHandshake(d2)).code).toBe('AUTH_FAILED');
    expect((await failHandshake(d2)).code).toBe('LOCKED_OUT');
    await d2.close();
    devices.splice(devices.indexOf(d2), 1);
    const d3 = await device({ clock, stateDir });
    expect((await failHandshake(d3)).code).toBe('LOCKED_OUT');
    await expect(open(d3)).rejects.toMatchObject({ code: 'LOCKED_OUT' });
    await d3.running.sessions.resetLimits();
    await expect(open(d3)).resolves.toBeDefined();
  });

  it('an abandoned hello neither blocks the next station nor costs anything', async () => {
    // One handshake at a time is enforced past pake1 (hardening-session.test.ts); a hello only
    // takes a slot among a few pending ones, so whoever sent it cannot keep the owner out.
    const d = await device();
    const res = await fetch(`${d.url}/v1/session/hello`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ deviceId: LAB_ID, nonce: Buffer.alloc(32, 1).toString('base64url') }),
    });
    expect(res.status).toBe(200);
    await expect(open(d)).resolves.toBeDefined();
    expect(d.running.sessions.limits).toMatchObject({ lifetimeFailures: 0, consecutiveFailures: 0 });
  });
});
