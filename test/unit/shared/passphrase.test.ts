import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { passphraseSchema, pskHexSchema, saePasswordSchema } from '../../../shared/passphrase';
import { expectSchemaCode } from './expect-airlift';

describe('passphraseSchema (WPA2)', () => {
  it('accepts 8..63 printable ASCII unchanged', () => {
    expect(passphraseSchema.parse('password')).toBe('password');
    expect(passphraseSchema.parse(' '.repeat(8))).toBe(' '.repeat(8));
    expect(passphraseSchema.parse('~'.repeat(63))).toBe('~'.repeat(63));
  });

  it.each([
    ['7 characters', '1234567'],
    ['64 characters', 'z'.repeat(64)],
    ['a tab', 'pass\tword'],
    ['DEL', 'password\x7f'],
    ['non-ASCII', 'pässword'],
    ['emoji', 'password📶'],
  ])('refuses %s with INVALID_PASSPHRASE', (_what, value) => {
    expectSchemaCode(passphraseSchema, value, 'INVALID_PASSPHRASE');
  });

  it('points a 64-hex-digit passphrase at psk', () => {
    const err = expectSchemaCode(passphraseSchema, 'ab'.repeat(32), 'INVALID_PASSPHRASE');
    expect(err.message).toContain('psk');
  });

  it('never echoes the secret in its error', () => {
    const err = expectSchemaCode(passphraseSchema, 'sécretpassword', 'INVALID_PASSPHRASE');
    expect(JSON.stringify(err.toBody())).not.toContain('cretpassword');
  });

  it('agrees with the rule on any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary-ascii', maxLength: 70 }), (value) => {
        const ok = value.length >= 8 && value.length <= 63 && /^[\x20-\x7e]*$/.test(value);
        expect(passphraseSchema.safeParse(value).success).toBe(ok);
      }),
    );
  });
});

describe('pskHexSchema', () => {
  it('accepts exactly 64 hex digits and lowercases', () => {
    expect(pskHexSchema.parse('AB'.repeat(32))).toBe('ab'.repeat(32));
  });

  it.each([
    'a'.repeat(63),
    'a'.repeat(65),
    'g' + 'a'.repeat(63),
    '0x' + 'a'.repeat(62),
    '',
    ' ' + 'a'.repeat(64),
  ])('refuses %j', (value) => {
    expectSchemaCode(pskHexSchema, value, 'INVALID_PASSPHRASE');
  });

  it('lowercases any valid psk', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        const hex = Buffer.from(bytes).toString('hex');
        expect(pskHexSchema.parse(hex.toUpperCase())).toBe(hex);
      }),
    );
  });
});

describe('saePasswordSchema (WPA3)', () => {
  it('accepts 1..128 UTF-8 bytes unchanged', () => {
    expect(saePasswordSchema.parse('p')).toBe('p');
    expect(saePasswordSchema.parse('é'.repeat(64))).toBe('é'.repeat(64));
    for (const text of ['a"b', 'back\\slash\\', '"', '#1 $(x) `y`', ' lead and trail ', '\u0085 next line'])
      expect(saePasswordSchema.parse(text)).toBe(text);
  });

  it.each([
    ['empty', ''],
    ['129 bytes', 'é'.repeat(64) + 'a'],
    ['NUL', 'a\0'],
    ['CR', 'a\r'],
    ['LF', 'a\n'],
    // wpa_supplicant refuses control characters in a passphrase, and NetworkManager hands it an
    // 8..63-byte SAE password as one: no backend could join with them.
    ['TAB', 'tab\there'],
    ['ESC', 'esc\x1bape'],
    ['DEL', 'del\x7fete'],
    ['lone surrogate', '\uDFFFa'],
  ])('refuses %s', (_what, value) => {
    expectSchemaCode(saePasswordSchema, value, 'INVALID_PASSPHRASE');
  });

  it('refuses every C0 control character and DEL, wherever it is', () => {
    for (let code = 0; code < 0x20; code++) {
      expectSchemaCode(saePasswordSchema, `pass${String.fromCharCode(code)}word`, 'INVALID_PASSPHRASE');
    }
    expectSchemaCode(saePasswordSchema, '\x7f', 'INVALID_PASSPHRASE');
  });
});
