/**
 * Attacks on the handshake's abuse limits, replayed against a real lab device over HTTP on loopback:
 * racing pake1, hogging hello, a damaged counters file, and the owner's local way back in.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Agent as HttpAgent } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { startLabDevice, type LabDevice, type LabDeviceOptions } from '../../../lab/lab-device';
import { ManualClock } from '../../../lab/manual-clock';
import { FileStore } from '../../../agent/store/file-store';
import { startControlSocket, type ControlSocket } from '../../../agent/control/socket-server';
import { runDoctor } from '../../../agent/control/doctor';
import { EXIT, main as airliftctl } from '../../../agent/cli/airliftctl';
import { emptyCounters } from '../../../agent/ports/store';
import type { DoctorReport } from '../../../shared/protocol/control';
import type { DeviceStatus } from '../../../shared/protocol/api';
import { LAB_ID, LAB_SECRET, open, status } from '../../helpers/lab';
import {
  LEVEL,
  WRONG_SECRET,
  capturingLogger,
  hello,
  pake1Body,
  pake2Body,
  post,
  proverFor,
  type Reply,
} from './hardening-rig';

const devices: LabDevice[] = [];
const dirs: string[] = [];
const sockets: ControlSocket[] = [];

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

async function restart(d: LabDevice, opts: Partial<LabDeviceOptions>): Promise<LabDevice> {
  await d.close();
  devices.splice(devices.indexOf(d), 1);
  return device({ ...opts, stateDir: d.stateDir });
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'airlift-hardening-'));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  await Promise.all(sockets.splice(0).map((s) => s.close()));
  await Promise.all(devices.splice(0).map((d) => d.close()));
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

/** 127.0.0.2 .. 127.0.0.(n+1): distinct clients to the agent. */
const addresses = (n: number) => Array.from({ length: n }, (_, i) => `127.0.0.${i + 2}`);

async function openError(d: LabDevice, secret = LAB_SECRET): Promise<{ code: string; details?: unknown }> {
  try {
    await open(d, secret);
  } catch (err) {
    return err as { code: string; details?: unknown };
  }
  throw new Error('the handshake succeeded');
}

describe('pake1 races', () => {
  it('answers at most one of 200 concurrent pake1 on one hello, and charges it once', async () => {
    const d = await device();
    const h = await hello(d.url);
    const body = pake1Body(h, proverFor(h, WRONG_SECRET));
    const from = addresses(10);
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        post(d.url, '/v1/session/pake1', body, { localAddress: from[i % from.length] ?? '127.0.0.2' }),
      ),
    );
    const answered = replies.filter((r) => r.status === 200).length;
    expect(answered).toBe(1);
    // Every other copy was refused by the agent (a 4xx with a code), not dropped or crashed.
    for (const r of replies.filter((x) => x.status !== 200)) {
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      expect(r.code).toBeDefined();
    }
    expect(d.running.sessions.limits).toMatchObject({ lifetimeFailures: 1, windowFailures: 1 });
  });

  it('answers one pake1 at a time across handshakes: the others are told BUSY, uncharged', async () => {
    const d = await device();
    const hellos = await Promise.all(addresses(8).map((localAddress) => hello(d.url, { localAddress })));
    const replies = await Promise.all(
      hellos.map((h, i) =>
        post(d.url, '/v1/session/pake1', pake1Body(h, proverFor(h, WRONG_SECRET)), {
          localAddress: addresses(8)[i] ?? '127.0.0.2',
        }),
      ),
    );
    // Here all 8 arrive while the first is being charged (1 answered, 7 BUSY); on a slower loop
    // a later one may find the way clear. Never is a charge made that is not answered, or the
    // reverse, and never does one pake1 cut another off.
    const answered = replies.filter((r) => r.status === 200).length;
    expect(replies.filter((r) => r.status !== 200).map((r) => r.code)).toEqual(
      Array.from({ length: 8 - answered }, () => 'BUSY'),
    );
    expect(answered).toBeGreaterThanOrEqual(1);
    expect(d.running.sessions.limits.lifetimeFailures).toBe(answered);
    // A refused pake1 keeps its hello: the same handshake goes through once the other is answered.
    const i = replies.findIndex((r) => r.code === 'BUSY');
    const h = hellos[i];
    if (h) {
      const prover = proverFor(h);
      const retry = await post(d.url, '/v1/session/pake1', pake1Body(h, prover));
      expect(retry.status).toBe(200);
      expect((await post(d.url, '/v1/session/pake2', pake2Body(h, prover, retry))).status).toBe(200);
    }
  });

  it('refuses a second pake1 on the same handshake', async () => {
    const d = await device();
    const h = await hello(d.url);
    const body = pake1Body(h, proverFor(h, WRONG_SECRET));
    expect((await post(d.url, '/v1/session/pake1', body)).status).toBe(200);
    const again = await post(d.url, '/v1/session/pake1', body);
    expect(again).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
    expect(d.running.sessions.limits.lifetimeFailures).toBe(1);
  });

  it('re-checks the limits at pake1: a hello taken before the window closed cannot be spent after', async () => {
    const stateDir = await tempDir();
    await new FileStore(stateDir).saveCounters({
      ...emptyCounters,
      windowFailures: 19,
      lifetimeFailures: 19,
    });
    const d = await device({ stateDir });
    const a = await hello(d.url);
    const b = await hello(d.url);
    expect((await post(d.url, '/v1/session/pake1', pake1Body(a, proverFor(a, WRONG_SECRET)))).status).toBe(
      200,
    );
    const late = await post(d.url, '/v1/session/pake1', pake1Body(b, proverFor(b, WRONG_SECRET)));
    expect(late).toMatchObject({ status: 423, code: 'SETUP_CLOSED' });
    expect(d.running.sessions.limits).toMatchObject({ windowFailures: 20, lifetimeFailures: 20 });
  });

  it('keeps at most one handshake past pake1: a newer answered pake1 replaces the older one', async () => {
    const d = await device();
    const a = await hello(d.url);
    const b = await hello(d.url);
    const pa = proverFor(a);
    const pb = proverFor(b);
    const replyA = await post(d.url, '/v1/session/pake1', pake1Body(a, pa));
    const replyB = await post(d.url, '/v1/session/pake1', pake1Body(b, pb));
    expect([replyA.status, replyB.status]).toEqual([200, 200]);
    expect(await post(d.url, '/v1/session/pake2', pake2Body(a, pa, replyA))).toMatchObject({
      status: 401,
      code: 'SESSION_REQUIRED',
    });
    expect((await post(d.url, '/v1/session/pake2', pake2Body(b, pb, replyB))).status).toBe(200);
    // A was charged and abandoned; B was charged and refunded.
    expect(d.running.sessions.limits).toMatchObject({ lifetimeFailures: 1, consecutiveFailures: 0 });
  });
});

