/**
 * DNS-SD vocabulary of `_airlift._tcp` (protocol.md, "Discovery"): the names and TXT keys the agent
 * advertises and the station reads. RFC 6763 limits are checked here so that every advertiser
 * (ciao, Avahi, the lab's sim) refuses the same bad input with the same code.
 */
import { z } from 'zod';
import { AirliftError } from '../errors';
import { utf8DecodeStrict, utf8Encode } from '../encoding';
import { DEVICE_ID_RE } from '../identity';
import type { DeviceState } from './api';
import { parseOrThrow, withCode } from '../validate';

export const SERVICE_TYPE = '_airlift._tcp';
export const SERVICE_DOMAIN = 'local';
/** TXT `v`: the protocol version the agent speaks. */
export const TXT_VERSION = '1';

/** States a device advertises in TXT `st`. */
export const ADVERTISED_STATES = ['setup', 'connecting', 'applying', 'failsafe', 'online'] as const;
export type AdvertisedState = (typeof ADVERTISED_STATES)[number];

function assertDeviceId(deviceId: string): void {
  if (!DEVICE_ID_RE.test(deviceId)) {
    throw new AirliftError(
      'INVALID_DEVICE_ID',
      'Device id must be 8 characters of the RFC 4648 base32 alphabet',
    );
  }
}

/** DNS-SD instance name: `Airlift <deviceId>`. */
export function instanceName(deviceId: string): string {
  assertDeviceId(deviceId);
  return `Airlift ${deviceId}`;
}

/** Full service instance name, e.g. `Airlift K7Q2M6XA._airlift._tcp.local`. */
export function serviceInstanceFqdn(deviceId: string): string {
  return `${instanceName(deviceId)}.${SERVICE_TYPE}.${SERVICE_DOMAIN}`;
}

export interface TxtInput {
  deviceId: string;
  /** Every lifecycle state maps to an advertised one: `booting` goes out as `connecting`. */
  state: DeviceState;
  /** Last accepted job nonce (hex); only its first 8 characters are advertised. */
  lastNonceHex?: string;
  model: string;
  fw: string;
}

/** The TXT record as advertised; keys are fixed by protocol.md. */
export interface AirliftTxt {
  id: string;
  v: string;
  st: AdvertisedState;
  pv: string;
  md: string;
  fw: string;
  [key: string]: string;
}

const PV_LENGTH = 8;

export function buildTxt(input: TxtInput): AirliftTxt {
  assertDeviceId(input.deviceId);
  let pv = '';
  if (input.lastNonceHex !== undefined && input.lastNonceHex !== '') {
    if (!/^[0-9a-fA-F]{8,}$/.test(input.lastNonceHex)) {
      throw new AirliftError('BAD_REQUEST', 'Job nonce must be at least 8 hex characters');
    }
    pv = input.lastNonceHex.slice(0, PV_LENGTH).toLowerCase();
  }
  const txt: AirliftTxt = {
    id: input.deviceId,
    v: TXT_VERSION,
    st: input.state === 'booting' ? 'connecting' : input.state,
    pv,
    md: input.model,
    fw: input.fw,
  };
  // Fail here, with the key named, rather than in whichever advertiser runs.
  parseOrThrow(txtRecordSchema, txt, 'mDNS TXT record');
  return txt;
}

// ---------------------------------------------------------------------------------------------------
// RFC 6763 limits, shared by every advertiser.

const utf8Length = (s: string): number => utf8Encode(s).length;
// Control characters are legal in DNS but not in Avahi's XML service files (XML 1.0 cannot carry
// most of them), and nothing we advertise needs them.
function hasControl(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

/** RFC 6763 §6.4: a key is printable US-ASCII (0x20-0x7E) without `=`, at least one character. */
const TXT_KEY_RE = /^[\u0020-\u003c\u003e-\u007e]+$/;
/** RFC 6763 §6.1: each `key=value` string is at most 255 bytes. */
const TXT_ENTRY_MAX = 255;
/** RFC 6763 §6.2: keep the whole record under 1300 bytes so it fits one packet with the rest. */
const TXT_TOTAL_MAX = 1300;

export const txtRecordSchema = z.record(z.string(), z.string()).superRefine((txt, ctx) => {
  let total = 0;
  for (const [key, value] of Object.entries(txt)) {
    if (!TXT_KEY_RE.test(key)) {
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: 'TXT key must be printable ASCII without "="',
        params: { code: 'INVALID_CONFIG' },
      });
    }
    if (hasControl(value)) {
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: 'TXT value must not contain control characters',
        params: { code: 'INVALID_CONFIG' },
      });
    }
    const entry = utf8Length(key) + 1 + utf8Length(value);
    if (entry > TXT_ENTRY_MAX) {
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `TXT entry is ${entry} bytes, more than ${TXT_ENTRY_MAX}`,
        params: { code: 'INVALID_CONFIG' },
      });
    }
    total += 1 + entry;
  }
  if (total > TXT_TOTAL_MAX) {
    ctx.addIssue({
      code: 'custom',
      message: `TXT record is ${total} bytes, more than ${TXT_TOTAL_MAX}`,
      params: { code: 'INVALID_CONFIG' },
    });
  }
});

