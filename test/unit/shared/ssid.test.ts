import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex, utf8Encode } from '../../../shared/encoding';
import { AirliftError } from '../../../shared/errors';
import {
  hasLoneSurrogate,
  ssidBytesFromText,
  ssidDisplay,
  ssidHexFromDisplay,
  ssidHexSchema,
  ssidTextSchema,
  ssidToHex,
} from '../../../shared/ssid';
import { expectAirliftError, expectSchemaCode } from './expect-airlift';

describe('ssidToHex', () => {
  it('is lowercase hex of the raw bytes', () => {
    expect(ssidToHex(Uint8Array.from([0x41, 0xff, 0x00, 0x0a]))).toBe('41ff000a');
    expect(ssidToHex(new Uint8Array(0))).toBe('');
  });
});

describe('ssidTextSchema', () => {
  it('accepts 1..32 UTF-8 bytes and returns the text unchanged', () => {
    expect(ssidTextSchema.parse('HomeNet')).toBe('HomeNet');
    expect(ssidTextSchema.parse(' spaced ')).toBe(' spaced ');
    expect(ssidTextSchema.parse('é'.repeat(16))).toBe('é'.repeat(16));
  });

  it('counts bytes, not characters', () => {
    expectSchemaCode(ssidTextSchema, 'é'.repeat(17), 'INVALID_SSID');
    const err = expectSchemaCode(ssidTextSchema, 'a'.repeat(31) + 'é', 'INVALID_SSID');
    expect(err.message).toContain('33 bytes');
  });

  it.each([
    ['empty', ''],
    ['NUL', 'a\0b'],
    ['CR', 'a\rb'],
    ['LF', 'a\nb'],
    ['lone surrogate', 'a\uD800'],
  ])('refuses %s with INVALID_SSID', (_what, text) => {
    expectSchemaCode(ssidTextSchema, text, 'INVALID_SSID');
  });

  it('tells the user to send NUL/CR/LF SSIDs as hex', () => {
    const err = expectSchemaCode(ssidTextSchema, 'a\nb', 'INVALID_SSID');
    expect(err.message).toContain('ssidHex');
  });

  it('answers a non-string with BAD_REQUEST (wrong JSON type, not a bad SSID)', () => {
    expectSchemaCode(ssidTextSchema, 42, 'BAD_REQUEST');
  });
});

describe('ssidHexSchema', () => {
  it('accepts 1..32 bytes of any value and lowercases', () => {
    expect(ssidHexSchema.parse('FF00')).toBe('ff00');
    expect(ssidHexSchema.parse('41'.repeat(32))).toBe('41'.repeat(32));
  });

  it.each(['', 'a', 'abc', 'zz', '0x41', ' 41', '41 ', '41'.repeat(33)])('refuses %j', (hex) => {
    expectSchemaCode(ssidHexSchema, hex, 'INVALID_SSID');
  });
});

describe('ssidBytesFromText', () => {
  it('returns the UTF-8 bytes', () => {
    expect(toHex(ssidBytesFromText('Café'))).toBe('436166c3a9');
  });

  it('throws INVALID_SSID for text the schema refuses', () => {
    expectAirliftError(() => ssidBytesFromText('x'.repeat(33)), 'INVALID_SSID');
    expectAirliftError(() => ssidBytesFromText('a\0'), 'INVALID_SSID');
  });
});

describe('hasLoneSurrogate', () => {
  it('finds unpaired surrogates only', () => {
    expect(hasLoneSurrogate('📶')).toBe(false);
    expect(hasLoneSurrogate('\uD83D')).toBe(true);
    expect(hasLoneSurrogate('\uDCF6x')).toBe(true);
    expect(hasLoneSurrogate('\uDCF6\uD83D')).toBe(true);
  });
});

