/**
 * Station jobs on disk and on the wire: the job journal's records and the audit report. These mirror
 * `main/engine/types.ts` (a test holds the two equal), so a journal read back after a crash, or a
 * report read by another tool, is validated like any other input.
 */
import { z } from 'zod';
import { DEVICE_ID_RE } from '../identity';
import { networkSecuritySchema } from './wifi';

/** The steps every device walks in a job (main/engine/types.ts re-exports them as DEVICE_STEPS). */
export const JOB_DEVICE_STEPS = [
  'queued',
  'joining',
  'session',
  'linkCheck',
  'pushing',
  'pushed',
  'awaiting',
  'verified',
  'failed',
] as const;
export const deviceStepSchema = z.enum(JOB_DEVICE_STEPS);

export const JOURNAL_VERSION = 1;

/**
 * Device-provided and label text. The bound only caps what a read-back line can make us hold: it is
 * above the agent's body cap, so nothing a device could legitimately say is refused.
 */
export const JOB_TEXT_MAX = 64 * 1024;
const text = z.string().max(JOB_TEXT_MAX);
const list = <T extends z.ZodType>(item: T) => z.array(item).max(1024);
const timestamp = z.iso.datetime({ offset: true });
const ms = z.number().nonnegative();
const count = z.number().int().nonnegative();

/** Job ids name files (`<id>.jsonl`): no separators, no leading dot. */
export const JOB_ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
export const jobIdSchema = z
  .string()
  .regex(JOB_ID_RE, 'job id: 1..128 of A-Z a-z 0-9 . _ -, not starting with .');
/** Stored ids are canonical (manifests normalise them on the way in): no forgiving transform here. */
const deviceId = z.string().regex(DEVICE_ID_RE, 'deviceId must be 8 base32 characters (A-Z, 2-7)');

export const targetNetworkSchema = z.object({
  ssidHex: z.string().regex(/^(?:[0-9a-fA-F]{2}){1,32}$/, 'ssidHex: 1..32 bytes of hex'),
  ssid: z.string().max(256),
  security: networkSecuritySchema,
  hidden: z.boolean(),
});

export const jobOptionsSchema = z.object({
  path: z.enum(['ap', 'lan']),
  concurrency: z.number().int().min(1).max(1024),
  chunkSize: z.number().int().min(1).max(100_000),
  minSignal: z.number(),
  failsafeSeconds: z.number().int().min(0).max(86_400),
  verifyTimeoutMs: count,
  joinTimeoutMs: count,
  mode: z.enum(['replace', 'add']),
  /** Absent in journals written before it existed: those jobs confirmed. */
  commit: z.enum(['confirm', 'auto']).optional(),
  adapters: list(z.string().max(256)),
});

export const jobDeviceSchema = z.object({
  deviceId,
  name: text.optional(),
  group: text.optional(),
  site: text.optional(),
});

export const jobSpecSchema = z
  .object({
    id: jobIdSchema,
    createdAt: timestamp,
    nonce: z.string().regex(/^[0-9a-fA-F]{16,64}$/, 'job nonce: 16..64 hex digits'),
    target: targetNetworkSchema,
    options: jobOptionsSchema,
    // A manifest's row cap (shared/manifest.ts).
    devices: z.array(jobDeviceSchema).max(100_000),
    manifestPath: z.string().max(4096).optional(),
  })
  .refine((s) => new Set(s.devices.map((d) => d.deviceId)).size === s.devices.length, {
    message: 'a device appears twice in the job',
    path: ['devices'],
  });

export const stepTimingsSchema = z.object({
  joining: ms.optional(),
  session: ms.optional(),
  linkCheck: ms.optional(),
  pushing: ms.optional(),
  pushed: ms.optional(),
  awaiting: ms.optional(),
});

export const appHealthSchema = z.object({ name: text, state: text, code: z.number().int() });
export const checkSummarySchema = z.object({ id: text, target: text, state: text });

export const deviceOutcomeSchema = z.object({
  deviceId,
  name: text.optional(),
  group: text.optional(),
  step: deviceStepSchema,
  result: z.enum(['verified', 'failed']).optional(),
  reason: text.optional(),
  detail: text.optional(),
  bssid: text.optional(),
  rssi: z.number().optional(),
  targetSignal: z.number().optional(),
  attemptId: text.optional(),
  ip: text.optional(),
  hostname: text.optional(),
  timings: stepTimingsSchema,
  startedAt: timestamp.optional(),
  endedAt: timestamp.optional(),
  apps: list(appHealthSchema).optional(),
  checks: list(checkSummarySchema).optional(),
  attempts: count,
});

