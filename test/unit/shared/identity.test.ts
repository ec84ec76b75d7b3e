import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  base32Decode,
  base32Encode,
  DEFAULT_SSID_PREFIX,
  defaultHostname,
  DEVICE_ID_RE,
  deviceIdFromSetupSsid,
  deviceIdSchema,
  formatSetupSecret,
  generateDeviceId,
  generateSetupSecret,
  normaliseSetupSecret,
  setupSecretBytes,
  setupSecretSchema,
  setupSsid,
} from '../../../shared/identity';
import { expectAirliftError, expectSchemaCode } from './expect-airlift';

const SECRET = 'MFRGGZDFMZTWQ2LKNNWG23TPOA'; // base32 of 'abcdefghijklmnop'

describe('base32 (RFC 4648)', () => {
  it('matches the RFC 4648 §10 test vectors, unpadded', () => {
    const vectors: [string, string][] = [
      ['', ''],
      ['f', 'MY'],
      ['fo', 'MZXQ'],
      ['foo', 'MZXW6'],
      ['foob', 'MZXW6YQ'],
      ['fooba', 'MZXW6YTB'],
      ['foobar', 'MZXW6YTBOI'],
    ];
    for (const [plain, encoded] of vectors) {
      expect(base32Encode(new TextEncoder().encode(plain))).toBe(encoded);
      expect(new TextDecoder().decode(base32Decode(encoded))).toBe(plain);
    }
  });

  it('round trips and refuses non-canonical spellings', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        const text = base32Encode(bytes);
        expect(base32Decode(text)).toEqual(bytes);
      }),
    );
    expect(base32Decode('MZ')).toBeUndefined(); // 'MY' with a padding bit set
    expect(base32Decode('M')).toBeUndefined(); // impossible length
    expect(base32Decode('mzxq')).toBeUndefined(); // lowercase is the caller's to normalise
    expect(base32Decode('MZX1')).toBeUndefined();
  });
});

describe('deviceId', () => {
  it('trims and uppercases', () => {
    expect(deviceIdSchema.parse('  k7q2m6xa\n')).toBe('K7Q2M6XA');
  });

  it.each(['K7Q2M6X', 'K7Q2M6XAB', 'K7Q2M6X1', 'K7Q2M6X0', 'K7Q2-M6XA', '', 'К7Q2M6XA'])(
    'refuses %j',
    (id) => {
      expectSchemaCode(deviceIdSchema, id, 'INVALID_DEVICE_ID');
    },
  );

  it('generates valid, varied ids', () => {
    const ids = new Set(Array.from({ length: 200 }, () => generateDeviceId()));
    for (const id of ids) expect(id).toMatch(DEVICE_ID_RE);
    expect(ids.size).toBe(200);
  });
});

describe('setup secret', () => {
  it('normalises spaces, dashes and case', () => {
    expect(normaliseSetupSecret('mfrg gzdf-mztw q2lk nnwg 23tp oa')).toBe(SECRET);
    expect(setupSecretSchema.parse(' MFRG GZDF MZTW Q2LK NNWG 23TP OA ')).toBe(SECRET);
  });

  it('decodes to the 16 bytes', () => {
    expect(new TextDecoder().decode(setupSecretBytes(SECRET))).toBe('abcdefghijklmnop');
  });

  it.each([
    ['25 characters', SECRET.slice(0, 25)],
    ['27 characters', SECRET + 'A'],
    ['a digit 1', SECRET.slice(0, 25).replace('M', '1') + 'A'],
    ['non-zero padding bits', SECRET.slice(0, 25) + 'B'],
    ['empty', ''],
  ])('refuses %s with INVALID_SECRET and does not echo it', (_what, text) => {
    const err = expectAirliftError(() => normaliseSetupSecret(text), 'INVALID_SECRET');
    if (text.length > 8) expect(err.message).not.toContain(text.slice(0, 8));
    expectSchemaCode(setupSecretSchema, text, 'INVALID_SECRET');
  });

  it('formats in groups of 4', () => {
    expect(formatSetupSecret(SECRET)).toBe('MFRG GZDF MZTW Q2LK NNWG 23TP OA');
  });

  it('generates 26-character secrets that decode to 16 random bytes', () => {
    const secret = generateSetupSecret();
    expect(secret).toMatch(/^[A-Z2-7]{26}$/);
    expect(setupSecretBytes(secret)).toHaveLength(16);
    expect(generateSetupSecret()).not.toBe(secret);
  });

  it('normalisation is idempotent and undoes formatting, whatever people type', () => {
    const messy = fc
      .tuple(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.array(fc.constantFrom(' ', '-', '  ', '\t'), { minLength: 26, maxLength: 26 }),
        fc.array(fc.boolean(), { minLength: 26, maxLength: 26 }),
      )
      .map(([bytes, seps, lower]) => {
        const secret = base32Encode(bytes);
        const typed = Array.from(secret, (c, i) => (lower[i] ? c.toLowerCase() : c) + (seps[i] ?? '')).join(
          '',
        );
        return { bytes, secret, typed };
      });
    fc.assert(
      fc.property(messy, ({ bytes, secret, typed }) => {
        const once = normaliseSetupSecret(typed);
        expect(once).toBe(secret);
        expect(normaliseSetupSecret(once)).toBe(once);
        expect(normaliseSetupSecret(formatSetupSecret(typed))).toBe(secret);
        expect(setupSecretBytes(typed)).toEqual(bytes);
      }),
    );
  });
});

