/** Crash safety and replay properties of the job journal. */
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AirliftError } from '../../../../shared/errors';
import {
  FAILURE_REASONS,
  JOB_DEVICE_STEPS,
  journalRecordSchema,
  type JournalRecord,
} from '../../../../shared/protocol/job';
import { JobJournal, journalPath, readJournal, replayJournal } from '../../../../main/engine/journal';
import type { DeviceOutcome, DeviceStep } from '../../../../main/engine/types';
import { IDS, failed, makeSpec, verified } from './fixtures';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airlift-replay-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const spec = makeSpec();
const jobLine = `${JSON.stringify({ t: 'job', v: 1, spec })}\n`;
const AT = '2025-11-22T03:00:00.000Z';

/** The step each device is at after the first `k` records (an independent model of replay). */
function lastSteps(records: readonly JournalRecord[]): Map<string, DeviceStep> {
  const steps = new Map<string, DeviceStep>(IDS.map((id) => [id, 'queued']));
  for (const r of records) {
    if (r.t === 'step') steps.set(r.deviceId, r.step);
    else if (r.t === 'result') steps.set(r.outcome.deviceId, r.outcome.step);
    else if (r.t === 'requeue') for (const id of r.deviceIds) steps.set(id, 'queued');
  }
  return steps;
}

/**
 * How many records (after the job line) a cut file holds whole: its newline-ended lines, plus a
 * last line cut just before its newline (still a whole record), and whether the tail is torn junk.
 */
function wholeRecords(cut: Buffer): { k: number; tornInvalid: boolean } {
  const complete = cut.subarray(0, cut.lastIndexOf(0x0a) + 1);
  const lines = complete.toString('utf8').split('\n').length - 2;
  const tail = cut.subarray(complete.length).toString('utf8');
  if (tail === '') return { k: lines, tornInvalid: false };
  let valid: boolean;
  try {
    valid = journalRecordSchema.safeParse(JSON.parse(tail)).success;
  } catch {
    valid = false;
  }
  // The job line cut before its newline is not a record of `records`.
  if (lines < 0) return { k: 0, tornInvalid: false };
  return valid ? { k: lines + 1, tornInvalid: false } : { k: lines, tornInvalid: true };
}

/** A realistic run written through JobJournal: every record fsync'd, as in a job. */
async function writeRun(jobId: string): Promise<{ bytes: Buffer; records: JournalRecord[] }> {
  const j = await JobJournal.create(dir, { ...spec, id: jobId });
  const records: JournalRecord[] = [];
  const add = async (r: JournalRecord) => {
    records.push(r);
    await j.append(r);
  };
  for (const [i, id] of IDS.entries()) {
    for (const step of ['joining', 'session', 'linkCheck', 'pushing', 'pushed'] as const) {
      await add({
        t: 'step',
        deviceId: id,
        step,
        at: AT,
        lane: 'wlan0',
        ...(step === 'joining' ? { rssi: -40 - i } : {}),
      });
    }
    if (i % 2 === 0) await add({ t: 'result', outcome: verified(id) });
    else await add({ t: 'result', outcome: failed(id, 'auth_failed') });
  }
  await add({ t: 'requeue', deviceIds: [IDS[1]], reason: 'retry', at: AT });
  await add({ t: 'step', deviceId: IDS[1], step: 'joining', at: AT });
  await add({ t: 'end', at: AT });
  await j.close();
  return { bytes: await readFile(journalPath(dir, jobId)), records };
}

describe('crash mid-append', () => {
  it('truncated at every byte offset: replay never throws past the job line and keeps every whole record', async () => {
    const { bytes, records } = await writeRun('every-offset');
    const firstLineEnd = bytes.indexOf(0x0a) + 1;
    for (let offset = 0; offset <= bytes.length; offset++) {
      const cut = bytes.subarray(0, offset);
      if (offset < firstLineEnd - 1) {
        // The job line itself is torn: create() had not returned, so no job exists yet.
        expect(() => replayJournal(cut), `offset ${offset}`).toThrow(AirliftError);
        continue;
      }
      const { k, tornInvalid } = wholeRecords(cut);
      const r = replayJournal(cut);
      expect(r.problems.length, `offset ${offset}`).toBe(tornInvalid ? 1 : 0);
      const expected = lastSteps(records.slice(0, k));
      for (const id of IDS) expect(r.devices.get(id)?.step, `offset ${offset} ${id}`).toBe(expected.get(id));
      expect(r.ended).toBe(k === records.length);
    }
  });

  it('after a random truncation, reopening and appending keeps earlier records and adds the new one whole', async () => {
    const { bytes, records } = await writeRun('reopen');
    const firstLineEnd = bytes.indexOf(0x0a) + 1;
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: firstLineEnd - 1, max: bytes.length }), async (offset) => {
        const path = journalPath(dir, 'reopen');
        await rm(path, { force: true });
        const j0 = await JobJournal.create(dir, { ...spec, id: 'reopen' });
        await j0.close();
        // Rewrite the run's bytes, then cut them where the crash happened.
        await writeFile(path, bytes);
        await truncate(path, offset);

        const { k } = wholeRecords(bytes.subarray(0, offset));
        const j = await JobJournal.open(dir, 'reopen');
        await j.step(IDS[4], 'awaiting', { ip: '10.9.9.9' });
        await j.close();

        const r = await readJournal(dir, 'reopen');
        expect(r.problems.length).toBeLessThanOrEqual(1);
        const expected = lastSteps([
          ...records.slice(0, k),
          { t: 'step', deviceId: IDS[4], step: 'awaiting', at: AT },
        ]);
        for (const id of IDS) expect(r.devices.get(id)?.step).toBe(expected.get(id));
        expect(r.devices.get(IDS[4])?.ip).toBe('10.9.9.9');
      }),
      { numRuns: 40 },
    );
  });
});

