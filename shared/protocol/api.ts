/**
 * The agent's public HTTP API and its RPC methods (protocol.md "HTTP API"): one zod schema per message,
 * used by the agent to answer and by the station and portal to read.
 */
import { z } from 'zod';
import { BANDS, NETWORK_SECURITY, scanResultSchema } from './wifi';
import { CONNECT_FAILURE_REASONS, ERROR_CODES, type ErrorCode } from '../errors';
import type { MethodTable, ParamsArgs, ParamsIn, ParamsOut, ResultOf } from './method-table';
import { networkInputSchema } from './network-input';
import { EAP_METHODS, EAP_PHASE2, SERVER_VALIDATION } from './eap';
import { utf8Encode } from '../encoding';
import { withCode } from '../validate';

export const PROTOCOL_VERSION = 1;
export const API_PREFIX = '/v1';
export const LAN_API_PORT = 4780;
export const AP_API_PORT = 80;
export const MAX_BODY_BYTES = 64 * 1024;

export const DEVICE_STATES = ['booting', 'connecting', 'online', 'setup', 'applying', 'failsafe'] as const;
export type DeviceState = (typeof DEVICE_STATES)[number];
export const deviceStateSchema = z.enum(DEVICE_STATES);

export const connectFailureReasonSchema = z.enum(CONNECT_FAILURE_REASONS);

export const errorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    retryable: z.boolean(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});
export type ErrorResponse = z.infer<typeof errorBodySchema>;
export function isKnownErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

// ---- GET /v1/info ------------------------------------------------------------------------------

export const capabilitiesSchema = z.object({
  concurrentApSta: z.boolean(),
  security: z.array(z.enum(NETWORK_SECURITY)),
  bands: z.array(z.enum(BANDS)),
  ethernet: z.boolean(),
  cellular: z.boolean(),
  /**
   * The EAP methods the device can join Enterprise networks with; listed (with `wpa2-enterprise` /
   * `wpa3-enterprise` in `security`) only when its Wi-Fi stack can. Added after v1 shipped.
   */
  eap: z.array(z.enum(EAP_METHODS)).optional(),
  /** The device can take a network's static IPv4 (`ipv4`). Added after v1 shipped. */
  staticIpv4: z.boolean().optional(),
});
export type Capabilities = z.infer<typeof capabilitiesSchema>;

export const infoSchema = z.object({
  id: z.string(),
  name: z.string(),
  model: z.string(),
  fw: z.string(),
  agentVersion: z.string(),
  protocol: z.literal(PROTOCOL_VERSION),
  state: deviceStateSchema,
  hostname: z.string(),
  setupSsid: z.string(),
  capabilities: capabilitiesSchema,
});
export type DeviceInfo = z.infer<typeof infoSchema>;

// ---- GET /v1/status ----------------------------------------------------------------------------

export const attemptResultSchema = z.enum(['ok', 'failed', 'pending']);
export const lastAttemptSchema = z.object({
  id: z.string(),
  result: attemptResultSchema,
  reason: z.string().optional(),
  at: z.string(),
  /** Hex SSID the attempt was for. */
  ssidHex: z.string().optional(),
  /** Address obtained on success, so the portal can show where the device went. */
  ip: z.string().optional(),
  /**
   * How that address came: `static` is the network's own `ipv4` (the station can look for the device
   * exactly there), `dhcp` a lease. Added after v1 shipped: older agents leave it out.
   */
  addressing: z.enum(['dhcp', 'static']).optional(),
});
export type LastAttempt = z.infer<typeof lastAttemptSchema>;

export const leaseSchema = z.object({
  ip: z.string(),
  subnetmask: z.string(),
  defaultgw: z.string(),
  nameservers: z.array(z.string()),
});

/** App health as apps report it over the control socket (`app.report`), in thingymcconfig's shape. */
export const APP_STATES = ['ok', 'starting', 'degraded', 'failed', 'unknown'] as const;
export const appStatusSchema = z.object({
  name: z.string(),
  appstate: z.object({ state: z.enum(APP_STATES), code: z.number().int() }),
  connectivity: z.object({ state: z.enum(APP_STATES), code: z.number().int() }),
  at: z.string(),
});
export type AppStatus = z.infer<typeof appStatusSchema>;

