import { mkdtemp, readFile, rm, stat, symlink, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AirliftError, type ErrorCode } from '../../../../shared/errors';
import { deriveProverSecrets } from '../../../../shared/crypto/airlift';
import { toHex } from '../../../../shared/encoding';
import { journalRecordSchema } from '../../../../shared/protocol/job';
import {
  JobJournal,
  journalPath,
  listJobs,
  readJournal,
  replayJournal,
  resumePlan,
} from '../../../../main/engine/journal';
import type { DeviceOutcome, DeviceStep } from '../../../../main/engine/types';
import { IDS, failed, makeSpec, verified } from './fixtures';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlift-journal-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const clock = () => new Date('2025-11-22T03:00:05.000Z');
const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<AirliftError> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AirliftError);
  expect((err as AirliftError).code, (err as AirliftError).message).toBe(code);
  return err as AirliftError;
}

async function lines(jobId = 'job-1'): Promise<unknown[]> {
  const text = await readFile(journalPath(dir, jobId), 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as unknown);
}

describe('JobJournal create/append/replay', () => {
  it('writes the job line, 0600 in a new 0700 directory, and refuses an existing id', async () => {
    const jobs = join(dir, 'state', 'jobs');
    const j = await JobJournal.create(jobs, makeSpec(), { now: clock });
    await j.close();
    expect(await modeOf(jobs)).toBe(0o700);
    expect(await modeOf(journalPath(jobs, 'job-1'))).toBe(0o600);
    const text = await readFile(journalPath(jobs, 'job-1'), 'utf8');
    expect(JSON.parse(text.trim())).toMatchObject({ t: 'job', v: 1, spec: { id: 'job-1' } });
    await expectCode(JobJournal.create(jobs, makeSpec()), 'BAD_REQUEST');
  });

  it('leaves an existing directory mode alone', async () => {
    const before = await modeOf(dir);
    await (await JobJournal.create(dir, makeSpec())).close();
    expect(await modeOf(dir)).toBe(before);
  });

  it('refuses an invalid spec and a path-like job id before touching the disk', async () => {
    await expectCode(JobJournal.create(dir, makeSpec({ id: '../escape' })), 'BAD_REQUEST');
    await expectCode(JobJournal.create(dir, makeSpec({ id: '.hidden' })), 'BAD_REQUEST');
    const twice = makeSpec();
    twice.devices.push({ deviceId: IDS[0] });
    await expectCode(JobJournal.create(dir, twice), 'BAD_REQUEST');
    await expectCode(readJournal(dir, '../x'), 'BAD_REQUEST');
    expect(await listJobs(dir)).toEqual([]);
  });

  it('replays steps, facts, results, requeues and the end, in order', async () => {
    const j = await JobJournal.create(dir, makeSpec(), { now: clock });
    const [a, b, c, d] = IDS;
    await j.step(a, 'joining', { bssid: '02:00:00:00:00:0a', rssi: -50 }, 'wlan0');
    await j.step(a, 'session');
    await j.step(a, 'pushing', { targetSignal: -60 });
    await j.step(a, 'pushed', { attemptId: 'att-a' });
    await j.step(b, 'joining');
    await j.result(failed(b, 'auth_failed'));
    await j.step(c, 'joining');
    await j.result(verified(d));
    await j.end();
    await j.close();

    const r = await readJournal(dir, 'job-1');
    expect(r.problems).toEqual([]);
    expect(r.ended).toBe(true);
    expect(r.endedAt).toBe('2025-11-22T03:00:05.000Z');
    expect(r.spec).toEqual(makeSpec());
    expect([...r.devices.keys()]).toEqual([...IDS]);
    expect(r.devices.get(a)).toEqual({
      deviceId: a,
      name: 'Pump 1',
      group: 'hall-a',
      step: 'pushed',
      bssid: '02:00:00:00:00:0a',
      rssi: -50,
      targetSignal: -60,
      attemptId: 'att-a',
      timings: {},
      attempts: 1,
    });
    expect(r.devices.get(b)).toEqual({ name: 'Pump 2', group: 'hall-a', ...failed(b, 'auth_failed') });
    expect(r.devices.get(c)?.step).toBe('joining');
    expect(r.devices.get(d)).toEqual({ name: 'Pump 4', group: 'hall-a', ...verified(d) });
    expect(r.devices.get(IDS[4])).toMatchObject({ step: 'queued', attempts: 1 });

    // Retry of the failure group: a new attempt, and the job is open again.
    const again = await JobJournal.open(dir, 'job-1', { now: clock });
    await again.requeue([b], 'retry auth_failed');
    await again.close();
    const r2 = await readJournal(dir, 'job-1');
    expect(r2.ended).toBe(false);
    expect(r2.endedAt).toBeUndefined();
    expect(r2.devices.get(b)).toEqual({
      deviceId: b,
      name: 'Pump 2',
      group: 'hall-a',
      step: 'queued',
      timings: {},
      attempts: 2,
    });
    expect(r2.devices.get(d)?.result).toBe('verified');
  });

  it('a step after a result reopens the device: the old result and reason are gone', () => {
    const spec = makeSpec();
    const text = [
      { t: 'job', v: 1, spec },
      { t: 'result', outcome: failed(IDS[0], 'timeout') },
      { t: 'step', deviceId: IDS[0], step: 'joining', at: '2025-11-22T03:01:00.000Z' },
    ]
      .map((r) => JSON.stringify(r))
      .join('\n');
    const o = replayJournal(Buffer.from(`${text}\n`)).devices.get(IDS[0]);
    expect(o?.step).toBe('joining');
    expect(o?.result).toBeUndefined();
    expect(o?.reason).toBeUndefined();
    expect(o?.detail).toBeUndefined();
  });

  it('writes concurrent appends whole and in call order', async () => {
    const j = await JobJournal.create(dir, makeSpec());
    const steps: DeviceStep[] = ['joining', 'session', 'linkCheck', 'pushing', 'pushed', 'awaiting'];
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        j.step(IDS[i % IDS.length] ?? IDS[0], steps[i % steps.length] ?? 'joining'),
      ),
    );
    await j.close();
    const recs = (await lines()).slice(1) as { deviceId: string; step: string }[];
    expect(recs).toHaveLength(60);
    recs.forEach((rec, i) => {
      expect(rec.deviceId).toBe(IDS[i % IDS.length]);
      expect(rec.step).toBe(steps[i % steps.length]);
    });
  });

  it('refuses bad records with nothing written, and keeps working after', async () => {
    const j = await JobJournal.create(dir, makeSpec());
    await expectCode(j.step('ZZZZZZZZ', 'joining'), 'INTERNAL'); // not in this job
    await expectCode(j.step('not-an-id', 'joining'), 'BAD_REQUEST');
    await expectCode(j.result({ ...failed(IDS[0], 'timeout'), step: 'pushed' }), 'BAD_REQUEST');
    await expectCode(j.append({ t: 'job', v: 1, spec: makeSpec() }), 'INTERNAL');
    await expectCode(j.append({ t: 'end', at: 'yesterday' }), 'BAD_REQUEST');
    await j.step(IDS[0], 'joining');
    await j.close();
    await expectCode(j.end(), 'INTERNAL');
    expect(await lines()).toHaveLength(2);
  });

  it('open: NOT_FOUND for an unknown job, STORE_CORRUPT for a file without a job line', async () => {
    await expectCode(JobJournal.open(dir, 'nope'), 'NOT_FOUND');
    await expectCode(readJournal(dir, 'nope'), 'NOT_FOUND');
    await writeFile(join(dir, 'empty.jsonl'), '');
    await expectCode(readJournal(dir, 'empty'), 'STORE_CORRUPT');
    await expectCode(JobJournal.open(dir, 'empty'), 'STORE_CORRUPT');
    await writeFile(join(dir, 'other.jsonl'), `${JSON.stringify({ t: 'job', v: 1, spec: makeSpec() })}\n`);
    const err = await expectCode(readJournal(dir, 'other'), 'STORE_CORRUPT');
    expect(err.message).toContain('job-1');
  });

  it('never writes through a symlink planted at the journal path', async () => {
    const target = join(dir, 'elsewhere');
    await writeFile(target, 'keep');
    await symlink(target, journalPath(dir, 'job-1'));
    await expectCode(JobJournal.create(dir, makeSpec()), 'BAD_REQUEST');
    await expectCode(JobJournal.open(dir, 'job-1'), 'BACKEND_UNAVAILABLE');
    expect(await readFile(target, 'utf8')).toBe('keep');
  });

  it('reports an invalid line in the middle and skips it', async () => {
    const j = await JobJournal.create(dir, makeSpec());
    await j.step(IDS[0], 'joining');
    await j.close();
    const path = journalPath(dir, 'job-1');
    await appendFile(
      path,
      '{"t":"step","deviceId":"K7Q2M6XA","step":"teleporting","at":"2025-11-22T03:00:00Z"}\n',
    );
    await appendFile(path, 'garbage\n\n');
    await appendFile(
      path,
      `${JSON.stringify({ t: 'step', deviceId: 'ZZZZZZZZ', step: 'joining', at: clock().toISOString() })}\n`,
    );
    await appendFile(
      path,
      `${JSON.stringify({ t: 'step', deviceId: IDS[0], step: 'session', at: clock().toISOString() })}\n`,
    );
    const r = await readJournal(dir, 'job-1');
    expect(r.devices.get(IDS[0])?.step).toBe('session');
    expect(r.problems).toHaveLength(3);
    expect(r.problems[0]).toMatch(/^line 3: not a valid record \(step: /);
    expect(r.problems[1]).toBe('line 4: not JSON, skipped');
    expect(r.problems[2]).toBe('line 6: device ZZZZZZZZ is not in this job, skipped');
  });

  it('replays a result whose reason this build does not know as device_error, the reason kept in the detail', async () => {
    const j = await JobJournal.create(dir, makeSpec());
    await j.close();
    const path = journalPath(dir, 'job-1');
    // A line another station build wrote: the same record with a reason outside the known set.
    const old = { ...failed(IDS[1], 'timeout', { detail: 'it said so' }), reason: 'gremlins' };
    await appendFile(path, `${JSON.stringify({ t: 'result', outcome: old })}\n`);
    const r = await readJournal(dir, 'job-1');
    expect(r.problems).toEqual([]);
    expect(r.devices.get(IDS[1])).toMatchObject({
      step: 'failed',
      result: 'failed',
      reason: 'device_error',
      detail: 'reason gremlins: it said so',
    });
    // Reopened for a retry, it goes on from there, and a report of it groups within the known set.
    const again = await JobJournal.open(dir, 'job-1');
    await again.requeue([IDS[1]], 'retry');
    await again.close();
    expect((await readJournal(dir, 'job-1')).devices.get(IDS[1])).toMatchObject({
      step: 'queued',
      attempts: 2,
    });
  });

  it('seals a torn tail on open, so the next record is whole', async () => {
    const j = await JobJournal.create(dir, makeSpec(), { now: clock });
    await j.step(IDS[0], 'joining');
    await j.close();
    const path = journalPath(dir, 'job-1');
    await appendFile(path, '{"t":"step","deviceId":"K7Q2');
    const torn = await readJournal(dir, 'job-1');
    expect(torn.problems).toEqual(['line 3: incomplete last line (a crash while writing?), ignored']);

    const again = await JobJournal.open(dir, 'job-1', { now: clock });
    await again.step(IDS[0], 'session');
    await again.close();
    const r = await readJournal(dir, 'job-1');
    expect(r.devices.get(IDS[0])?.step).toBe('session');
    expect(r.problems).toEqual(['line 3: not JSON, skipped']);
  });
});

