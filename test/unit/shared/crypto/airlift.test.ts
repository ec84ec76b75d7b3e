import { hkdfSync, pbkdf2Sync } from 'node:crypto';
import { p256 } from '@noble/curves/nist.js';
import { describe, expect, it } from 'vitest';
import {
  airliftContext,
  deriveProverSecrets,
  deriveProverSecretsAsync,
  deriveSessionKeys,
  ID_PROVER,
  makeVerifierRecord,
  SUITE,
} from '../../../../shared/crypto/airlift';
import { computeL, computeW0W1 } from '../../../../shared/crypto/spake2plus';
import { toHex, utf8Encode } from '../../../../shared/encoding';
import { AirliftError } from '../../../../shared/errors';

const SECRET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'.slice(0, 22) + '2345';
const DEVICE = 'K7Q2M6XA';
const SALT = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
const ORDER = p256.Point.Fn.ORDER;

/** RFC 9383 §3.2 recomputed with Node's own PBKDF2 and BigInt, independent of the code under test. */
function referenceW0W1(pw: Buffer, idP: Buffer, idV: Buffer, salt: Uint8Array, iterations: number) {
  const len = (b: Buffer) => {
    const out = Buffer.alloc(8);
    out.writeBigUInt64LE(BigInt(b.length));
    return out;
  };
  const input = Buffer.concat([len(pw), pw, len(idP), idP, len(idV), idV]);
  const out = pbkdf2Sync(input, salt, iterations, 80, 'sha256');
  const half = (b: Buffer) => (BigInt('0x' + b.toString('hex')) % ORDER).toString(16).padStart(64, '0');
  return { w0: half(out.subarray(0, 40)), w1: half(out.subarray(40, 80)) };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof AirliftError ? err.code : 'not an AirliftError';
  }
  return 'no error';
}

describe('PBKDF2 registration (RFC 9383 §3.2)', () => {
  it('computeW0W1 matches an independent node:crypto derivation', () => {
    const pw = Buffer.from('setup secret');
    const idP = Buffer.from('client');
    const idV = Buffer.from('server');
    const salt = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
    const got = computeW0W1(pw, idP, idV, salt, 1000);
    const want = referenceW0W1(pw, idP, idV, salt, 1000);
    expect(toHex(got.w0)).toBe(want.w0);
    expect(toHex(got.w1)).toBe(want.w1);
  });

  it('empty identities are length 0, not omitted', () => {
    const pw = Buffer.from('pw');
    const got = computeW0W1(pw, new Uint8Array(0), new Uint8Array(0), SALT, 1000);
    const want = referenceW0W1(pw, Buffer.alloc(0), Buffer.alloc(0), SALT, 1000);
    expect(toHex(got.w0)).toBe(want.w0);
  });

  it('deriveProverSecrets uses the ASCII secret, "airlift-station" and the device id', () => {
    const got = deriveProverSecrets(SECRET, DEVICE, SALT, 1000);
    const want = referenceW0W1(Buffer.from(SECRET), Buffer.from(ID_PROVER), Buffer.from(DEVICE), SALT, 1000);
    expect(toHex(got.w0)).toBe(want.w0);
    expect(toHex(got.w1)).toBe(want.w1);
  });

  it('the async variant gives the same result', async () => {
    const sync = deriveProverSecrets(SECRET, DEVICE, SALT, 1000);
    const async_ = await deriveProverSecretsAsync(SECRET, DEVICE, SALT, 1000);
    expect(toHex(async_.w0)).toBe(toHex(sync.w0));
    expect(toHex(async_.w1)).toBe(toHex(sync.w1));
    await expect(deriveProverSecretsAsync(SECRET, DEVICE, SALT, 10)).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
  });

  it('refuses an unnormalised secret, a bad device id, salt or iteration count', () => {
    expect(codeOf(() => deriveProverSecrets(SECRET.toLowerCase(), DEVICE, SALT, 1000))).toBe(
      'INVALID_SECRET',
    );
    expect(codeOf(() => deriveProverSecrets(SECRET, 'k7q2m6xa', SALT, 1000))).toBe('INVALID_DEVICE_ID');
    expect(codeOf(() => deriveProverSecrets(SECRET, DEVICE, SALT.subarray(0, 15), 1000))).toBe('BAD_REQUEST');
    expect(codeOf(() => deriveProverSecrets(SECRET, DEVICE, new Uint8Array(33), 1000))).toBe('BAD_REQUEST');
    for (const iter of [999, 100_001, 1000.5, Number.NaN]) {
      expect(codeOf(() => deriveProverSecrets(SECRET, DEVICE, SALT, iter))).toBe('BAD_REQUEST');
    }
  });
});

