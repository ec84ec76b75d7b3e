/**
 * The agent's lifecycle under faults an attacker (or a bug) can provoke: an exception in any effect
 * must end where the normal failure path ends (never a state waiting for an event that never
 * comes), and the setup window's failure count must survive a restart. The real agent over HTTP on
 * loopback with the sim radio, driven as a station drives it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AirliftError } from '../../../shared/errors';
import { AP_RETRY_MS } from '../../../agent/core/agent';
import { startLabDevice, type LabDevice, type LabDeviceOptions } from '../../../lab/lab-device';
import { ManualClock } from '../../../lab/manual-clock';
import { LAB_ID, LAB_SECRET, LABNET_HEX, open, status, waitFor } from '../../helpers/lab';

const devices: LabDevice[] = [];
const dirs: string[] = [];

async function device(opts: Partial<LabDeviceOptions> = {}): Promise<LabDevice> {
  const d = await startLabDevice({
    deviceId: LAB_ID,
    setupSecret: LAB_SECRET,
    timeScale: 0,
    ...opts,
    config: {
      setup: { teardownDelayMs: 0, lingerSeconds: 0, retryKnownSeconds: 60, idleTimeoutSeconds: 900 },
      mdns: { mode: 'off' },
      ...opts.config,
    },
  });
  devices.push(d);
  return d;
}

async function restart(d: LabDevice, opts: Partial<LabDeviceOptions>): Promise<LabDevice> {
  await d.close();
  devices.splice(devices.indexOf(d), 1);
  return device(opts);
}

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'airlift-hardening-'));
  dirs.push(d);
  return d;
}

afterEach(async () => {
  await Promise.all(devices.splice(0).map((d) => d.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const labNet = { ssid: 'LabNet', passphrase: 'correct horse' };
const NOWHERE_HEX = Buffer.from('Nowhere').toString('hex');

const inSetupWithAp = (d: LabDevice) =>
  waitFor(
    () => status(d),
    (s) => s.state === 'setup' && s.setupAp.up,
    'setup with the AP up',
  );

/** A saved network that is not in range, stored locally without switching (airliftctl add-wifi). */
async function saveUnreachableNetwork(d: LabDevice): Promise<void> {
  await d.running.agent.setWifi({
    networks: [
      { ssidHex: NOWHERE_HEX, security: 'wpa2-psk', passphrase: 'whatever1', hidden: false, priority: 0 },
    ],
    mode: 'add',
    commit: 'auto',
    failsafeSeconds: 300,
    apply: 'later',
  });
}

async function pushLabNetOnline(d: LabDevice): Promise<void> {
  await (await open(d)).call('wifi.set', { networks: [labNet], commit: 'auto' });
  await waitFor(
    () => status(d),
    (s) => s.state === 'online',
    'online on LabNet',
  );
}

