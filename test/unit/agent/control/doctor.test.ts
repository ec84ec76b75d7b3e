import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  CORE_CHECKS,
  runDoctor,
  worstStatus,
  type DoctorCheckFn,
  type DoctorDeps,
} from '../../../../agent/control/doctor';
import { defaultAgentConfig } from '../../../../shared/agent-config';
import { doctorReportSchema } from '../../../../shared/protocol/control';

const IDS = [
  'identity.provisioned',
  'state.dir',
  'state.files',
  'session.limits',
  'clock.sane',
  'config.valid',
  'agent.running',
];

const identityFile = {
  version: 1,
  deviceId: 'K7Q2M6XA',
  w0: 'ab'.repeat(32),
  L: `04${'cd'.repeat(64)}`,
  salt: 'ef'.repeat(16),
  iterations: 10_000,
  createdAt: '2025-01-02T03:04:05.000Z',
};

let root: string;
let stateDir: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'airlift-doctor-'));
  stateDir = join(root, 'state');
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function deps(over: Partial<DoctorDeps> = {}): DoctorDeps {
  return {
    config: { ok: true, value: defaultAgentConfig(), source: '/etc/airlift/agent.json' },
    stateDir,
    socketPath: join(root, 'agent.sock'),
    now: () => Date.parse('2025-06-01T00:00:00Z'),
    pingAgent: () => Promise.resolve(true),
    ...over,
  };
}

const byId = (report: Awaited<ReturnType<typeof runDoctor>>) =>
  Object.fromEntries(report.checks.map((c) => [c.id, c]));

describe('runDoctor', () => {
  it('reports the core checks in a stable order with stable ids', async () => {
    expect(CORE_CHECKS.map((c) => c.id)).toEqual(IDS);
    const report = await runDoctor(deps());
    expect(doctorReportSchema.safeParse(report).success).toBe(true);
    expect(report.checks.map((c) => c.id)).toEqual(IDS);
  });

  it('passes on a healthy device', async () => {
    await mkdir(stateDir, { mode: 0o700 });
    await chmod(stateDir, 0o700);
    await writeFile(join(stateDir, 'identity.json'), JSON.stringify(identityFile));
    const report = await runDoctor(deps());
    expect(report.checks.filter((c) => c.status !== 'pass')).toEqual([]);
    expect(report.ok).toBe(true);
    expect(worstStatus(report)).toBe('pass');
    expect(byId(report)['identity.provisioned']?.message).toContain('K7Q2M6XA');
  });

  it('fails with fix-it text when nothing is set up', async () => {
    const report = await runDoctor(deps({ pingAgent: () => Promise.resolve(false) }));
    const c = byId(report);
    expect(report.ok).toBe(false);
    expect(c['identity.provisioned']?.status).toBe('fail');
    expect(c['identity.provisioned']?.fix).toContain('provision-identity');
    expect(c['state.dir']?.status).toBe('fail');
    expect(c['state.dir']?.fix).toContain('install -d -m 0700');
    expect(c['state.files']?.status).toBe('pass');
    expect(c['agent.running']?.status).toBe('fail');
    expect(c['agent.running']?.fix).toContain('systemctl');
  });

  it('fails a state dir that others can read, and a corrupt identity', async () => {
    await mkdir(stateDir);
    await chmod(stateDir, 0o755);
    await writeFile(join(stateDir, 'identity.json'), '{"version":1,');
    const c = byId(await runDoctor(deps()));
    expect(c['state.dir']).toMatchObject({ status: 'fail', fix: `chmod 700 ${stateDir}` });
    expect(c['state.dir']?.message).toContain('0755');
    expect(c['identity.provisioned']?.status).toBe('fail');
    expect(c['identity.provisioned']?.fix).toContain('--force');
  });

  it('warns about quarantined state files', async () => {
    await mkdir(stateDir, { mode: 0o700 });
    await writeFile(join(stateDir, 'networks.json.corrupt-1700000000000'), 'x');
    const c = byId(await runDoctor(deps()));
    expect(c['state.files']?.status).toBe('warn');
    expect(c['state.files']?.message).toContain('networks.json.corrupt-1700000000000');
  });

  it('session.limits: passes when open, warns while delayed, fails closed or locked with the reset as the fix', async () => {
    await mkdir(stateDir, { mode: 0o700 });
    const now = Date.parse('2025-06-01T00:00:00Z');
    const counters = (c: Record<string, unknown>) =>
      writeFile(
        join(stateDir, 'counters.json'),
        JSON.stringify({
          version: 1,
          consecutiveFailures: 0,
          windowFailures: 0,
          lifetimeFailures: 0,
          notBefore: 0,
          ...c,
        }),
      );
    const check = async () => byId(await runDoctor(deps()))['session.limits'];

    expect(await check()).toMatchObject({ status: 'pass', message: 'No failed handshakes recorded' });
    await counters({ lifetimeFailures: 3 });
    expect((await check())?.status).toBe('pass');
    await counters({ consecutiveFailures: 6, notBefore: now + 2000 });
    expect(await check()).toMatchObject({
      status: 'warn',
      message: expect.stringContaining('delayed 2 s') as unknown,
    });
    await counters({ windowFailures: 20, lifetimeFailures: 20 });
    expect(await check()).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('window closed') as unknown,
    });
    await counters({ windowFailures: 20, lifetimeFailures: 20, damaged: true });
    expect((await check())?.message).toContain('counters.json was damaged');
    await counters({ lifetimeFailures: 100 });
    expect(await check()).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('locked out after 100') as unknown,
      fix: expect.stringContaining('airliftctl reset-lockout') as unknown,
    });
    await writeFile(join(stateDir, 'counters.json'), '{"version":1,');
    expect(await check()).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('damaged') as unknown,
    });
  });

  it('fails a clock before 2024 and an invalid config', async () => {
    const report = await runDoctor(
      deps({
        now: () => Date.parse('1970-01-01T00:00:10Z'),
        config: { ok: false, error: 'config: bad key', source: '/x.json' },
      }),
    );
    const c = byId(report);
    expect(c['clock.sane']?.status).toBe('fail');
    expect(c['clock.sane']?.fix).toContain('NTP');
    expect(c['config.valid']).toMatchObject({ status: 'fail', message: 'config: bad key' });
  });

  it('takes extra checks (backends) and reports a crashing check as failed', async () => {
    const extra: DoctorCheckFn = {
      id: 'backend.test',
      run: () => Promise.resolve({ status: 'warn', message: 'meh', fix: 'do x' }),
    };
    const crash: DoctorCheckFn = { id: 'backend.crash', run: () => Promise.reject(new Error('boom')) };
    const report = await runDoctor(deps(), [...CORE_CHECKS, extra, crash]);
    const [test, crashed] = report.checks.slice(-2);
    expect(test).toEqual({ id: 'backend.test', status: 'warn', message: 'meh', fix: 'do x' });
    expect(crashed).toMatchObject({ id: 'backend.crash', status: 'fail' });
    expect(crashed?.message).toContain('boom');
    expect(report.ok).toBe(false);
  });

  it('agent.running connects to the socket by default', async () => {
    const { pingAgent: _unused, ...rest } = deps();
    const c = byId(await runDoctor(rest));
    expect(c['agent.running']?.status).toBe('fail');
    expect(c['agent.running']?.message).toContain('agent.sock');
  });
});