// ---- replay properties ----------------------------------------------------------------------------

const idArb = fc.constantFrom(...IDS.slice(0, 3));
const stepArb = fc.constantFrom(...JOB_DEVICE_STEPS);
const textArb = fc.string({ maxLength: 12 });
const stepRecordArb = fc.record(
  {
    t: fc.constant('step' as const),
    deviceId: idArb,
    step: stepArb,
    at: fc.constant(AT),
    lane: fc.constantFrom('wlan0', 'wlan1'),
    bssid: textArb,
    rssi: fc.integer({ min: -100, max: 0 }),
    targetSignal: fc.integer({ min: -100, max: 0 }),
    attemptId: textArb,
    ip: textArb,
    hostname: textArb,
    detail: textArb,
  },
  { requiredKeys: ['t', 'deviceId', 'step', 'at'] },
);
const outcomeArb: fc.Arbitrary<DeviceOutcome> = fc
  .tuple(
    idArb,
    fc.constantFrom('verified' as const, 'failed' as const),
    fc.constantFrom(...FAILURE_REASONS),
    fc.nat({ max: 5000 }),
    fc.nat({ max: 4 }),
  )
  .map(([id, result, reason, ms, attempts]) =>
    result === 'verified'
      ? verified(id, { timings: { joining: ms }, attempts })
      : failed(id, reason, { timings: { session: ms }, attempts }),
  );
const resultRecordArb = outcomeArb.map((outcome) => ({ t: 'result' as const, outcome }));
const recordsArb = fc.array(fc.oneof(stepRecordArb, resultRecordArb), { maxLength: 40 });

const encode = (records: readonly unknown[]) =>
  Buffer.from(jobLine + records.map((r) => `${JSON.stringify(r)}\n`).join(''), 'utf8');

describe('replay properties', () => {
  it('any sequence of step and result records replays to each device’s last state', () => {
    fc.assert(
      fc.property(recordsArb, (records) => {
        const r = replayJournal(encode(records));
        expect(r.problems).toEqual([]);
        for (const id of IDS) {
          const mine = records.filter((x) => (x.t === 'step' ? x.deviceId : x.outcome.deviceId) === id);
          const last = mine.at(-1);
          const o = r.devices.get(id);
          if (!last) {
            expect(o).toMatchObject({ step: 'queued', attempts: 1 });
            expect(o?.result).toBeUndefined();
          } else if (last.t === 'result') {
            const label = spec.devices.find((d) => d.deviceId === id);
            expect(o).toEqual({ name: label?.name, group: label?.group, ...last.outcome });
          } else {
            expect(o?.step).toBe(last.step);
            const terminal = last.step === 'verified' || last.step === 'failed';
            expect(o?.result).toBe(terminal ? last.step : undefined);
            if (!terminal) expect(o?.reason).toBeUndefined();
            for (const key of [
              'bssid',
              'rssi',
              'targetSignal',
              'attemptId',
              'ip',
              'hostname',
              'detail',
            ] as const) {
              if (last[key] !== undefined) expect(o?.[key]).toBe(last[key]);
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('junk lines anywhere are reported and change nothing else', () => {
    const junkArb = fc.oneof(
      fc.constant('not json'),
      fc.constant('{"t":"step"}'),
      fc.constant('[1,2,3]'),
      fc.constant('{"t":"result","outcome":{"deviceId":"K7Q2M6XA"}}'),
      fc.string({ maxLength: 30 }).filter((s) => !s.includes('\n') && s.trim() !== ''),
    );
    fc.assert(
      fc.property(recordsArb, fc.array(fc.tuple(fc.nat(), junkArb), { maxLength: 5 }), (records, junk) => {
        const clean = replayJournal(encode(records));
        const lines: unknown[] = records.map((r) => JSON.stringify(r));
        for (const [at, j] of junk) lines.splice(at % (lines.length + 1), 0, j);
        const dirty = replayJournal(Buffer.from(`${jobLine + lines.join('\n')}\n`));
        expect(dirty.devices).toEqual(clean.devices);
        // None of the junk is a valid record, so each line is one problem and nothing else.
        expect(dirty.problems).toHaveLength(junk.length);
      }),
      { numRuns: 200 },
    );
  });
});
