/**
 * The unicast fallback, in process: real agents in the virtual fleet, the station's mDNS silenced
 * as client isolation on the target network silences it (multicast does not cross between clients,
 * unicast does). An AP+STA device reported its LAN address on its setup AP: the station probes it
 * there (GET /v1/status), confirms it (device.commit) and says so in the detail. A device that
 * reported no address, or whose address does not answer as it, stays not_rediscovered and the
 * detail says what the probe met. Nothing is pushed twice, across a resume too.
 * The network lab runs the same on real networking (test/e2e/netns/faults.test.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fromHex, toHex, utf8Encode } from '../../../shared/encoding';
import { AirliftError } from '../../../shared/errors';
import type { FetchLike } from '../../../shared/session/client';
import { setupSubnet } from '../../../shared/addressing';
import { buildTxt, serviceInstanceFqdn } from '../../../shared/protocol/mdns';
import { JobAborted, JobRunner, type JobRecord, type RunnerDeps } from '../../../main/engine/job-runner';
import { DeviceSecrets } from '../../../main/engine/secrets';
import { newJobSpec } from '../../../main/engine/job-spec';
import { JobJournal, readJournal } from '../../../main/engine/journal';
import type { DeviceOutcome, DeviceStep, JobSpec } from '../../../main/engine/types';
import type { DiscoveredService, ServiceBrowser } from '../../../main/ports/discovery';
import { LABNET, startFleet, type Fleet, type FleetOptions } from '../../../lab/fleet';

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

/**
 * A browser on a network whose mDNS does not reach the station: it never hears a device there
 * (`cached`: what it heard elsewhere, still in its cache).
 */
const silentBrowser = (cached: DiscoveredService[] = []): ServiceBrowser => ({
  start: () => Promise.resolve(),
  subscribe: () => () => undefined,
  services: () => cached,
  refresh: () => undefined,
  stop: () => Promise.resolve(),
});

/** The steps journaled per device, in memory. */
function recorder(): JobRecord & { steps: { deviceId: string; step: DeviceStep; ip?: string }[] } {
  const steps: { deviceId: string; step: DeviceStep; ip?: string }[] = [];
  return {
    steps,
    step: (deviceId, step, facts) => {
      steps.push({ deviceId, step, ...(facts?.ip !== undefined ? { ip: facts.ip } : {}) });
      return Promise.resolve();
    },
    result: () => Promise.resolve(),
  };
}

function specFor(f: Fleet): JobSpec {
  return newJobSpec({
    target: { ssidHex: toHex(utf8Encode(LABNET.ssid)), security: 'wpa2-psk', hidden: false, priority: 0 },
    devices: f.manifest.map((m) => ({ deviceId: m.deviceId })),
    options: { verifyTimeoutMs: 1500 },
  });
}

function runner(
  f: Fleet,
  spec: JobSpec,
  extra: Partial<RunnerDeps> = {},
  previous?: Map<string, DeviceOutcome>,
) {
  const secrets = new DeviceSecrets();
  for (const e of f.manifest)
    secrets.set(e.deviceId, e.setupSecret, { salt: fromHex(e.salt), iterations: e.iter });
  return new JobRunner(
    { adapters: f.adapters, browser: silentBrowser(), transport: f.transport, secrets, ...extra },
    { spec, credentials: { passphrase: LABNET.passphrase }, ...(previous ? { previous } : {}) },
  );
}

/** The fleet's transport, with `answer` deciding first for requests to the target network's addresses. */
function onLan(f: Fleet, answer: (url: URL) => ReturnType<FetchLike> | undefined): RunnerDeps['transport'] {
  const fetch: FetchLike = (url, init) => answer(new URL(url)) ?? f.transport.fetch(url, init);
  return { fetch, networkChanged: () => f.transport.networkChanged() };
}
const isLan = (u: URL) => u.hostname.startsWith('192.168.50.');

const pushesOf = (steps: readonly { deviceId: string; step: DeviceStep }[], id: string) =>
  steps.filter((s) => s.deviceId === id && s.step === 'pushing').length;

