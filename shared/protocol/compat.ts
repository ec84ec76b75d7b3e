/**
 * Inputs of the compatibility surfaces (off by default): netconnectd's socket messages
 * (`{"<cmd>": {params}}`, NUL-terminated) and thingymcconfig's `POST /config` body. Both are
 * normalised to the agent's own network input, so the Wi-Fi rules are the same as for `wifi.set`.
 */
import { z } from 'zod';
import { classifySecret, networkInputSchema, type NetworkInput } from './network-input';
import type { NetworkSecurity } from './wifi';

/** A netconnectd message (without its NUL) larger than this is refused and the connection closed. */
export const NETCONNECTD_MAX_MESSAGE_BYTES = 16 * 1024;
/** thingymcconfig's `/config` body cap (its C buffers hold an SSID and a passphrase). */
export const THINGYMCCONFIG_MAX_BODY_BYTES = 4 * 1024;

export const NETCONNECTD_COMMANDS = [
  'status',
  'list_wifi',
  'config_wifi',
  'start_wifi',
  'start_ap',
  'stop_ap',
  'forget_wifi',
  'reset',
] as const;
export type NetconnectdCommand = (typeof NETCONNECTD_COMMANDS)[number];

// netconnectd skips parameters whose value is null (its clients send `"psk": null`) and ignores
// parameters it does not know; so do these schemas.
const optionalFlag = z
  .boolean()
  .nullable()
  .optional()
  .transform((v) => v === true);
const noParams = z.object({}).loose();

export const netconnectdParamsSchemas = {
  status: noParams,
  list_wifi: z.object({ force: optionalFlag }).loose(),
  config_wifi: z
    .object({
      ssid: z.string().min(1).max(128),
      psk: z
        .string()
        .max(256)
        .nullable()
        .optional()
        .transform((v) => (v === null || v === undefined || v === '' ? undefined : v)),
      force: optionalFlag,
    })
    .loose(),
  start_wifi: noParams,
  start_ap: noParams,
  stop_ap: noParams,
  forget_wifi: noParams,
  reset: noParams,
} as const;

export type NetconnectdMessage =
  | { cmd: 'list_wifi'; force: boolean }
  | { cmd: 'config_wifi'; ssid: string; psk?: string; force: boolean }
  | { cmd: Exclude<NetconnectdCommand, 'list_wifi' | 'config_wifi'> };

/** The envelope: a JSON object with exactly one member, the command. */
export const netconnectdEnvelopeSchema = z
  .record(z.string(), z.unknown())
  .refine((o) => Object.keys(o).length === 1, 'a message holds exactly one command');

function isCommand(cmd: string): cmd is NetconnectdCommand {
  return (NETCONNECTD_COMMANDS as readonly string[]).includes(cmd);
}

/**
 * `missing`: a mandatory parameter absent or null (netconnectd skipped nulls), which netconnectd
 * could not build a message from; `detail` is its log line ("Missing mandatory parameters: ['ssid']").
 */
export type NetconnectdParse =
  | { ok: true; message: NetconnectdMessage }
  | { ok: false; kind: 'malformed' | 'unknown' | 'params' | 'missing'; detail: string };

/** Parse the text of one message (the bytes before its NUL). Never throws. */
export function parseNetconnectdMessage(text: string): NetconnectdParse {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, kind: 'malformed', detail: 'not JSON' };
  }
  const env = netconnectdEnvelopeSchema.safeParse(value);
  if (!env.success || Array.isArray(value))
    return { ok: false, kind: 'malformed', detail: 'not one command' };
  const [cmd, params] = Object.entries(env.data)[0] ?? ['', undefined];
  if (!isCommand(cmd)) return { ok: false, kind: 'unknown', detail: cmd };
  const missing = netconnectdMissingMandatory(cmd, params);
  if (missing.length > 0) {
    const list = missing.map((m) => `'${m}'`).join(', ');
    return { ok: false, kind: 'missing', detail: `Missing mandatory parameters: [${list}]` };
  }
  const parsed = netconnectdParamsSchemas[cmd].safeParse(params ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : 'params';
    return { ok: false, kind: 'params', detail: `${where}: ${issue?.message ?? 'invalid'}` };
  }
  switch (cmd) {
    case 'list_wifi': {
      const p = parsed.data as { force: boolean };
      return { ok: true, message: { cmd, force: p.force } };
    }
    case 'config_wifi': {
      const p = parsed.data as { ssid: string; psk?: string; force: boolean };
      return {
        ok: true,
        message: { cmd, ssid: p.ssid, force: p.force, ...(p.psk !== undefined ? { psk: p.psk } : {}) },
      };
    }
    default:
      return { ok: true, message: { cmd } };
  }
}

