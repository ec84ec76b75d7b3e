import { createDecipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RecordOpener, RecordSealer } from '../../../../shared/crypto/record';
import { fromBase64Url, toBase64Url, utf8Encode } from '../../../../shared/encoding';
import { AirliftError } from '../../../../shared/errors';

const KEY = Uint8Array.from({ length: 32 }, (_, i) => i);
const OTHER_KEY = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
const SID = 'AAECAwQFBgcICQoLDA0ODw';
const PATH = '/v1/rpc';
const text = (s: string) => utf8Encode(s);
const decode = (b: Uint8Array) => new TextDecoder().decode(b);

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof AirliftError ? err.code : 'not an AirliftError';
  }
  return 'no error';
}

describe('record layer', () => {
  it('round trip, counters from 1', () => {
    const sealer = new RecordSealer(KEY, SID);
    const opener = new RecordOpener(KEY, SID);
    for (let i = 1; i <= 3; i++) {
      const rec = sealer.seal(PATH, text(`hello ${i}`));
      expect(rec.ctr).toBe(i);
      expect(decode(opener.open(PATH, rec.ctr, rec.ct))).toBe(`hello ${i}`);
      expect(opener.lastCounter).toBe(i);
    }
  });

  it('is AES-256-GCM with nonce = 96-bit big-endian counter and AAD "<sid>|<path>|<ctr>"', () => {
    const sealer = new RecordSealer(KEY, SID);
    sealer.seal(PATH, text('first'));
    const { ctr, ct } = sealer.seal(PATH, text('second'));
    const sealed = Buffer.from(fromBase64Url(ct));
    const nonce = Buffer.alloc(12);
    nonce.writeBigUInt64BE(BigInt(ctr), 4);
    const decipher = createDecipheriv('aes-256-gcm', KEY, nonce);
    decipher.setAAD(Buffer.from(`${SID}|${PATH}|2`));
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    const plain = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
    expect(plain.toString()).toBe('second');
  });

  it('refuses a replayed record', () => {
    const sealer = new RecordSealer(KEY, SID);
    const opener = new RecordOpener(KEY, SID);
    const rec = sealer.seal(PATH, text('once'));
    opener.open(PATH, rec.ctr, rec.ct);
    expect(codeOf(() => opener.open(PATH, rec.ctr, rec.ct))).toBe('REPLAYED');
  });

  it('refuses reordered records but accepts gaps', () => {
    const sealer = new RecordSealer(KEY, SID);
    const opener = new RecordOpener(KEY, SID);
    const r1 = sealer.seal(PATH, text('1'));
    const r2 = sealer.seal(PATH, text('2'));
    const r3 = sealer.seal(PATH, text('3'));
    expect(decode(opener.open(PATH, r2.ctr, r2.ct))).toBe('2');
    expect(codeOf(() => opener.open(PATH, r1.ctr, r1.ct))).toBe('REPLAYED');
    expect(decode(opener.open(PATH, r3.ctr, r3.ct))).toBe('3');
  });

  it('refuses a record sealed with another key, sid or path, or under another counter', () => {
    const rec = new RecordSealer(KEY, SID).seal(PATH, text('x'));
    expect(codeOf(() => new RecordOpener(OTHER_KEY, SID).open(PATH, rec.ctr, rec.ct))).toBe('AUTH_FAILED');
    expect(codeOf(() => new RecordOpener(KEY, 'BBECAwQFBgcICQoLDA0ODw').open(PATH, rec.ctr, rec.ct))).toBe(
      'AUTH_FAILED',
    );
    expect(codeOf(() => new RecordOpener(KEY, SID).open('/v1/other', rec.ctr, rec.ct))).toBe('AUTH_FAILED');
    expect(codeOf(() => new RecordOpener(KEY, SID).open(PATH, rec.ctr + 1, rec.ct))).toBe('AUTH_FAILED');
  });

  it('refuses tampered ciphertext and tag, and only authentic records advance the counter', () => {
    const sealer = new RecordSealer(KEY, SID);
    const opener = new RecordOpener(KEY, SID);
    const rec = sealer.seal(PATH, text('payload'));
    const bytes = fromBase64Url(rec.ct);
    for (const at of [0, bytes.length - 1]) {
      const bad = Uint8Array.from(bytes);
      bad[at] = (bad[at] ?? 0) ^ 0x01;
      expect(codeOf(() => opener.open(PATH, rec.ctr, toBase64Url(bad)))).toBe('AUTH_FAILED');
    }
    // A forged record with a huge counter must not lock the session out.
    expect(codeOf(() => opener.open(PATH, 2 ** 40, rec.ct))).toBe('AUTH_FAILED');
    expect(opener.lastCounter).toBe(0);
    expect(decode(opener.open(PATH, rec.ctr, rec.ct))).toBe('payload');
  });

  it('refuses malformed counters and ciphertexts with BAD_REQUEST', () => {
    const opener = new RecordOpener(KEY, SID);
    const ct = new RecordSealer(KEY, SID).seal(PATH, text('x')).ct;
    for (const ctr of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(codeOf(() => opener.open(PATH, ctr, ct))).toBe('BAD_REQUEST');
    }
    expect(codeOf(() => opener.open(PATH, 1, 'not base64url!'))).toBe('BAD_REQUEST');
    expect(codeOf(() => opener.open(PATH, 1, toBase64Url(new Uint8Array(15))))).toBe('BAD_REQUEST');
  });

  it('each direction keeps its own counter', () => {
    const s2d = new RecordSealer(KEY, SID);
    const d2s = new RecordSealer(OTHER_KEY, SID);
    expect(s2d.seal(PATH, text('a')).ctr).toBe(1);
    expect(s2d.seal(PATH, text('b')).ctr).toBe(2);
    expect(d2s.seal(PATH, text('c')).ctr).toBe(1);
  });

  it('empty plaintext round trips', () => {
    const rec = new RecordSealer(KEY, SID).seal(PATH, new Uint8Array(0));
    expect(new RecordOpener(KEY, SID).open(PATH, rec.ctr, rec.ct)).toHaveLength(0);
  });
});