describe('a pushed device mDNS does not bring back', () => {
  it('an AP+STA device is probed at the address it reported, confirmed there, and the detail says so', async () => {
    const f = await fleet({ devices: 2, adapters: 1, apSta: true });
    const journal = recorder();
    const probed: string[] = [];
    const transport = onLan(f, (u) => {
      if (isLan(u) && u.pathname === '/v1/status') probed.push(u.host);
      return undefined;
    });
    const { summary, outcomes } = await runner(f, specFor(f), { journal, transport }).run();
    expect(summary).toMatchObject({ total: 2, verified: 2, failed: 0 });
    for (const d of f.devices) {
      const id = d.entry.deviceId;
      const o = outcomes.find((x) => x.deviceId === id);
      const reported = d.lab.running.agent.status().lastAttempt?.ip;
      expect(reported).toMatch(/^192\.168\.50\./);
      expect(o).toMatchObject({ result: 'verified', ip: reported, hostname: `airlift-${id.toLowerCase()}` });
      expect(o?.detail).toContain(`verified by unicast at ${reported}`);
      expect(o?.detail).toContain('mDNS');
      // Committed there: no longer on trial.
      expect(d.lab.running.agent.state).toBe('online');
      expect(d.lab.running.agent.listWifi()[0]?.provisional).toBe(false);
      // The address was journaled with the push (a resume knows it), and the device pushed once.
      expect(journal.steps.find((s) => s.deviceId === id && s.step === 'pushed')?.ip).toBe(reported);
      expect(pushesOf(journal.steps, id)).toBe(1);
      expect(probed).toContain(`${reported ?? ''}:4780`);
    }
  });

  it('a device that reported no address (no AP+STA) stays not_rediscovered, nothing probed', async () => {
    const f = await fleet({ devices: 1, adapters: 1 });
    const probed: string[] = [];
    const transport = onLan(f, (u) => {
      if (isLan(u)) probed.push(u.host);
      return undefined;
    });
    const { outcomes } = await runner(f, specFor(f), { transport }).run();
    expect(outcomes[0]).toMatchObject({ result: 'failed', reason: 'not_rediscovered' });
    expect(outcomes[0]?.detail).toBe('neither on the target network nor in setup mode');
    expect(outcomes[0]?.ip).toBeUndefined();
    expect(probed).toEqual([]);
  });

  it('when the reported address does not answer either, the detail says the probe to it failed too', async () => {
    const f = await fleet({ devices: 1, adapters: 1, apSta: true });
    const transport = onLan(f, (u) =>
      isLan(u)
        ? Promise.reject(
            new AirliftError('UNREACHABLE', `GET ${u.pathname}: device unreachable (EHOSTUNREACH)`),
          )
        : undefined,
    );
    const { outcomes } = await runner(f, specFor(f), { transport }).run();
    const ip = f.devices[0]?.lab.running.agent.status().lastAttempt?.ip ?? '';
    expect(ip).not.toBe('');
    expect(outcomes[0]).toMatchObject({ result: 'failed', reason: 'not_rediscovered' });
    expect(outcomes[0]?.detail).toContain(`the unicast probe to ${ip} failed too`);
    expect(outcomes[0]?.detail).toContain('EHOSTUNREACH');
    // Never committed: still on trial, to revert by itself.
    expect(f.devices[0]?.lab.running.agent.state).toBe('failsafe');
  });

  it("an answer at that address without this job's pv is not taken for the device", async () => {
    const f = await fleet({ devices: 1, adapters: 1, apSta: true });
    const id = f.manifest[0]?.deviceId ?? '';
    // Another device holds the address now (a DHCP lease handed on): it answers, but not as ours.
    const transport = onLan(f, (u) => {
      if (!isLan(u) || u.pathname !== '/v1/status') return undefined;
      const real = f.devices[0]?.lab.running.agent.status();
      return Promise.resolve({ status: 200, json: () => Promise.resolve({ ...real, pv: '00000000' }) });
    });
    const { outcomes } = await runner(f, specFor(f), { transport }).run();
    expect(outcomes[0]).toMatchObject({ deviceId: id, result: 'failed', reason: 'not_rediscovered' });
    expect(outcomes[0]?.detail).toContain("without this job's credentials");
    expect(f.devices[0]?.lab.running.agent.state).toBe('failsafe');
  });

  it('an advertisement heard on its setup AP (a lane was there) is not taken for the way back to it', async () => {
    const f = await fleet({ devices: 1, adapters: 1, apSta: true });
    const id = f.manifest[0]?.deviceId ?? '';
    const spec = specFor(f);
    // What the station's cache holds after a lane sat on the AP of an AP+STA device that took the push.
    const onAp: DiscoveredService = {
      fqdn: serviceInstanceFqdn(id),
      instance: `Airlift ${id}`,
      host: `airlift-${id.toLowerCase()}.local`,
      port: 4780,
      addresses: [setupSubnet(id).address],
      txt: buildTxt({ deviceId: id, state: 'failsafe', lastNonceHex: spec.nonce, model: 'lab', fw: '1' }),
      lastSeen: Date.now(),
    };
    const { outcomes } = await runner(f, spec, { browser: silentBrowser([onAp]) }).run();
    expect(outcomes[0]).toMatchObject({ result: 'verified', ip: f.net.leaseOf(id) });
    expect(outcomes[0]?.detail).toContain('verified by unicast');
  });

  it('a job resumed after the push finds the device at the journaled address, without pushing again', async () => {
    const f = await fleet({ devices: 1, adapters: 1, apSta: true });
    const dir = await mkdtemp(join(tmpdir(), 'airlift-jobs-'));
    dirs.push(dir);
    const spec = specFor(f);
    const journal = await JobJournal.create(dir, spec);
    const crash = new AbortController();
    const first = runner(f, spec, {
      journal,
      signal: crash.signal,
      onEvent: (e) => {
        if (e.type === 'device-step' && e.step === 'pushed') crash.abort();
      },
    });
    await expect(first.run()).rejects.toBeInstanceOf(JobAborted);
    await journal.close();
    const replay = await readJournal(dir, spec.id);
    const attempt = f.devices[0]?.lab.running.agent.status().lastAttempt;
    expect([...replay.devices.values()][0]).toMatchObject({ step: 'pushed', ip: attempt?.ip });

    const again = await JobJournal.open(dir, spec.id);
    const { outcomes } = await runner(f, spec, { journal: again }, new Map(replay.devices)).run();
    await again.close();
    expect(outcomes[0]).toMatchObject({ result: 'verified', ip: attempt?.ip });
    expect(outcomes[0]?.detail).toContain('verified by unicast');
    expect(f.devices[0]?.lab.running.agent.status().lastAttempt?.id).toBe(attempt?.id);
  });
});
