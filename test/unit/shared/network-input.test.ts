import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex, utf8Encode } from '../../../shared/encoding';
import { AirliftError } from '../../../shared/errors';
import {
  networkInputSchema,
  parseNetworkInput,
  type NetworkInput,
  type NetworkInputRaw,
} from '../../../shared/protocol/network-input';
import { expectAirliftError } from './expect-airlift';

const HOME_HEX = toHex(utf8Encode('Home'));

describe('networkInputSchema', () => {
  it('normalises an open network', () => {
    expect(parseNetworkInput({ ssid: 'Home' })).toEqual<NetworkInput>({
      ssidHex: HOME_HEX,
      security: 'open',
      hidden: false,
      priority: 0,
    });
  });

  it('defaults to wpa2-psk when a passphrase or psk is given', () => {
    expect(parseNetworkInput({ ssid: 'Home', passphrase: 'password' })).toEqual<NetworkInput>({
      ssidHex: HOME_HEX,
      security: 'wpa2-psk',
      passphrase: 'password',
      hidden: false,
      priority: 0,
    });
    expect(parseNetworkInput({ ssidHex: 'FF', psk: 'AB'.repeat(32) })).toEqual<NetworkInput>({
      ssidHex: 'ff',
      security: 'wpa2-psk',
      psk: 'ab'.repeat(32),
      hidden: false,
      priority: 0,
    });
  });

  it('keeps hidden, priority and a WPA3 password', () => {
    const raw: NetworkInputRaw = {
      ssid: 'Home',
      security: 'wpa3-sae',
      passphrase: 'pässwörd',
      hidden: true,
      priority: -1000,
    };
    expect(parseNetworkInput(raw)).toEqual<NetworkInput>({
      ssidHex: HOME_HEX,
      security: 'wpa3-sae',
      passphrase: 'pässwörd',
      hidden: true,
      priority: -1000,
    });
  });

  it('treats an empty passphrase as none', () => {
    expect(parseNetworkInput({ ssid: 'Home', passphrase: '' }).security).toBe('open');
    expect(parseNetworkInput({ ssid: 'Home', passphrase: '' })).not.toHaveProperty('passphrase');
  });

  it.each<[string, unknown, string]>([
    ['no SSID', { passphrase: 'password' }, 'INVALID_SSID'],
    ['both ssid and ssidHex', { ssid: 'a', ssidHex: '61' }, 'INVALID_SSID'],
    ['ssid too long', { ssid: 'x'.repeat(33) }, 'INVALID_SSID'],
    ['ssid with LF', { ssid: 'a\nb' }, 'INVALID_SSID'],
    ['bad ssidHex', { ssidHex: 'xyz' }, 'INVALID_SSID'],
    ['unknown security', { ssid: 'a', security: 'wep', passphrase: 'password' }, 'UNSUPPORTED_SECURITY'],
    ['enterprise', { ssid: 'a', security: 'wpa2-eap' }, 'UNSUPPORTED_SECURITY'],
    ['open with passphrase', { ssid: 'a', security: 'open', passphrase: 'password' }, 'INVALID_PASSPHRASE'],
    ['open with psk', { ssid: 'a', security: 'open', psk: 'ab'.repeat(32) }, 'INVALID_PASSPHRASE'],
    ['wpa2 without secret', { ssid: 'a', security: 'wpa2-psk' }, 'INVALID_PASSPHRASE'],
    ['wpa2 with both', { ssid: 'a', passphrase: 'password', psk: 'ab'.repeat(32) }, 'INVALID_PASSPHRASE'],
    ['wpa2 short passphrase', { ssid: 'a', passphrase: 'short' }, 'INVALID_PASSPHRASE'],
    ['wpa2 non-ASCII passphrase', { ssid: 'a', passphrase: 'pässwörd' }, 'INVALID_PASSPHRASE'],
    ['wpa2 bad psk', { ssid: 'a', psk: 'ab' }, 'INVALID_PASSPHRASE'],
    ['wpa3 with psk', { ssid: 'a', security: 'wpa3-sae', psk: 'ab'.repeat(32) }, 'INVALID_PASSPHRASE'],
    ['wpa3 without password', { ssid: 'a', security: 'wpa3-sae' }, 'INVALID_PASSPHRASE'],
    ['wpa3 password with NUL', { ssid: 'a', security: 'wpa3-sae', passphrase: 'a\0' }, 'INVALID_PASSPHRASE'],
    ['priority too high', { ssid: 'a', priority: 1001 }, 'BAD_REQUEST'],
    ['priority not an integer', { ssid: 'a', priority: 1.5 }, 'BAD_REQUEST'],
    ['hidden not a boolean', { ssid: 'a', hidden: 'yes' }, 'BAD_REQUEST'],
    ['misspelt password key', { ssid: 'a', password: 'password' }, 'BAD_REQUEST'],
    ['misspelt key with secret rules', { ssid: 'a', security: 'wpa2-psk', password: 'x' }, 'BAD_REQUEST'],
    ['not an object', 'Home', 'BAD_REQUEST'],
    ['null', null, 'BAD_REQUEST'],
    ['array', [{ ssid: 'a' }], 'BAD_REQUEST'],
  ])('refuses %s', (_what, value, code) => {
    const err = expectAirliftError(() => parseNetworkInput(value), code as AirliftError['code']);
    expect(err.message).toMatch(/^Invalid network: /);
  });

  it('names the field at fault', () => {
    const err = expectAirliftError(
      () => parseNetworkInput({ ssid: 'a', security: 'wpa3-sae', psk: 'ab'.repeat(32) }),
      'INVALID_PASSPHRASE',
    );
    expect(err.message).toContain('psk');
  });

  it('never puts the secret in the error', () => {
    const err = expectAirliftError(
      () => parseNetworkInput({ ssid: 'a', passphrase: 'hunter2-é-secret' }),
      'INVALID_PASSPHRASE',
    );
    expect(JSON.stringify(err.toBody())).not.toContain('hunter2');
  });

  it('only ever fails with an AirliftError, whatever it is given', () => {
    const field = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.boolean(),
      fc.constant(undefined),
      fc.constant(null),
    );
    const arbitraryNetwork = fc.record(
      {
        ssid: field,
        ssidHex: fc.oneof(
          field,
          fc.uint8Array({ maxLength: 34 }).map((b) => Buffer.from(b).toString('hex')),
        ),
        security: fc.oneof(field, fc.constantFrom('open', 'wpa2-psk', 'wpa3-sae')),
        passphrase: field,
        psk: field,
        hidden: field,
        priority: fc.oneof(field, fc.integer({ min: -2000, max: 2000 })),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(arbitraryNetwork, (value) => {
        try {
          const out = parseNetworkInput(value);
          expect(out.ssidHex).toMatch(/^(?:[0-9a-f]{2}){1,32}$/);
          expect(['open', 'wpa2-psk', 'wpa3-sae']).toContain(out.security);
        } catch (err) {
          expect(err).toBeInstanceOf(AirliftError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('exposes a zod schema usable in larger schemas', () => {
    expect(networkInputSchema.safeParse({ ssid: 'Home' }).success).toBe(true);
  });
});
