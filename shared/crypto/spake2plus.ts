/**
 * SPAKE2+ (RFC 9383) for the ciphersuite P256-SHA256-HKDF-HMAC (P-256, SHA-256, HKDF-SHA256,
 * HMAC-SHA256), on audited isomorphic primitives so the agent, the station and the portal share it.
 *
 * The prover knows the password (w0, w1); the verifier holds only the registration record (w0, L).
 * Prover → shareP; verifier → shareV + confirmV; prover checks confirmV → confirmP; verifier checks
 * confirmP. Each state object is single use.
 */
import { p256 } from '@noble/curves/nist.js';
import { bytesToNumberBE, numberToBytesBE } from '@noble/curves/utils.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { hmac } from '@noble/hashes/hmac.js';
import { pbkdf2, pbkdf2Async } from '@noble/hashes/pbkdf2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, concatBytes } from '@noble/hashes/utils.js';
import { bytesEqual, randomBytes, utf8Encode } from '../encoding';
import { AirliftError } from '../errors';

const Point = p256.Point;
type P256Point = typeof Point.BASE;
/** Order of the P-256 prime subgroup (the RFC's p); the cofactor h is 1, so h*Q = Q. */
const ORDER = Point.Fn.ORDER;
const SCALAR_BYTES = 32;
/** SEC1 uncompressed point: 0x04 || x || y. */
export const SHARE_BYTES = 65;
/** HMAC-SHA256 output. */
export const CONFIRM_BYTES = 32;
/** RFC 9383 §3.2: each PBKDF half is ceil(log2(p)) + 64 bits = 320 bits, so reducing mod p has bias ≤ 2^-64. */
const W_HALF_BYTES = 40;

/**
 * A point that is a multiplier base again and again (M, N, a device's L). A precomputed window table
 * makes each multiply about ten times faster (0.6 ms against 6 ms on the bench machine) but costs
 * about 80 ms to build, so it is built at the TABLE_AFTER-th multiply: an agent, which handshakes a
 * few times per boot, never pays for it (building both at import cost its start 170 ms); a station
 * handshaking with hundreds of devices pays once.
 */
const TABLE_AFTER = 16;

class FixedBase {
  private uses = 0;
  constructor(readonly point: P256Point) {}

  multiply(scalar: bigint): P256Point {
    if (++this.uses === TABLE_AFTER) this.point.precompute(8, false); // cached by noble, per point
    return this.point.multiply(scalar);
  }
}

/** RFC 9383 §4, P-256 M (compressed SEC1; seed "1.2.840.10045.3.1.7 point generation seed (M)"). */
const M = new FixedBase(Point.fromHex('02886e2f97ace46e55ba9dd7242579f2993b64e16ef3dcab95afd497333d8fa12f'));
/** RFC 9383 §4, P-256 N (compressed SEC1; seed "1.2.840.10045.3.1.7 point generation seed (N)"). */
const N = new FixedBase(Point.fromHex('03d8bbd6c639c62937b04d997f38c3770719c629d7014d49a24b4f98baa1292b49'));
/** TT carries M and N uncompressed, like every other point (RFC 9383 Appendix C). */
const M_BYTES = M.point.toBytes(false);
const N_BYTES = N.point.toBytes(false);

/** RFC 9383 §3.4 KDF info strings. */
const INFO_CONFIRMATION = utf8Encode('ConfirmationKeys');
const INFO_SHARED = utf8Encode('SharedKey');

// ---- encodings ----------------------------------------------------------------------------------

/** RFC 9383 §3: len(S) is an eight-byte little-endian byte count. */
function len8(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(8);
  let n = bytes.length;
  for (let i = 0; i < 8 && n > 0; i++) {
    out[i] = n & 0xff;
    n = Math.floor(n / 256);
  }
  return out;
}

/** len(a) || a || len(b) || b || ... */
function lengthPrefixed(...parts: Uint8Array[]): Uint8Array {
  return concatBytes(...parts.flatMap((p) => [len8(p), p]));
}

