/**
 * Device identity as printed on labels (protocol.md "Identity"): the 8-character deviceId, the
 * 26-character setup secret, and the names derived from the id (hostname, setup SSID).
 */
import { z } from 'zod';
import { randomBytes } from './encoding';
import { AirliftError } from './errors';
import { ssidTextSchema } from './ssid';
import { parseOrThrow, withCode } from './validate';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const BASE32_INDEX = new Map(Array.from(BASE32, (c, i) => [c, i]));

/** RFC 4648 base32, uppercase, no padding. */
export function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const byte of bytes) {
    acc = ((acc << 8) | byte) & 0xfff; // at most 12 live bits: 4 carried + 8 new
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += BASE32[(acc >> bits) & 31] ?? '';
    }
  }
  if (bits > 0) out += BASE32[(acc << (5 - bits)) & 31] ?? '';
  return out;
}

/**
 * Strict RFC 4648 base32 decoder (uppercase, no padding). Refuses other characters, impossible
 * lengths and non-zero padding bits, so every byte string has exactly one accepted spelling.
 */
export function base32Decode(text: string): Uint8Array | undefined {
  const tailBits = (text.length * 5) % 8;
  if (tailBits >= 5) return undefined; // 1, 3 or 6 characters left over encode no whole byte
  const out = new Uint8Array(Math.floor((text.length * 5) / 8));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (const c of text) {
    const v = BASE32_INDEX.get(c);
    if (v === undefined) return undefined;
    acc = ((acc << 5) | v) & 0xfff; // at most 12 live bits: 7 carried + 5 new
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) return undefined;
  return out;
}

// ---------------------------------------------------------------------------------------------
// deviceId

export const DEVICE_ID_LENGTH = 8;
export const DEVICE_ID_RE = /^[A-Z2-7]{8}$/;

/** A deviceId as typed or scanned: surrounding whitespace and lowercase are forgiven. */
export const deviceIdSchema = z
  .string({ error: 'deviceId must be a string' })
  .trim()
  .toUpperCase()
  .refine(
    (id) => DEVICE_ID_RE.test(id),
    withCode('INVALID_DEVICE_ID', 'deviceId must be 8 base32 characters (A-Z, 2-7), e.g. K7Q2M6XA'),
  );

/** 40 random bits: plenty for a fleet, and ids need no coordination to be unique in practice. */
export function generateDeviceId(): string {
  return base32Encode(randomBytes(5));
}

function normaliseDeviceId(deviceId: string): string {
  return parseOrThrow(deviceIdSchema, deviceId, 'deviceId');
}

// ---------------------------------------------------------------------------------------------
// setupSecret

export const SETUP_SECRET_BYTES = 16;
export const SETUP_SECRET_LENGTH = 26;
const SETUP_SECRET_RE = /^[A-Z2-7]{26}$/;

/** Why `normalised` is not a setup secret, or undefined. Messages never quote the secret. */
function setupSecretProblem(normalised: string): string | undefined {
  if (normalised.length !== SETUP_SECRET_LENGTH) {
    return `setupSecret must be ${SETUP_SECRET_LENGTH} base32 characters (spaces and dashes ignored), got ${normalised.length}`;
  }
  if (!SETUP_SECRET_RE.test(normalised)) {
    return 'setupSecret may only contain A-Z and 2-7 (0, 1, 8 and 9 are not base32)';
  }
  // 26 characters carry 130 bits for 128: the last character's two low bits must be zero.
  if (base32Decode(normalised) === undefined) {
    return 'setupSecret is not a valid 16-byte value (its last character is impossible; check for a typo)';
  }
  return undefined;
}

function stripSecret(text: string): string {
  return text.replace(/[\s-]/g, '').toUpperCase();
}

/** Canonical form of a setup secret as people type it: no spaces or dashes, uppercase. */
export function normaliseSetupSecret(text: string): string {
  if (typeof text !== 'string') throw new AirliftError('INVALID_SECRET', 'setupSecret must be a string');
  const normalised = stripSecret(text);
  const problem = setupSecretProblem(normalised);
  if (problem !== undefined) throw new AirliftError('INVALID_SECRET', problem);
  return normalised;
}

export const setupSecretSchema = z
  .string({ error: 'setupSecret must be a string' })
  .transform((text, ctx) => {
    const normalised = stripSecret(text);
    const problem = setupSecretProblem(normalised);
    if (problem === undefined) return normalised;
    ctx.addIssue({ code: 'custom', ...withCode('INVALID_SECRET', problem) });
    return z.NEVER;
  });

export function setupSecretBytes(secret: string): Uint8Array {
  const bytes = base32Decode(normaliseSetupSecret(secret));
  if (bytes === undefined) throw new AirliftError('INVALID_SECRET', 'setupSecret is not valid base32');
  return bytes;
}

export function generateSetupSecret(): string {
  return base32Encode(randomBytes(SETUP_SECRET_BYTES));
}

/** `ABCD EFGH IJKL MNOP QRST UVWX YZ`: what a label or a screen shows to people. */
export function formatSetupSecret(secret: string): string {
  return (normaliseSetupSecret(secret).match(/.{1,4}/g) ?? []).join(' ');
}

// ---------------------------------------------------------------------------------------------
// Names derived from the id

export function defaultHostname(deviceId: string): string {
  return `airlift-${normaliseDeviceId(deviceId).toLowerCase()}`;
}

export const DEFAULT_SSID_PREFIX = 'Airlift-';

/** The setup AP's SSID. The prefix is per product line; the whole must still be a valid SSID. */
export function setupSsid(deviceId: string, prefix: string = DEFAULT_SSID_PREFIX): string {
  return parseOrThrow(ssidTextSchema, prefix + normaliseDeviceId(deviceId), 'setup SSID');
}

/** The deviceId a scanned setup SSID names, or undefined. Exact match: SSIDs are case-sensitive. */
export function deviceIdFromSetupSsid(
  ssid: string,
  prefix: string = DEFAULT_SSID_PREFIX,
): string | undefined {
  if (!ssid.startsWith(prefix)) return undefined;
  const id = ssid.slice(prefix.length);
  return DEVICE_ID_RE.test(id) ? id : undefined;
}
