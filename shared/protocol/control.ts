/**
 * The local control socket (protocol.md "Local control socket and CLI"): newline-delimited JSON-RPC 2.0
 * over a Unix stream socket. One zod schema per message and per method's params, used by the agent to
 * answer and by `airliftctl` (or any app on the device) to call and to read the answers.
 *
 * Errors use the JSON-RPC standard codes; the Airlift stable code travels in `error.data.code`, so
 * clients can match on the same strings as over HTTP.
 */
import { z } from 'zod';
import { AirliftError, isErrorCode, type ErrorCode } from '../errors';
import {
  APP_STATES,
  agentEventSchema,
  appStatusSchema,
  networksResponseSchema,
  statusSchema,
  wifiForgetParamsSchema,
  wifiListResultSchema,
  wifiSetResultSchema,
} from './api';
import { networkInputSchema, type NetworkInput, type NetworkInputRaw } from './network-input';

export const CONTROL_SOCKET_PATH = '/run/airlift/agent.sock';
export const CONTROL_SOCKET_GROUP = 'airlift';
/** One request line, newline excluded. Longer lines are answered with an error and the connection closed. */
export const CONTROL_MAX_LINE_BYTES = 64 * 1024;
export const CONTROL_MAX_CONNECTIONS = 32;
export const JSONRPC_VERSION = '2.0';

/** JSON-RPC 2.0 standard error codes (https://www.jsonrpc.org/specification#error_object). */
export const JSONRPC_ERRORS = {
  PARSE_ERROR: -32700,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INVALID_PARAMS: -32602,
  SERVER_ERROR: -32000,
} as const;

export const CONTROL_METHODS = [
  'status',
  'networks.scan',
  'wifi.add',
  'wifi.forget',
  'wifi.list',
  'ap.start',
  'ap.stop',
  'app.report',
  'connectivity.set',
  'events.subscribe',
  'limits.reset',
  'doctor',
] as const;
export type ControlMethod = (typeof CONTROL_METHODS)[number];

// ---- envelope ----------------------------------------------------------------------------------

/** Strings or integers; `null` is allowed by the spec (and used for errors about unreadable requests). */
export const jsonRpcIdSchema = z.union([z.string().max(256), z.number().int(), z.null()]);
export type JsonRpcId = z.infer<typeof jsonRpcIdSchema>;

/**
 * A request. Without `id` it is a notification: carried out, never answered. `params` is checked per
 * method (absent or null means no params), so a bad value is an invalid-params error, not an invalid request.
 */
export const controlRequestSchema = z
  .object({
    jsonrpc: z.literal(JSONRPC_VERSION),
    id: jsonRpcIdSchema.optional(),
    method: z.string().min(1).max(64),
    params: z.unknown().optional(),
  })
  .strict();
export type ControlRequest = z.infer<typeof controlRequestSchema>;

export const controlErrorDataSchema = z.object({
  code: z.string(),
  retryable: z.boolean(),
  details: z.record(z.string(), z.unknown()).optional(),
});

export const controlErrorObjectSchema = z.object({
  code: z.number().int(),
  message: z.string(),
  data: controlErrorDataSchema,
});
export type ControlErrorObject = z.infer<typeof controlErrorObjectSchema>;

export const controlSuccessSchema = z.object({
  jsonrpc: z.literal(JSONRPC_VERSION),
  id: jsonRpcIdSchema,
  result: z.unknown(),
});
export const controlErrorResponseSchema = z.object({
  jsonrpc: z.literal(JSONRPC_VERSION),
  id: jsonRpcIdSchema,
  error: controlErrorObjectSchema,
});
export const controlResponseSchema = z.union([controlSuccessSchema, controlErrorResponseSchema]);
export type ControlResponse = z.infer<typeof controlResponseSchema>;

/** What a subscribed connection receives for each agent event. */
export const EVENT_NOTIFICATION_METHOD = 'event';
export const controlEventNotificationSchema = z.object({
  jsonrpc: z.literal(JSONRPC_VERSION),
  method: z.literal(EVENT_NOTIFICATION_METHOD),
  params: agentEventSchema,
});
export type ControlEventNotification = z.infer<typeof controlEventNotificationSchema>;

