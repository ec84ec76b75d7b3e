/**
 * The legacy `(ssid, psk)` pair of netconnectd's `config_wifi` and thingymcconfig's `POST /config`,
 * as the agent's network input: the secret is filed by `classifySecret`, the one rule every place
 * a secret arrives follows, so a legacy client and `airliftctl add-wifi` never disagree.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toHex, utf8Encode } from '../../../shared/encoding';
import { legacyNetwork, thingymcconfigConfigSchema } from '../../../shared/protocol/compat';
import { classifySecret, networkInputSchema } from '../../../shared/protocol/network-input';
import type { NetworkSecurity } from '../../../shared/protocol/wifi';

const HEX = 'ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789';
const LAB_HEX = toHex(utf8Encode('LabNet'));

describe('legacyNetwork', () => {
  it('64 hex digits are a WPA2 PSK (lowercased); other text a passphrase; nothing or "" open', () => {
    expect(legacyNetwork({ ssid: 'LabNet' }, HEX)).toMatchObject({
      success: true,
      data: { ssidHex: LAB_HEX, security: 'wpa2-psk', psk: HEX.toLowerCase() },
    });
    expect(legacyNetwork({ ssid: 'LabNet' }, 'correct horse')).toMatchObject({
      success: true,
      data: { security: 'wpa2-psk', passphrase: 'correct horse' },
    });
    for (const none of [undefined, ''])
      expect(legacyNetwork({ ssidHex: LAB_HEX }, none)).toMatchObject({
        success: true,
        data: { ssidHex: LAB_HEX, security: 'open' },
      });
  });

  it('a WPA3 cell takes 64 hex digits as its password, as classifySecret says', () => {
    const r = legacyNetwork({ ssidHex: LAB_HEX }, HEX, 'wpa3-sae');
    expect(r).toMatchObject({ success: true, data: { security: 'wpa3-sae', passphrase: HEX } });
  });

  it('files every secret where classifySecret does (property)', () => {
    const security = fc.constantFrom<NetworkSecurity>('wpa2-psk', 'wpa3-sae');
    const secret = fc.oneof(
      fc.stringMatching(/^[0-9a-fA-F]{64}$/),
      fc.stringMatching(/^[0-9a-fA-F]{63,65}$/),
      fc.string({ minLength: 1, maxLength: 70 }),
    );
    fc.assert(
      fc.property(security, secret, (sec, s) => {
        const legacy = legacyNetwork({ ssidHex: LAB_HEX }, s, sec);
        const direct = networkInputSchema.safeParse({
          ssidHex: LAB_HEX,
          security: sec,
          ...classifySecret(sec, s),
        });
        expect(legacy.success).toBe(direct.success);
        if (legacy.success && direct.success) expect(legacy.data).toEqual(direct.data);
      }),
    );
  });
});

describe("thingymcconfig's POST /config body", () => {
  it('takes a 64-hex psk as a raw PSK and refuses a too-short passphrase', () => {
    expect(thingymcconfigConfigSchema.parse({ ssid: 'LabNet', psk: HEX })).toMatchObject({
      security: 'wpa2-psk',
      psk: HEX.toLowerCase(),
    });
    expect(thingymcconfigConfigSchema.safeParse({ ssid: 'LabNet', psk: 'short' }).success).toBe(false);
  });
});
