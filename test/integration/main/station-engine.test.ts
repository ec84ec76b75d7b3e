/**
 * The real station engine against a virtual fleet of real agents: the AP path with one and several
 * adapters, injected faults with their reasons, AP+STA devices, the LAN path, a crash mid-job and
 * its resume, and the retry of a failure group.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex, toHex, utf8Encode } from '../../../shared/encoding';
import { AirliftError } from '../../../shared/errors';
import { JobAborted, JobRunner, type RunnerDeps } from '../../../main/engine/job-runner';
import { DeviceSecrets } from '../../../main/engine/secrets';
import { newJobSpec } from '../../../main/engine/job-spec';
import { JobJournal, readJournal } from '../../../main/engine/journal';
import type { DeviceOutcome, JobEvent, JobOptions, JobSpec } from '../../../main/engine/types';
import { LABNET, WORKSHOP, startFleet, type Fleet, type FleetOptions } from '../../../lab/fleet';

const fleets: Fleet[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(fleets.splice(0).map((f) => f.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function fleet(o: FleetOptions): Promise<Fleet> {
  const f = await startFleet({ timeScale: 0.02, ...o });
  fleets.push(f);
  return f;
}

function secretsOf(f: Fleet): DeviceSecrets {
  const s = new DeviceSecrets();
  for (const e of f.manifest) s.set(e.deviceId, e.setupSecret, { salt: fromHex(e.salt), iterations: e.iter });
  return s;
}

function specFor(f: Fleet, options: Partial<JobOptions> = {}, ids?: string[]): JobSpec {
  return newJobSpec({
    target: { ssidHex: toHex(utf8Encode(LABNET.ssid)), security: 'wpa2-psk', hidden: false, priority: 0 },
    devices: f.manifest
      .filter((m) => !ids || ids.includes(m.deviceId))
      .map((m) => ({ deviceId: m.deviceId, ...(m.name ? { name: m.name } : {}) })),
    options: { verifyTimeoutMs: 4000, ...options },
  });
}

function runner(
  f: Fleet,
  spec: JobSpec,
  extra: Partial<RunnerDeps> = {},
  previous?: Map<string, DeviceOutcome>,
) {
  return new JobRunner(
    { adapters: f.adapters, browser: f.browser(), transport: f.transport, secrets: secretsOf(f), ...extra },
    { spec, credentials: { passphrase: LABNET.passphrase }, ...(previous ? { previous } : {}) },
  );
}

const byId = (outcomes: DeviceOutcome[]) => new Map(outcomes.map((o) => [o.deviceId, o]));

describe('AP path', () => {
  it('provisions and verifies every device, then restores the technician network', async () => {
    const f = await fleet({ devices: 5, adapters: 1 });
    const events: JobEvent[] = [];
    const { summary, outcomes } = await runner(f, specFor(f), { onEvent: (e) => events.push(e) }).run();
    expect(summary).toMatchObject({ total: 5, verified: 5, failed: 0, pending: 0 });
    for (const o of outcomes) {
      expect(o.result).toBe('verified');
      expect(o.ip).toMatch(/^192\.168\.50\./);
      expect(o.timings.joining).toBeGreaterThanOrEqual(0);
      expect(o.timings.session).toBeGreaterThanOrEqual(0);
      expect(o.targetSignal).toBeLessThan(0);
    }
    // Each device now runs on LabNet, committed (online, not on trial).
    for (const d of f.devices) {
      const s = d.lab.running.agent.status();
      expect(s.state).toBe('online');
      expect(s.ssidHex).toBe(toHex(utf8Encode(LABNET.ssid)));
      expect(d.lab.running.agent.listWifi()[0]?.provisional).toBe(false);
    }
    expect((await f.adapters[0]?.current())?.ssid).toBe(WORKSHOP.ssid);
    expect(events.map((e) => e.type)).toContain('job-finished');
    expect(events.flatMap((e) => (e.type === 'phase' ? [e.phase] : []))).toEqual(
      expect.arrayContaining(['push', 'return', 'verify', 'restore', 'done']),
    );
  });

  it('uses several adapters as parallel lanes', async () => {
    const f = await fleet({ devices: 6, adapters: 3 });
    const lanes = new Set<string>();
    const { summary } = await runner(f, specFor(f), {
      onEvent: (e) => {
        if (e.type === 'device-step' && e.lane) lanes.add(e.lane);
      },
    }).run();
    expect(summary.verified).toBe(6);
    expect([...lanes].sort()).toEqual(['wlan0', 'wlan1', 'wlan2']);
  });

  it('reports each injected fault with its reason and never stops the others', async () => {
    const f = await fleet({
      devices: 3,
      adapters: 2,
      faults: ['wrong_password', 'out_of_range', 'dhcp_failure'],
    });
    const { summary, outcomes } = await runner(f, specFor(f)).run();
    expect(summary).toMatchObject({ total: 6, verified: 3, failed: 3 });
    const o = byId(outcomes);
    const reasonOf = (fault: string) =>
      o.get(f.devices.find((d) => d.fault === fault)?.entry.deviceId ?? '')?.reason;
    expect(reasonOf('wrong_password')).toBe('auth_failed');
    expect(reasonOf('out_of_range')).toBe('target_not_seen');
    expect(reasonOf('dhcp_failure')).toBe('dhcp_timeout');
    expect(summary.byReason).toEqual({ auth_failed: 1, target_not_seen: 1, dhcp_timeout: 1 });
    // The failed devices are back in setup, with nothing new stored.
    for (const d of f.devices.filter((x) => x.fault)) {
      expect(d.lab.running.agent.state).toBe('setup');
      expect(d.lab.running.agent.listWifi()).toEqual([]);
    }
  });

  it('reads the result on the AP from AP+STA devices', async () => {
    const f = await fleet({ devices: 2, adapters: 1, apSta: true, faults: ['wrong_password'] });
    const { outcomes } = await runner(f, specFor(f)).run();
    const o = byId(outcomes);
    const bad = f.devices.find((d) => d.fault)?.entry.deviceId ?? '';
    expect(o.get(bad)).toMatchObject({ result: 'failed', reason: 'auth_failed' });
    // Found out on the AP: no waiting for it on the target network.
    expect(o.get(bad)?.timings.awaiting).toBeUndefined();
    expect(outcomes.filter((x) => x.result === 'verified')).toHaveLength(2);
  });

  it('tells why a device could not be looked for again when the scan itself fails', async () => {
    const f = await fleet({ devices: 1, adapters: 1, faults: ['wrong_password'] });
    const lane = f.adapters[0];
    if (!lane) throw new Error('no adapter');
    lane.scan = () =>
      Promise.reject(new AirliftError('BACKEND_UNAVAILABLE', 'Wi-Fi scanning needs Location permission'));
    const { outcomes } = await runner(f, specFor(f)).run();
    const bad = outcomes.find((o) => o.result === 'failed');
    expect(bad).toMatchObject({ reason: 'not_rediscovered' });
    expect(bad?.detail).toContain('Location permission');
  });

  it('fails a device with the wrong setup secret as auth_failed_setup', async () => {
    const f = await fleet({ devices: 2, adapters: 1 });
    const secrets = secretsOf(f);
    const victim = f.manifest[0]?.deviceId ?? '';
    secrets.set(victim, 'ZZZZZZZZZZZZZZZZZZZZZZZZZQ');
    const { outcomes } = await runner(f, specFor(f), { secrets }).run();
    expect(byId(outcomes).get(victim)).toMatchObject({ result: 'failed', reason: 'auth_failed_setup' });
  });
});

describe('LAN path', () => {
  it('rotates devices already on the network, with bounded concurrency', async () => {
    const f = await fleet({ devices: 8, adapters: 1, onLan: true });
    // The station is on the same network as the devices.
    await f.adapters[0]?.join({
      ssidHex: toHex(utf8Encode(LABNET.ssid)),
      security: 'wpa2-psk',
      passphrase: LABNET.passphrase,
      timeoutMs: 5000,
    });
    const { summary, outcomes } = await runner(
      f,
      specFor(f, { path: 'lan', concurrency: 3, mode: 'add' }),
    ).run();
    expect(summary).toMatchObject({ verified: 8, failed: 0 });
    for (const o of outcomes) expect(o.timings.joining).toBeUndefined();
  });
});

describe('journal, resume and retry', () => {
  async function jobsDir(): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), 'airlift-jobs-'));
    dirs.push(d);
    return d;
  }

  it('resumes after a crash mid-job without pushing twice to a device it had pushed', async () => {
    const f = await fleet({ devices: 6, adapters: 1 });
    const dir = await jobsDir();
    const spec = specFor(f);
    const journal = await JobJournal.create(dir, spec);
    const crash = new AbortController();
    let pushed = 0;
    const first = runner(f, spec, {
      journal: journal,
      signal: crash.signal,
      onEvent: (e) => {
        if (e.type === 'device-step' && e.step === 'pushed' && ++pushed === 3) crash.abort();
      },
    });
    await expect(first.run()).rejects.toBeInstanceOf(JobAborted);
    await journal.close();

    // Count wifi.set calls per device from here on: none may go to the three pushed devices.
    const replay = await readJournal(dir, spec.id);
    const pushedBefore = [...replay.devices.values()]
      .filter((d) => d.step === 'pushed')
      .map((d) => d.deviceId);
    expect(pushedBefore).toHaveLength(3);
    const attemptsBefore = new Map(
      f.devices.map((d) => [d.entry.deviceId, d.lab.running.agent.status().lastAttempt?.id]),
    );

    const again = await JobJournal.open(dir, spec.id);
    const { summary } = await runner(f, spec, { journal: again }, new Map(replay.devices)).run();
    await again.close();
    expect(summary).toMatchObject({ total: 6, verified: 6, failed: 0 });
    for (const id of pushedBefore) {
      const d = f.devices.find((x) => x.entry.deviceId === id);
      expect(d?.lab.running.agent.status().lastAttempt?.id, `${id} was pushed again`).toBe(
        attemptsBefore.get(id),
      );
    }
    const final = await readJournal(dir, spec.id);
    expect([...final.devices.values()].every((d) => d.result === 'verified')).toBe(true);
  });

  it('retries a failure group once its cause is fixed', async () => {
    const f = await fleet({ devices: 2, adapters: 1, faults: ['out_of_range'] });
    const spec = specFor(f);
    const first = await runner(f, spec).run();
    expect(first.summary.byReason).toEqual({ target_not_seen: 1 });
    const bad = f.devices.find((d) => d.fault);
    if (!bad) throw new Error('no faulty device');
    // The technician moves the device closer.
    f.airspace.clearSignal(bad.entry.deviceId);
    const previous = byId(first.outcomes);
    previous.set(bad.entry.deviceId, {
      deviceId: bad.entry.deviceId,
      step: 'queued',
      timings: {},
      attempts: 2,
    });
    const second = await runner(f, spec, {}, previous).run();
    expect(second.summary).toMatchObject({ verified: 3, failed: 0 });
    expect(byId(second.outcomes).get(bad.entry.deviceId)?.attempts).toBe(2);
  });
});
