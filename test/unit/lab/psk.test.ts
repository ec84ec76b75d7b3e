import { pbkdf2Sync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Airspace, checkCredentials, ssidHexOf, wpa2Psk, type AccessPoint } from '../../../lab/airspace';

/** Independent reference: Node's OpenSSL PBKDF2, not the noble code the lab uses. */
function referencePsk(passphrase: string, ssid: Buffer): string {
  return pbkdf2Sync(Buffer.from(passphrase, 'utf8'), ssid, 4096, 32, 'sha1').toString('hex');
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

describe('wpa2Psk', () => {
  it('matches the IEEE 802.11i Annex H.4 test vector', () => {
    expect(hex(wpa2Psk('password', ssidHexOf('IEEE')))).toBe(
      'f42c6fc52df0ebef9ebb4b90b38a5f902e83fe1b135a70e23aed762e9710a12e',
    );
  });

  it('agrees with node:crypto for arbitrary passphrases and SSID bytes', () => {
    fc.assert(
      fc.property(
        fc.string({
          minLength: 8,
          maxLength: 63,
          unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
        }),
        fc.uint8Array({ minLength: 1, maxLength: 32 }),
        (passphrase, ssid) => {
          const ssidHex = Buffer.from(ssid).toString('hex');
          expect(hex(wpa2Psk(passphrase, ssidHex))).toBe(referencePsk(passphrase, Buffer.from(ssid)));
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('checkCredentials', () => {
  const air = Airspace.withDefaults();
  const labNet = air.listAps().find((ap) => ap.ssidHex === ssidHexOf('LabNet')) as AccessPoint;
  const latin = air.listAps().find((ap) => ap.ssidHex === '636166e9') as AccessPoint;
  const sae = air.listAps().find((ap) => ap.security === 'wpa3-sae') as AccessPoint;

  it('accepts the passphrase and the equivalent 64-hex PSK (either case)', () => {
    const psk = referencePsk('correct horse', Buffer.from('LabNet'));
    expect(checkCredentials(labNet, { security: 'wpa2-psk', passphrase: 'correct horse' })).toBe('ok');
    expect(checkCredentials(labNet, { security: 'wpa2-psk', psk })).toBe('ok');
    expect(checkCredentials(labNet, { security: 'wpa2-psk', psk: psk.toUpperCase() })).toBe('ok');
  });

  it('salts with the raw SSID bytes, also when they are not UTF-8', () => {
    const psk = referencePsk('latin one', Buffer.from([0x63, 0x61, 0x66, 0xe9]));
    expect(checkCredentials(latin, { security: 'wpa2-psk', psk })).toBe('ok');
    // The UTF-8 spelling of "café" is a different SSID, hence a different key.
    const wrongSalt = referencePsk('latin one', Buffer.from('café', 'utf8'));
    expect(checkCredentials(latin, { security: 'wpa2-psk', psk: wrongSalt })).toBe('auth_failed');
  });

  it('refuses wrong, malformed or missing keys', () => {
    const otherSsid = referencePsk('correct horse', Buffer.from('LabNet2'));
    expect(checkCredentials(labNet, { security: 'wpa2-psk', passphrase: 'correct horse!' })).toBe(
      'auth_failed',
    );
    expect(checkCredentials(labNet, { security: 'wpa2-psk', psk: otherSsid })).toBe('auth_failed');
    expect(checkCredentials(labNet, { security: 'wpa2-psk', psk: 'zz'.repeat(32) })).toBe('auth_failed');
    expect(checkCredentials(labNet, { security: 'wpa2-psk' })).toBe('auth_failed');
  });

  it('compares SAE passwords directly: a PSK is useless there', () => {
    expect(checkCredentials(sae, { security: 'wpa3-sae', passphrase: 'not your network' })).toBe('ok');
    const psk = referencePsk('not your network', Buffer.from('Neighbour 5G'));
    expect(checkCredentials(sae, { security: 'wpa3-sae', psk })).toBe('auth_failed');
  });

  it('rejects a security mode the AP does not offer at association', () => {
    expect(checkCredentials(labNet, { security: 'open' })).toBe('assoc_rejected');
    expect(checkCredentials(labNet, { security: 'wpa3-sae', passphrase: 'correct horse' })).toBe(
      'assoc_rejected',
    );
    expect(checkCredentials(sae, { security: 'wpa2-psk', passphrase: 'not your network' })).toBe(
      'assoc_rejected',
    );
  });
});
