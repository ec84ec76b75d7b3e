/**
 * Station jobs on disk and on the wire: the job journal's records and the audit report, and the
 * engine's types derived from them (`main/engine/types.ts` re-exports them), so a journal read back
 * after a crash, or a report read by another tool, is validated like any other input and the types
 * cannot drift from the schemas.
 */
import { z } from 'zod';
import { CONNECT_FAILURE_REASONS } from '../errors';
import { DEVICE_ID_RE } from '../identity';
import { EAP_METHODS, EAP_PHASE2, SERVER_VALIDATION, serverValidationOf, type EapConfig } from './eap';
import type { StaticIpv4 } from './static-ipv4';
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
export type DeviceStep = (typeof JOB_DEVICE_STEPS)[number];

// ---- failure reasons ------------------------------------------------------------------------------

/** Why a device's own attempt failed, as it reports it (`lastAttempt.reason`, protocol.md). */
export const DEVICE_FAILURE_REASONS = [...CONNECT_FAILURE_REASONS, 'not_confirmed', 'interrupted'] as const;
export type DeviceFailureReason = (typeof DEVICE_FAILURE_REASONS)[number];

/** Why a device failed, as the station tells it (besides the device's own reasons). */
export const STATION_FAILURE_REASONS = [
  'unreachable',
  'not_rediscovered',
  'weak_signal',
  'target_not_seen',
  'auth_failed_setup',
  'session_failed',
  'rejected',
  'commit_failed',
  'rate_limited',
  'locked_out',
  'setup_closed',
  'device_mismatch',
  /** Another handshake kept the device busy through every retry. */
  'device_busy',
  /** The device reported a reason outside DEVICE_FAILURE_REASONS (kept, clipped, in the detail). */
  'device_error',
  /** The station itself failed for this device (its journal could not record it, a bug). */
  'station_error',
  'cancelled',
] as const;
export type StationFailureReason = (typeof STATION_FAILURE_REASONS)[number];

/**
 * Every reason a device can fail with in a job: a closed set, so the report's groups, the UI's
 * explanations (shared/failure-reasons.ts) and `airlift retry --reason` all speak of the same tokens.
 */
export const FAILURE_REASONS = [...DEVICE_FAILURE_REASONS, ...STATION_FAILURE_REASONS] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];
export const failureReasonSchema = z.enum(FAILURE_REASONS);

export function isFailureReason(reason: string): reason is FailureReason {
  return (FAILURE_REASONS as readonly string[]).includes(reason);
}

export function isDeviceFailureReason(reason: string): reason is DeviceFailureReason {
  return (DEVICE_FAILURE_REASONS as readonly string[]).includes(reason);
}

export const ELLIPSIS = '…';

/** `text` cut to `max` code points (never inside a surrogate pair), `…` marking the cut. */
export function clipText(text: string, max: number): string {
  if (text.length <= max) return text;
  const points = Array.from(text);
  if (points.length <= max) return text;
  return points.slice(0, Math.max(0, max - 1)).join('') + ELLIPSIS;
}

/** How much of a reason this build does not know is quoted in the detail. */
export const QUOTED_REASON_MAX = 200;

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

/**
 * An Enterprise target as a journal and a report record it: how devices sign in and how they check
 * the server (`none`: the technician chose `--insecure-no-ca-validation`, and the audit says so).
 * Never a secret, and not the identity either: that is a person's or a service account's name,
 * personal data an audit report is passed around with; it comes from the profile or the flags again.
 */
export const targetEapSchema = z.object({
  method: z.enum(EAP_METHODS),
  phase2: z.enum(EAP_PHASE2).optional(),
  serverValidation: z.enum(SERVER_VALIDATION),
  domainMatch: z.string().max(253).optional(),
});
export type TargetEap = z.infer<typeof targetEapSchema>;

/** The network's static IPv4 as recorded (no secret): where the station looks for each device. */
export const targetIpv4Schema = z.object({
  address: z.string().max(15),
  prefixLength: z.number().int().min(1).max(32),
  gateway: z.string().max(15).optional(),
  dns: z.array(z.string().max(15)).max(3),
});

