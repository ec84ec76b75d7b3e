/**
 * Airlift's profile of SPAKE2+ (protocol.md "Secure session"): which bytes go into the RFC 9383
 * inputs, the verifier record a device stores, and the per-direction session keys.
 */
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes } from '@noble/hashes/utils.js';
import { randomBytes, utf8Encode } from '../encoding';
import { AirliftError } from '../errors';
import { computeL, computeW0W1, computeW0W1Async, computeW0W1With, type Pbkdf2Sha256 } from './spake2plus';

/** Pins the cipher suite; also the first bytes of every SPAKE2+ Context. */
export const SUITE = 'AIRLIFT1';
/** RFC 9383 idProver: the station side of every Airlift session. */
export const ID_PROVER = 'airlift-station';

/** Matter's PBKDF2 iteration range, which protocol.md adopts. */
export const PBKDF2_MIN_ITERATIONS = 1_000;
export const PBKDF2_MAX_ITERATIONS = 100_000;
export const SALT_MIN_BYTES = 16;
export const SALT_MAX_BYTES = 32;
export const DEFAULT_SALT_BYTES = 16;
/** hello nonces, one from each side. */
export const SESSION_NONCE_BYTES = 32;
export const SESSION_KEY_BYTES = 32;

// Local on purpose: shared/identity.ts owns parsing and normalisation; here we only refuse what
// would make the raw Context concatenation ambiguous or the password differ from the label's.
const DEVICE_ID_RE = /^[A-Z2-7]{8}$/;
const SETUP_SECRET_RE = /^[A-Z2-7]{26}$/;

const SESSION_KEYS_INFO = utf8Encode(`${SUITE} session keys`);

function checkDeviceId(deviceId: string): void {
  if (!DEVICE_ID_RE.test(deviceId)) {
    throw new AirliftError('INVALID_DEVICE_ID', 'Device id must be 8 characters of A-Z and 2-7');
  }
}

function checkSetupSecret(setupSecret: string): void {
  if (!SETUP_SECRET_RE.test(setupSecret)) {
    throw new AirliftError('INVALID_SECRET', 'Setup secret must be normalised: 26 characters of A-Z and 2-7');
  }
}

function checkIterations(iterations: number): void {
  if (
    !Number.isInteger(iterations) ||
    iterations < PBKDF2_MIN_ITERATIONS ||
    iterations > PBKDF2_MAX_ITERATIONS
  ) {
    throw new AirliftError(
      'BAD_REQUEST',
      `PBKDF2 iterations must be an integer from ${PBKDF2_MIN_ITERATIONS} to ${PBKDF2_MAX_ITERATIONS}`,
    );
  }
}

function checkSalt(salt: Uint8Array): void {
  if (salt.length < SALT_MIN_BYTES || salt.length > SALT_MAX_BYTES) {
    throw new AirliftError('BAD_REQUEST', `Salt must be ${SALT_MIN_BYTES} to ${SALT_MAX_BYTES} bytes`);
  }
}

/**
 * RFC 9383 Context = "AIRLIFT1" || deviceId || nonce(station) || nonce(device), raw bytes.
 * Every part has a fixed length, so the concatenation is unambiguous without length prefixes.
 */
export function airliftContext(
  deviceId: string,
  stationNonce: Uint8Array,
  deviceNonce: Uint8Array,
): Uint8Array {
  checkDeviceId(deviceId);
  if (stationNonce.length !== SESSION_NONCE_BYTES || deviceNonce.length !== SESSION_NONCE_BYTES) {
    throw new AirliftError('BAD_REQUEST', `Session nonces must be ${SESSION_NONCE_BYTES} bytes`);
  }
  return concatBytes(utf8Encode(SUITE), utf8Encode(deviceId), stationNonce, deviceNonce);
}

/** The RFC 9383 identities for a device: idProver = "airlift-station", idVerifier = deviceId (ASCII). */
export function airliftIdentities(deviceId: string): { idProver: Uint8Array; idVerifier: Uint8Array } {
  checkDeviceId(deviceId);
  return { idProver: utf8Encode(ID_PROVER), idVerifier: utf8Encode(deviceId) };
}

function pbkdfArgs(
  setupSecret: string,
  deviceId: string,
  salt: Uint8Array,
  iterations: number,
): [Uint8Array, Uint8Array, Uint8Array, Uint8Array, number] {
  checkSetupSecret(setupSecret);
  checkSalt(salt);
  // Also on the prover: a fake device must not make the station burn CPU or use a weak count.
  checkIterations(iterations);
  const { idProver, idVerifier } = airliftIdentities(deviceId);
  return [utf8Encode(setupSecret), idProver, idVerifier, salt, iterations];
}

/** The station's w0, w1 for one device: password = the normalised 26-character setup secret (ASCII). */
export function deriveProverSecrets(
  setupSecret: string,
  deviceId: string,
  salt: Uint8Array,
  iterations: number,
): { w0: Uint8Array; w1: Uint8Array } {
  return computeW0W1(...pbkdfArgs(setupSecret, deviceId, salt, iterations));
}

/** {@link deriveProverSecrets} with a host-supplied PBKDF2 (the station's native, thread-pool one). */
export function deriveProverSecretsWith(
  pbkdf: Pbkdf2Sha256,
  setupSecret: string,
  deviceId: string,
  salt: Uint8Array,
  iterations: number,
): Promise<{ w0: Uint8Array; w1: Uint8Array }> {
  return computeW0W1With(pbkdf, ...pbkdfArgs(setupSecret, deviceId, salt, iterations));
}

/** {@link deriveProverSecrets} without blocking the event loop for the whole PBKDF2 run. */
export async function deriveProverSecretsAsync(
  setupSecret: string,
  deviceId: string,
  salt: Uint8Array,
  iterations: number,
): Promise<{ w0: Uint8Array; w1: Uint8Array }> {
  return computeW0W1Async(...pbkdfArgs(setupSecret, deviceId, salt, iterations));
}

export interface VerifierRecord {
  w0: Uint8Array;
  /** w1*P, 65-byte uncompressed SEC1. */
  L: Uint8Array;
  salt: Uint8Array;
  iterations: number;
}

/** What a device stores instead of its setup secret (protocol.md): w0, L, salt, iterations. */
export function makeVerifierRecord(
  setupSecret: string,
  deviceId: string,
  opts: { iterations: number; salt?: Uint8Array },
): VerifierRecord {
  const salt = opts.salt === undefined ? randomBytes(DEFAULT_SALT_BYTES) : Uint8Array.from(opts.salt);
  const { w0, w1 } = deriveProverSecrets(setupSecret, deviceId, salt, opts.iterations);
  const L = computeL(w1);
  w1.fill(0);
  return { w0, L, salt, iterations: opts.iterations };
}

/** k_s2d || k_d2s = HKDF-SHA256(salt = empty, ikm = K_shared, info = "AIRLIFT1 session keys", 64). */
export function deriveSessionKeys(sharedKey: Uint8Array): { s2d: Uint8Array; d2s: Uint8Array } {
  if (sharedKey.length !== 32) throw new AirliftError('BAD_REQUEST', 'K_shared must be 32 bytes');
  const okm = hkdf(sha256, sharedKey, new Uint8Array(0), SESSION_KEYS_INFO, 2 * SESSION_KEY_BYTES);
  return { s2d: okm.slice(0, SESSION_KEY_BYTES), d2s: okm.slice(SESSION_KEY_BYTES) };
}
