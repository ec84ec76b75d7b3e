/**
 * SSIDs are 1..32 arbitrary bytes (IEEE 802.11), not text. `ssidHex` (lowercase) is the
 * authoritative form everywhere; text is accepted for convenience and shown for people.
 */
import { z } from 'zod';
import { fromHex, isHex, toHex, utf8Encode } from './encoding';
import { AirliftError } from './errors';
import { parseOrThrow, withCode } from './validate';

export const SSID_MAX_BYTES = 32;

const LONE_SURROGATE_RE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * True when a JS string holds an unpaired surrogate. TextEncoder would silently turn it into
 * U+FFFD, so the bytes sent would not be the ones the user typed: such strings are refused.
 */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE_RE.test(text);
}

/** Why `text` cannot be sent as an SSID text field, or undefined. */
function ssidTextProblem(text: string): string | undefined {
  if (text.length === 0) return 'SSID is empty';
  if (hasLoneSurrogate(text)) return 'SSID is not valid Unicode (unpaired surrogate); send it as ssidHex';
  // NUL truncates C strings and CR/LF break line-based tools: such SSIDs travel as hex only.
  if (/[\0\r\n]/.test(text)) return 'SSID contains NUL, CR or LF; send it as ssidHex';
  const length = utf8Encode(text).length;
  if (length > SSID_MAX_BYTES)
    return `SSID is ${length} bytes in UTF-8; at most ${SSID_MAX_BYTES} are allowed`;
  return undefined;
}

/** An SSID given as text: 1..32 bytes once UTF-8 encoded, no NUL, CR or LF. Output unchanged. */
export const ssidTextSchema = z.string({ error: 'SSID must be a string' }).superRefine((text, ctx) => {
  const problem = ssidTextProblem(text);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', ...withCode('INVALID_SSID', problem) });
});

/** An SSID given as hex: 1..32 arbitrary bytes. Output lowercased. */
export const ssidHexSchema = z.string({ error: 'ssidHex must be a string' }).transform((hex, ctx) => {
  let problem: string | undefined;
  if (!isHex(hex)) problem = 'ssidHex must be an even number of hex digits';
  else if (hex.length === 0) problem = 'ssidHex is empty';
  else if (hex.length > SSID_MAX_BYTES * 2)
    problem = `ssidHex is ${hex.length / 2} bytes; at most ${SSID_MAX_BYTES} are allowed`;
  if (problem === undefined) return hex.toLowerCase();
  ctx.addIssue({ code: 'custom', ...withCode('INVALID_SSID', problem) });
  return z.NEVER;
});

/** Lowercase hex of raw SSID bytes (as read from a scan). Pure: validation is the schemas' job. */
export function ssidToHex(bytes: Uint8Array): string {
  return toHex(bytes);
}

/** UTF-8 bytes of an SSID typed as text; throws INVALID_SSID when `ssidTextSchema` refuses it. */
export function ssidBytesFromText(text: string): Uint8Array {
  return utf8Encode(parseOrThrow(ssidTextSchema, text, 'SSID'));
}

// ---------------------------------------------------------------------------------------------
// Display

/** Code point and length of the well-formed UTF-8 sequence at `i` (Unicode Table 3-7), or undefined. */
function utf8At(bytes: Uint8Array, i: number): { cp: number; len: number } | undefined {
  const b0 = bytes[i];
  if (b0 === undefined) return undefined;
  if (b0 < 0x80) return { cp: b0, len: 1 };
  let len: number;
  let cp: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (b0 >= 0xc2 && b0 <= 0xdf) {
    len = 2;
    cp = b0 & 0x1f;
  } else if (b0 >= 0xe0 && b0 <= 0xef) {
    len = 3;
    cp = b0 & 0x0f;
    if (b0 === 0xe0) lo = 0xa0; // overlong
    if (b0 === 0xed) hi = 0x9f; // surrogates
  } else if (b0 >= 0xf0 && b0 <= 0xf4) {
    len = 4;
    cp = b0 & 0x07;
    if (b0 === 0xf0) lo = 0x90; // overlong
    if (b0 === 0xf4) hi = 0x8f; // beyond U+10FFFF
  } else {
    return undefined;
  }
  for (let k = 1; k < len; k++) {
    const b = bytes[i + k];
    if (b === undefined || b < (k === 1 ? lo : 0x80) || b > (k === 1 ? hi : 0xbf)) return undefined;
    cp = (cp << 6) | (b & 0x3f);
  }
  return { cp, len };
}