/** The target network as recorded (no passphrase, no EAP secret, no identity). */
export const targetNetworkSchema = z.object({
  ssidHex: z.string().regex(/^(?:[0-9a-fA-F]{2}){1,32}$/, 'ssidHex: 1..32 bytes of hex'),
  ssid: z.string().max(256),
  security: networkSecuritySchema,
  hidden: z.boolean(),
  /** Enterprise targets only. Absent in journals written before Enterprise existed. */
  eap: targetEapSchema.optional(),
  /** Static IPv4 for every device of the job; absent: DHCP. */
  ipv4: targetIpv4Schema.optional(),
});
export type TargetNetwork = z.infer<typeof targetNetworkSchema>;

/** What a journal records of an `eap` block (targetEapSchema). */
export function targetEapOf(eap: EapConfig): TargetEap {
  return {
    method: eap.method,
    ...(eap.phase2 !== undefined ? { phase2: eap.phase2 } : {}),
    serverValidation: serverValidationOf(eap),
    ...(eap.domainMatch !== undefined ? { domainMatch: eap.domainMatch } : {}),
  };
}

/** What a journal records of a network's addressing (targetIpv4Schema). */
export function targetIpv4Of(ipv4: StaticIpv4): z.infer<typeof targetIpv4Schema> {
  return {
    address: ipv4.address,
    prefixLength: ipv4.prefixLength,
    ...(ipv4.gateway !== undefined ? { gateway: ipv4.gateway } : {}),
    dns: [...ipv4.dns],
  };
}

export const jobOptionsSchema = z.object({
  path: z.enum(['ap', 'lan']),
  /** LAN path: devices worked on at once. */
  concurrency: z.number().int().min(1).max(1024),
  /** AP path: devices pushed before the station returns to the target network to verify them. */
  chunkSize: z.number().int().min(1).max(100_000),
  /** The device must hear the target at least this strongly (dBm) before credentials go out. */
  minSignal: z.number(),
  failsafeSeconds: z.number().int().min(0).max(86_400),
  /** How long to wait for pushed devices to reappear on the target network. */
  verifyTimeoutMs: count,
  joinTimeoutMs: count,
  mode: z.enum(['replace', 'add']),
  /**
   * `confirm`: on trial until the station sees the device on the target; `auto`: kept at once.
   * Absent in journals written before it existed: those jobs confirmed.
   */
  commit: z.enum(['confirm', 'auto']).optional(),
  /** Adapter ids used as lanes (AP path). */
  adapters: list(z.string().max(256)),
});
export type JobOptions = z.infer<typeof jobOptionsSchema>;
export type JobPath = JobOptions['path'];

export const jobDeviceSchema = z.object({
  deviceId,
  name: text.optional(),
  group: text.optional(),
  site: text.optional(),
  /**
   * This device's own static IPv4 (the manifest's `ipv4` column, with the job's gateway and DNS):
   * a fleet cannot share one address. Pushed instead of the target's, and where it is looked for.
   */
  ipv4: targetIpv4Schema.optional(),
});
export type JobDevice = z.infer<typeof jobDeviceSchema>;

export const jobSpecSchema = z
  .object({
    id: jobIdSchema,
    createdAt: timestamp,
    /** Random per job (hex); devices advertise its first 8 chars as `pv` once they took our credentials. */
    nonce: z.string().regex(/^[0-9a-fA-F]{16,64}$/, 'job nonce: 16..64 hex digits'),
    target: targetNetworkSchema,
    options: jobOptionsSchema,
    // A manifest's row cap (shared/manifest.ts).
    devices: z.array(jobDeviceSchema).max(100_000),
    /** Where the setup secrets came from (a manifest path), to find them again on resume. */
    manifestPath: z.string().max(4096).optional(),
    /** The station's site profile it was started with, so a resume or retry finds its password. */
    profileId: z
      .string()
      .regex(/^[a-z0-9]{8,32}$/)
      .optional(),
  })
  .refine((s) => new Set(s.devices.map((d) => d.deviceId)).size === s.devices.length, {
    message: 'a device appears twice in the job',
    path: ['devices'],
  });
