/**
 * The job journal (users.md point 8: a batch job that resumes after a crash): one append-only
 * JSON-lines file per job, `<dir>/<jobId>.jsonl`. Line 1 is the job; every later line is a step, a
 * result, a requeue (retry) or the end. Each append is fsync'd before it resolves, so a crash loses
 * at most the record being written, and replay shrugs that torn line off.
 *
 * Secrets never reach it: the engine's types hold none, every record goes through its schema (which
 * drops unknown keys), and `append` refuses secret-named keys outright so a careless spread is a loud
 * bug instead of a quiet leak.
 */
import { constants } from 'node:fs';
import { chmod, mkdir, open, readdir, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { AirliftError } from '../../shared/errors';
import { NETWORK_SECRET_KEYS } from '../../shared/protocol/network-input';
import {
  JOB_ID_RE,
  JOURNAL_FACT_KEYS,
  JOURNAL_VERSION,
  jobIdSchema,
  jobSpecSchema,
  journalRecordSchema,
  type JournalFacts,
  type JournalRecord,
} from '../../shared/protocol/job';
import { parseOrThrow } from '../../shared/validate';
import { errnoCode, fsyncDir } from '../../platform/atomic-file';
import { outcomesOf, summarizeOutcomes } from './report';
import { requeuedOutcome } from './retry';
import type { DeviceOutcome, DeviceStep, JobDevice, JobPath, JobSpec, JobSummary } from './types';

export const JOURNAL_SUFFIX = '.jsonl';
/** Far above any real job (a 100 000-device job with retries); bounds what a read can allocate. */
export const JOURNAL_MAX_BYTES = 512 * 1024 * 1024;
/** A longer line is not one we wrote. */
export const JOURNAL_MAX_LINE_BYTES = 1024 * 1024;
const MAX_PROBLEMS = 50;

/**
 * Key names refused anywhere in a record, compared case-insensitively: every network secret
 * (NETWORK_SECRET_KEYS: the Enterprise password, client key and key passphrase too), and an
 * Enterprise identity, which the job record leaves out as personal data (shared/protocol/job.ts).
 */
export const SECRET_KEYS: readonly string[] = [
  ...new Set<string>([
    ...NETWORK_SECRET_KEYS,
    'secret',
    'setupSecret',
    'w0',
    'w1',
    'password',
    'identity',
    'anonymousIdentity',
  ]),
];
const SECRET_KEYS_LOWER = new Set(SECRET_KEYS.map((k) => k.toLowerCase()));

export interface JournalOptions {
  /** Clock for record timestamps (tests). */
  now?: () => Date;
}

export function journalPath(dir: string, jobId: string): string {
  return join(dir, `${parseOrThrow(jobIdSchema, jobId, 'job id')}${JOURNAL_SUFFIX}`);
}

export class JobJournal {
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  /** A failed write may have left a partial line: the next record starts on a fresh one. */
  private sealNext = false;
  private readonly known: ReadonlySet<string>;

  private constructor(
    readonly path: string,
    readonly spec: JobSpec,
    private readonly handle: FileHandle,
    private readonly now: () => Date,
  ) {
    this.known = new Set(spec.devices.map((d) => d.deviceId));
  }

  get jobId(): string {
    return this.spec.id;
  }

  /** Start the journal of a new job; refuses an id that already has one. */
  static async create(dir: string, spec: JobSpec, options: JournalOptions = {}): Promise<JobJournal> {
    refuseSecrets(spec, 'spec');
    const parsed = parseOrThrow(jobSpecSchema, spec, 'job spec');
    const path = journalPath(dir, parsed.id);
    await ensureJournalDir(dir);
    let handle: FileHandle;
    try {
      // O_EXCL: never reuse a journal; O_NOFOLLOW: never write through a planted symlink.
      handle = await open(
        path,
        constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o600,
      );
    } catch (err) {
      if (errnoCode(err) === 'EEXIST') {
        throw new AirliftError('BAD_REQUEST', `Job ${parsed.id} already has a journal in ${dir}`, { path });
      }
      throw ioError('create', path, err);
    }
    const journal = new JobJournal(path, parsed, handle, options.now ?? (() => new Date()));
    try {
      // The umask may have taken bits from the mode asked for; the mode must be exact.
      await handle.chmod(0o600);
      await journal.writeLine(serialise({ t: 'job', v: JOURNAL_VERSION, spec: parsed }));
      // The new name must survive a power cut too, or the job's first lines vanish with it.
      await fsyncDir(dir);
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err instanceof AirliftError ? err : ioError('create', path, err);
    }
    return journal;
  }

  /** Reopen an existing job's journal to append to it (resume, retry). */
  static async open(dir: string, jobId: string, options: JournalOptions = {}): Promise<JobJournal> {
    const path = journalPath(dir, jobId);
    let handle: FileHandle;
    try {
      handle = await open(path, constants.O_RDWR | constants.O_APPEND | constants.O_NOFOLLOW);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT')
        throw new AirliftError('NOT_FOUND', `No journal for job ${jobId}`, { path });
      throw ioError('open', path, err);
    }
    try {
      const bytes = await readAll(handle, path);
      const { spec } = replayJournal(bytes, jobId);
      const journal = new JobJournal(path, spec, handle, options.now ?? (() => new Date()));
      // A crash mid-write left a line without its newline: end it, so the next record is not glued
      // to it. The torn bytes stay (append-only) and replay reports them as one skipped line.
      if (bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a) await journal.writeLine('\n');
      return journal;
    } catch (err) {
      await handle.close().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Append one record; resolves once it is on disk (fsync). Records are written in call order. A
   * malformed record, a device outside the job, or a secret-named key is refused with nothing written.
   */
  append(record: JournalRecord): Promise<void> {
    let line: string;
    try {
      if (this.closed) throw new AirliftError('INTERNAL', `The journal of job ${this.jobId} is closed`);
      line = this.check(record);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const done = this.queue.then(() => this.writeLine(line));
    this.queue = done.catch(() => undefined);
    return done;
  }

  /** A device entered `step` (the engine's JobRecorder); only the journal's facts are kept from `facts`. */
  step(
    deviceId: string,
    step: DeviceStep,
    facts: Readonly<Partial<DeviceOutcome>> = {},
    lane?: string,
  ): Promise<void> {
    try {
      refuseSecrets(facts, 'facts');
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return this.append({
      t: 'step',
      deviceId,
      step,
      at: this.now().toISOString(),
      ...(lane === undefined ? {} : { lane }),
      ...pickFacts(facts),
    });
  }

  /** A device's definite result (the engine's JobRecorder). */
  result(outcome: DeviceOutcome): Promise<void> {
    return this.append({ t: 'result', outcome });
  }

  /** Put devices back in the queue (retry of a failure group). */
  requeue(deviceIds: readonly string[], reason?: string): Promise<void> {
    return this.append({
      t: 'requeue',
      deviceIds: [...deviceIds],
      at: this.now().toISOString(),
      ...(reason === undefined ? {} : { reason }),
    });
  }

  /** The run finished (every device has a result, or the technician stopped it). */
  end(): Promise<void> {
    return this.append({ t: 'end', at: this.now().toISOString() });
  }

  /** Waits for pending appends, then closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.queue;
    await this.handle.close();
  }

  private check(record: JournalRecord): string {
    refuseSecrets(record, 'record');
    const parsed = parseOrThrow(journalRecordSchema, record, 'journal record');
    if (parsed.t === 'job') throw new AirliftError('INTERNAL', 'The job record is written by create() only');
    const ids =
      parsed.t === 'step'
        ? [parsed.deviceId]
        : parsed.t === 'result'
          ? [parsed.outcome.deviceId]
          : parsed.t === 'requeue'
            ? parsed.deviceIds
            : [];
    const stranger = ids.find((id) => !this.known.has(id));
    if (stranger !== undefined) {
      throw new AirliftError('INTERNAL', `Device ${stranger} is not part of job ${this.jobId}`);
    }
    return serialise(parsed);
  }

  private async writeLine(line: string): Promise<void> {
    const data = Buffer.from(this.sealNext ? `\n${line}` : line, 'utf8');
    try {
      let offset = 0;
      while (offset < data.length) {
        const { bytesWritten } = await this.handle.write(data, offset, data.length - offset, null);
        offset += bytesWritten;
      }
    } catch (err) {
      this.sealNext = true;
      throw ioError('write', this.path, err);
    }
    this.sealNext = false;
    try {
      await this.handle.sync();
    } catch (err) {
      throw ioError('sync', this.path, err);
    }
  }
}

// ---- replay -----------------------------------------------------------------------------------------

export interface JournalReplay {
  spec: JobSpec;
  /** Every device of the job, in job order; devices with no record yet are `queued`. */
  devices: Map<string, DeviceOutcome>;
  /** The last run ended and nothing was requeued since. */
  ended: boolean;
  endedAt?: string;
  /** Lines that were skipped, and why (no content is quoted). */
  problems: string[];
}

/** Replay a job's journal. Skipped lines go to `problems`; only a missing or unusable job line is fatal. */
export async function readJournal(dir: string, jobId: string): Promise<JournalReplay> {
  const path = journalPath(dir, jobId);
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT')
      throw new AirliftError('NOT_FOUND', `No journal for job ${jobId}`, { path });
    throw ioError('read', path, err);
  }
  try {
    return replayJournal(await readAll(handle, path), jobId);
  } finally {
    await handle.close();
  }
}

/** The pure half of `readJournal`: replay the bytes of a journal file, in order. */
export function replayJournal(bytes: Uint8Array, expectedJobId?: string): JournalReplay {
  const problems: string[] = [];
  const problem = (message: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push(message);
    else if (problems.length === MAX_PROBLEMS) problems.push('more problems not listed');
  };
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let spec: JobSpec | undefined;
  const devices = new Map<string, DeviceOutcome>();
  const labels = new Map<string, JobDevice>();
  let ended = false;
  let endedAt: string | undefined;

  const lines = splitLines(bytes);
  for (const [index, { start, end, terminated }] of lines.entries()) {
    const no = index + 1;
    const last = index === lines.length - 1;
    const skip = (why: string) =>
      problem(
        !terminated
          ? `line ${no}: incomplete last line (a crash while writing?), ignored`
          : `line ${no}${last ? ' (last)' : ''}: ${why}, skipped`,
      );
    if (end - start > JOURNAL_MAX_LINE_BYTES) {
      skip(`longer than ${JOURNAL_MAX_LINE_BYTES} bytes`);
      continue;
    }
    let textLine: string;
    try {
      textLine = decoder.decode(bytes.subarray(start, end));
    } catch {
      skip('not UTF-8');
      continue;
    }
    if (textLine.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(textLine);
    } catch {
      skip('not JSON');
      continue;
    }
    const parsed = journalRecordSchema.safeParse(value);
    if (!spec) {
      // Without the job line nothing else can be read: that is the one fatal problem.
      if (!parsed.success || parsed.data.t !== 'job') {
        throw new AirliftError('STORE_CORRUPT', `Journal line ${no} is not a valid job record`, {
          line: no,
          ...(parsed.success ? {} : { issues: issueList(parsed.error.issues) }),
        });
      }
      spec = parsed.data.spec;
      if (expectedJobId !== undefined && spec.id !== expectedJobId) {
        throw new AirliftError('STORE_CORRUPT', `Journal ${expectedJobId} holds job ${spec.id}`);
      }
      for (const d of spec.devices) {
        labels.set(d.deviceId, d);
        devices.set(d.deviceId, fresh(d));
      }
      continue;
    }
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      skip(
        `not a valid record${first ? ` (${first.path.map(String).join('.') || 'root'}: ${first.message})` : ''}`,
      );
      continue;
    }
    const r = parsed.data;
    switch (r.t) {
      case 'job':
        skip('a second job record');
        break;
      case 'step': {
        const o = devices.get(r.deviceId);
        if (!o) {
          skip(`device ${r.deviceId} is not in this job`);
          break;
        }
        const terminal = isTerminal(r.step);
        if (!terminal && o.result !== undefined) {
          // Worked on again after a result: that result and its reason no longer hold.
          delete o.result;
          delete o.reason;
          delete o.detail;
          delete o.endedAt;
        }
        o.step = r.step;
        if (terminal) o.result = r.step as 'verified' | 'failed';
        Object.assign(o, pickFacts(r));
        ended = false;
        endedAt = undefined;
        break;
      }
      case 'result': {
        const d = labels.get(r.outcome.deviceId);
        if (!d) {
          skip(`device ${r.outcome.deviceId} is not in this job`);
          break;
        }
        devices.set(d.deviceId, { ...labelsOf(d), ...r.outcome });
        ended = false;
        endedAt = undefined;
        break;
      }
      case 'requeue': {
        const strangers = r.deviceIds.filter((id) => !labels.has(id));
        if (strangers.length > 0)
          problem(`line ${no}: ${strangers.length} requeued device(s) not in this job, ignored`);
        for (const id of r.deviceIds) {
          const d = labels.get(id);
          const o = devices.get(id);
          if (!d || !o) continue;
          // A new attempt, exactly as a retry builds it in memory.
          devices.set(id, requeuedOutcome({ ...o, ...labelsOf(d) }));
        }
        ended = false;
        endedAt = undefined;
        break;
      }
      case 'end':
        ended = true;
        endedAt = r.at;
        break;
    }
  }
  if (!spec) throw new AirliftError('STORE_CORRUPT', 'Journal has no job record');
  return { spec, devices, ended, ...(endedAt === undefined ? {} : { endedAt }), problems };
}

// ---- resume -----------------------------------------------------------------------------------------

export interface ResumePlan {
  /** verified or failed: left alone (failed ones wait for an explicit retry). */
  done: string[];
  /** pushed or awaiting: the device may hold our credentials already. Verify it; never push again. */
  pushed: string[];
  /** queued..pushing: start over from the setup AP. */
  startOver: string[];
}

export function resumePlan(
  devices: ReadonlyMap<string, DeviceOutcome> | Iterable<DeviceOutcome>,
): ResumePlan {
  const plan: ResumePlan = { done: [], pushed: [], startOver: [] };
  for (const o of outcomesOf(devices)) {
    if (isTerminal(o.step)) plan.done.push(o.deviceId);
    else if (o.step === 'pushed' || o.step === 'awaiting') plan.pushed.push(o.deviceId);
    else plan.startOver.push(o.deviceId);
  }
  return plan;
}

// ---- listing ----------------------------------------------------------------------------------------

export interface JobListing {
  id: string;
  createdAt: string;
  path: JobPath;
  /** The journal file. */
  file: string;
  ssid: string;
  counts: JobSummary;
  ended: boolean;
  endedAt?: string;
  /** Lines replay skipped (see `readJournal` for which). */
  problems: number;
}

/**
 * The jobs in `dir`, newest first. A journal that cannot be read at all (no job line, unreadable) is
 * left out; `readJournal` on its id says why. A missing directory has no jobs.
 */
export async function listJobs(dir: string): Promise<JobListing[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return [];
    throw ioError('list', dir, err);
  }
  const listings: JobListing[] = [];
  for (const name of names) {
    if (!name.endsWith(JOURNAL_SUFFIX)) continue;
    const id = name.slice(0, -JOURNAL_SUFFIX.length);
    if (!JOB_ID_RE.test(id)) continue;
    let replay: JournalReplay;
    try {
      replay = await readJournal(dir, id);
    } catch {
      continue;
    }
    const { spec } = replay;
    listings.push({
      id: spec.id,
      createdAt: spec.createdAt,
      path: spec.options.path,
      file: join(dir, name),
      ssid: spec.target.ssid,
      counts: summarizeOutcomes(replay.devices.values()),
      ended: replay.ended,
      ...(replay.endedAt === undefined ? {} : { endedAt: replay.endedAt }),
      problems: replay.problems.length,
    });
  }
  return listings.sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || (a.id < b.id ? 1 : -1));
}

// ---- helpers ----------------------------------------------------------------------------------------

function isTerminal(step: DeviceStep): step is 'verified' | 'failed' {
  return step === 'verified' || step === 'failed';
}

function labelsOf(d: JobDevice): { name?: string; group?: string } {
  return {
    ...(d.name === undefined ? {} : { name: d.name }),
    ...(d.group === undefined ? {} : { group: d.group }),
  };
}

/** A device as a job starts it (the runner counts the first run as attempt 1). */
function fresh(d: JobDevice): DeviceOutcome {
  return { deviceId: d.deviceId, ...labelsOf(d), step: 'queued', timings: {}, attempts: 1 };
}

function pickFacts(from: Readonly<Partial<Record<keyof JournalFacts, unknown>>>): JournalFacts {
  // Only the keys' presence is decided here; append's schema checks their values.
  const facts: Record<string, unknown> = {};
  for (const k of JOURNAL_FACT_KEYS) if (from[k] !== undefined) facts[k] = from[k];
  return facts;
}

function serialise(record: JournalRecord): string {
  return `${JSON.stringify(record)}\n`;
}

/** Throws if any key anywhere in `value` is secret-named. Depth-bounded: records are shallow. */
function refuseSecrets(value: unknown, where: string, depth = 0, seen = new Set<object>()): void {
  if (typeof value !== 'object' || value === null) return;
  if (depth > 32) throw new AirliftError('INTERNAL', `Refusing to journal a ${where} nested this deep`);
  if (seen.has(value)) return;
  seen.add(value);
  if (Array.isArray(value)) {
    value.forEach((v: unknown, i) => refuseSecrets(v, `${where}[${i}]`, depth + 1, seen));
    return;
  }
  for (const [key, v] of Object.entries(value)) {
    if (SECRET_KEYS_LOWER.has(key.toLowerCase())) {
      // Name where, never what: the value is the secret.
      throw new AirliftError('INTERNAL', `Refusing to journal a secret-named field: ${where}.${key}`);
    }
    refuseSecrets(v, `${where}.${key}`, depth + 1, seen);
  }
}

interface LineSpan {
  start: number;
  end: number;
  /** Ended by a newline (a line without one is the tail of an interrupted write). */
  terminated: boolean;
}

function splitLines(bytes: Uint8Array): LineSpan[] {
  const spans: LineSpan[] = [];
  let start = 0;
  for (;;) {
    const nl = bytes.indexOf(0x0a, start);
    if (nl === -1) break;
    spans.push({ start, end: nl, terminated: true });
    start = nl + 1;
  }
  if (start < bytes.length) spans.push({ start, end: bytes.length, terminated: false });
  return spans;
}

async function readAll(handle: FileHandle, path: string): Promise<Uint8Array> {
  try {
    const { size } = await handle.stat();
    if (size > JOURNAL_MAX_BYTES) {
      throw new AirliftError('STORE_CORRUPT', `Journal ${path} is larger than ${JOURNAL_MAX_BYTES} bytes`, {
        path,
      });
    }
    return await handle.readFile();
  } catch (err) {
    throw err instanceof AirliftError ? err : ioError('read', path, err);
  }
}

async function ensureJournalDir(dir: string): Promise<void> {
  try {
    const made = await mkdir(dir, { recursive: true, mode: 0o700 });
    // Tighten only what we made: an existing directory is the technician's choice (it may be /tmp).
    if (made !== undefined) await chmod(dir, 0o700);
  } catch (err) {
    throw ioError('create directory', dir, err);
  }
}

function issueList(issues: readonly { path: PropertyKey[]; message: string }[]) {
  return issues.slice(0, 10).map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
}

function ioError(what: string, path: string, err: unknown): AirliftError {
  const errno = errnoCode(err);
  return new AirliftError(
    'BACKEND_UNAVAILABLE',
    `Cannot ${what} job journal ${path}${errno === undefined ? '' : `: ${errno}`}`,
    { path, ...(errno === undefined ? {} : { errno }) },
    { cause: err },
  );
}