describe('secrets never reach the journal', () => {
  const PASSPHRASE = 'correct horse battery staple';
  const SETUP_SECRET = 'ABCDEFGHIJKLMNOPQRSTUVWXYQ';

  it('a whole job run leaves no passphrase, setup secret or prover secret in the file', async () => {
    const secrets = deriveProverSecrets(SETUP_SECRET, IDS[0], new Uint8Array(16).fill(7), 1000);
    const j = await JobJournal.create(dir, makeSpec());
    for (const id of IDS) {
      for (const step of ['joining', 'session', 'linkCheck', 'pushing', 'pushed', 'awaiting'] as const) {
        await j.step(id, step, { ip: '10.0.0.2' });
      }
    }
    await j.result(verified(IDS[0]));
    await j.result(failed(IDS[1], 'auth_failed'));
    await j.requeue([IDS[1]], 'retry');
    await j.end();
    await j.close();
    const raw = await readFile(journalPath(dir, 'job-1'), 'utf8');
    for (const needle of [PASSPHRASE, SETUP_SECRET, toHex(secrets.w0), toHex(secrets.w1)]) {
      expect(raw).not.toContain(needle);
    }
    expect(raw).not.toMatch(/"(passphrase|psk|secret|setupSecret|w0|w1)":/i);
  });

  it.each([
    'passphrase',
    'psk',
    'secret',
    'setupSecret',
    'w0',
    'w1',
    'PassPhrase',
    // An Enterprise block spread in by mistake: its secrets, and the identity the record leaves out.
    'password',
    'clientKey',
    'clientKeyPassphrase',
    'identity',
    'anonymousIdentity',
  ])(
    'append refuses a key named %s anywhere, naming where and not what',
    async (key) => {
      const j = await JobJournal.create(dir, makeSpec());
      const leaky = {
        ...verified(IDS[0]),
        apps: [{ name: 'a', state: 'ok', code: 0, nested: { [key]: PASSPHRASE } }],
      };
      const err = await expectCode(j.result(leaky), 'INTERNAL');
      expect(err.message).toContain(key);
      expect(err.message).not.toContain(PASSPHRASE);
      await expectCode(j.step(IDS[0], 'joining', { [key]: PASSPHRASE }), 'INTERNAL');
      await expectCode(j.append({ t: 'end', at: clock().toISOString(), [key]: PASSPHRASE }), 'INTERNAL');
      await j.close();
      expect(await readFile(journalPath(dir, 'job-1'), 'utf8')).not.toContain(PASSPHRASE);
    },
  );

  it('create refuses a spec carrying a secret (the target input spread in by mistake)', async () => {
    const spec = makeSpec();
    const leaky = { ...spec, target: { ...spec.target, passphrase: PASSPHRASE } };
    await expectCode(JobJournal.create(dir, leaky), 'INTERNAL');
    expect(await listJobs(dir)).toEqual([]);
  });

  it('unknown keys are dropped by the schema, never written', async () => {
    const j = await JobJournal.create(dir, makeSpec());
    await j.result({ ...verified(IDS[0]), token: 'tok-123' } as DeviceOutcome);
    await j.close();
    expect(await readFile(journalPath(dir, 'job-1'), 'utf8')).not.toContain('tok-123');
  });
});