/** A 32-byte big-endian scalar in [1, p-1], or a BAD_REQUEST naming it. */
function scalarFrom(bytes: Uint8Array, what: string): bigint {
  if (bytes.length !== SCALAR_BYTES) {
    throw new AirliftError('BAD_REQUEST', `${what} must be ${SCALAR_BYTES} bytes`);
  }
  const n = bytesToNumberBE(bytes);
  if (n === 0n || n >= ORDER) throw new AirliftError('BAD_REQUEST', `${what} is not a scalar in [1, p-1]`);
  return n;
}

function scalarBytes(n: bigint): Uint8Array {
  return numberToBytesBE(n, SCALAR_BYTES);
}

/**
 * A share received from the peer: exactly an uncompressed SEC1 P-256 point, on the curve, not the
 * identity (RFC 9383 §6: abort on any received value outside the prime-order group). P-256 has
 * cofactor 1, so every on-curve point other than the identity is in the prime-order subgroup.
 */
function decodeShare(bytes: Uint8Array, what: string): P256Point {
  if (bytes.length !== SHARE_BYTES || bytes[0] !== 0x04) {
    throw new AirliftError('AUTH_FAILED', `${what} is not an uncompressed P-256 point`);
  }
  let point: P256Point;
  try {
    point = Point.fromBytes(bytes);
    point.assertValidity();
  } catch (err) {
    throw new AirliftError('AUTH_FAILED', `${what} is not a valid P-256 point`, undefined, { cause: err });
  }
  if (point.is0()) throw new AirliftError('AUTH_FAILED', `${what} is the identity`);
  return point;
}

/** Z and V must not be the identity: a share crafted to cancel the w0 mask would force them there. */
function encodeSecretPoint(point: P256Point, what: string): Uint8Array {
  if (point.is0()) throw new AirliftError('AUTH_FAILED', `${what} is the identity`);
  return point.toBytes(false);
}

function randomScalar(): bigint {
  // 40 random bytes reduced mod (p-1), plus 1: uniform in [1, p-1] with bias ≤ 2^-64.
  return (bytesToNumberBE(randomBytes(W_HALF_BYTES)) % (ORDER - 1n)) + 1n;
}

// ---- registration (RFC 9383 §3.2) ---------------------------------------------------------------

/** PBKDF input: len(pw) || pw || len(idProver) || idProver || len(idVerifier) || idVerifier. */
function pbkdfInput(password: Uint8Array, idProver: Uint8Array, idVerifier: Uint8Array): Uint8Array {
  return lengthPrefixed(password, idProver, idVerifier);
}

function checkIterations(iterations: number): void {
  if (!Number.isSafeInteger(iterations) || iterations < 1) {
    throw new AirliftError('BAD_REQUEST', 'PBKDF2 iterations must be a positive integer');
  }
}

/** w0s || w1s (80 bytes) → w0, w1: each 40-byte half reduced mod p, as 32-byte big-endian scalars. */
function splitW(out: Uint8Array): { w0: Uint8Array; w1: Uint8Array } {
  const w0 = bytesToNumberBE(out.subarray(0, W_HALF_BYTES)) % ORDER;
  const w1 = bytesToNumberBE(out.subarray(W_HALF_BYTES, 2 * W_HALF_BYTES)) % ORDER;
  // Probability 2^-256 each; refusing keeps every later scalar multiplication well defined.
  if (w0 === 0n || w1 === 0n) throw new AirliftError('INTERNAL', 'Derived a zero SPAKE2+ scalar');
  return { w0: scalarBytes(w0), w1: scalarBytes(w1) };
}

/**
 * RFC 9383 §3.2 registration with PBKDF2-HMAC-SHA256 as the PBKDF (Matter's choice):
 * `w0s || w1s = PBKDF2(len(pw)||pw||len(idProver)||idProver||len(idVerifier)||idVerifier, salt, iterations, 80)`.
 * Synchronous; use {@link computeW0W1Async} where blocking the event loop matters.
 */
export function computeW0W1(
  password: Uint8Array,
  idProver: Uint8Array,
  idVerifier: Uint8Array,
  salt: Uint8Array,
  iterations: number,
): { w0: Uint8Array; w1: Uint8Array } {
  checkIterations(iterations);
  const input = pbkdfInput(password, idProver, idVerifier);
  return splitW(pbkdf2(sha256, input, salt, { c: iterations, dkLen: 2 * W_HALF_BYTES }));
}

