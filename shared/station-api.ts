/**
 * The station API: the one contract between the station service (main/station/) and every front end
 * that drives it — the React UI over the web host's WebSocket or Electron's IPC. Every method has a
 * params and a result schema, every event a data schema; the service parses what arrives, the UI's
 * bridge parses what comes back. Errors cross as `{ code, message }`.
 *
 * What never crosses towards the UI: a setup secret, a site password, a derived key. Secrets travel
 * one way only, UI → station, in `importManifest`, `addQr` and `saveProfile.password` (and, for an
 * Enterprise profile, `saveProfile.eap.password`, `.clientKey`, `.clientKeyPassphrase`).
 */
import { z } from 'zod';
import { errorCodes } from './errors';
import { DEVICE_ID_RE } from './identity';
import { deviceStateSchema } from './protocol/api';
import {
  deviceStepSchema,
  failureReasonSchema,
  jobIdSchema,
  jobSummarySchema,
  reportSchema,
} from './protocol/job';
import { networkSecuritySchema } from './protocol/wifi';
import { EAP_LIMITS, EAP_METHODS, EAP_PHASE2, SERVER_VALIDATION } from './protocol/eap';

const deviceId = z.string().regex(DEVICE_ID_RE, 'deviceId must be 8 base32 characters (A-Z, 2-7)');
const deviceIds = z.array(deviceId).min(1).max(100_000);
const label = z.string().max(256);
const text = z.string().max(4096);
const epochMs = z.number().nonnegative();
const dBm = z.number().min(-127).max(0);
const empty = z.object({}).strict();
const ssidHex = z.string().regex(/^(?:[0-9a-fA-F]{2}){1,32}$/, 'ssidHex: 1..32 bytes of hex');

/** Size caps for what a front end may send (the web host also caps the WebSocket frame). */
export const STATION_LIMITS = {
  manifestChars: 10 * 1024 * 1024,
  qrChars: 256,
  passwordChars: 256,
  profiles: 100,
  ssidPatterns: 16,
} as const;

// ---- devices ---------------------------------------------------------------------------------------

export const DEVICE_SOURCES = ['scan', 'mdns', 'manifest', 'qr'] as const;
export type DeviceSource = (typeof DEVICE_SOURCES)[number];

/** Badges the Devices screen shows; each has a stable token so tests and filters can use it. */
export const DEVICE_WARNINGS = [
  'weak_signal',
  'verified_before',
  'duplicate_id',
  'no_secret',
  'locked_out',
] as const;
export type DeviceWarning = (typeof DEVICE_WARNINGS)[number];

export const deviceHistoryEntrySchema = z.object({
  jobId: jobIdSchema,
  result: z.enum(['verified', 'failed']),
  reason: failureReasonSchema.optional(),
  ssid: label,
  at: z.iso.datetime({ offset: true }),
});
export type DeviceHistoryEntry = z.infer<typeof deviceHistoryEntrySchema>;

export const deviceRowSchema = z.object({
  id: deviceId,
  name: label.optional(),
  group: label.optional(),
  site: label.optional(),
  sources: z.array(z.enum(DEVICE_SOURCES)),
  /** Its setup AP, as the station's adapters hear it (strongest sighting). */
  setupAp: z.object({ ssid: label, bssid: label, signal: dBm, adapter: label, seenAt: epochMs }).optional(),
  /** On a network the station is on, from its mDNS advertisement. */
  lan: z
    .object({ addresses: z.array(label).max(16), port: z.number().int(), host: label, seenAt: epochMs })
    .optional(),
  /** The device's own state (`st`) when advertised; `unknown` when only its AP or label is known. */
  state: z.union([deviceStateSchema, z.literal('unknown')]),
  /** The address the station would reach it at now (LAN IPv4 first). */
  address: label.optional(),
  secretKnown: z.boolean(),
  /** Results in earlier jobs, newest first (a few). */
  history: z.array(deviceHistoryEntrySchema).max(8),
  warnings: z.array(z.enum(DEVICE_WARNINGS)),
  /** What the device itself hears (its own scan, read by a pre-flight survey or over the LAN). */
  hears: z
    .array(z.object({ ssid: label, ssidHex, signal: dBm }))
    .max(64)
    .optional(),
  hearsAt: epochMs.optional(),
  lastSeen: epochMs.optional(),
});
export type DeviceRow = z.infer<typeof deviceRowSchema>;

