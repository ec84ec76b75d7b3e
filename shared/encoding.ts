/** Byte encodings used on the wire: lowercase hex and base64url without padding (protocol.md). */
import { bytesToHex, hexToBytes, randomBytes as nobleRandomBytes } from '@noble/hashes/utils.js';
import { AirliftError } from './errors';

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;
const B64URL_RE = /^[A-Za-z0-9_-]*$/;
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64URL_INDEX = new Map(Array.from(B64URL, (c, i) => [c, i]));
const b64 = (sextet: number): string => B64URL.charAt(sextet & 63);

export function toHex(bytes: Uint8Array): string {
  return bytesToHex(bytes);
}

export function fromHex(hex: string): Uint8Array {
  if (!HEX_RE.test(hex)) throw new AirliftError('BAD_REQUEST', 'Not an even-length hex string');
  return hexToBytes(hex);
}

export function isHex(value: string): boolean {
  return HEX_RE.test(value);
}

export function toBase64Url(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += b64(n >> 18) + b64(n >> 12) + b64(n >> 6) + b64(n);
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = (bytes[i] ?? 0) << 16;
    out += b64(n >> 18) + b64(n >> 12);
  } else if (rest === 2) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8);
    out += b64(n >> 18) + b64(n >> 12) + b64(n >> 6);
  }
  return out;
}

/** Strict decoder: refuses padding, other alphabets and non-canonical trailing bits. */
export function fromBase64Url(text: string): Uint8Array {
  if (!B64URL_RE.test(text) || text.length % 4 === 1) {
    throw new AirliftError('BAD_REQUEST', 'Not base64url without padding');
  }
  const out = new Uint8Array(Math.floor((text.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let o = 0;
  for (const c of text) {
    acc = (acc << 6) | (B64URL_INDEX.get(c) ?? 0);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) throw new AirliftError('BAD_REQUEST', 'Non-canonical base64url');
  return out;
}

const B64_STD_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** RFC 4648 base64 with padding (PEM's alphabet): the same bytes as base64url with two letters changed. */
export function toBase64(bytes: Uint8Array): string {
  const text = toBase64Url(bytes).replaceAll('-', '+').replaceAll('_', '/');
  return text + '='.repeat((4 - (text.length % 4)) % 4);
}

/** Strict RFC 4648 base64: padding required, no whitespace, canonical trailing bits. */
export function fromBase64(text: string): Uint8Array {
  if (!B64_STD_RE.test(text)) throw new AirliftError('BAD_REQUEST', 'Not padded base64');
  return fromBase64Url(text.replace(/=+$/, '').replaceAll('+', '-').replaceAll('/', '_'));
}

export function utf8Encode(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** UTF-8 decode; `undefined` when the bytes are not valid UTF-8. */
export function utf8DecodeStrict(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

export function randomBytes(length: number): Uint8Array {
  return nobleRandomBytes(length);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}