/**
 * Characters never shown raw: C0/C1 controls and DEL (they corrupt terminals and logs), line and
 * paragraph separators, and bidi controls (they can make one SSID look like another).
 */
function unsafeForDisplay(cp: number): boolean {
  return (
    cp < 0x20 ||
    (cp >= 0x7f && cp <= 0x9f) ||
    cp === 0x061c ||
    cp === 0x200e ||
    cp === 0x200f ||
    (cp >= 0x2028 && cp <= 0x202e) ||
    (cp >= 0x2066 && cp <= 0x2069)
  );
}

const ESCAPE_LIKE_RE = /\\x[0-9a-fA-F]{2}/;

function hex2(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

/**
 * An SSID for people. Clean UTF-8 is shown as is; otherwise bad bytes and unsafe characters become
 * `\xNN` and `\` becomes `\\`. Clean text that itself contains `\xNN` is escaped too, so that the
 * result always maps back to the same bytes (`ssidHexFromDisplay`). Never feed this to a config file.
 */
export function ssidDisplay(ssidHex: string): string {
  // Length is not checked: showing an over-long SSID from a confused scan beats failing the scan.
  if (!isHex(ssidHex)) throw new AirliftError('INVALID_SSID', 'ssidHex must be an even number of hex digits');
  const bytes = fromHex(ssidHex);
  let clean = true;
  let plain = '';
  let escaped = '';
  for (let i = 0; i < bytes.length;) {
    const ch = utf8At(bytes, i);
    if (ch === undefined || unsafeForDisplay(ch.cp)) {
      clean = false;
      const len = ch?.len ?? 1;
      for (let k = 0; k < len; k++) escaped += `\\x${hex2(bytes[i + k] ?? 0)}`;
      i += len;
    } else {
      const s = String.fromCodePoint(ch.cp);
      plain += s;
      escaped += s === '\\' ? '\\\\' : s;
      i += ch.len;
    }
  }
  return clean && !ESCAPE_LIKE_RE.test(plain) ? plain : escaped;
}

/**
 * The inverse of `ssidDisplay` (also for people typing an escaped SSID): text containing a `\xNN`
 * sequence is read as the escaped form, anything else as plain UTF-8. Returns lowercase hex.
 */
export function ssidHexFromDisplay(display: string): string {
  if (hasLoneSurrogate(display)) throw new AirliftError('INVALID_SSID', 'SSID is not valid Unicode');
  let bytes: number[];
  if (!ESCAPE_LIKE_RE.test(display)) {
    bytes = [...utf8Encode(display)];
  } else {
    bytes = [];
    for (let i = 0; i < display.length;) {
      const c = display[i];
      if (c !== '\\') {
        const cp = display.codePointAt(i) ?? 0;
        const s = String.fromCodePoint(cp);
        bytes.push(...utf8Encode(s));
        i += s.length;
      } else if (display[i + 1] === '\\') {
        bytes.push(0x5c);
        i += 2;
      } else if (display[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(display.slice(i + 2, i + 4))) {
        bytes.push(parseInt(display.slice(i + 2, i + 4), 16));
        i += 4;
      } else {
        throw new AirliftError(
          'INVALID_SSID',
          `Bad escape at character ${i + 1}: use \\\\ for a backslash, \\xNN for a byte`,
        );
      }
    }
  }
  if (bytes.length === 0 || bytes.length > SSID_MAX_BYTES) {
    throw new AirliftError('INVALID_SSID', `SSID must be 1..${SSID_MAX_BYTES} bytes, got ${bytes.length}`);
  }
  return toHex(Uint8Array.from(bytes));
}