describe('hello costs nothing and reserves nothing scarce', () => {
  it('a hello flood from one client neither charges anything nor keeps the owner out', async () => {
    const d = await device();
    const flooder = new HttpAgent({ keepAlive: true, maxSockets: 16, localAddress: '127.0.0.2' });
    const floodReplies: Reply[] = [];
    let stop = false;
    const loop = async () => {
      while (!stop) {
        const nonce = Buffer.alloc(32, floodReplies.length % 256).toString('base64url');
        floodReplies.push(
          await post(d.url, '/v1/session/hello', { deviceId: LAB_ID, nonce }, { agent: flooder }),
        );
      }
    };
    const flood = Promise.all(Array.from({ length: 16 }, loop));
    try {
      while (floodReplies.length < 200) await new Promise((r) => setTimeout(r, 5));
      // The owner's own handshake, while the flood goes on: no BUSY, no retry.
      const started = Date.now();
      const session = await open(d);
      const took = Date.now() - started;
      await expect(session.call('wifi.list')).resolves.toMatchObject({ networks: [] });
      expect(took).toBeLessThan(10_000);
    } finally {
      stop = true;
      await flood;
      flooder.destroy();
    }
    expect(floodReplies.length).toBeGreaterThan(200);
    expect(floodReplies.every((r) => r.status === 200)).toBe(true);
    expect(d.running.sessions.limits).toEqual({ ...emptyCounters });
  });

  it('holds a bounded set of pending hellos: the busiest client gives way, never another client', async () => {
    const d = await device();
    const attacker = { localAddress: '127.0.0.2' };
    const first = await hello(d.url, attacker);
    for (let i = 0; i < 7; i++) await hello(d.url, attacker);
    const owner = await hello(d.url, { localAddress: '127.0.0.3' });
    for (let i = 0; i < 20; i++) await hello(d.url, attacker);
    const evicted = await post(d.url, '/v1/session/pake1', pake1Body(first, proverFor(first)));
    expect(evicted).toMatchObject({ status: 401, code: 'SESSION_REQUIRED' });
    const prover = proverFor(owner);
    const p1 = await post(d.url, '/v1/session/pake1', pake1Body(owner, prover));
    expect(p1.status).toBe(200);
    expect((await post(d.url, '/v1/session/pake2', pake2Body(owner, prover, p1))).status).toBe(200);
  });

  it('lets a hello that is never followed by pake1 time out', async () => {
    const clock = new ManualClock();
    const d = await device({ clock });
    const h = await hello(d.url);
    clock.advance(60_001);
    expect(await post(d.url, '/v1/session/pake1', pake1Body(h, proverFor(h)))).toMatchObject({
      status: 401,
      code: 'SESSION_REQUIRED',
    });
  });
});