/** {@link computeW0W1}, yielding to the event loop while it runs (same result). */
export async function computeW0W1Async(
  password: Uint8Array,
  idProver: Uint8Array,
  idVerifier: Uint8Array,
  salt: Uint8Array,
  iterations: number,
): Promise<{ w0: Uint8Array; w1: Uint8Array }> {
  checkIterations(iterations);
  const input = pbkdfInput(password, idProver, idVerifier);
  return splitW(await pbkdf2Async(sha256, input, salt, { c: iterations, dkLen: 2 * W_HALF_BYTES }));
}

/**
 * PBKDF2-HMAC-SHA256 supplied by the host: the station passes Node's native one, which runs on the
 * thread pool, so many devices' secrets are derived in parallel off the event loop.
 */
export type Pbkdf2Sha256 = (
  input: Uint8Array,
  salt: Uint8Array,
  iterations: number,
  dkLen: number,
) => Promise<Uint8Array>;

/** {@link computeW0W1} with a host-supplied PBKDF2-HMAC-SHA256 (same result). */
export async function computeW0W1With(
  pbkdf: Pbkdf2Sha256,
  password: Uint8Array,
  idProver: Uint8Array,
  idVerifier: Uint8Array,
  salt: Uint8Array,
  iterations: number,
): Promise<{ w0: Uint8Array; w1: Uint8Array }> {
  checkIterations(iterations);
  const input = pbkdfInput(password, idProver, idVerifier);
  const out = await pbkdf(input, salt, iterations, 2 * W_HALF_BYTES);
  if (out.length !== 2 * W_HALF_BYTES) throw new AirliftError('INTERNAL', 'PBKDF2 returned the wrong length');
  return splitW(out);
}

/** The registration record's L = w1*P (RFC 9383 §3.2), 65-byte uncompressed SEC1. */
export function computeL(w1: Uint8Array): Uint8Array {
  return Point.BASE.multiply(scalarFrom(w1, 'w1')).toBytes(false);
}

// ---- building blocks (RFC 9383 §3.3, §3.4), exported for the Appendix C vectors ----------------

/** shareP = X = x*P + w0*M. */
export function computeShareP(w0: Uint8Array, x: Uint8Array): Uint8Array {
  return Point.BASE.multiply(scalarFrom(x, 'x'))
    .add(M.multiply(scalarFrom(w0, 'w0')))
    .toBytes(false);
}

/** shareV = Y = y*P + w0*N. */
export function computeShareV(w0: Uint8Array, y: Uint8Array): Uint8Array {
  return Point.BASE.multiply(scalarFrom(y, 'y'))
    .add(N.multiply(scalarFrom(w0, 'w0')))
    .toBytes(false);
}

/** The prover's Z = h*x*(Y - w0*N), V = h*w1*(Y - w0*N), after validating shareV. */
export function proverSecretPoints(
  w0: Uint8Array,
  w1: Uint8Array,
  x: Uint8Array,
  shareV: Uint8Array,
): { Z: Uint8Array; V: Uint8Array } {
  const unmasked = decodeShare(shareV, 'shareV').subtract(N.multiply(scalarFrom(w0, 'w0')));
  if (unmasked.is0()) throw new AirliftError('AUTH_FAILED', 'shareV cancels the password mask');
  return {
    Z: encodeSecretPoint(unmasked.multiply(scalarFrom(x, 'x')), 'Z'),
    V: encodeSecretPoint(unmasked.multiply(scalarFrom(w1, 'w1')), 'V'),
  };
}

/** The verifier's Z = h*y*(X - w0*M), V = h*y*L, after validating shareP. */
export function verifierSecretPoints(
  w0: Uint8Array,
  L: Uint8Array,
  y: Uint8Array,
  shareP: Uint8Array,
): { Z: Uint8Array; V: Uint8Array } {
  const unmasked = decodeShare(shareP, 'shareP').subtract(M.multiply(scalarFrom(w0, 'w0')));
  if (unmasked.is0()) throw new AirliftError('AUTH_FAILED', 'shareP cancels the password mask');
  const ys = scalarFrom(y, 'y');
  return {
    Z: encodeSecretPoint(unmasked.multiply(ys), 'Z'),
    V: encodeSecretPoint(decodeRecordL(L).multiply(ys), 'V'),
  };
}