/**
 * The secure session's abuse limits as `/v1/status` shows them, so the owner sees a lockout (and what
 * ends it) without guessing: `delayed` until `retryAfterMs` passes, `window_closed` until setup opens
 * anew after the device was online, `locked_out` until a local `airliftctl reset-lockout`.
 */
export const LIMITS_STATES = ['open', 'delayed', 'window_closed', 'locked_out'] as const;
export type LimitsState = (typeof LIMITS_STATES)[number];
export const limitsStatusSchema = z.object({
  state: z.enum(LIMITS_STATES),
  /** With `delayed`: how long until the next handshake is accepted. */
  retryAfterMs: z.number().int().nonnegative().optional(),
  /** Why the limits are closed, when it is not the counts alone (`counters_damaged`). */
  reason: z.string().optional(),
  consecutiveFailures: z.number().int().nonnegative(),
  windowFailures: z.number().int().nonnegative(),
  lifetimeFailures: z.number().int().nonnegative(),
  /** Failures that close the setup window, and that lock the device out. */
  windowMax: z.number().int().positive(),
  lifetimeMax: z.number().int().positive(),
});
export type LimitsStatus = z.infer<typeof limitsStatusSchema>;

export const statusSchema = z.object({
  state: deviceStateSchema,
  /** Which link carries traffic now, by priority Ethernet > Wi-Fi > cellular. */
  via: z.enum(['ethernet', 'wifi', 'cellular']).nullable(),
  ssid: z.string().optional(),
  ssidHex: z.string().optional(),
  ip: z.string().optional(),
  hostname: z.string(),
  pv: z.string(),
  setupAp: z.object({ up: z.boolean(), ssid: z.string(), address: z.string() }),
  failsafe: z.object({ attemptId: z.string(), expiresInMs: z.number().int() }).optional(),
  lastAttempt: lastAttemptSchema.optional(),
  network: z.object({
    config_state: z.enum(['configured', 'unconfigured']),
    supplicant: z.object({ connected: z.boolean() }),
    dhcp4: z.object({ state: z.enum(['bound', 'none']), lease: leaseSchema.optional() }),
  }),
  apps: z.array(appStatusSchema),
  /** Added after v1 shipped: older agents leave it out. */
  limits: limitsStatusSchema.optional(),
});
export type DeviceStatus = z.infer<typeof statusSchema>;

// ---- GET /v1/networks --------------------------------------------------------------------------

export const networksResponseSchema = z.object({ networks: z.array(scanResultSchema) });
export type NetworksResponse = z.infer<typeof networksResponseSchema>;

// ---- GET /v1/events (SSE) ----------------------------------------------------------------------

export const agentEventSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('state'),
    state: deviceStateSchema,
    previous: deviceStateSchema,
    at: z.string(),
  }),
  z.object({ type: z.literal('attempt'), attempt: lastAttemptSchema }),
  z.object({ type: z.literal('app'), app: appStatusSchema }),
  z.object({ type: z.literal('networks'), count: z.number().int() }),
]);
export type AgentEvent = z.infer<typeof agentEventSchema>;

// ---- POST /v1/rpc methods ----------------------------------------------------------------------
// One params schema and one result schema per method (rpcParamsSchemas, rpcResultSchemas below):
// the agent dispatches from them, the station, the CLI and the portal call through them.

export const NONCE_HEX_RE = /^[0-9a-f]{16,64}$/;
const nonceSchema = z
  .string()
  .transform((s) => s.toLowerCase())
  .pipe(z.string().regex(NONCE_HEX_RE, 'job nonce: 16..64 hex chars'));

export const MAX_NETWORKS_PER_SET = 8;

/**
 * The networks of one `wifi.set`, as JSON, at most this many bytes: what fits one RPC record
 * (RPC_MAX_CT_CHARS of base64url inside a MAX_BODY_BYTES body) with room for the rest of the call.
 * Certificates are what make a call big: each field has its own cap (EAP_LIMITS), and this one
 * bounds them together. test/unit/shared/wifi-set-size.test.ts seals the largest call to prove it fits.
 */
export const WIFI_SET_NETWORKS_MAX_BYTES = 44 * 1024;

/** The UTF-8 length of `networks` as JSON: what WIFI_SET_NETWORKS_MAX_BYTES bounds. */
export function networksJsonBytes(networks: unknown): number {
  return utf8Encode(JSON.stringify(networks)).length;
}