describe('makeVerifierRecord', () => {
  it('stores w0 and L = w1*P, never w1', () => {
    const record = makeVerifierRecord(SECRET, DEVICE, { iterations: 1000, salt: SALT });
    const prover = deriveProverSecrets(SECRET, DEVICE, SALT, 1000);
    expect(toHex(record.w0)).toBe(toHex(prover.w0));
    expect(toHex(record.L)).toBe(toHex(computeL(prover.w1)));
    expect(record.L).toHaveLength(65);
    expect(Object.keys(record).sort()).toEqual(['L', 'iterations', 'salt', 'w0']);
    expect(record.iterations).toBe(1000);
  });

  it('picks a fresh 16-byte salt by default', () => {
    const a = makeVerifierRecord(SECRET, DEVICE, { iterations: 1000 });
    const b = makeVerifierRecord(SECRET, DEVICE, { iterations: 1000 });
    expect(a.salt).toHaveLength(16);
    expect(toHex(a.salt)).not.toBe(toHex(b.salt));
    expect(toHex(a.w0)).not.toBe(toHex(b.w0));
  });

  it('iterations must be 1,000..100,000', () => {
    expect(codeOf(() => makeVerifierRecord(SECRET, DEVICE, { iterations: 999 }))).toBe('BAD_REQUEST');
    expect(codeOf(() => makeVerifierRecord(SECRET, DEVICE, { iterations: 100_001 }))).toBe('BAD_REQUEST');
  });
});

describe('airliftContext', () => {
  it('is "AIRLIFT1" || deviceId || nonce(station) || nonce(device)', () => {
    const s = new Uint8Array(32).fill(0xaa);
    const d = new Uint8Array(32).fill(0xbb);
    const ctx = airliftContext(DEVICE, s, d);
    expect(SUITE).toBe('AIRLIFT1');
    expect(toHex(ctx)).toBe(toHex(utf8Encode('AIRLIFT1K7Q2M6XA')) + 'aa'.repeat(32) + 'bb'.repeat(32));
  });

  it('refuses nonces of another length and bad device ids', () => {
    expect(codeOf(() => airliftContext(DEVICE, new Uint8Array(31), new Uint8Array(32)))).toBe('BAD_REQUEST');
    expect(codeOf(() => airliftContext('K7Q2M6X', new Uint8Array(32), new Uint8Array(32)))).toBe(
      'INVALID_DEVICE_ID',
    );
  });
});

describe('deriveSessionKeys', () => {
  it('is HKDF-SHA256(empty salt, K_shared, "AIRLIFT1 session keys", 64) split 32/32', () => {
    const kShared = Uint8Array.from({ length: 32 }, (_, i) => i * 7);
    const want = Buffer.from(hkdfSync('sha256', kShared, Buffer.alloc(0), 'AIRLIFT1 session keys', 64));
    const { s2d, d2s } = deriveSessionKeys(kShared);
    expect(toHex(s2d)).toBe(want.subarray(0, 32).toString('hex'));
    expect(toHex(d2s)).toBe(want.subarray(32).toString('hex'));
  });
});
