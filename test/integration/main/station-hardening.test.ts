/**
 * The station against devices that misbehave, on purpose or by bad luck, and against its own
 * failures: every case runs the real engine on a virtual fleet of real agents. A raw-PSK job; a
 * device answering huge texts or unknown reasons; a journal that fails for one device; a device
 * busy with another handshake, rate limiting, closed or locked out; the transport told of every
 * network change.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveProverSecrets } from '../../../shared/crypto/airlift';
import { fromHex, toHex, utf8Encode } from '../../../shared/encoding';
import { AirliftError } from '../../../shared/errors';
import { openSession, type FetchLike } from '../../../shared/session/client';
import { assertMayAttempt } from '../../../agent/session/abuse-limits';
import { JobRunner, type JobRecord, type RunnerDeps } from '../../../main/engine/job-runner';
import { DeviceSecrets } from '../../../main/engine/secrets';
import { newJobSpec } from '../../../main/engine/job-spec';
import { fixedTransport } from '../../../main/ports/device-transport';
import { JobJournal, readJournal } from '../../../main/engine/journal';
import type { DeviceOutcome, JobOptions, JobSpec } from '../../../main/engine/types';
import type { DeviceTransport } from '../../../main/ports/device-transport';
import type { ServiceBrowser } from '../../../main/ports/discovery';
import { ssidHexOf, wpa2Psk } from '../../../lab/airspace';
import { LABNET, startFleet, type Fleet, type FleetOptions } from '../../../lab/fleet';
import { errorAnswer, standIn, type StandIn } from './hostile-device';

const fleets: Fleet[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await Promise.all(fleets.splice(0).map((f) => f.close()));
});

async function fleet(o: FleetOptions): Promise<Fleet> {
  const f = await startFleet({ timeScale: 0.02, ...o });
  fleets.push(f);
  return f;
}

async function hostile(...args: Parameters<typeof standIn>): Promise<StandIn> {
  const s = await standIn(...args);
  cleanups.push(() => s.close());
  return s;
}

function secretsOf(f: Fleet): DeviceSecrets {
  const s = new DeviceSecrets();
  for (const e of f.manifest) s.set(e.deviceId, e.setupSecret, { salt: fromHex(e.salt), iterations: e.iter });
  return s;
}

function specFor(f: Fleet, options: Partial<JobOptions> = {}): JobSpec {
  return newJobSpec({
    target: { ssidHex: toHex(utf8Encode(LABNET.ssid)), security: 'wpa2-psk', hidden: false, priority: 0 },
    devices: f.manifest.map((m) => ({ deviceId: m.deviceId, ...(m.name ? { name: m.name } : {}) })),
    options: { verifyTimeoutMs: 4000, ...options },
  });
}

function runner(
  f: Fleet,
  spec: JobSpec,
  extra: Partial<RunnerDeps> = {},
  credentials: { passphrase?: string; psk?: string } = { passphrase: LABNET.passphrase },
) {
  return new JobRunner(
    { adapters: f.adapters, browser: f.browser(), transport: f.transport, secrets: secretsOf(f), ...extra },
    { spec, credentials },
  );
}

const byId = (outcomes: DeviceOutcome[]) => new Map(outcomes.map((o) => [o.deviceId, o]));
const idOf = (f: Fleet, i: number) => f.manifest[i]?.deviceId ?? '';

/** The station's fetch, recording the status of every answer by path. */
function recording(f: FetchLike): { fetch: FetchLike; answers: { path: string; status: number }[] } {
  const answers: { path: string; status: number }[] = [];
  return {
    answers,
    fetch: async (url, init) => {
      const res = await f(url, init);
      answers.push({ path: new URL(url).pathname, status: res.status });
      return res;
    },
  };
}

async function jobsDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'airlift-hardening-'));
  cleanups.push(() => rm(d, { recursive: true, force: true }));
  return d;
}

describe('a job with a raw PSK', () => {
  it('returns to the target network with the PSK and verifies every device', async () => {
    const f = await fleet({ devices: 3, adapters: 2 });
    const psk = toHex(wpa2Psk(LABNET.passphrase, ssidHexOf(LABNET.ssid)));
    const { summary, outcomes } = await runner(f, specFor(f), {}, { psk }).run();
    expect(summary, JSON.stringify(outcomes.map((o) => [o.reason, o.detail]))).toMatchObject({
      verified: 3,
      failed: 0,
    });
    for (const d of f.devices) expect(d.lab.running.agent.status().state).toBe('online');
  });
});

