import { describe, expect, it } from 'vitest';
import { toBase64Url } from '../../../../shared/encoding';
import {
  helloRequestSchema,
  helloResponseSchema,
  pake1RequestSchema,
  pake1ResponseSchema,
  pake2RequestSchema,
  pake2ResponseSchema,
  RPC_MAX_CT_CHARS,
  rpcCallSchema,
  rpcEnvelopeSchema,
  rpcReplyEnvelopeSchema,
  rpcReplySchema,
} from '../../../../shared/protocol/session';

const bytes = (n: number, fill = 7) => toBase64Url(new Uint8Array(n).fill(fill));
const SID = bytes(16);
const ok = (schema: { safeParse(v: unknown): { success: boolean } }, v: unknown) =>
  schema.safeParse(v).success;

describe('session wire schemas', () => {
  it('hello request: deviceId of the base32 alphabet and a 32-byte nonce, nothing else', () => {
    expect(ok(helloRequestSchema, { deviceId: 'K7Q2M6XA', nonce: bytes(32) })).toBe(true);
    expect(ok(helloRequestSchema, { deviceId: 'k7q2m6xa', nonce: bytes(32) })).toBe(false);
    expect(ok(helloRequestSchema, { deviceId: 'K7Q2M6X1', nonce: bytes(32) })).toBe(false); // 1 is not base32
    expect(ok(helloRequestSchema, { deviceId: 'K7Q2M6XAB', nonce: bytes(32) })).toBe(false);
    expect(ok(helloRequestSchema, { deviceId: 'K7Q2M6XA', nonce: bytes(31) })).toBe(false);
    expect(ok(helloRequestSchema, { deviceId: 'K7Q2M6XA', nonce: bytes(33) })).toBe(false);
    expect(ok(helloRequestSchema, { deviceId: 'K7Q2M6XA', nonce: `${bytes(32)}=` })).toBe(false);
    expect(
      ok(helloRequestSchema, { deviceId: 'K7Q2M6XA', nonce: bytes(32).replace(/-|_/g, '+') + '+' }),
    ).toBe(false);
    expect(ok(helloRequestSchema, { deviceId: 'K7Q2M6XA', nonce: bytes(32), extra: 1 })).toBe(false);
  });

  it('hello response: sid of 16 bytes, salt of 16..32 bytes, iterations 1,000..100,000', () => {
    const good = { sid: SID, deviceId: 'K7Q2M6XA', salt: bytes(16), iter: 1000, nonce: bytes(32) };
    expect(ok(helloResponseSchema, good)).toBe(true);
    expect(ok(helloResponseSchema, { ...good, salt: bytes(32), iter: 100_000 })).toBe(true);
    expect(ok(helloResponseSchema, { ...good, salt: bytes(15) })).toBe(false);
    expect(ok(helloResponseSchema, { ...good, salt: bytes(33) })).toBe(false);
    expect(ok(helloResponseSchema, { ...good, iter: 999 })).toBe(false);
    expect(ok(helloResponseSchema, { ...good, iter: 100_001 })).toBe(false);
    expect(ok(helloResponseSchema, { ...good, iter: 1000.5 })).toBe(false);
    expect(ok(helloResponseSchema, { ...good, sid: bytes(15) })).toBe(false);
    // Replies tolerate keys added by newer agents.
    expect(ok(helloResponseSchema, { ...good, future: true })).toBe(true);
  });

  it('pake messages: 65-byte shares and 32-byte confirmations', () => {
    expect(ok(pake1RequestSchema, { sid: SID, shareP: bytes(65, 4) })).toBe(true);
    expect(ok(pake1RequestSchema, { sid: SID, shareP: bytes(33, 2) })).toBe(false);
    expect(ok(pake1RequestSchema, { sid: SID, shareP: bytes(65, 4), x: 1 })).toBe(false);
    expect(ok(pake1ResponseSchema, { shareV: bytes(65, 4), confirmV: bytes(32) })).toBe(true);
    expect(ok(pake1ResponseSchema, { shareV: bytes(65, 4), confirmV: bytes(31) })).toBe(false);
    expect(ok(pake2RequestSchema, { sid: SID, confirmP: bytes(32) })).toBe(true);
    expect(ok(pake2RequestSchema, { sid: SID, confirmP: bytes(64) })).toBe(false);
    expect(ok(pake2ResponseSchema, { ok: true })).toBe(true);
    expect(ok(pake2ResponseSchema, { ok: false })).toBe(false);
  });

  it('RPC envelopes: counter 1..2^53-1, ciphertext of at least a tag and at most 64 KiB of text', () => {
    expect(ok(rpcEnvelopeSchema, { sid: SID, ctr: 1, ct: bytes(16) })).toBe(true);
    expect(ok(rpcEnvelopeSchema, { sid: SID, ctr: Number.MAX_SAFE_INTEGER, ct: bytes(100) })).toBe(true);
    for (const ctr of [0, -1, 1.5, 2 ** 53, '1']) {
      expect(ok(rpcEnvelopeSchema, { sid: SID, ctr, ct: bytes(16) })).toBe(false);
    }
    expect(ok(rpcEnvelopeSchema, { sid: SID, ctr: 1, ct: bytes(15) })).toBe(false);
    expect(ok(rpcEnvelopeSchema, { sid: SID, ctr: 1, ct: 'A'.repeat(RPC_MAX_CT_CHARS + 4) })).toBe(false);
    expect(ok(rpcEnvelopeSchema, { sid: SID, ctr: 1, ct: bytes(16), extra: 1 })).toBe(false);
    expect(ok(rpcReplyEnvelopeSchema, { ctr: 3, ct: bytes(40) })).toBe(true);
  });

  it('RPC call and result', () => {
    expect(ok(rpcCallSchema, { id: 1, method: 'wifi.set', params: { networks: [] } })).toBe(true);
    expect(ok(rpcCallSchema, { id: 'a1', method: 'status.detail' })).toBe(true);
    expect(ok(rpcCallSchema, { id: 1, method: 'wifi set' })).toBe(false);
    expect(ok(rpcCallSchema, { id: 1, method: 'wifi.set', params: {}, extra: 1 })).toBe(false);
    expect(ok(rpcCallSchema, { method: 'wifi.set' })).toBe(false);
    expect(ok(rpcReplySchema, { id: 1, result: { attempt: 'x' } })).toBe(true);
    expect(ok(rpcReplySchema, { id: 1, result: null })).toBe(true);
    expect(ok(rpcReplySchema, { id: 1, error: { code: 'BUSY', message: 'busy', retryable: true } })).toBe(
      true,
    );
    expect(ok(rpcReplySchema, { id: 1 })).toBe(false);
    expect(ok(rpcReplySchema, { id: 1, result: 1, error: { code: 'BUSY', message: 'busy' } })).toBe(false);
    expect(ok(rpcReplySchema, { id: 1, error: { message: 'no code' } })).toBe(false);
  });
});