/**
 * A device has one L for its lifetime: a FixedBase, so from its TABLE_AFTER-th handshake on y·L is a
 * fixed-base multiply. A process serving many identities (the lab) alternates Ls, so only the most
 * recent one is kept and its count starts again when L changes (one multiply per handshake).
 */
let recordL: { hex: string; base: FixedBase } | undefined;

function decodeRecordL(L: Uint8Array): FixedBase {
  const hex = bytesToHex(L);
  if (recordL?.hex !== hex) {
    try {
      recordL = { hex, base: new FixedBase(decodeShare(L, 'L')) };
    } catch (err) {
      // L comes from our own store, not the peer: a bad one is a bad record, not a failed login.
      throw new AirliftError('BAD_REQUEST', 'Verifier record L is not a valid P-256 point', undefined, {
        cause: err,
      });
    }
  }
  return recordL.base;
}

export interface TranscriptInput {
  context: Uint8Array;
  idProver: Uint8Array;
  idVerifier: Uint8Array;
  shareP: Uint8Array;
  shareV: Uint8Array;
  Z: Uint8Array;
  V: Uint8Array;
  w0: Uint8Array;
}

/** RFC 9383 §3.3: TT = len-prefixed Context, idProver, idVerifier, M, N, shareP, shareV, Z, V, w0. */
export function computeTranscript(t: TranscriptInput): Uint8Array {
  return lengthPrefixed(
    t.context,
    t.idProver,
    t.idVerifier,
    M_BYTES,
    N_BYTES,
    t.shareP,
    t.shareV,
    t.Z,
    t.V,
    t.w0,
  );
}

export interface KeySchedule {
  kMain: Uint8Array;
  kConfirmP: Uint8Array;
  kConfirmV: Uint8Array;
  kShared: Uint8Array;
}

/**
 * RFC 9383 §3.4: K_main = SHA256(TT); K_confirmP || K_confirmV = HKDF(nil, K_main, "ConfirmationKeys");
 * K_shared = HKDF(nil, K_main, "SharedKey"). HMAC keys are the digest length (32 bytes each).
 */
export function computeKeySchedule(tt: Uint8Array): KeySchedule {
  const kMain = sha256(tt);
  const confirmation = hkdf(sha256, kMain, undefined, INFO_CONFIRMATION, 2 * CONFIRM_BYTES);
  return {
    kMain,
    kConfirmP: confirmation.slice(0, CONFIRM_BYTES),
    kConfirmV: confirmation.slice(CONFIRM_BYTES),
    kShared: hkdf(sha256, kMain, undefined, INFO_SHARED, 32),
  };
}

/** MAC(K, share) with HMAC-SHA256. */
export function computeConfirmation(key: Uint8Array, share: Uint8Array): Uint8Array {
  return hmac(sha256, key, share);
}

// ---- roles (RFC 9383 Appendix A) ----------------------------------------------------------------

export interface Spake2PlusIdentities {
  /** Application context; MUST precede the rest of TT (RFC 9383 §3.3). */
  context: Uint8Array;
  idProver: Uint8Array;
  idVerifier: Uint8Array;
}

export interface ProverOptions extends Spake2PlusIdentities {
  w0: Uint8Array;
  w1: Uint8Array;
  /** Fixed ephemeral scalar (32-byte big-endian): for the RFC test vectors only. */
  x?: Uint8Array;
}

export interface VerifierOptions extends Spake2PlusIdentities {
  w0: Uint8Array;
  L: Uint8Array;
  /** Fixed ephemeral scalar (32-byte big-endian): for the RFC test vectors only. */
  y?: Uint8Array;
}

export interface Spake2PlusProver {
  /** X, to send to the verifier. */
  readonly shareP: Uint8Array;
  /** Checks confirmV (constant time), then returns confirmP to send and K_shared. Single use. */
  finish(shareV: Uint8Array, confirmV: Uint8Array): { confirmP: Uint8Array; sharedKey: Uint8Array };
}

export interface Spake2PlusVerifier {
  /** Validates shareP, returns Y and confirmV to send. Single use. */
  respond(shareP: Uint8Array): { shareV: Uint8Array; confirmV: Uint8Array };
  /** Checks confirmP (constant time) and returns K_shared. Single use, only after respond(). */
  finish(confirmP: Uint8Array): Uint8Array;
}