// ---- journal records (one JSON object per line) ---------------------------------------------------

/** Facts a step may bring; everything else about a device arrives with its result. */
export const journalFactsShape = {
  bssid: text.optional(),
  rssi: z.number().optional(),
  targetSignal: z.number().optional(),
  attemptId: text.optional(),
  ip: text.optional(),
  hostname: text.optional(),
  detail: text.optional(),
};
export const JOURNAL_FACT_KEYS = Object.keys(journalFactsShape) as (keyof typeof journalFactsShape)[];

export const journalJobRecordSchema = z.object({
  t: z.literal('job'),
  v: z.literal(JOURNAL_VERSION),
  spec: jobSpecSchema,
});
export const journalStepRecordSchema = z.object({
  t: z.literal('step'),
  deviceId,
  step: deviceStepSchema,
  at: timestamp,
  /** The adapter that carried it (AP path). */
  lane: z.string().max(256).optional(),
  ...journalFactsShape,
});
export const journalResultRecordSchema = z.object({
  t: z.literal('result'),
  // A result is a definite end: a result record that is not one is a bug, not a state.
  outcome: deviceOutcomeSchema.refine((o) => o.result !== undefined && o.step === o.result, {
    message: 'a result needs result verified|failed and the same step',
  }),
});
/** Devices put back in the queue (retry); `reason` says why, for the audit trail. */
export const journalRequeueRecordSchema = z.object({
  t: z.literal('requeue'),
  deviceIds: z.array(deviceId).min(1).max(100_000),
  reason: z.string().max(1024).optional(),
  at: timestamp,
});
export const journalEndRecordSchema = z.object({ t: z.literal('end'), at: timestamp });

export const journalRecordSchema = z.discriminatedUnion('t', [
  journalJobRecordSchema,
  journalStepRecordSchema,
  journalResultRecordSchema,
  journalRequeueRecordSchema,
  journalEndRecordSchema,
]);
export type JournalRecord = z.infer<typeof journalRecordSchema>;
export type JournalStepRecord = z.infer<typeof journalStepRecordSchema>;
export type JournalFacts = Partial<Pick<JournalStepRecord, (typeof JOURNAL_FACT_KEYS)[number]>>;

// ---- the audit report (`airlift report --json`, the demo) -----------------------------------------

export const REPORT_RESULTS = ['verified', 'failed', 'pending'] as const;

/** Step timings in ms as the engine measured them, and their sum. */
export const reportTimingsSchema = stepTimingsSchema.extend({ totalMs: ms });

export const reportDeviceSchema = z.object({
  id: deviceId,
  name: text.optional(),
  group: text.optional(),
  result: z.enum(REPORT_RESULTS),
  /** Set when failed; `unknown` if the engine gave none. */
  reason: text.optional(),
  detail: text.optional(),
  /** Where it stands: the step it reached (pending devices) or its result. */
  step: deviceStepSchema,
  ip: text.optional(),
  hostname: text.optional(),
  bssid: text.optional(),
  rssi: z.number().optional(),
  targetSignal: z.number().optional(),
  attemptId: text.optional(),
  startedAt: timestamp.optional(),
  endedAt: timestamp.optional(),
  timings: reportTimingsSchema,
  apps: list(appHealthSchema),
  checks: list(checkSummarySchema),
  attempts: count,
});

export const jobSummarySchema = z.object({
  total: count,
  verified: count,
  failed: count,
  pending: count,
  byReason: z.record(z.string(), count),
});

export const reportGroupSchema = z.object({ reason: text, count, deviceIds: z.array(deviceId) });

export const reportSchema = z.object({
  job: z.object({
    id: jobIdSchema,
    createdAt: timestamp,
    finishedAt: timestamp.optional(),
    path: z.enum(['ap', 'lan']),
    target: targetNetworkSchema.pick({ ssid: true, ssidHex: true, security: true }),
    /** What devices advertise as `pv` once they took this job's credentials. */
    nonce8: z.string().regex(/^[0-9a-fA-F]{8}$/),
  }),
  summary: jobSummarySchema,
  /** Failed devices by reason, largest group first: what to fix, then retry. */
  groups: z.array(reportGroupSchema),
  devices: z.array(reportDeviceSchema),
});
export type JobReport = z.infer<typeof reportSchema>;
export type ReportDevice = z.infer<typeof reportDeviceSchema>;
export type ReportGroup = z.infer<typeof reportGroupSchema>;