describe('device-supplied text', () => {
  it('a 70 kB error message fails that device with a clipped detail; the others are verified and journaled', async () => {
    const f = await fleet({ devices: 3, adapters: 1 });
    const victim = idOf(f, 1);
    const huge = 'A'.repeat(70_000);
    await hostile(f, victim, (r) =>
      r.path === '/v1/session/hello' ? errorAnswer(new AirliftError('BAD_REQUEST', huge)) : undefined,
    );
    const dir = await jobsDir();
    const spec = specFor(f);
    const journal = await JobJournal.create(dir, spec);
    const { summary, outcomes } = await runner(f, spec, { journal: journal }).run();
    await journal.close();
    expect(summary).toMatchObject({ total: 3, verified: 2, failed: 1 });
    const bad = byId(outcomes).get(victim);
    expect(bad).toMatchObject({ result: 'failed', reason: 'session_failed' });
    expect(bad?.detail?.length).toBeLessThanOrEqual(1024);
    expect(bad?.detail).toMatch(/^BAD_REQUEST: A+…$/);
    const replay = await readJournal(dir, spec.id);
    expect(replay.problems).toEqual([]);
    expect([...replay.devices.values()].map((d) => d.result)).toEqual(['verified', 'failed', 'verified']);
  });

  it('a reason outside the known set becomes device_error, the original clipped in the detail', async () => {
    const f = await fleet({ devices: 1, adapters: 1, faults: ['wrong_password'] });
    const victim = f.devices.find((d) => d.fault)?.entry.deviceId ?? '';
    const hostileReason = `=HYPERLINK("x")${'Z'.repeat(70_000)}`;
    await hostile(
      f,
      victim,
      () => undefined,
      (req, _status, body) => {
        const b = body as { lastAttempt?: { reason?: string; result?: string } };
        if (req.path !== '/v1/status' || b.lastAttempt?.result !== 'failed') return undefined;
        return { ...b, lastAttempt: { ...b.lastAttempt, reason: hostileReason } };
      },
    );
    const { outcomes } = await runner(f, specFor(f)).run();
    const bad = byId(outcomes).get(victim);
    expect(bad).toMatchObject({ result: 'failed', reason: 'device_error' });
    expect(bad?.detail).toContain('=HYPERLINK("x")ZZZ');
    expect(bad?.detail?.length).toBeLessThanOrEqual(1024);
    expect(bad?.detail?.endsWith('…')).toBe(true);
  });

  it('a known reason from the device passes through unchanged', async () => {
    const f = await fleet({ devices: 1, adapters: 1, faults: ['wrong_password'] });
    const { outcomes } = await runner(f, specFor(f)).run();
    expect(outcomes.find((o) => o.result === 'failed')?.reason).toBe('auth_failed');
  });

  it('a huge hostname heard over mDNS is clipped before it is journaled', async () => {
    const f = await fleet({ devices: 2, adapters: 1 });
    const victim = idOf(f, 0);
    const real = f.browser();
    const rename = <T extends { txt: Record<string, string>; host: string }>(s: T): T =>
      s.txt['id'] === victim ? { ...s, host: `${'h'.repeat(70_000)}.local` } : s;
    const browser: ServiceBrowser = {
      start: () => real.start(),
      stop: () => real.stop(),
      refresh: () => real.refresh(),
      services: () => real.services().map(rename),
      subscribe: (l) =>
        real.subscribe((e) => l(e.type === 'down' ? e : { ...e, service: rename(e.service) })),
    };
    const dir = await jobsDir();
    const spec = specFor(f);
    const journal = await JobJournal.create(dir, spec);
    const { summary, outcomes } = await runner(f, spec, {
      browser,
      journal: journal,
    }).run();
    await journal.close();
    expect(summary.verified).toBe(2);
    expect(byId(outcomes).get(victim)?.hostname?.length).toBeLessThanOrEqual(255);
    expect((await readJournal(dir, spec.id)).devices.get(victim)?.result).toBe('verified');
  });
});