function copy(bytes: Uint8Array): Uint8Array {
  return Uint8Array.from(bytes);
}

function checkConfirmation(expected: Uint8Array, received: Uint8Array, who: string): void {
  // bytesEqual is constant time for equal lengths; the length itself is public.
  if (received.length !== CONFIRM_BYTES || !bytesEqual(expected, received)) {
    throw new AirliftError(
      'AUTH_FAILED',
      `${who} confirmation did not match: wrong setup secret or tampered exchange`,
    );
  }
}

export function createProver(opts: ProverOptions): Spake2PlusProver {
  const ids = {
    context: copy(opts.context),
    idProver: copy(opts.idProver),
    idVerifier: copy(opts.idVerifier),
  };
  const w0 = copy(opts.w0);
  const w1 = copy(opts.w1);
  scalarFrom(w0, 'w0');
  scalarFrom(w1, 'w1');
  let x: Uint8Array | undefined = opts.x === undefined ? scalarBytes(randomScalar()) : copy(opts.x);
  const shareP = computeShareP(w0, x);

  return {
    shareP: copy(shareP),
    finish(shareV, confirmV) {
      if (x === undefined) throw new AirliftError('PROTOCOL_ERROR', 'SPAKE2+ prover already finished');
      const xs = x;
      x = undefined; // consumed whether or not the peer is honest: no second guess on this share
      const sV = copy(shareV);
      const { Z, V } = proverSecretPoints(w0, w1, xs, sV);
      const keys = computeKeySchedule(computeTranscript({ ...ids, shareP, shareV: sV, Z, V, w0 }));
      checkConfirmation(computeConfirmation(keys.kConfirmV, shareP), confirmV, 'Verifier');
      const confirmP = computeConfirmation(keys.kConfirmP, sV);
      keys.kMain.fill(0);
      keys.kConfirmP.fill(0);
      keys.kConfirmV.fill(0);
      return { confirmP, sharedKey: keys.kShared };
    },
  };
}

export function createVerifier(opts: VerifierOptions): Spake2PlusVerifier {
  const ids = {
    context: copy(opts.context),
    idProver: copy(opts.idProver),
    idVerifier: copy(opts.idVerifier),
  };
  const w0 = copy(opts.w0);
  const L = copy(opts.L);
  scalarFrom(w0, 'w0');
  decodeRecordL(L); // a bad record fails here, before any answer
  let y: Uint8Array | undefined = opts.y === undefined ? scalarBytes(randomScalar()) : copy(opts.y);
  let state: 'fresh' | 'responded' | 'done' = 'fresh';
  let pending: { expectedConfirmP: Uint8Array; kShared: Uint8Array } | undefined;

  return {
    respond(shareP) {
      if (state !== 'fresh' || y === undefined) {
        throw new AirliftError('PROTOCOL_ERROR', 'SPAKE2+ verifier already responded');
      }
      const ys = y;
      y = undefined;
      state = 'responded';
      const sP = copy(shareP);
      try {
        const shareV = computeShareV(w0, ys);
        const { Z, V } = verifierSecretPoints(w0, L, ys, sP);
        const keys = computeKeySchedule(computeTranscript({ ...ids, shareP: sP, shareV, Z, V, w0 }));
        const confirmV = computeConfirmation(keys.kConfirmV, sP);
        pending = { expectedConfirmP: computeConfirmation(keys.kConfirmP, shareV), kShared: keys.kShared };
        keys.kMain.fill(0);
        keys.kConfirmP.fill(0);
        keys.kConfirmV.fill(0);
        return { shareV, confirmV };
      } catch (err) {
        state = 'done';
        throw err;
      }
    },
    finish(confirmP) {
      if (state !== 'responded' || pending === undefined) {
        throw new AirliftError(
          'PROTOCOL_ERROR',
          state === 'fresh' ? 'SPAKE2+ verifier has not responded yet' : 'SPAKE2+ verifier already finished',
        );
      }
      const { expectedConfirmP, kShared } = pending;
      pending = undefined;
      state = 'done';
      try {
        checkConfirmation(expectedConfirmP, confirmP, 'Prover');
      } catch (err) {
        kShared.fill(0);
        throw err;
      }
      return kShared;
    },
  };
}