/**
 * A legacy `(ssid, psk)` pair as the agent's network input. Legacy `psk` is filed by the project's
 * one rule, `classifySecret` (64 hex digits are a raw WPA2 PSK, as wpa_supplicant and netconnectd's
 * Wi-Fi library read them; anything else, and every WPA3 secret, a passphrase); an empty one means
 * an open network. `security` comes from the scan when the caller knows it.
 */
export function legacyNetwork(
  ssid: { ssid: string } | { ssidHex: string },
  secret: string | undefined,
  security?: NetworkSecurity,
): z.ZodSafeParseResult<NetworkInput> {
  const s = secret === '' ? undefined : secret;
  const resolved: NetworkSecurity = security ?? (s === undefined ? 'open' : 'wpa2-psk');
  const cred = resolved === 'open' || s === undefined ? {} : classifySecret(resolved, s);
  return networkInputSchema.safeParse({ ...ssid, security: resolved, ...cred });
}

/** thingymcconfig's `POST /config`: both members present and strings (its deserialiser's rule). */
export const thingymcconfigConfigSchema = z
  .object({ ssid: z.string().min(1).max(128), psk: z.string().max(256) })
  .loose()
  .transform((body, ctx): NetworkInput => {
    const r = legacyNetwork({ ssid: body.ssid }, body.psk);
    if (r.success) return r.data;
    for (const issue of r.error.issues)
      ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
    return z.NEVER;
  });

// ---- netconnectd's error texts ------------------------------------------------------------------

/**
 * What netconnectd answered for any message it could not turn into a command — including a
 * `config_wifi` without `ssid` (its Message constructor raised "Missing mandatory parameters" and
 * the socket loop answered with this).
 */
export const NETCONNECTD_PROCESSING_ERROR = 'error while processing message from client';

/** The mandatory parameters a message lacks (absent or null), as netconnectd's Message checked them. */
function netconnectdMissingMandatory(cmd: NetconnectdCommand, params: unknown): string[] {
  if (cmd !== 'config_wifi') return [];
  const p = typeof params === 'object' && params !== null ? (params as Record<string, unknown>) : {};
  return p['ssid'] === undefined || p['ssid'] === null ? ['ssid'] : [];
}

// ---- thingymcconfig's setup AP address ------------------------------------------------------------

/**
 * `compat.thingymcconfig.apAddress: "10.0.0.1"`: the setup AP where thingymcconfig's Android app
 * looks for it (a fixed `http://10.0.0.1:1338`), instead of the subnet derived from the device id.
 * Every such device has the same subnet, so a station holds one of their APs at a time.
 */
export const THINGYMCCONFIG_SETUP_SUBNET = {
  network: '10.0.0.0',
  prefixLength: 24,
  address: '10.0.0.1',
  netmask: '255.255.255.0',
  dhcpRange: { start: '10.0.0.10', end: '10.0.0.250' },
} as const;

// ---- thingymcconfig's application socket (include/thingymcconfig/ctrl.h) ---------------------------

/** Its client library's socket path (THINGYMCCONFIG_CTRLSOCKPATH). */
export const THINGYMCCONFIG_CTRL_SOCKET = '/tmp/thingymcconfig.socket';

/** The constants of ctrl.h, by their names there (THINGYMCCONFIG_ prefix dropped). */
export const THINGY = {
  // Generic states, valid wherever a state is expressed.
  NULL: 0,
  OK: 1,
  ERR: 2,
  PENDING: 3,
  ACTIVE: 4,
  GENERICEND: 31,
  // Message types.
  MSGTYPE_CONFIG_APPS: 1,
  MSGTYPE_EVENT_NETWORKSTATEUPDATE: 2,
  MSGTYPE_EVENT_APPSTATEUPDATE: 3,
  // Field types, namespaced by message type (ctrl.h spells this one THINGMCCONFIG_).
  FIELDTYPE_CONFIG_APPS_APP: 1,
  FIELDTYPE_NETWORKSTATEUPDATE_SUPPLICANTSTATE: 1,
  FIELDTYPE_NETWORKSTATEUPDATE_DHCPSTATE: 2,
  FIELDTYPE_APPSTATEUPDATE_APPINDEX: 1,
  FIELDTYPE_APPSTATEUPDATE_APPSTATE: 2,
  FIELDTYPE_APPSTATEUPDATE_CONNECTIVITY: 3,
  FIELDTYPE_TERMINATOR: 255,
} as const;