export const importResultSchema = z.object({
  added: z.number().int().nonnegative(),
  updated: z.number().int().nonnegative(),
  total: z.number().int().nonnegative(),
  /** Rows refused, by number and reason (never the secret). */
  problems: z.array(text).max(50),
});
export type ImportResult = z.infer<typeof importResultSchema>;

export const logLineSchema = z.object({
  at: epochMs,
  level: z.enum(['info', 'warn', 'error']),
  text,
  jobId: jobIdSchema.optional(),
});
export type LogLine = z.infer<typeof logLineSchema>;

// ---- adapters --------------------------------------------------------------------------------------

export const adapterRowSchema = z.object({
  id: label,
  name: label,
  mac: label.optional(),
  /** It can join an Enterprise (802.1X) target itself; absent: it cannot (decision 0012), and why. */
  enterprise: z.object({ join: z.boolean(), why: text.optional() }).optional(),
  /** Whether the OS lets us scan and join (Windows Location consent, macOS Location). */
  permission: z.object({
    state: z.enum(['granted', 'denied', 'unknown']),
    /** What to do about a denial, in words. */
    fix: text.optional(),
    /** An OS settings page that grants it (opened by the desktop app only). */
    settingsUrl: z
      .enum([
        'ms-settings:privacy-location',
        'x-apple.systempreferences:com.apple.preference.security?Privacy_LocationServices',
      ])
      .optional(),
  }),
  current: z.object({ ssid: label }).optional(),
  /** Held by a job (this station's or another process's, through the adapter lock). */
  busy: z.object({ jobId: label.optional(), by: z.enum(['this', 'other']) }).optional(),
  lastScanError: text.optional(),
});
export type AdapterRow = z.infer<typeof adapterRowSchema>;

// ---- profiles --------------------------------------------------------------------------------------

export const PASSWORD_STORAGE = ['session', 'keychain'] as const;
export type PasswordStorage = (typeof PASSWORD_STORAGE)[number];

/**
 * An Enterprise profile's 802.1X settings as the UI sees them: everything but the secrets, of which
 * only whether each is held. Certificates are public but big: the UI gets whether one is set.
 */
export const profileEapSchema = z.object({
  method: z.enum(EAP_METHODS),
  phase2: z.enum(EAP_PHASE2).optional(),
  identity: label,
  anonymousIdentity: label.optional(),
  serverValidation: z.enum(SERVER_VALIDATION),
  domainMatch: label.optional(),
  caCertSet: z.boolean(),
  clientCertSet: z.boolean(),
  /** The client key (a secret) is held; its passphrase too, when the key is encrypted. */
  clientKeySet: z.boolean(),
  clientKeyPassphraseSet: z.boolean(),
});
export type ProfileEap = z.infer<typeof profileEapSchema>;

/** Static IPv4 of a profile (no secret): one address, so for a job of one device. */
export const profileIpv4Schema = z.object({
  address: z.string().max(15),
  prefixLength: z.number().int(),
  gateway: z.string().max(15).optional(),
  dns: z.array(z.string().max(15)).max(3),
});

/** A site profile as the UI sees it: never its password, only whether one is held and where. */
export const profileSchema = z.object({
  id: z.string().regex(/^[a-z0-9]{8,32}$/),
  name: label.min(1),
  ssid: label,
  ssidHex,
  security: networkSecuritySchema,
  hidden: z.boolean(),
  password: z.object({
    held: z.boolean(),
    storage: z.enum(PASSWORD_STORAGE).optional(),
    /** The keychain copy exists but cannot be opened now (locked keyring, another user): ask again. */
    unreadable: z.boolean().optional(),
  }),
  /** Enterprise profiles only; `password` above is then the EAP password (PEAP/TTLS) or key (TLS). */
  eap: profileEapSchema.optional(),
  ipv4: profileIpv4Schema.optional(),
  updatedAt: z.iso.datetime({ offset: true }),
});
export type Profile = z.infer<typeof profileSchema>;

/**
 * The 802.1X part of saveProfile, judged in full by siteNetworkSchema once merged with what the
 * station holds. Write-only secrets (`password`, `clientKey`, `clientKeyPassphrase`) and the
 * certificates: omitted keeps what is held now; `""` (a field left blank) is the same as omitted.
 */