describe('a damaged counters.json', () => {
  it('starts closed and says why, stays closed across another restart, until a local reset', async () => {
    const first = await device({ stateDir: await tempDir() });
    await writeFile(join(first.stateDir, 'counters.json'), '{"version":1,"consecutiveFail');
    const { logger, lines } = capturingLogger('info');
    const d = await restart(first, { logger });

    const refused = await openError(d);
    expect(refused).toMatchObject({ code: 'SETUP_CLOSED', details: { reason: 'counters_damaged' } });
    expect((await status(d)).limits).toMatchObject({ state: 'window_closed', reason: 'counters_damaged' });
    const said = lines.filter((l) => l.level >= LEVEL.warn && JSON.stringify(l).includes('counters.json'));
    expect(said.length).toBeGreaterThan(0);

    // The quarantined file is gone from its place; the closed state must not be lost with it.
    const again = await restart(d, {});
    expect(await openError(again)).toMatchObject({ code: 'SETUP_CLOSED' });

    await again.running.sessions.resetLimits();
    await expect(open(again)).resolves.toBeDefined();
    expect((await status(again)).limits).toMatchObject({ state: 'open' });
  });
});

describe('the owner gets back in locally', () => {
  async function ctl(argv: string[]): Promise<{ code: number; stdout: string }> {
    let stdout = '';
    const code = await airliftctl(argv, {
      stdout: { write: (s: string) => (stdout += s) },
      stderr: { write: () => true },
      stdin: Readable.from([]),
      defaultConfigPath: '/nonexistent/airlift/agent.json',
    });
    return { code, stdout };
  }

  it('shows a lockout in /v1/status, the control status and doctor; airliftctl reset-lockout reopens', async () => {
    const stateDir = await tempDir();
    await new FileStore(stateDir).saveCounters({ ...emptyCounters, lifetimeFailures: 100 });
    const d = await device({ stateDir });
    const socketPath = join(await tempDir(), 'run', 'agent.sock');
    sockets.push(
      await startControlSocket({
        path: socketPath,
        agent: d.running.agent,
        sessions: d.running.sessions,
        logger: capturingLogger().logger,
        // As airliftd wires it (agent/main.ts).
        doctor: () =>
          runDoctor({
            config: { ok: true, value: d.config },
            stateDir: d.stateDir,
            socketPath,
            pingAgent: () => Promise.resolve(true),
          }),
      }),
    );

    expect(await openError(d)).toMatchObject({ code: 'LOCKED_OUT' });
    expect((await status(d)).limits).toMatchObject({ state: 'locked_out', lifetimeFailures: 100 });
    const ctlStatus = await ctl(['--socket', socketPath, 'status', '--json']);
    expect((JSON.parse(ctlStatus.stdout) as DeviceStatus).limits).toMatchObject({ state: 'locked_out' });
    expect((await ctl(['--socket', socketPath, 'status'])).stdout).toMatch(/^Setup limits\s+locked out/m);
    const doctor = JSON.parse(
      (await ctl(['--socket', socketPath, 'doctor', '--json'])).stdout,
    ) as DoctorReport;
    expect(doctor.checks.find((c) => c.id === 'session.limits')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('airliftctl reset-lockout') as unknown,
    });

    expect((await ctl(['--socket', socketPath, 'reset-lockout'])).code).toBe(EXIT.OK);
    await expect(open(d)).resolves.toBeDefined();
    expect((await status(d)).limits).toMatchObject({ state: 'open', lifetimeFailures: 0 });
    const after = JSON.parse(
      (await ctl(['--socket', socketPath, 'doctor', '--json'])).stdout,
    ) as DoctorReport;
    expect(after.checks.find((c) => c.id === 'session.limits')?.status).toBe('pass');
  });

  it('reports the delay after repeated failures with its time left', async () => {
    const clock = new ManualClock();
    const d = await device({ clock });
    for (let i = 0; i < 5; i++) expect((await openError(d, WRONG_SECRET)).code).toBe('AUTH_FAILED');
    expect((await status(d)).limits).toMatchObject({ state: 'delayed', retryAfterMs: 1000 });
    clock.advance(1000);
    expect((await status(d)).limits).toMatchObject({ state: 'open' });
  });
});
