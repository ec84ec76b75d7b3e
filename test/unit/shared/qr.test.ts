import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base32Encode, formatSetupSecret } from '../../../shared/identity';
import { encodeQrPayload, parseQrPayload } from '../../../shared/qr';
import { expectAirliftError } from './expect-airlift';

const ID = 'K7Q2M6XA';
const SECRET = 'MFRGGZDFMZTWQ2LKNNWG23TPOA';
const PAYLOAD = `AIRLIFT1:${ID}:${SECRET}`;

describe('QR payload', () => {
  it('encodes uppercase, normalising what people typed', () => {
    expect(encodeQrPayload({ deviceId: ID, setupSecret: SECRET })).toBe(PAYLOAD);
    expect(
      encodeQrPayload({ deviceId: ' k7q2m6xa', setupSecret: formatSetupSecret(SECRET).toLowerCase() }),
    ).toBe(PAYLOAD);
  });

  it('fits QR alphanumeric mode', () => {
    expect(PAYLOAD).toMatch(/^[0-9A-Z $%*+\-./:]+$/);
  });

  it('encode refuses bad parts with their own codes', () => {
    expectAirliftError(() => encodeQrPayload({ deviceId: 'bad', setupSecret: SECRET }), 'INVALID_DEVICE_ID');
    expectAirliftError(() => encodeQrPayload({ deviceId: ID, setupSecret: 'short' }), 'INVALID_SECRET');
  });

  it('parses, forgiving surrounding whitespace and lowercase', () => {
    expect(parseQrPayload(PAYLOAD)).toEqual({ deviceId: ID, setupSecret: SECRET });
    expect(parseQrPayload(`  ${PAYLOAD.toLowerCase()}\r\n`)).toEqual({ deviceId: ID, setupSecret: SECRET });
  });

  it.each<[string, string, RegExp]>([
    ['empty', '   ', /empty/],
    ['a URL', 'https://example.com/', /Not an Airlift code/],
    ['a future version', `AIRLIFT2:${ID}:${SECRET}`, /version AIRLIFT2/],
    ['a missing part', `AIRLIFT1:${ID}`, /3 parts/],
    ['an extra part', `${PAYLOAD}:X`, /3 parts/],
    ['a bad deviceId', `AIRLIFT1:K7Q2M6X1:${SECRET}`, /deviceId/],
    ['a short secret', `AIRLIFT1:${ID}:${SECRET.slice(1)}`, /setup secret.*got 25/],
    ['inner spaces in the secret', `AIRLIFT1:${ID}:${formatSetupSecret(SECRET)}`, /setup secret/],
    ['non-zero padding bits', `AIRLIFT1:${ID}:${SECRET.slice(0, 25)}B`, /last character/],
    ['inner whitespace', `AIRLIFT1: ${ID}:${SECRET}`, /deviceId/],
    ['a huge input', 'A'.repeat(100_000), /characters/],
  ])('refuses %s with a clear INVALID_QR', (_what, text, message) => {
    const err = expectAirliftError(() => parseQrPayload(text), 'INVALID_QR');
    expect(err.message).toMatch(message);
  });

  it('round trips and never throws anything but INVALID_QR', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 5, maxLength: 5 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        (idBytes, secretBytes) => {
          const payload = { deviceId: base32Encode(idBytes), setupSecret: base32Encode(secretBytes) };
          expect(parseQrPayload(encodeQrPayload(payload))).toEqual(payload);
        },
      ),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        try {
          parseQrPayload(`AIRLIFT1:${text}`);
        } catch (err) {
          expectAirliftError(() => {
            throw err;
          }, 'INVALID_QR');
        }
      }),
    );
  });
});
