import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from '../../../shared/encoding';
import { checkCertificatesPem, checkPrivateKeyPem, parsePemBlocks } from '../../../shared/pem';
import { PKI } from '../../fixtures/pki/pki';

const ok = (check: ReturnType<typeof checkCertificatesPem>) => {
  if ('problem' in check) throw new Error(check.problem);
  return check;
};
const problem = (check: ReturnType<typeof checkCertificatesPem>): string =>
  'problem' in check ? check.problem : 'accepted';

describe('base64', () => {
  it('round-trips and refuses what PEM bodies must not hold', () => {
    for (const n of [0, 1, 2, 3, 4, 31, 32, 33]) {
      const bytes = Uint8Array.from({ length: n }, (_, i) => (i * 37 + 11) & 0xff);
      expect(fromBase64(toBase64(bytes))).toEqual(bytes);
    }
    expect(toBase64(Uint8Array.of(0xfb, 0xff))).toBe('+/8=');
    for (const bad of ['+/8', 'ab c', 'ab==cd==', 'QQ=x', '-_8=', 'QR=='])
      expect(() => fromBase64(bad), bad).toThrow();
  });
});

describe('certificates', () => {
  it('takes a certificate and writes it anew, byte for byte the same DER', () => {
    const check = ok(checkCertificatesPem(PKI.ca, 8));
    expect(check.blocks).toBe(1);
    expect(new X509Certificate(check.pem).raw).toEqual(new X509Certificate(PKI.ca).raw);
    // Parsing the output again gives the output.
    expect(ok(checkCertificatesPem(check.pem, 8)).pem).toBe(check.pem);
  });

  it('drops explanatory text around the block and CRLF line endings', () => {
    const fromText = ok(checkCertificatesPem(PKI.caWithText, 8));
    expect(fromText.pem).toBe(ok(checkCertificatesPem(PKI.ca, 8)).pem);
    expect(fromText.pem).not.toContain('Certificate:');
    expect(ok(checkCertificatesPem(PKI.ca.replaceAll('\n', '\r\n'), 8)).pem).toBe(fromText.pem);
  });

  it('takes a bundle up to its limit', () => {
    const bundle = PKI.ca + PKI.rogueCa;
    expect(ok(checkCertificatesPem(bundle, 8)).blocks).toBe(2);
    expect(problem(checkCertificatesPem(bundle, 1))).toMatch(/at most 1/);
  });

  it.each([
    ['no block at all', 'hello', /no PEM block/],
    ['a key where certificates go', PKI.clientKey, /only CERTIFICATE/],
    ['a cut-short block', PKI.ca.slice(0, 200), /no END line/],
    ['an END without BEGIN', '-----END CERTIFICATE-----\n', /no BEGIN/],
    ['mismatched END', PKI.ca.replace('END CERTIFICATE', 'END X509 CRL'), /ends as/],
    ['a NUL', PKI.ca.replace('\n', '\n\0'), /control/],
    ['an escape', `\x1b[31m${PKI.ca}`, /control/],
    ['base64 damaged', PKI.ca.replace(/\n[A-Za-z0-9+/]{4}/, '\n!!!!'), /base64/],
    ['two BEGINs', (PKI.ca + PKI.rogueCa).replace('-----END CERTIFICATE-----', ''), /no END line before/],
    ['an empty body', '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n', /base64|empty/],
    [
      'valid base64 of something else',
      `-----BEGIN CERTIFICATE-----\n${toBase64(Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x01))}\n-----END CERTIFICATE-----\n`,
      /not a well-formed certificate/,
    ],
    ['headers on a certificate', PKI.ca.replace('-----\n', '-----\nProc-Type: 4,ENCRYPTED\n\n'), /headers/],
  ])('refuses %s', (_label, text, expected) => {
    expect(problem(checkCertificatesPem(text, 8))).toMatch(expected);
  });

  it('refuses a truncated DER inside valid base64', () => {
    const der = new X509Certificate(PKI.ca).raw.subarray(0, 200);
    const pem = `-----BEGIN CERTIFICATE-----\n${toBase64(der)}\n-----END CERTIFICATE-----\n`;
    expect(problem(checkCertificatesPem(pem, 8))).toMatch(/not a well-formed/);
  });

  it('never quotes the text it refuses', () => {
    const secretish = `-----BEGIN CERTIFICATE-----\nSECRETSECRET!!\n-----END CERTIFICATE-----\n`;
    expect(problem(checkCertificatesPem(secretish, 8))).not.toContain('SECRET');
  });
});

describe('private keys', () => {
  it.each([
    ['PKCS#8', PKI.clientKey, false],
    ['encrypted PKCS#8', PKI.clientKeyEncrypted, true],
    ['legacy RSA', PKI.rsaLegacyKey, false],
    ['legacy RSA with Proc-Type', PKI.rsaLegacyKeyEncrypted, true],
  ])('takes %s and says whether it is encrypted', (_label, text, encrypted) => {
    const check = checkPrivateKeyPem(text);
    if ('problem' in check) throw new Error(check.problem);
    expect(check.encrypted).toBe(encrypted);
    expect(check.pem).toBe(text.replace(/\r\n/g, '\n'));
  });

  it('keeps exactly the two legacy headers', () => {
    const check = checkPrivateKeyPem(PKI.rsaLegacyKeyEncrypted);
    expect('pem' in check && check.pem.split('\n').slice(1, 4)).toEqual([
      'Proc-Type: 4,ENCRYPTED',
      expect.stringMatching(/^DEK-Info: AES-128-CBC,[0-9A-F]{32}$/),
      '',
    ]);
    const extra = PKI.rsaLegacyKeyEncrypted.replace('Proc-Type', 'Comment: x\nProc-Type');
    expect('problem' in checkPrivateKeyPem(extra)).toBe(true);
  });

  it.each([
    ['a certificate', PKI.client],
    ['two keys', PKI.clientKey + PKI.clientKey],
    ['a damaged key', PKI.clientKey.replace(/\n[A-Za-z0-9+/]{8}/, '\nAAAAAAAA')],
  ])('refuses %s', (_label, text) => {
    expect('problem' in checkPrivateKeyPem(text)).toBe(true);
  });

  it('reads blocks with their labels', () => {
    const blocks = parsePemBlocks(PKI.client + PKI.clientKey);
    expect(Array.isArray(blocks) && blocks.map((b) => b.label)).toEqual(['CERTIFICATE', 'PRIVATE KEY']);
  });
});