describe('derived names', () => {
  it('default hostname is airlift-<id lowercase>', () => {
    expect(defaultHostname('K7Q2M6XA')).toBe('airlift-k7q2m6xa');
    expectAirliftError(() => defaultHostname('bad'), 'INVALID_DEVICE_ID');
  });

  it('setup SSID and back', () => {
    expect(DEFAULT_SSID_PREFIX).toBe('Airlift-');
    expect(setupSsid('k7q2m6xa')).toBe('Airlift-K7Q2M6XA');
    expect(setupSsid('K7Q2M6XA', 'Acme ')).toBe('Acme K7Q2M6XA');
    expect(deviceIdFromSetupSsid('Airlift-K7Q2M6XA')).toBe('K7Q2M6XA');
    expect(deviceIdFromSetupSsid('Acme K7Q2M6XA', 'Acme ')).toBe('K7Q2M6XA');
  });

  it.each(['Airlift-k7q2m6xa', 'airlift-K7Q2M6XA', 'Airlift-K7Q2M6X', 'Airlift-K7Q2M6XAB', 'HomeNet', ''])(
    'does not take %j for a setup SSID',
    (ssid) => {
      expect(deviceIdFromSetupSsid(ssid)).toBeUndefined();
    },
  );

  it('refuses a prefix that would make an invalid SSID', () => {
    expectAirliftError(() => setupSsid('K7Q2M6XA', 'x'.repeat(25)), 'INVALID_SSID');
    expectAirliftError(() => setupSsid('K7Q2M6XA', 'a\n'), 'INVALID_SSID');
    expect(setupSsid('K7Q2M6XA', 'x'.repeat(24))).toHaveLength(32);
  });

  it('round trips any id and prefix', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 5, maxLength: 5 }),
        fc.string({ maxLength: 20 }),
        (bytes, prefix) => {
          const id = base32Encode(bytes);
          fc.pre(!/[\0\r\n]/.test(prefix) && Buffer.byteLength(prefix + id) <= 32);
          fc.pre(!/[\uD800-\uDFFF]/.test(prefix));
          expect(deviceIdFromSetupSsid(setupSsid(id, prefix), prefix)).toBe(id);
        },
      ),
    );
  });
});

describe('independent check', () => {
  it('base32 agrees with a naive bit-string implementation', () => {
    const naive = (bytes: Uint8Array): string => {
      const bits = Array.from(bytes, (b) => b.toString(2).padStart(8, '0')).join('');
      const padded = bits.padEnd(Math.ceil(bits.length / 5) * 5, '0');
      return (padded.match(/.{5}/g) ?? [])
        .map((g) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[parseInt(g, 2)])
        .join('');
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 32 }), (bytes) => {
        expect(base32Encode(bytes)).toBe(naive(bytes));
      }),
    );
  });
});