/** `struct thingymcconfig_ctrl_msgheader` and every field struct are 4 packed bytes. */
export const THINGY_HEADER_BYTES = 4;
export const THINGY_FIELD_BYTES = 4;

/**
 * One field: `type`, `buflen`, two value bytes (`index, pad0` or `state, error`), then `buflen`
 * bytes of buffer (an app's name in CONFIG_APPS).
 */
export interface ThingyField {
  type: number;
  v0: number;
  v1: number;
  buf?: Uint8Array;
}

export interface ThingyMessage {
  type: number;
  fields: ThingyField[];
}

const byte = (n: number): number => {
  if (!Number.isInteger(n) || n < 0 || n > 255) throw new RangeError(`not a byte: ${n}`);
  return n;
};

/**
 * A message as tbus_writemsg writes it: the header (`numfields` counts the terminator, pads 0),
 * each field and its buffer, then the terminator field {255, 0, 0, 0}.
 */
export function encodeThingyMessage(msg: ThingyMessage): Uint8Array {
  if (msg.fields.length > 254) throw new RangeError('at most 254 fields before the terminator');
  const size = msg.fields.reduce((n, f) => n + THINGY_FIELD_BYTES + (f.buf?.length ?? 0), 0);
  const out = new Uint8Array(THINGY_HEADER_BYTES + size + THINGY_FIELD_BYTES);
  out.set([byte(msg.type), msg.fields.length + 1, 0, 0], 0);
  let at = THINGY_HEADER_BYTES;
  for (const f of msg.fields) {
    const len = f.buf?.length ?? 0;
    out.set([byte(f.type), byte(len), byte(f.v0), byte(f.v1)], at);
    at += THINGY_FIELD_BYTES;
    if (f.buf) out.set(f.buf, at);
    at += len;
  }
  out.set([THINGY.FIELDTYPE_TERMINATOR, 0, 0, 0], at);
  return out;
}

/** CONFIG_APPS: one field per registered app, `index` (1-based) and its name as the buffer. */
export function thingyConfigApps(apps: readonly string[]): Uint8Array {
  const encoder = new TextEncoder();
  return encodeThingyMessage({
    type: THINGY.MSGTYPE_CONFIG_APPS,
    fields: apps.map((name, i) => ({
      type: THINGY.FIELDTYPE_CONFIG_APPS_APP,
      v0: i + 1,
      v1: 0,
      buf: encoder.encode(name).subarray(0, 255),
    })),
  });
}

/** NETWORKSTATEUPDATE: the supplicant's state (ACTIVE when associated, else OK) and DHCP's. */
export function thingyNetworkState(supplicant: number, dhcp: number): Uint8Array {
  return encodeThingyMessage({
    type: THINGY.MSGTYPE_EVENT_NETWORKSTATEUPDATE,
    fields: [
      { type: THINGY.FIELDTYPE_NETWORKSTATEUPDATE_SUPPLICANTSTATE, v0: supplicant, v1: 0 },
      { type: THINGY.FIELDTYPE_NETWORKSTATEUPDATE_DHCPSTATE, v0: dhcp, v1: 0 },
    ],
  });
}

/**
 * Reads messages from a byte stream as tbus_readmsg does: a header, then up to `numfields` fields,
 * stopping early at the terminator; each field's buffer follows it. A message whose field count
 * and terminator disagree is still delivered, as upstream logs and goes on. Bounded by the format
 * itself (255 fields of at most 4 + 255 bytes).
 */
export class ThingyReader {
  private buf = new Uint8Array(0);

  /** Feed bytes; returns the messages they completed. */
  push(chunk: Uint8Array): ThingyMessage[] {
    const joined = new Uint8Array(this.buf.length + chunk.length);
    joined.set(this.buf, 0);
    joined.set(chunk, this.buf.length);
    this.buf = joined;
    const out: ThingyMessage[] = [];
    for (let m = this.next(); m !== undefined; m = this.next()) out.push(m);
    return out;
  }