/** A job: devices × target network × options. Never a passphrase or a setup secret. */
export type JobSpec = z.infer<typeof jobSpecSchema>;

export const stepTimingsSchema = z.object({
  joining: ms.optional(),
  session: ms.optional(),
  linkCheck: ms.optional(),
  pushing: ms.optional(),
  pushed: ms.optional(),
  awaiting: ms.optional(),
});
/** Milliseconds spent in each step that takes time. */
export type StepTimings = z.infer<typeof stepTimingsSchema>;

export const appHealthSchema = z.object({ name: text, state: text, code: z.number().int() });
export type AppHealth = z.infer<typeof appHealthSchema>;
export const checkSummarySchema = z.object({ id: text, target: text, state: text });
export type CheckSummary = z.infer<typeof checkSummarySchema>;

/** Everything known about one device in a job, as the journal holds it; the report is built from these. */
const deviceOutcomeFields = z.object({
  deviceId,
  name: text.optional(),
  group: text.optional(),
  step: deviceStepSchema,
  result: z.enum(['verified', 'failed']).optional(),
  /** Read as any text (a journal written by another build), kept as a FailureReason: see withKnownReason. */
  reason: text.optional(),
  detail: text.optional(),
  /** BSSID of its setup AP, where seen. */
  bssid: text.optional(),
  /** Signal of its setup AP as the station heard it (dBm). */
  rssi: z.number().optional(),
  /** Signal of the target network as the device heard it (dBm). */
  targetSignal: z.number().optional(),
  attemptId: text.optional(),
  ip: text.optional(),
  hostname: text.optional(),
  /** Milliseconds spent in each step. */
  timings: stepTimingsSchema,
  startedAt: timestamp.optional(),
  endedAt: timestamp.optional(),
  apps: list(appHealthSchema).optional(),
  checks: list(checkSummarySchema).optional(),
  /** How many times it was (re)queued: 1 for the first run, more after `retry`. */
  attempts: count,
});

type Outcome<R> = Omit<z.output<typeof deviceOutcomeFields>, 'reason'> & { reason?: R | undefined };

/**
 * An outcome whose reason is a FailureReason. A reason this build does not know (a journal written
 * by a newer or older station, a device's own word that slipped through) becomes `device_error`,
 * with the reason quoted at the front of the detail: an old journal still replays, and its report
 * groups stay in the known set.
 */
export function withKnownReason(o: Outcome<string>): Outcome<FailureReason> {
  const { reason, ...rest } = o;
  if (reason === undefined) return rest;
  if (isFailureReason(reason)) return { ...rest, reason };
  const said = `reason ${clipText(reason, QUOTED_REASON_MAX)}`;
  const detail = rest.detail === undefined ? said : `${said}: ${rest.detail}`;
  return { ...rest, reason: 'device_error', detail: clipText(detail, JOB_TEXT_MAX) };
}

export const deviceOutcomeSchema = deviceOutcomeFields.transform(withKnownReason);
/** One device's outcome as the engine holds it (`main/engine/types.ts`). */
export type DeviceOutcome = z.output<typeof deviceOutcomeSchema>;
/** An outcome as it may arrive: its reason any text. */
export type DeviceOutcomeInput = z.input<typeof deviceOutcomeSchema>;

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
  /** Set when failed (`station_error` if the engine gave none). */
  reason: failureReasonSchema.optional(),
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
export type JobSummary = z.infer<typeof jobSummarySchema>;

export const reportGroupSchema = z.object({
  reason: failureReasonSchema,
  count,
  deviceIds: z.array(deviceId),
});

export const reportSchema = z.object({
  job: z.object({
    id: jobIdSchema,
    createdAt: timestamp,
    finishedAt: timestamp.optional(),
    path: z.enum(['ap', 'lan']),
    target: targetNetworkSchema.pick({ ssid: true, ssidHex: true, security: true, eap: true, ipv4: true }),
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