describe('the station’s own failures', () => {
  it('a journal that cannot record one device fails that device as station_error and carries on', async () => {
    const f = await fleet({ devices: 3, adapters: 1 });
    const victim = idOf(f, 1);
    const dir = await jobsDir();
    const spec = specFor(f);
    const journal = await JobJournal.create(dir, spec);
    const inner = journal;
    const diskFull = () =>
      Promise.reject(new AirliftError('BACKEND_UNAVAILABLE', 'Cannot write job journal: ENOSPC'));
    const recorder: JobRecord = {
      step: (id, step, facts, lane) =>
        id === victim && step === 'linkCheck' ? diskFull() : inner.step(id, step, facts, lane),
      result: (o) => (o.deviceId === victim ? diskFull() : inner.result(o)),
    };
    const { summary, outcomes } = await runner(f, spec, { journal: recorder }).run();
    await journal.close();
    expect(summary).toMatchObject({ verified: 2, failed: 1 });
    const bad = byId(outcomes).get(victim);
    expect(bad).toMatchObject({ result: 'failed', reason: 'station_error' });
    expect(bad?.detail).toContain('ENOSPC');
    // The device got no credentials: it failed before the push.
    const d = f.devices.find((x) => x.entry.deviceId === victim);
    expect(d?.lab.running.agent.listWifi()).toEqual([]);
  });
});

describe('handshake back-pressure', () => {
  it('backs off and retries while the device is BUSY answering another handshake', async () => {
    const f = await fleet({ devices: 2, adapters: 1 });
    const victim = idOf(f, 0);
    // The agent answers pake1 one at a time: while it answers another client's, it refuses ours
    // with BUSY and a short retryAfterMs (agent/session/session-manager.ts). Twice here, then through.
    let refusals = 2;
    const busy = new AirliftError('BUSY', 'Another handshake is being answered; retry shortly', {
      retryAfterMs: 200,
    });
    const s = await hostile(f, victim, (r) =>
      r.path === '/v1/session/pake1' && refusals-- > 0 ? errorAnswer(busy) : undefined,
    );
    const { summary, outcomes } = await runner(f, specFor(f)).run();
    expect(byId(outcomes).get(victim)).toMatchObject({ result: 'verified' });
    expect(summary).toMatchObject({ verified: 2, failed: 0 });
    expect(s.seen.filter((r) => r.path === '/v1/session/pake1')).toHaveLength(3);
  });

  it('fails as device_busy when the device stays busy through every retry', async () => {
    const f = await fleet({ devices: 2, adapters: 1 });
    const victim = idOf(f, 0);
    const busy = new AirliftError('BUSY', 'Another handshake is being answered; retry shortly', {
      retryAfterMs: 200,
    });
    await hostile(f, victim, (r) => (r.path === '/v1/session/pake1' ? errorAnswer(busy) : undefined));
    const { outcomes } = await runner(f, specFor(f)).run();
    expect(byId(outcomes).get(victim)).toMatchObject({ result: 'failed', reason: 'device_busy' });
    expect(byId(outcomes).get(victim)?.detail).toMatch(/6 tries/);
    expect(byId(outcomes).get(idOf(f, 1))?.result).toBe('verified');
  });

  it('waits out a short RATE_LIMITED and is verified', async () => {
    const f = await fleet({ devices: 1, adapters: 1 });
    const d = f.devices[0];
    if (!d) throw new Error('no device');
    const id = d.entry.deviceId;
    const wrongGuess = () =>
      openSession({
        baseUrl: d.lab.url,
        deviceId: id,
        deriveSecrets: (salt, iter) => deriveProverSecrets('ZZZZZZZZZZZZZZZZZZZZZZZZZQ', id, salt, iter),
        fetch: (url, init) => fetch(url, init),
      }).catch(() => undefined);
    // Five wrong guesses start a 1 s delay; one more after it makes it 2 s.
    for (let i = 0; i < 5; i++) await wrongGuess();
    await new Promise((r) => setTimeout(r, 1100));
    await wrongGuess();
    const rec = recording(f.stationFetch);
    const { summary } = await runner(f, specFor(f), { transport: fixedTransport(rec.fetch) }).run();
    expect(rec.answers.map((a) => a.status)).toContain(429);
    expect(summary).toMatchObject({ verified: 1, failed: 0 });
  });

  it('fails at once with rate_limited when the wait is long, saying how long', async () => {
    const f = await fleet({ devices: 2, adapters: 1 });
    const victim = idOf(f, 0);
    // The station reads the wait from details.retryAfterMs, not from the device's prose.
    const limited = new AirliftError('RATE_LIMITED', 'slow down', { retryAfterMs: 32_000 });
    const s = await hostile(f, victim, (r) =>
      r.path === '/v1/session/hello' ? errorAnswer(limited, { 'retry-after': '32' }) : undefined,
    );
    const started = Date.now();
    const { outcomes } = await runner(f, specFor(f)).run();
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(byId(outcomes).get(victim)).toMatchObject({ result: 'failed', reason: 'rate_limited' });
    expect(byId(outcomes).get(victim)?.detail).toMatch(/32 s/);
    expect(s.seen.filter((r) => r.path === '/v1/session/hello')).toHaveLength(1);
    expect(byId(outcomes).get(idOf(f, 1))?.result).toBe('verified');
  });
});