/** Linux interface names: 1..15 bytes, no `/`, `:` or whitespace, not `.` or `..`. */
const IFNAME_RE = /^(?!\.{1,2}$)[^\s/:]{1,15}$/;
/** RFC 1035 §2.3.1 host label (letters, digits, hyphens), which every resolver accepts. */
const HOST_LABEL_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

// zod's built-in checks do not carry our error code; `refine` + `withCode` does.
const configString = (ok: (s: string) => boolean, message: string) =>
  z.string().refine(ok, withCode('INVALID_CONFIG', message));

/**
 * What an advertiser is asked to publish (the agent's `Advertisement`), checked against RFC 6763/1035.
 * Structural, so shared/ need not know the agent's port. Every failure is INVALID_CONFIG.
 */
export const advertisementSchema = z.object({
  // RFC 6763 §4.1.1: up to 63 bytes of UTF-8, no control characters.
  instance: configString(
    (s) => s.length > 0 && utf8Length(s) <= 63 && !hasControl(s),
    'Instance name must be 1-63 bytes of UTF-8 without control characters',
  ),
  hostname: configString(
    (s) => HOST_LABEL_RE.test(s),
    'Hostname must be one DNS label (letters, digits, hyphens), without ".local"',
  ),
  port: z
    .number()
    .refine(
      (n) => Number.isInteger(n) && n >= 1 && n <= 65535,
      withCode('INVALID_CONFIG', 'Port must be 1-65535'),
    ),
  txt: txtRecordSchema,
  interfaces: z
    .array(configString((s) => IFNAME_RE.test(s), 'Not a network interface name'))
    .refine(
      (list) => list.length > 0,
      withCode('INVALID_CONFIG', 'Give at least one interface, or omit the list to use every interface'),
    )
    .optional(),
});

// ---------------------------------------------------------------------------------------------------
// Station side: reading what a device advertises.

export const txtSchema = z.looseObject({
  id: z.string().refine((s) => DEVICE_ID_RE.test(s), withCode('INVALID_DEVICE_ID', 'Not a device id')),
  v: z.string().regex(/^[0-9]{1,4}$/),
  st: z.enum(ADVERTISED_STATES),
  pv: z
    .string()
    .regex(/^(?:[0-9a-fA-F]{8})?$/)
    .transform((s) => s.toLowerCase())
    .default(''),
  md: z.string().default(''),
  fw: z.string().default(''),
});
export type ParsedTxt = z.output<typeof txtSchema>;

/**
 * TXT strings (`key=value`, as a DNS library hands them over) to a record, following RFC 6763 §6.4:
 * keys are case-insensitive and the first occurrence wins; a key without `=` is present with an
 * empty value; empty strings and strings starting with `=` are ignored.
 */
export function txtRecordFromEntries(
  entries: readonly (string | Uint8Array)[],
): Record<string, string | Uint8Array> {
  const out: Record<string, string | Uint8Array> = {};
  for (const raw of entries) {
    const bytes = typeof raw === 'string' ? utf8Encode(raw) : raw;
    const eq = bytes.indexOf(0x3d);
    const keyBytes = eq === -1 ? bytes : bytes.subarray(0, eq);
    if (keyBytes.length === 0) continue;
    const key = utf8DecodeStrict(keyBytes)?.toLowerCase();
    if (key === undefined || Object.hasOwn(out, key)) continue;
    out[key] = eq === -1 ? '' : bytes.subarray(eq + 1);
  }
  return out;
}

/**
 * Parse a device's TXT record. Values may be bytes (DNS carries bytes); values that are not UTF-8
 * are refused for the keys we read. Keys are matched case-insensitively, extra keys are kept.
 * Throws AirliftError (INVALID_DEVICE_ID for a bad `id`, BAD_REQUEST otherwise).
 */
export function parseTxt(record: Record<string, string | Uint8Array>): ParsedTxt {
  const text: Record<string, string> = {};
  for (const [rawKey, value] of Object.entries(record)) {
    const key = rawKey.toLowerCase();
    if (Object.hasOwn(text, key)) continue;
    const decoded = typeof value === 'string' ? value : utf8DecodeStrict(value);
    if (decoded === undefined) {
      throw new AirliftError('BAD_REQUEST', `Invalid mDNS TXT record: ${key} is not UTF-8`);
    }
    text[key] = decoded;
  }
  return parseOrThrow(txtSchema, text, 'mDNS TXT record');
}