export const saveProfileEapSchema = z
  .object({
    method: z.enum(EAP_METHODS),
    phase2: z.enum(EAP_PHASE2).optional(),
    identity: z.string().max(512),
    anonymousIdentity: z.string().max(512).optional(),
    password: z.string().max(STATION_LIMITS.passwordChars).optional(),
    caCert: z.string().max(EAP_LIMITS.caCertChars).optional(),
    /** Drop the CA held now (with insecureNoCaValidation). */
    clearCaCert: z.boolean().optional(),
    domainMatch: z.string().max(512).optional(),
    clientCert: z.string().max(EAP_LIMITS.clientCertChars).optional(),
    clientKey: z.string().max(EAP_LIMITS.clientKeyChars).optional(),
    clientKeyPassphrase: z.string().max(STATION_LIMITS.passwordChars).optional(),
    insecureNoCaValidation: z.boolean().optional(),
  })
  .strict();
export type SaveProfileEap = z.input<typeof saveProfileEapSchema>;

/** Static IPv4 as typed: `address` may be `a.b.c.d/nn`; judged by the shared static-IPv4 schema. */
export const saveProfileIpv4Schema = z
  .object({
    address: z.string().max(18),
    gateway: z.string().max(15).optional(),
    dns: z.array(z.string().max(15)).max(8).optional(),
  })
  .strict();

export const saveProfileParamsSchema = z
  .object({
    id: z
      .string()
      .regex(/^[a-z0-9]{8,32}$/)
      .optional(),
    name: label.min(1, 'Give the profile a name'),
    ssid: z.string().max(128).optional(),
    ssidHex: ssidHex.optional(),
    security: networkSecuritySchema,
    hidden: z.boolean().default(false),
    /** Write-only: omitted keeps the password held now; never sent back. */
    password: z.string().max(STATION_LIMITS.passwordChars).optional(),
    /** Enterprise securities only. */
    eap: saveProfileEapSchema.optional(),
    /** Absent: DHCP. */
    ipv4: saveProfileIpv4Schema.optional(),
    storage: z.enum(PASSWORD_STORAGE).default('session'),
  })
  .strict()
  .refine((p) => p.ssid !== undefined || p.ssidHex !== undefined, {
    message: 'Pick or type the network name',
    path: ['ssid'],
  });
export type SaveProfileParams = z.input<typeof saveProfileParamsSchema>;

/** A network name the station or the selected devices hear, for the profile's SSID picker. */
export const heardNetworkSchema = z.object({
  ssid: label,
  ssidHex,
  security: label,
  /** Strongest signal as the devices hear it, and how many of them hear it. */
  deviceSignal: dBm.optional(),
  devicesHearing: z.number().int().nonnegative(),
  /** As this computer's adapters hear it. */
  stationSignal: dBm.optional(),
});
export type HeardNetwork = z.infer<typeof heardNetworkSchema>;

// ---- settings --------------------------------------------------------------------------------------

export const stationSettingsSchema = z
  .object({
    /** Setup SSID prefixes: a device's AP is `<prefix><deviceId>`. */
    ssidPrefixes: z
      .array(
        z
          .string()
          .min(1)
          .max(24)
          .regex(/^[\x21-\x7e]+$/, 'printable ASCII, no spaces'),
      )
      .min(1)
      .max(STATION_LIMITS.ssidPatterns),
    joinTimeoutSeconds: z.number().int().min(5).max(300),
    verifyTimeoutSeconds: z.number().int().min(5).max(3600),
    failsafeSeconds: z.number().int().min(30).max(3600),
    /** LAN path: devices worked on at once. */
    concurrency: z.number().int().min(1).max(256),
    /** AP path: devices pushed per trip before returning to verify them. */
    chunkSize: z.number().int().min(1).max(500),
    /** The device must hear the target at least this strongly before credentials go out. */
    minSignal: z.number().int().min(-100).max(-20),
    /** Pre-flight: how many setup-AP devices to visit to read what they hear. */
    surveyDevices: z.number().int().min(0).max(20),
  })
  .strict();
export type StationSettings = z.infer<typeof stationSettingsSchema>;

export const DEFAULT_STATION_SETTINGS: StationSettings = {
  ssidPrefixes: ['Airlift-'],
  joinTimeoutSeconds: 30,
  verifyTimeoutSeconds: 90,
  failsafeSeconds: 600,
  concurrency: 16,
  chunkSize: 25,
  minSignal: -80,
  surveyDevices: 3,
};

// ---- jobs ------------------------------------------------------------------------------------------