describe('resumePlan', () => {
  it('classifies done, pushed and start-over devices', () => {
    const at = (deviceId: string, step: DeviceStep): DeviceOutcome => ({
      deviceId,
      step,
      timings: {},
      attempts: 1,
    });
    const devices = new Map<string, DeviceOutcome>(
      (
        [
          ['AAAAAAAA', 'queued'],
          ['BBBBBBBB', 'joining'],
          ['CCCCCCCC', 'session'],
          ['DDDDDDDD', 'linkCheck'],
          ['EEEEEEEE', 'pushing'],
          ['FFFFFFFF', 'pushed'],
          ['GGGGGGGG', 'awaiting'],
          ['HHHHHHHH', 'verified'],
          ['IIIIIIII', 'failed'],
        ] as const
      ).map(([id, step]) => [id, at(id, step)]),
    );
    const plan = resumePlan(devices);
    expect(plan).toEqual({
      done: ['HHHHHHHH', 'IIIIIIII'],
      pushed: ['FFFFFFFF', 'GGGGGGGG'],
      startOver: ['AAAAAAAA', 'BBBBBBBB', 'CCCCCCCC', 'DDDDDDDD', 'EEEEEEEE'],
    });
    expect(resumePlan([...devices.values()])).toEqual(plan);
  });

  it('works on a replayed journal: unrecorded devices start over', async () => {
    const j = await JobJournal.create(dir, makeSpec());
    await j.step(IDS[0], 'pushed', { attemptId: 'x' });
    await j.result(verified(IDS[1]));
    await j.step(IDS[2], 'pushing');
    await j.close();
    expect(resumePlan((await readJournal(dir, 'job-1')).devices)).toEqual({
      done: [IDS[1]],
      pushed: [IDS[0]],
      startOver: [IDS[2], IDS[3], IDS[4]],
    });
  });
});