/** Anything the agent writes on the socket. */
export const controlServerMessageSchema = z.union([
  controlSuccessSchema.strict(),
  controlErrorResponseSchema.strict(),
  controlEventNotificationSchema.strict(),
]);
export type ControlServerMessage = z.infer<typeof controlServerMessageSchema>;

/** The error object for an AirliftError, with the JSON-RPC code chosen by the caller. */
export function controlErrorObject(rpcCode: number, err: AirliftError): ControlErrorObject {
  return {
    code: rpcCode,
    message: err.message,
    data: {
      code: err.code,
      retryable: err.retryable,
      ...(err.details !== undefined ? { details: err.details } : {}),
    },
  };
}

/** Back from the wire: the AirliftError the agent threw (unknown codes become PROTOCOL_ERROR). */
export function airliftErrorFromControl(error: ControlErrorObject): AirliftError {
  const code: ErrorCode = isErrorCode(error.data.code) ? error.data.code : 'PROTOCOL_ERROR';
  return new AirliftError(code, error.message, error.data.details, { retryable: error.data.retryable });
}

/** The JSON-RPC code that goes with a stable Airlift code when no more specific one applies. */
export function rpcCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'UNKNOWN_METHOD':
      return JSONRPC_ERRORS.METHOD_NOT_FOUND;
    default:
      return JSONRPC_ERRORS.SERVER_ERROR;
  }
}

// ---- per-method params --------------------------------------------------------------------------

// Methods without params accept nothing, `{}` or null; a stray key is a mistake worth reporting.
const noParams = z.preprocess((v) => v ?? {}, z.object({}).strict());

export const statusParamsSchema = noParams;
export const networksScanParamsSchema = z.preprocess(
  (v) => v ?? {},
  z.object({ force: z.boolean().optional() }).strict(),
);

export const APPLY_MODES = ['now', 'later'] as const;
export type ApplyMode = (typeof APPLY_MODES)[number];

/** `wifi.add` as a client sends it: one network (networkInputSchema's fields) plus `apply`. */
export type WifiAddParamsInput = NetworkInputRaw & { apply?: ApplyMode };
export interface WifiAddParams {
  network: NetworkInput;
  /** Absent: the agent decides (`later` while online, so a working link is not dropped; else `now`). */
  apply?: ApplyMode;
}

/**
 * The network's own fields are judged by networkInputSchema (which refuses unknown keys), so only
 * `apply` is taken off first. Issues keep their stable codes (INVALID_SSID, INVALID_PASSPHRASE, ...).
 */
export const wifiAddParamsSchema = z.unknown().transform((value, ctx): WifiAddParams => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    ctx.addIssue({ code: 'custom', message: 'params must be an object with the network fields' });
    return z.NEVER;
  }
  const { apply, ...rest } = value as Record<string, unknown>;
  const applied = z.enum(APPLY_MODES).optional().safeParse(apply);
  if (!applied.success) {
    ctx.addIssue({
      code: 'custom',
      path: ['apply'],
      message: `apply must be one of ${APPLY_MODES.join(', ')}`,
    });
    return z.NEVER;
  }
  const network = networkInputSchema.safeParse(rest);
  if (!network.success) {
    for (const issue of network.error.issues) {
      const params = (issue as { params?: Record<string, unknown> }).params;
      ctx.addIssue({
        code: 'custom',
        path: issue.path,
        message: issue.message,
        ...(params ? { params } : {}),
      });
    }
    return z.NEVER;
  }
  return applied.data === undefined
    ? { network: network.data }
    : { network: network.data, apply: applied.data };
});

/** `{ id }`, `{ ssid }` or `{ ssidHex }`: exactly one. */
export const controlWifiForgetParamsSchema = wifiForgetParamsSchema;

export const wifiListParamsSchema = noParams;
export const apStartParamsSchema = noParams;
export const apStopParamsSchema = noParams;

export const APP_NAME_RE = /^[A-Za-z0-9._-]{1,64}$/;
const appStateSchema = z.enum(APP_STATES);
export const appReportParamsSchema = z
  .object({
    name: z.string().regex(APP_NAME_RE, 'name: 1..64 characters of A-Z, a-z, 0-9, ".", "_", "-"'),
    state: appStateSchema,
    code: z.number().int(),
    connectivity: z.object({ state: appStateSchema, code: z.number().int() }).strict().optional(),
  })
  .strict();