describe('locked out and closed setup windows', () => {
  /** What the real agent answers with these counters (agent/session/abuse-limits.ts). */
  const refusal = (counters: { windowFailures: number; lifetimeFailures: number }) => {
    try {
      assertMayAttempt({ consecutiveFailures: 0, notBefore: 0, ...counters }, Date.now());
    } catch (err) {
      return err as AirliftError;
    }
    throw new Error('expected a refusal');
  };

  it.each([
    [
      'LOCKED_OUT',
      { windowFailures: 0, lifetimeFailures: 100 },
      'locked_out',
      /airliftctl reset-lockout.*reset button/,
    ],
    [
      'SETUP_CLOSED',
      { windowFailures: 20, lifetimeFailures: 20 },
      'setup_closed',
      /reopens when setup is opened again/,
    ],
  ] as const)('%s is reported as %s with what to do on the device', async (code, counters, reason, fix) => {
    const f = await fleet({ devices: 2, adapters: 1 });
    const victim = idOf(f, 0);
    const real = refusal(counters);
    expect(real.code).toBe(code);
    // A terse device: the fix-it text must be the station's own, not whatever the device says.
    await hostile(f, victim, (r) =>
      r.path === '/v1/session/hello' ? errorAnswer(new AirliftError(real.code, 'no')) : undefined,
    );
    const { outcomes } = await runner(f, specFor(f)).run();
    const bad = byId(outcomes).get(victim);
    expect(bad).toMatchObject({ result: 'failed', reason });
    expect(bad?.detail).toMatch(fix);
    expect(byId(outcomes).get(idOf(f, 1))?.result).toBe('verified');
  });
});

describe('the device transport', () => {
  it('is told of every network change before the next request goes out', async () => {
    const f = await fleet({ devices: 3, adapters: 1 });
    const lane = f.adapters[0];
    if (!lane) throw new Error('no adapter');
    const log: string[] = [];
    let restoring = false;
    const join = lane.join.bind(lane);
    lane.join = async (req) => {
      const r = await join(req);
      // The sim's restore joins too: that join is part of the restore.
      if (!restoring) log.push('join');
      return r;
    };
    const restore = lane.restore.bind(lane);
    lane.restore = async (p) => {
      restoring = true;
      await restore(p).finally(() => (restoring = false));
      log.push('restore');
    };
    const transport: DeviceTransport = {
      fetch: (url, init) => {
        log.push('fetch');
        return f.transport.fetch(url, init);
      },
      networkChanged: () => {
        log.push('changed');
        f.transport.networkChanged();
      },
    };
    const { summary } = await runner(f, specFor(f), { transport }).run();
    expect(summary.verified).toBe(3);
    expect(log.filter((e) => e === 'join').length).toBeGreaterThanOrEqual(4);
    log.forEach((e, i) => {
      if (e === 'join' || e === 'restore') expect(log[i + 1], `after ${e} #${i}`).toBe('changed');
    });
  });
});