describe('an exception in an effect never leaves the machine waiting', () => {
  it('a join that throws ends the attempt as hardware, restores the networks and reopens setup', async () => {
    const d = await device();
    await inSetupWithAp(d);
    await saveUnreachableNetwork(d);
    d.radio.setFaults({ joinThrows: true });
    const session = await open(d);
    const { attemptId } = (await session.call('wifi.set', { networks: [labNet] })) as { attemptId: string };

    const s = await waitFor(
      () => status(d),
      (s) => s.lastAttempt?.id === attemptId && s.lastAttempt.result !== 'pending',
      'the attempt to end',
    );
    expect(s.lastAttempt).toMatchObject({ result: 'failed', reason: 'hardware', ssidHex: LABNET_HEX });
    await inSetupWithAp(d);
    // The networks from before the push, and nothing of the push.
    expect(d.running.agent.listWifi().map((n) => n.ssidHex)).toEqual([NOWHERE_HEX]);

    // The device takes the next push (it is not BUSY forever).
    d.radio.setFaults({ joinThrows: undefined });
    const again = await open(d);
    await again.call('wifi.set', { networks: [labNet], commit: 'auto' });
    await waitFor(
      () => status(d),
      (s) => s.state === 'online' && s.ssidHex === LABNET_HEX,
      'online after the second push',
    );
  });

  it('a status refresh that throws during the apply ends it too; the AP comes back once the radio answers', async () => {
    const clock = new ManualClock();
    const d = await device({ clock });
    await inSetupWithAp(d);
    const session = await open(d);
    d.radio.setFaults({ statusThrows: true });
    const { attemptId } = (await session.call('wifi.set', { networks: [labNet] })) as { attemptId: string };
    const s = await waitFor(
      () => status(d),
      (s) => s.lastAttempt?.id === attemptId && s.lastAttempt.result !== 'pending',
      'the attempt to end',
    );
    expect(s.lastAttempt).toMatchObject({ result: 'failed', reason: 'hardware' });
    await waitFor(
      () => status(d),
      (s) => s.state === 'setup',
      'setup',
    );
    expect(d.running.agent.listWifi()).toEqual([]);

    d.radio.setFaults({ statusThrows: undefined });
    clock.advance(AP_RETRY_MS);
    await inSetupWithAp(d);
    await (await open(d)).call('wifi.set', { networks: [labNet], commit: 'auto' });
    await waitFor(
      () => status(d),
      (s) => s.state === 'online',
      'online after the second push',
    );
  });

  it('a join that throws while connecting at boot falls back to setup', async () => {
    const stateDir = await tempDir();
    const d1 = await device({ stateDir });
    await inSetupWithAp(d1);
    await pushLabNetOnline(d1);
    const d2 = await restart(d1, { stateDir, faults: { joinThrows: true } });
    await inSetupWithAp(d2);
  });

  it('a background retry whose join throws brings the AP back', async () => {
    const clock = new ManualClock();
    const d = await device({ clock });
    await inSetupWithAp(d);
    await pushLabNetOnline(d);
    d.radio.setFaults({ outOfRange: true });
    clock.advance(60_000); // the connectivity check finds the link gone: connecting, then setup
    await inSetupWithAp(d);

    d.radio.setFaults({ outOfRange: false, joinThrows: true });
    clock.advance(60_000); // background retry: LabNet is heard again, the AP goes down to join it
    await d.running.agent.idle();
    // The radio's truth (the airspace), not only what the agent last read from it.
    await waitFor(
      () => d.airspace.scanFor('station').some((h) => h.ap.owner === LAB_ID),
      (heard) => heard,
      'the setup AP on the air again',
    );
    expect((await inSetupWithAp(d)).state).toBe('setup');
  });

  it('an AP that fails to start is tried again while the device stays in setup', async () => {
    const clock = new ManualClock();
    const d = await device({ clock, faults: { failApStart: true } });
    await waitFor(
      () => status(d),
      (s) => s.state === 'setup',
      'setup',
    );
    await d.running.agent.idle();
    expect((await status(d)).setupAp.up).toBe(false);
    d.radio.setFaults({ failApStart: undefined });
    clock.advance(AP_RETRY_MS);
    await inSetupWithAp(d);
  });

  it('a connectivity check that throws counts as a failed check, and the checks go on', async () => {
    const clock = new ManualClock();
    const d = await device({
      clock,
      config: { connectivity: { intervalSeconds: 60, failuresBeforeLoss: 3 } },
    });
    await inSetupWithAp(d);
    await pushLabNetOnline(d);
    d.radio.setFaults({ statusThrows: true });
    for (let i = 0; i < 3; i++) {
      clock.advance(60_000);
      await d.running.agent.idle();
    }
    // Three failed checks: the loss policy (reconnect) ran instead of the checks silently stopping.
    await waitFor(
      () => d.running.agent.state,
      (s) => s !== 'online',
      'the device to act on the lost connectivity',
    );
  });
});