export type AppReportParams = z.infer<typeof appReportParamsSchema>;

/**
 * conman's `setConnected(False)`: an app on the device says it is cut off. The agent checks the
 * configured targets at once and, if they fail (or none are configured), reconnects on the next
 * link (Ethernet > Wi-Fi > cellular), or opens setup with `connectivity.onLoss: setup`; in setup it
 * looks for known networks at once. `connected: true` is accepted and changes nothing (the agent
 * keeps checking by itself). `app` names who said so, for the log.
 */
export const connectivitySetParamsSchema = z
  .object({
    connected: z.boolean(),
    app: z.string().regex(APP_NAME_RE, 'app: 1..64 characters of A-Z, a-z, 0-9, ".", "_", "-"').optional(),
  })
  .strict();
export type ConnectivitySetParams = z.infer<typeof connectivitySetParamsSchema>;
/** `rechecking`: a check runs now because of this call; `state`: the lifecycle state after it. */
export const connectivitySetResultSchema = z.object({
  rechecking: z.boolean(),
  state: statusSchema.shape.state,
});

export const eventsSubscribeParamsSchema = noParams;
export const limitsResetParamsSchema = noParams;
export const doctorParamsSchema = noParams;

export const controlParamsSchemas = {
  status: statusParamsSchema,
  'networks.scan': networksScanParamsSchema,
  'wifi.add': wifiAddParamsSchema,
  'wifi.forget': controlWifiForgetParamsSchema,
  'wifi.list': wifiListParamsSchema,
  'ap.start': apStartParamsSchema,
  'ap.stop': apStopParamsSchema,
  'app.report': appReportParamsSchema,
  'connectivity.set': connectivitySetParamsSchema,
  'events.subscribe': eventsSubscribeParamsSchema,
  'limits.reset': limitsResetParamsSchema,
  doctor: doctorParamsSchema,
} as const satisfies Record<ControlMethod, z.ZodType>;

// ---- results ------------------------------------------------------------------------------------

export const DOCTOR_STATUSES = ['pass', 'warn', 'fail'] as const;
export type DoctorStatus = (typeof DOCTOR_STATUSES)[number];

export const doctorCheckSchema = z.object({
  /** Stable, dotted (`state.dir`): scripts and support notes refer to checks by id. */
  id: z.string().regex(/^[a-z][a-z0-9]*(?:\.[a-z][a-z0-9_-]*)*$/),
  status: z.enum(DOCTOR_STATUSES),
  message: z.string(),
  /** What to do about a warn or fail, for people. */
  fix: z.string().optional(),
});
export type DoctorCheck = z.infer<typeof doctorCheckSchema>;

export const doctorReportSchema = z.object({
  /** No check failed (warnings allowed). */
  ok: z.boolean(),
  checks: z.array(doctorCheckSchema),
});
export type DoctorReport = z.infer<typeof doctorReportSchema>;

const okSchema = z.object({ ok: z.literal(true) });
const countersSchema = z.object({
  consecutiveFailures: z.number(),
  windowFailures: z.number(),
  lifetimeFailures: z.number(),
  notBefore: z.number(),
});

export const controlResultSchemas = {
  status: statusSchema,
  'networks.scan': networksResponseSchema,
  'wifi.add': wifiSetResultSchema,
  'wifi.forget': z.object({ removed: z.number().int() }),
  'wifi.list': wifiListResultSchema,
  'ap.start': okSchema,
  'ap.stop': okSchema,
  'app.report': appStatusSchema,
  'connectivity.set': connectivitySetResultSchema,
  'events.subscribe': z.object({ subscribed: z.literal(true), state: statusSchema.shape.state }),
  'limits.reset': z.object({ ok: z.literal(true), limits: countersSchema }),
  doctor: doctorReportSchema,
} as const satisfies Record<ControlMethod, z.ZodType>;

export type ControlParamsInput<M extends ControlMethod> = M extends 'wifi.add'
  ? WifiAddParamsInput
  : z.input<(typeof controlParamsSchemas)[M]>;
export type ControlResult<M extends ControlMethod> = z.output<(typeof controlResultSchemas)[M]>;
