/**
 * The hostile corpus (quality.md "Bad input"): every SSID and secret in
 * test/fixtures/hostile-inputs.json must get exactly the verdict written next to it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { errorCodes, type ErrorCode } from '../../../shared/errors';
import { passphraseSchema, pskHexSchema, saePasswordSchema } from '../../../shared/passphrase';
import { parseNetworkInput } from '../../../shared/protocol/network-input';
import { ssidDisplay, ssidHexFromDisplay, ssidHexSchema, ssidTextSchema } from '../../../shared/ssid';
import { expectAirliftError, expectSchemaCode } from './expect-airlift';

const code = z.string().refine((c): c is ErrorCode => (errorCodes as string[]).includes(c));
const verdict = z.discriminatedUnion('verdict', [
  z.object({ verdict: z.literal('accept') }),
  z.object({ verdict: z.literal('reject'), code }),
]);
const corpusSchema = z.object({
  ssids: z.array(
    z.intersection(
      z.object({
        label: z.string(),
        text: z.string().optional(),
        hex: z.string().optional(),
        display: z.string().optional(),
      }),
      verdict,
    ),
  ),
  passphrases: z.array(
    z.intersection(
      z.object({
        label: z.string(),
        security: z.string().optional(),
        passphrase: z.string().optional(),
        psk: z.string().optional(),
      }),
      verdict,
    ),
  ),
});

const corpus = corpusSchema.parse(
  JSON.parse(readFileSync(new URL('../../fixtures/hostile-inputs.json', import.meta.url), 'utf8')),
);

describe('hostile corpus', () => {
  it('is big and covers the nasty characters', () => {
    expect(corpus.ssids.length).toBeGreaterThanOrEqual(60);
    expect(corpus.passphrases.length).toBeGreaterThanOrEqual(60);
    const texts = [
      ...corpus.ssids.map((s) => s.text ?? ''),
      ...corpus.passphrases.map((p) => p.passphrase ?? ''),
    ];
    const all = texts.join('');
    for (const needle of [
      ':',
      '\\',
      '"',
      "'",
      '$(',
      '`',
      ';',
      '\n',
      '\r',
      '\0',
      '\t',
      '\u200f',
      '\u202e',
      '<',
      '{',
      '[',
      '%s',
      '${',
    ]) {
      expect(all, `corpus lacks ${JSON.stringify(needle)}`).toContain(needle);
    }
    expect(texts.some((t) => /\p{Extended_Pictographic}/u.test(t))).toBe(true);
    expect(corpus.ssids.some((s) => s.hex !== undefined && s.verdict === 'accept')).toBe(true);
  });

  describe.each(corpus.ssids.map((entry) => [entry.label, entry] as const))('SSID: %s', (_label, entry) => {
    it(`is ${entry.verdict}ed`, () => {
      expect(entry.text === undefined).not.toBe(entry.hex === undefined);
      const schema = entry.text !== undefined ? ssidTextSchema : ssidHexSchema;
      const value = entry.text ?? entry.hex;
      const network = entry.text !== undefined ? { ssid: entry.text } : { ssidHex: entry.hex };
      if (entry.verdict === 'reject') {
        expectSchemaCode(schema, value, entry.code);
        expectAirliftError(() => parseNetworkInput(network), entry.code);
        return;
      }
      const hex = parseNetworkInput(network).ssidHex;
      const expectedHex =
        entry.text !== undefined
          ? Buffer.from(entry.text, 'utf8').toString('hex')
          : (entry.hex ?? '').toLowerCase();
      expect(hex).toBe(expectedHex);
      const shown = ssidDisplay(hex);
      if (entry.display !== undefined) expect(shown).toBe(entry.display);
      expect(ssidHexFromDisplay(shown)).toBe(hex);
      expect(shown).not.toMatch(/[\p{Cc}\u2028-\u202e\u200e\u200f\u2066-\u2069]/u);
    });
  });

  describe.each(corpus.passphrases.map((entry) => [entry.label, entry] as const))(
    'secret: %s',
    (_label, entry) => {
      it(`is ${entry.verdict}ed`, () => {
        const network = {
          ssid: 'Test',
          ...(entry.security === undefined ? {} : { security: entry.security }),
          ...(entry.passphrase === undefined ? {} : { passphrase: entry.passphrase }),
          ...(entry.psk === undefined ? {} : { psk: entry.psk }),
        };
        if (entry.verdict === 'reject') {
          const err = expectAirliftError(() => parseNetworkInput(network), entry.code);
          // the secret never travels back in an error
          for (const secret of [entry.passphrase, entry.psk]) {
            if (secret !== undefined && secret.length >= 6)
              expect(JSON.stringify(err.toBody())).not.toContain(secret);
          }
          return;
        }
        const out = parseNetworkInput(network);
        const given = entry.passphrase === '' ? undefined : entry.passphrase;
        expect(out.passphrase).toBe(given);
        expect(out.psk).toBe(entry.psk?.toLowerCase());
        // the standalone schemas agree with the network schema
        if (given !== undefined) {
          const schema = out.security === 'wpa3-sae' ? saePasswordSchema : passphraseSchema;
          expect(schema.parse(given)).toBe(given);
        }
        if (entry.psk !== undefined) expect(pskHexSchema.parse(entry.psk)).toBe(out.psk);
      });
    },
  );
});