describe('two pushes at once', () => {
  it('the second is BUSY and leaves nothing of itself behind', async () => {
    const d = await device();
    await inSetupWithAp(d);
    const network = (passphrase: string) => ({
      ssidHex: LABNET_HEX,
      security: 'wpa2-psk' as const,
      passphrase,
      hidden: false,
      priority: 0,
    });
    const push = (passphrase: string) =>
      d.running.agent.setWifi({
        networks: [network(passphrase)],
        mode: 'replace',
        commit: 'auto',
        failsafeSeconds: 300,
        apply: 'now',
      });
    const [first, second] = await Promise.allSettled([push('correct horse'), push('other horse')]);
    expect(first.status).toBe('fulfilled');
    expect(second).toMatchObject({ status: 'rejected', reason: { code: 'BUSY' } });
    const { attemptId } = (first as PromiseFulfilledResult<{ attemptId: string }>).value;
    const s = await waitFor(
      () => status(d),
      (s) => s.state === 'online',
      'online',
    );
    expect(s.lastAttempt).toMatchObject({ id: attemptId, result: 'ok' });
    // Committed: nothing is left on trial, and only the first push's network is saved.
    expect(d.running.agent.listWifi()).toMatchObject([{ ssidHex: LABNET_HEX, provisional: false }]);
  });
});

describe('the setup window', () => {
  const WRONG_SECRET = 'ZZZZZZZZZZZZZZZZZZZZZZZZZQ';

  async function failHandshake(d: LabDevice): Promise<string> {
    try {
      await open(d, WRONG_SECRET);
    } catch (err) {
      if (err instanceof AirliftError) return err.code;
      throw err;
    }
    throw new Error('handshake with a wrong secret succeeded');
  }

  async function closeWindow(d: LabDevice, clock: ManualClock): Promise<void> {
    for (let i = 0; i < 20; i++) {
      expect(await failHandshake(d)).toBe('AUTH_FAILED');
      clock.advance(6 * 60_000); // past the back-off delay (at most 5 min)
    }
    expect(await failHandshake(d)).toBe('SETUP_CLOSED');
  }

  it('a restart never reopens it; being online and then back in setup does', async () => {
    const clock = new ManualClock();
    const stateDir = await tempDir();
    const d1 = await device({ clock, stateDir });
    await inSetupWithAp(d1);
    await closeWindow(d1, clock);

    const d2 = await restart(d1, { clock, stateDir });
    await inSetupWithAp(d2);
    expect(await failHandshake(d2)).toBe('SETUP_CLOSED');
    await expect(open(d2)).rejects.toMatchObject({ code: 'SETUP_CLOSED' });

    // Someone with the device in hand adds its network (airliftctl add-wifi): it goes online.
    await d2.running.agent.setWifi({
      networks: [
        {
          ssidHex: LABNET_HEX,
          security: 'wpa2-psk',
          passphrase: 'correct horse',
          hidden: false,
          priority: 0,
        },
      ],
      mode: 'replace',
      commit: 'auto',
      failsafeSeconds: 300,
      apply: 'now',
    });
    await waitFor(
      () => status(d2),
      (s) => s.state === 'online',
      'online',
    );
    d2.running.agent.startAp(); // setup opened again after being online
    await inSetupWithAp(d2);
    await expect(open(d2)).resolves.toBeDefined();
  });

  it("a maker's reboot policy can make a boot the local recovery", async () => {
    const clock = new ManualClock();
    const stateDir = await tempDir();
    const d1 = await device({ clock, stateDir });
    await inSetupWithAp(d1);
    await closeWindow(d1, clock);
    const d2 = await restart(d1, { clock, stateDir, config: { limits: { atBoot: 'reopen-window' } } });
    await inSetupWithAp(d2);
    await expect(open(d2)).resolves.toBeDefined();
    const d3 = await restart(d2, { clock, stateDir, config: { limits: { atBoot: 'reset' } } });
    expect(d3.running.sessions.limits).toMatchObject({ windowFailures: 0, lifetimeFailures: 0 });
  });

  it('setup reopened by the idle timeout, without being online, keeps it closed', async () => {
    const clock = new ManualClock();
    const d = await device({ clock });
    await inSetupWithAp(d);
    await saveUnreachableNetwork(d);
    await closeWindow(d, clock);
    // Idle timeout with a known network: setup → connecting (nothing in range) → setup.
    clock.advance(900_000);
    await d.running.agent.idle();
    await inSetupWithAp(d);
    expect(await failHandshake(d)).toBe('SETUP_CLOSED');
  });
});
