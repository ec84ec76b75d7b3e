/**
 * The secure session's record layer (protocol.md "Record layer"): AES-256-GCM with one key per
 * direction, a 96-bit big-endian nonce from a per-direction counter starting at 1, and
 * AAD = UTF-8 of `<sid>|<path>|<ctr>`. The counter is also the anti-replay sequence number: an
 * opener accepts only counters above the last one it accepted (gaps are fine, so a lost reply
 * does not break the session).
 */
import { gcm } from '@noble/ciphers/aes.js';
import { fromBase64Url, toBase64Url, utf8Encode } from '../encoding';
import { AirliftError } from '../errors';

export const RECORD_KEY_BYTES = 32;
export const RECORD_NONCE_BYTES = 12;
export const RECORD_TAG_BYTES = 16;
/** Counters stay exact JSON numbers: at most 2^53 - 1. */
export const RECORD_MAX_CTR = Number.MAX_SAFE_INTEGER;

/** 96-bit big-endian counter: 4 zero bytes, then the counter in the low 64 bits. */
function nonceFor(ctr: number): Uint8Array {
  const nonce = new Uint8Array(RECORD_NONCE_BYTES);
  const high = Math.floor(ctr / 2 ** 32);
  const low = ctr % 2 ** 32;
  const view = new DataView(nonce.buffer);
  view.setUint32(4, high);
  view.setUint32(8, low);
  return nonce;
}

function aadFor(sid: string, path: string, ctr: number): Uint8Array {
  return utf8Encode(`${sid}|${path}|${ctr}`);
}

function checkKey(key: Uint8Array, sid: string): Uint8Array {
  if (key.length !== RECORD_KEY_BYTES) throw new AirliftError('INTERNAL', 'Record key must be 32 bytes');
  if (sid.length === 0) throw new AirliftError('INTERNAL', 'Record layer needs a session id');
  return Uint8Array.from(key);
}

/** Encrypts one direction's records. Never reuse a key with a second sealer: nonces would repeat. */
export class RecordSealer {
  readonly #key: Uint8Array;
  readonly #sid: string;
  #next = 1;

  constructor(key: Uint8Array, sid: string) {
    this.#key = checkKey(key, sid);
    this.#sid = sid;
  }

  seal(path: string, plaintext: Uint8Array): { ctr: number; ct: string } {
    if (this.#next > RECORD_MAX_CTR) throw new AirliftError('SESSION_EXPIRED', 'Record counter exhausted');
    const ctr = this.#next++;
    const sealed = gcm(this.#key, nonceFor(ctr), aadFor(this.#sid, path, ctr)).encrypt(plaintext);
    return { ctr, ct: toBase64Url(sealed) };
  }
}

/** Decrypts and authenticates the other direction's records, refusing replays and reordering. */
export class RecordOpener {
  readonly #key: Uint8Array;
  readonly #sid: string;
  #last = 0;

  constructor(key: Uint8Array, sid: string) {
    this.#key = checkKey(key, sid);
    this.#sid = sid;
  }

  /** The highest counter accepted so far (0 before the first record). */
  get lastCounter(): number {
    return this.#last;
  }

  open(path: string, ctr: number, ct: string): Uint8Array {
    if (!Number.isSafeInteger(ctr) || ctr < 1) {
      throw new AirliftError('BAD_REQUEST', 'Record counter must be an integer from 1 to 2^53 - 1');
    }
    if (ctr <= this.#last) throw new AirliftError('REPLAYED', 'Record counter already used or out of order');
    const sealed = fromBase64Url(ct);
    if (sealed.length < RECORD_TAG_BYTES) throw new AirliftError('BAD_REQUEST', 'Record too short');
    let plaintext: Uint8Array;
    try {
      plaintext = gcm(this.#key, nonceFor(ctr), aadFor(this.#sid, path, ctr)).decrypt(sealed);
    } catch (err) {
      throw new AirliftError('AUTH_FAILED', 'Record failed authentication', undefined, { cause: err });
    }
    // Only an authentic record moves the window: forged counters cannot lock the session out.
    this.#last = ctr;
    return plaintext;
  }
}