  /** Bytes of a message not yet complete. */
  get pending(): number {
    return this.buf.length;
  }

  private next(): ThingyMessage | undefined {
    const b = this.buf;
    if (b.length < THINGY_HEADER_BYTES) return undefined;
    const type = b[0] ?? 0;
    const numfields = b[1] ?? 0;
    const fields: ThingyField[] = [];
    let at = THINGY_HEADER_BYTES;
    for (let f = 0; f < numfields; f++) {
      if (b.length < at + THINGY_FIELD_BYTES) return undefined;
      const ftype = b[at] ?? 0;
      const len = b[at + 1] ?? 0;
      const v0 = b[at + 2] ?? 0;
      const v1 = b[at + 3] ?? 0;
      at += THINGY_FIELD_BYTES;
      if (b.length < at + len) return undefined;
      const buf = len > 0 ? b.slice(at, at + len) : undefined;
      at += len;
      if (ftype === THINGY.FIELDTYPE_TERMINATOR) break;
      fields.push({ type: ftype, v0, v1, ...(buf ? { buf } : {}) });
    }
    this.buf = b.slice(at);
    return { type, fields };
  }
}

/** An APPSTATEUPDATE as apps_onappstateupdate reads it: a state of 0 (NULL) means "not given". */
export interface ThingyAppUpdate {
  appIndex: number;
  appState?: { state: number; error: number };
  connectivity?: { state: number; error: number };
}

export function thingyAppUpdate(msg: ThingyMessage): ThingyAppUpdate | undefined {
  if (msg.type !== THINGY.MSGTYPE_EVENT_APPSTATEUPDATE) return undefined;
  const update: ThingyAppUpdate = { appIndex: 0 };
  for (const f of msg.fields) {
    if (f.type === THINGY.FIELDTYPE_APPSTATEUPDATE_APPINDEX) update.appIndex = f.v0;
    else if (f.type === THINGY.FIELDTYPE_APPSTATEUPDATE_APPSTATE && f.v0 !== THINGY.NULL)
      update.appState = { state: f.v0, error: f.v1 };
    else if (f.type === THINGY.FIELDTYPE_APPSTATEUPDATE_CONNECTIVITY && f.v0 !== THINGY.NULL)
      update.connectivity = { state: f.v0, error: f.v1 };
  }
  return update;
}

/** Airlift's app states (shared/protocol/api.ts APP_STATES). */
export type AirliftAppState = 'ok' | 'starting' | 'degraded' | 'failed' | 'unknown';

/** A thingymcconfig state as Airlift's: OK and ACTIVE are ok, ERR failed, PENDING starting. */
export function appStateFromThingy(state: number): AirliftAppState {
  switch (state) {
    case THINGY.OK:
    case THINGY.ACTIVE:
      return 'ok';
    case THINGY.ERR:
      return 'failed';
    case THINGY.PENDING:
      return 'starting';
    default:
      return 'unknown';
  }
}

/** Airlift's app state as thingymcconfig's number: degraded is an error (with its code). */
export function appStateToThingy(state: AirliftAppState): number {
  switch (state) {
    case 'ok':
      return THINGY.OK;
    case 'failed':
    case 'degraded':
      return THINGY.ERR;
    case 'starting':
      return THINGY.PENDING;
    case 'unknown':
      return THINGY.NULL;
  }
}

/** The words of thingymcconfig's `/status` for a state number (apps.c statestrings). */
export function thingyStateWord(state: number): 'UNKNOWN' | 'OK' | 'ERROR' | 'SEECODE' {
  if (state === THINGY.NULL) return 'UNKNOWN';
  if (state === THINGY.OK) return 'OK';
  if (state === THINGY.ERR) return 'ERROR';
  return 'SEECODE';
}

/**
 * One app's state in thingymcconfig's `/status`: `{ state, code }`, `code` being the state's
 * number, plus `err` (the app's own code) for an error.
 */
export function thingyStatusState(
  state: AirliftAppState,
  code: number,
): { state: 'UNKNOWN' | 'OK' | 'ERROR' | 'SEECODE'; code: number; err?: number } {
  const n = appStateToThingy(state);
  return { state: thingyStateWord(n), code: n, ...(n === THINGY.ERR ? { err: code } : {}) };
}