describe('listJobs', () => {
  it('lists readable journals newest first with counts, and skips the rest', async () => {
    const older = await JobJournal.create(
      dir,
      makeSpec({ id: 'older', createdAt: '2025-11-20T10:00:00.000Z' }),
    );
    await older.result(verified(IDS[0]));
    await older.result(failed(IDS[1], 'ssid_not_found'));
    await older.end();
    await older.close();
    const newer = await JobJournal.create(
      dir,
      makeSpec({
        id: 'newer',
        createdAt: '2025-11-21T10:00:00+02:00',
        options: { ...makeSpec().options, path: 'lan' },
      }),
    );
    await newer.close();
    await writeFile(join(dir, 'broken.jsonl'), 'nope\n');
    await writeFile(join(dir, 'notes.txt'), 'hello');

    const list = await listJobs(dir);
    expect(list.map((l) => l.id)).toEqual(['newer', 'older']);
    expect(list[0]).toMatchObject({ path: 'lan', ssid: 'Workshop', ended: false, problems: 0 });
    expect(list[1]).toMatchObject({
      file: join(dir, 'older.jsonl'),
      createdAt: '2025-11-20T10:00:00.000Z',
      ended: true,
      counts: { total: 5, verified: 1, failed: 1, pending: 3, byReason: { ssid_not_found: 1 } },
    });
    expect(await listJobs(join(dir, 'missing'))).toEqual([]);
  });
});

describe('journal record schema', () => {
  it('accepts each record kind and rejects unknown kinds', () => {
    const at = '2025-11-22T03:00:00.000Z';
    for (const rec of [
      { t: 'job', v: 1, spec: makeSpec() },
      { t: 'step', deviceId: IDS[0], step: 'joining', at, lane: 'wlan0', rssi: -40 },
      { t: 'result', outcome: verified(IDS[0]) },
      { t: 'requeue', deviceIds: [IDS[0]], at },
      { t: 'end', at },
    ]) {
      expect(journalRecordSchema.safeParse(rec).success, JSON.stringify(rec)).toBe(true);
    }
    expect(journalRecordSchema.safeParse({ t: 'hello', at }).success).toBe(false);
    expect(journalRecordSchema.safeParse({ t: 'job', v: 2, spec: makeSpec() }).success).toBe(false);
    expect(journalRecordSchema.safeParse({ t: 'requeue', deviceIds: [], at }).success).toBe(false);
  });
});