/** Everything of wifi.set but its networks (which networkInputSchema judges, see below). */
export const wifiSetParamsShape = {
  mode: z.enum(['replace', 'add']).default('replace'),
  nonce: nonceSchema.optional(),
  commit: z.enum(['auto', 'confirm']).default('confirm'),
  failsafeSeconds: z.number().int().min(30).max(3600).default(300),
};

export const wifiSetParamsSchema = z
  .object({
    networks: z
      .array(networkInputSchema)
      .min(1)
      .max(MAX_NETWORKS_PER_SET)
      .refine(
        (networks) => networksJsonBytes(networks) <= WIFI_SET_NETWORKS_MAX_BYTES,
        withCode(
          'PAYLOAD_TOO_LARGE',
          `the networks take more than ${WIFI_SET_NETWORKS_MAX_BYTES} bytes together (certificates, mostly): send them in several wifi.set calls with mode "add"`,
        ),
      ),
    ...wifiSetParamsShape,
    /** `later`: store without switching (stage a rotation); `now`: try at once under fail-safe. */
    apply: z.enum(['now', 'later']).default('now'),
  })
  .strict();
export type WifiSetParams = z.output<typeof wifiSetParamsSchema>;
export type WifiSetParamsInput = z.input<typeof wifiSetParamsSchema>;

/**
 * Where to find the device once it has left its setup AP, for a client that loses the AP with it
 * (a phone on the captive portal of a radio without AP+STA). Added after v1 shipped.
 */
export const reachSchema = z.object({
  /** The `.local` name the device publishes over mDNS. */
  host: z.string(),
  /** The LAN API's port. */
  port: z.number().int(),
  /**
   * The address the device had on that network last time: DHCP clients ask for it again, so it
   * is where the device most likely is. Absent when it was never there.
   */
  ipHint: z.string().optional(),
  /**
   * `ipHint` is the network's static address: the device will be there and nowhere else. Added
   * after v1 shipped.
   */
  ipStatic: z.boolean().optional(),
  /**
   * URLs of the LAN API to poll once the phone is back on that network (`/v1/info` at the name,
   * then at the hint): any answer at all means the device is there.
   */
  urls: z.array(z.string()),
});
export type Reach = z.infer<typeof reachSchema>;

export const wifiSetResultSchema = z.object({
  attemptId: z.string(),
  /** Whether the device keeps its setup AP up while trying (AP+STA): then poll /v1/status on the AP. */
  apStaysUp: z.boolean(),
  state: deviceStateSchema,
  /** Added after v1 shipped: older agents leave it out. */
  reach: reachSchema.optional(),
});
export type WifiSetResult = z.infer<typeof wifiSetResultSchema>;

/**
 * An Enterprise network's 802.1X settings as `wifi.list` shows them: who it signs in as and how it
 * checks the server (`none`: the technician chose no CA), never a password, key or certificate.
 */
export const savedEapSchema = z.object({
  method: z.enum(EAP_METHODS),
  phase2: z.enum(EAP_PHASE2).optional(),
  identity: z.string(),
  anonymousIdentity: z.string().optional(),
  serverValidation: z.enum(SERVER_VALIDATION),
  domainMatch: z.string().optional(),
});
export type SavedEap = z.infer<typeof savedEapSchema>;

/** Static IPv4 as shown (it is no secret): the station verifies the device at `address`. */
export const savedIpv4Schema = z.object({
  address: z.string(),
  prefixLength: z.number().int(),
  gateway: z.string().optional(),
  dns: z.array(z.string()),
});

export const savedNetworkSchema = z.object({
  id: z.string(),
  ssid: z.string(),
  ssidHex: z.string(),
  security: z.enum(NETWORK_SECURITY),
  hidden: z.boolean(),
  priority: z.number().int(),
  provisional: z.boolean(),
  lastConnectedAt: z.string().optional(),
  /** Enterprise networks only. Added after v1 shipped. */
  eap: savedEapSchema.optional(),
  /** Networks with static IPv4 only. Added after v1 shipped. */
  ipv4: savedIpv4Schema.optional(),
});
export type SavedNetworkSummary = z.infer<typeof savedNetworkSchema>;
export const wifiListResultSchema = z.object({ networks: z.array(savedNetworkSchema) });