export const jobStartOptionsSchema = z
  .object({
    path: z.enum(['ap', 'lan']),
    /** Adapter ids used as lanes; empty: every adapter. */
    adapters: z.array(label).max(16).default([]),
    /** Keep the devices' other networks (a password rotation) instead of replacing them. */
    mode: z.enum(['replace', 'add']).default('replace'),
    /** `confirm`: on trial until the station sees the device on the target; `auto`: kept at once. */
    commit: z.enum(['confirm', 'auto']).default('confirm'),
  })
  .strict();
export type JobStartOptions = z.input<typeof jobStartOptionsSchema>;

export const JOB_STATUSES = ['running', 'pausing', 'paused', 'cancelling', 'finished', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const liveDeviceSchema = z.object({
  id: deviceId,
  name: label.optional(),
  group: label.optional(),
  step: deviceStepSchema,
  lane: label.optional(),
  /** When it entered its current step (epoch ms). */
  since: epochMs.optional(),
  timings: z.record(z.string(), z.number().nonnegative()),
  reason: failureReasonSchema.optional(),
  detail: text.optional(),
  ip: label.optional(),
  hostname: label.optional(),
  attempts: z.number().int().nonnegative(),
});
export type LiveDevice = z.infer<typeof liveDeviceSchema>;

export const JOB_PHASES = ['push', 'return', 'verify', 'rescue', 'restore', 'done'] as const;

export const liveJobStatusSchema = z.object({
  id: jobIdSchema,
  status: z.enum(JOB_STATUSES),
  path: z.enum(['ap', 'lan']),
  target: z.object({ ssid: label, security: networkSecuritySchema }),
  profileName: label.optional(),
  /** The site profile it runs with (a retry or resume uses it unless told otherwise). */
  profileId: z.string().max(32).optional(),
  startedAt: epochMs,
  elapsedMs: z.number().nonnegative(),
  phase: z.enum(JOB_PHASES).optional(),
  /** The AP path's chunk under way, counted from 0 (of `chunks`). */
  chunk: z.number().int().nonnegative().optional(),
  chunks: z.number().int().nonnegative().optional(),
  counts: z.object({
    total: z.number().int().nonnegative(),
    queued: z.number().int().nonnegative(),
    active: z.number().int().nonnegative(),
    verified: z.number().int().nonnegative(),
    failed: z.number().int().nonnegative(),
  }),
  /** Estimated time to finish, from the pace so far; absent until it can be told. */
  etaMs: z.number().nonnegative().optional(),
  lanes: z.array(
    z.object({
      adapter: label,
      name: label,
      deviceId: deviceId.optional(),
      step: deviceStepSchema.optional(),
    }),
  ),
  /** Why the job stopped early, when it did (e.g. an adapter vanished). */
  problem: text.optional(),
});
export type LiveJobStatus = z.infer<typeof liveJobStatusSchema>;

export const liveJobSchema = liveJobStatusSchema.extend({ devices: z.array(liveDeviceSchema) });
export type LiveJob = z.infer<typeof liveJobSchema>;

export const historyEntrySchema = z.object({
  id: jobIdSchema,
  createdAt: z.iso.datetime({ offset: true }),
  path: z.enum(['ap', 'lan']),
  ssid: label,
  counts: jobSummarySchema,
  ended: z.boolean(),
  /** Unfinished and not running here: it can be resumed. */
  resumable: z.boolean(),
  /** The site profile it was started with, when the station recorded one. */
  profileId: z.string().max(32).optional(),
});
export type HistoryEntry = z.infer<typeof historyEntrySchema>;

export const preflightCheckSchema = z.object({
  id: z.enum([
    'adapters',
    'permissions',
    'secrets',
    'duplicates',
    'password',
    'target_heard',
    'signal',
    'busy',
    'lan_reachable',
    /** Static IPv4: one address cannot serve several devices. */
    'addressing',
    /** Lanes that cannot join the Enterprise target themselves (decision 0012). */
    'enterprise_join',
  ]),
  status: z.enum(['ok', 'warn', 'block']),
  title: label,
  detail: text.optional(),
  /** How to fix it, in words. */
  fix: text.optional(),
  deviceIds: z.array(deviceId).max(100_000).optional(),
});
export type PreflightCheck = z.infer<typeof preflightCheckSchema>;

export const preflightSchema = z.object({
  checks: z.array(preflightCheckSchema),
  /** The target as each selected device hears it; `signal` absent: not heard; `source` says how we know. */
  heard: z.array(
    z.object({
      deviceId,
      signal: dBm.optional(),
      source: z.enum(['survey', 'lan', 'earlier_job', 'unknown']),
    }),
  ),
  canStart: z.boolean(),
});
export type Preflight = z.infer<typeof preflightSchema>;

export const exportSchema = z.object({
  fileName: label,
  mimeType: z.enum(['text/csv', 'application/json']),
  content: z.string(),
});

// ---- the snapshot a front end starts from ----------------------------------------------------------

export const stationInfoSchema = z.object({
  version: label,
  host: z.enum(['web', 'electron']),
  lab: z.boolean(),
  /** The OS keychain can hold site passwords (Electron with a real backend). */
  keychain: z.object({ available: z.boolean(), why: text.optional() }),
  jobsDir: text,
});

export const snapshotSchema = z.object({
  info: stationInfoSchema,
  devices: z.array(deviceRowSchema),
  adapters: z.array(adapterRowSchema),
  profiles: z.array(profileSchema),
  settings: stationSettingsSchema,
  job: liveJobSchema.nullable(),
  history: z.array(historyEntrySchema),
});
export type StationSnapshot = z.infer<typeof snapshotSchema>;

// ---- methods ---------------------------------------------------------------------------------------

/** `method name → { params, result }`. Names are camelCase so a preload can expose them as functions. */
export const stationMethods = {
  getSnapshot: { params: empty, result: snapshotSchema },
  importManifest: {
    params: z.object({ fileName: label, text: z.string().max(STATION_LIMITS.manifestChars) }).strict(),
    result: importResultSchema,
  },
  /** A label's QR payload, typed, pasted or from a barcode scanner (Enter-terminated). */
  addQr: {
    params: z.object({ payload: z.string().max(STATION_LIMITS.qrChars) }).strict(),
    /** `added`: a device new to this station; `replaced`: it was known with another setup secret. */
    result: z.object({ deviceId, added: z.boolean(), replaced: z.boolean() }),
  },
  forgetDevices: {
    params: z.object({ deviceIds }).strict(),
    result: z.object({ removed: z.number().int() }),
  },
  /** Scan with every adapter and ask mDNS again, now. */
  refreshDiscovery: { params: empty, result: z.object({ devices: z.number().int() }) },
  identifyDevice: {
    params: z.object({ deviceId, seconds: z.number().int().min(1).max(120).default(10) }).strict(),
    result: empty,
  },
  getDeviceLog: {
    params: z.object({ deviceId }).strict(),
    result: z.object({ lines: z.array(logLineSchema) }),
  },

  saveProfile: { params: saveProfileParamsSchema, result: profileSchema },
  deleteProfile: { params: z.object({ id: z.string().max(32) }).strict(), result: empty },
  /** Networks the given devices (or, without ids, the station) hear, for the profile's SSID picker. */
  listHeardNetworks: {
    params: z.object({ deviceIds: z.array(deviceId).max(100_000).default([]) }).strict(),
    result: z.object({ networks: z.array(heardNetworkSchema) }),
  },

  runPreflight: {
    params: z
      .object({
        deviceIds,
        profileId: z.string().max(32),
        options: jobStartOptionsSchema,
        survey: z.boolean().default(true),
      })
      .strict(),
    result: preflightSchema,
  },
  startJob: {
    params: z.object({ deviceIds, profileId: z.string().max(32), options: jobStartOptionsSchema }).strict(),
    result: z.object({ jobId: jobIdSchema }),
  },
  /** Finish the chunk under way (push, return, verify), then stop; `resumeJob` continues. */
  pauseJob: { params: z.object({ jobId: jobIdSchema }).strict(), result: empty },
  resumeJob: {
    params: z.object({ jobId: jobIdSchema, profileId: z.string().max(32).optional() }).strict(),
    result: z.object({ jobId: jobIdSchema }),
  },
  /**
   * Stop now: devices not yet sent the network end `cancelled`; those that took it stay pushed, for
   * the next run of the job to verify (left alone, they revert after their fail-safe).
   */
  cancelJob: { params: z.object({ jobId: jobIdSchema }).strict(), result: empty },
  /** Run these devices of a job again (a failure group): by id, never by re-selecting. */
  retryDevices: {
    params: z.object({ jobId: jobIdSchema, deviceIds, profileId: z.string().max(32).optional() }).strict(),
    result: z.object({ jobId: jobIdSchema }),
  },
  getReport: {
    params: z.object({ jobId: jobIdSchema }).strict(),
    result: z.object({ report: reportSchema }),
  },
  exportReport: {
    params: z.object({ jobId: jobIdSchema, format: z.enum(['csv', 'json']) }).strict(),
    result: exportSchema,
  },
  listJobs: { params: empty, result: z.object({ jobs: z.array(historyEntrySchema) }) },

  saveSettings: {
    params: z.object({ settings: stationSettingsSchema }).strict(),
    result: stationSettingsSchema,
  },
} as const;

/**
 * The desktop app's extras beside the station API (its preload exposes them on `window.airlift`):
 * links out that the desktop shell builds and checks itself — a verified device's own page, and the
 * OS page that grants Location. The web host has none: its page uses plain links.
 */
export const desktopMethods = {
  openDevicePage: { params: z.object({ deviceId, jobId: jobIdSchema.optional() }).strict(), result: empty },
  openLocationSettings: { params: z.object({ adapterId: label.min(1) }).strict(), result: empty },
} as const;
export type DesktopMethod = keyof typeof desktopMethods;
export const DESKTOP_METHODS = Object.keys(desktopMethods) as DesktopMethod[];
export type DesktopParams<M extends DesktopMethod> = z.input<(typeof desktopMethods)[M]['params']>;

export type StationMethod = keyof typeof stationMethods;
export const STATION_METHODS = Object.keys(stationMethods) as StationMethod[];
export type StationParams<M extends StationMethod> = z.input<(typeof stationMethods)[M]['params']>;
export type StationParsedParams<M extends StationMethod> = z.output<(typeof stationMethods)[M]['params']>;
export type StationResult<M extends StationMethod> = z.output<(typeof stationMethods)[M]['result']>;

// ---- events (station → front end) ------------------------------------------------------------------

export const stationEvents = {
  /** Rows added or changed, ids gone; batched (at most a few per second). */
  devices: z.object({ upsert: z.array(deviceRowSchema), remove: z.array(deviceId) }),
  adapters: z.object({ adapters: z.array(adapterRowSchema) }),
  profiles: z.object({ profiles: z.array(profileSchema) }),
  settings: stationSettingsSchema,
  /** The running job's counters, phase, lanes and ETA. */
  jobStatus: liveJobStatusSchema,
  /** Devices of the running job whose step changed since the last batch. */
  jobDevices: z.object({ jobId: jobIdSchema, devices: z.array(liveDeviceSchema) }),
  /** A job started, or its last run ended: the whole of it. */
  job: z.object({ job: liveJobSchema.nullable() }),
  history: z.object({ jobs: z.array(historyEntrySchema) }),
  deviceLog: z.object({ deviceId, line: logLineSchema }),
  preflightProgress: z.object({
    done: z.number().int(),
    total: z.number().int(),
    deviceId: deviceId.optional(),
  }),
  /** Something the technician should know that belongs to no screen (a scan failed, an import). */
  notice: z.object({ level: z.enum(['info', 'warn', 'error']), text }),
} as const;

export type StationEvent = keyof typeof stationEvents;
export const STATION_EVENTS = Object.keys(stationEvents) as StationEvent[];
export type StationEventData<E extends StationEvent> = z.output<(typeof stationEvents)[E]>;

// ---- errors ----------------------------------------------------------------------------------------

export const stationErrorSchema = z.object({
  code: z.enum(errorCodes as [string, ...string[]]),
  message: text,
});
export type StationError = z.infer<typeof stationErrorSchema>;

// ---- the web host's WebSocket frames ---------------------------------------------------------------

export const WS_PATH = '/ws';
/** Largest frame the web host accepts (a manifest of 100 000 devices fits). */
export const WS_MAX_FRAME_BYTES = 12 * 1024 * 1024;
/** Close codes the page understands. */
export const WS_CLOSE = { unauthorized: 4401, authTimeout: 4408, tooLarge: 1009 } as const;

export const clientFrameSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('auth'), token: z.string().max(128) }).strict(),
  z
    .object({
      t: z.literal('call'),
      id: z.number().int().nonnegative(),
      method: z.string().max(64),
      params: z.unknown(),
    })
    .strict(),
]);
export type ClientFrame = z.infer<typeof clientFrameSchema>;

export const serverFrameSchema = z.union([
  z.object({ t: z.literal('ready') }),
  z.object({ t: z.literal('reply'), id: z.number().int(), ok: z.literal(true), result: z.unknown() }),
  z.object({ t: z.literal('reply'), id: z.number().int(), ok: z.literal(false), error: stationErrorSchema }),
  z.object({ t: z.literal('event'), name: z.string().max(64), data: z.unknown() }),
]);
export type ServerFrame = z.infer<typeof serverFrameSchema>;