describe('ssidDisplay', () => {
  it.each([
    ['486f6d65', 'Home'],
    ['436166c3a9', 'Café'],
    ['5c', '\\'],
    ['ff', '\\xff'],
    ['5cff', '\\\\\\xff'],
    ['410a42', 'A\\x0aB'],
    ['c328', '\\xc3('],
    ['eda080', '\\xed\\xa0\\x80'],
    ['c0af', '\\xc0\\xaf'],
    ['5c783431', '\\\\x41'],
    ['e280ae', '\\xe2\\x80\\xae'],
    ['', ''],
  ])('%s → %s', (hex, shown) => {
    expect(ssidDisplay(hex)).toBe(shown);
  });

  it('accepts uppercase hex', () => {
    expect(ssidDisplay('FF')).toBe('\\xff');
  });

  it('refuses what is not hex, but shows an over-long SSID rather than fail', () => {
    expectAirliftError(() => ssidDisplay('zz'), 'INVALID_SSID');
    expectAirliftError(() => ssidDisplay('414'), 'INVALID_SSID');
    expect(ssidDisplay('41'.repeat(33))).toBe('A'.repeat(33));
  });

  it('shows clean UTF-8 exactly as the text', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 8 }), (text) => {
        const bytes = utf8Encode(text);
        fc.pre(bytes.length <= 32 && !/[\\\p{Cc}\u2028-\u202e\u200e\u200f\u061c\u2066-\u2069]/u.test(text));
        expect(ssidDisplay(toHex(bytes))).toBe(text);
      }),
    );
  });

  it('never shows a control, separator or bidi character raw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 32 }), (bytes) => {
        expect(ssidDisplay(toHex(bytes))).not.toMatch(
          /[\p{Cc}\u2028-\u202e\u200e\u200f\u061c\u2066-\u2069]/u,
        );
      }),
    );
  });

  it('round trips any bytes through ssidHexFromDisplay', () => {
    const ssidBytes = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 32 }),
      // bias towards the interesting bytes: backslash, x, hex digits, UTF-8 lead bytes
      fc.array(fc.constantFrom(0x5c, 0x78, 0x34, 0x31, 0x66, 0xc3, 0xa9, 0xe2, 0x80, 0xae, 0x00, 0x41), {
        minLength: 1,
        maxLength: 32,
      }),
    );
    fc.assert(
      fc.property(ssidBytes, (bytes) => {
        const hex = toHex(Uint8Array.from(bytes));
        expect(ssidHexFromDisplay(ssidDisplay(hex))).toBe(hex);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('ssidHexFromDisplay', () => {
  it('reads plain text as UTF-8 and escapes when present', () => {
    expect(ssidHexFromDisplay('a\\b')).toBe('615c62');
    expect(ssidHexFromDisplay('\\xff\\\\')).toBe('ff5c');
    expect(ssidHexFromDisplay('Caf\\xE9')).toBe('436166e9');
  });

  it('refuses bad escapes, empty and long results', () => {
    expectAirliftError(() => ssidHexFromDisplay('\\xff\\q'), 'INVALID_SSID');
    expectAirliftError(() => ssidHexFromDisplay(''), 'INVALID_SSID');
    expectAirliftError(() => ssidHexFromDisplay('\\x41'.repeat(33)), 'INVALID_SSID');
    expectAirliftError(() => ssidHexFromDisplay('\uD800'), 'INVALID_SSID');
  });
});

describe('hex round trip', () => {
  it('ssidHexSchema(ssidToHex(bytes)) gives the bytes back', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 32 }), (bytes) => {
        const hex = ssidHexSchema.parse(ssidToHex(bytes).toUpperCase());
        expect(hex).toBe(toHex(bytes));
      }),
    );
  });

  it('text that passes the schema has 1..32 bytes and survives UTF-8', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (text) => {
        const result = ssidTextSchema.safeParse(text);
        const bytes = new TextEncoder().encode(text);
        const ok = text.length > 0 && bytes.length <= 32 && !/[\0\r\n]/.test(text) && !hasLoneSurrogate(text);
        expect(result.success).toBe(ok);
        if (ok) expect(new TextDecoder().decode(bytes)).toBe(text);
      }),
    );
  });

  it('errors are AirliftErrors, never anything else', () => {
    fc.assert(
      fc.property(fc.anything(), (value) => {
        try {
          ssidBytesFromText(value as string);
        } catch (err) {
          expect(err).toBeInstanceOf(AirliftError);
        }
      }),
    );
  });
});
