/**
 * Wi-Fi secrets. Error messages describe the rule broken and never quote the secret.
 */
import { z } from 'zod';
import { utf8Encode } from './encoding';
import { hasLoneSurrogate } from './ssid';
import { withCode } from './validate';

export const PASSPHRASE_MIN = 8;
export const PASSPHRASE_MAX = 63;
export const SAE_PASSWORD_MAX_BYTES = 128;

function passphraseProblem(text: string): string | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return '64 hex digits are a raw PSK: send them as psk, not passphrase';
  if (text.length < PASSPHRASE_MIN || text.length > PASSPHRASE_MAX) {
    return `WPA2 passphrase must be ${PASSPHRASE_MIN}..${PASSPHRASE_MAX} characters, got ${text.length}`;
  }
  // IEEE 802.11i allows printable ASCII only; anything else hashes differently per client.
  if (!/^[\x20-\x7e]*$/.test(text)) {
    return 'WPA2 passphrase may only contain printable ASCII (space to ~); use WPA3-SAE or a raw psk';
  }
  return undefined;
}

/** WPA2-PSK passphrase: 8..63 printable ASCII characters (0x20..0x7E). Output unchanged. */
export const passphraseSchema = z
  .string({ error: 'passphrase must be a string' })
  .superRefine((text, ctx) => {
    const problem = passphraseProblem(text);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', ...withCode('INVALID_PASSPHRASE', problem) });
  });

/** WPA2 raw PSK: exactly 64 hex digits (32 bytes). Output lowercased. */
export const pskHexSchema = z.string({ error: 'psk must be a string' }).transform((hex, ctx) => {
  if (/^[0-9a-fA-F]{64}$/.test(hex)) return hex.toLowerCase();
  ctx.addIssue({
    code: 'custom',
    ...withCode('INVALID_PASSPHRASE', `psk must be exactly 64 hex digits, got ${hex.length} characters`),
  });
  return z.NEVER;
});

function saePasswordProblem(text: string): string | undefined {
  if (text.length === 0) return 'WPA3-SAE password is empty';
  if (hasLoneSurrogate(text)) return 'WPA3-SAE password is not valid Unicode (unpaired surrogate)';
  // NUL truncates C strings and CR/LF break line-based tools. wpa_supplicant refuses any other
  // control character in a passphrase, and NetworkManager hands it an 8..63-byte SAE password as
  // one: a tab or an escape would pass here and fail every join on such a device.
  if (/[\0\r\n]/.test(text)) return 'WPA3-SAE password must not contain NUL, CR or LF';
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(text))
    return 'WPA3-SAE password must not contain control characters (tab, escape, DEL)';
  const length = utf8Encode(text).length;
  if (length > SAE_PASSWORD_MAX_BYTES) {
    return `WPA3-SAE password is ${length} bytes in UTF-8; at most ${SAE_PASSWORD_MAX_BYTES} are allowed`;
  }
  return undefined;
}

/** WPA3-SAE password: 1..128 bytes of UTF-8 without control characters (C0, DEL). Output unchanged. */
export const saePasswordSchema = z
  .string({ error: 'passphrase must be a string' })
  .superRefine((text, ctx) => {
    const problem = saePasswordProblem(text);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', ...withCode('INVALID_PASSPHRASE', problem) });
  });