export const wifiForgetParamsSchema = z
  .object({ id: z.string().optional(), ssid: z.string().optional(), ssidHex: z.string().optional() })
  .strict()
  .refine((p) => [p.id, p.ssid, p.ssidHex].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of id, ssid, ssidHex',
  });
export type WifiForgetParams = z.infer<typeof wifiForgetParamsSchema>;
export const wifiForgetResultSchema = z.object({ removed: z.number().int() });

export const deviceCommitParamsSchema = z.object({ nonce: nonceSchema.optional() }).strict();
export const deviceCommitResultSchema = z.object({ committed: z.boolean(), attemptId: z.string() });
const hasControlChar = (s: string) =>
  Array.from(s).some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
export const deviceRenameParamsSchema = z
  .object({
    name: z
      .string()
      .trim()
      .min(1)
      .max(63)
      .refine((s) => !hasControlChar(s), 'no control characters'),
  })
  .strict();
export const deviceRenameResultSchema = z.object({ ok: z.literal(true), name: z.string() });
export const deviceIdentifyParamsSchema = z
  .object({ seconds: z.number().int().min(1).max(120).default(10) })
  .strict();
export const emptyParamsSchema = z.object({}).strict();
/** The answer of methods that only do something. */
export const okResultSchema = z.object({ ok: z.literal(true) });

export const checkResultSchema = z.object({
  id: z.enum(['gateway', 'dns', 'ntp', 'url']),
  target: z.string(),
  state: z.enum(['ok', 'failed', 'skipped']),
  latencyMs: z.number().optional(),
  detail: z.string().optional(),
});
export const statusDetailSchema = z.object({
  status: statusSchema,
  checks: z.array(checkResultSchema),
  /** What the device hears of each saved network: link quality as the device sees it. */
  signals: z.array(z.object({ ssidHex: z.string(), signal: z.number().nullable() })),
  uptimeSeconds: z.number(),
});
export type StatusDetail = z.infer<typeof statusDetailSchema>;

/**
 * The params of each method. Requests are strict: an unknown key is a client bug. Absent params
 * are checked as `{}`.
 */
export const rpcParamsSchemas = {
  'wifi.set': wifiSetParamsSchema,
  'wifi.forget': wifiForgetParamsSchema,
  'wifi.list': emptyParamsSchema,
  'device.commit': deviceCommitParamsSchema,
  'device.identify': deviceIdentifyParamsSchema,
  'device.rename': deviceRenameParamsSchema,
  'ap.stop': emptyParamsSchema,
  'device.reboot': emptyParamsSchema,
  'status.detail': emptyParamsSchema,
} as const;

export type RpcMethod = keyof typeof rpcParamsSchemas;
export const RPC_METHODS = Object.keys(rpcParamsSchemas) as RpcMethod[];

/** The result of each method. Replies tolerate added keys, so a later agent can extend them. */
export const rpcResultSchemas = {
  'wifi.set': wifiSetResultSchema,
  'wifi.forget': wifiForgetResultSchema,
  'wifi.list': wifiListResultSchema,
  'device.commit': deviceCommitResultSchema,
  'device.identify': okResultSchema,
  'device.rename': deviceRenameResultSchema,
  'ap.stop': okResultSchema,
  'device.reboot': okResultSchema,
  'status.detail': statusDetailSchema,
} as const satisfies Record<RpcMethod, z.ZodType>;

type RpcParamsSchemas = typeof rpcParamsSchemas;
type RpcResultSchemas = typeof rpcResultSchemas;
/** What a caller sends for `M` (defaults may be left out). */
export type RpcParamsInput<M extends RpcMethod> = ParamsIn<RpcParamsSchemas, M>;
/** The params as the agent's handler of `M` receives them (defaults applied, networks normalised). */
export type RpcParams<M extends RpcMethod> = ParamsOut<RpcParamsSchemas, M>;
export type RpcResult<M extends RpcMethod> = ResultOf<RpcResultSchemas, M>;
/** A caller's arguments for `M`: params may be left out for methods that need none. */
export type RpcArgs<M extends RpcMethod> = ParamsArgs<RpcParamsSchemas, M>;
/** The agent's side: one handler per method. */
export type RpcMethodTable<Ctx> = MethodTable<RpcParamsSchemas, RpcResultSchemas, Ctx>;
