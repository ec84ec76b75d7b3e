/**
 * What shared/pem.ts cannot do without a crypto library: parse an Enterprise network's
 * certificates and key as OpenSSL will (Node's X509Certificate and createPrivateKey), open an
 * encrypted key with its passphrase, and check that the key belongs to the client certificate.
 * The agent runs this before it stores a network, so a key that cannot work is refused with its
 * reason instead of failing every join; the station may run it before it sends one.
 * Validity dates are not judged: a device without a real-time clock may not know the date yet.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { AirliftError } from '../shared/errors';
import { parsePemBlocks, formatPemBlock } from '../shared/pem';
import type { EapConfig } from '../shared/protocol/eap';

/** Each certificate block of `pem` (already judged by shared/pem.ts), parsed. */
function certificates(pem: string, field: 'caCert' | 'clientCert'): X509Certificate[] {
  const blocks = parsePemBlocks(pem);
  if ('problem' in blocks) throw new AirliftError('INVALID_CERTIFICATE', `eap.${field}: ${blocks.problem}`);
  return blocks.map((block, i) => {
    try {
      return new X509Certificate(formatPemBlock(block));
    } catch {
      throw new AirliftError(
        'INVALID_CERTIFICATE',
        `eap.${field}: certificate ${i + 1} cannot be read as X.509 (unsupported or damaged)`,
      );
    }
  });
}

function privateKey(pem: string, passphrase: string | undefined): KeyObject {
  try {
    return createPrivateKey(passphrase === undefined ? { key: pem } : { key: pem, passphrase });
  } catch {
    // OpenSSL's reasons may quote parts of the key: only ours is said.
    throw passphrase === undefined
      ? new AirliftError('INVALID_CERTIFICATE', 'eap.clientKey cannot be read as a private key')
      : new AirliftError('INVALID_PASSPHRASE', 'eap.clientKeyPassphrase does not open eap.clientKey');
  }
}

/**
 * Throws INVALID_CERTIFICATE (or INVALID_PASSPHRASE for a passphrase that does not open the key)
 * unless every certificate parses, the key opens, and it is the client certificate's key.
 */
export function checkEnterpriseMaterial(eap: EapConfig): void {
  if (eap.caCert !== undefined) {
    const cas = certificates(eap.caCert, 'caCert');
    // A self-signed server certificate is a trust anchor too (small sites pin theirs).
    if (!cas.some((c) => c.ca || c.checkIssued(c)))
      throw new AirliftError(
        'INVALID_CERTIFICATE',
        'eap.caCert holds no CA certificate: give the CA that issued the server certificate, not a certificate it issued',
      );
  }
  if (eap.clientCert === undefined || eap.clientKey === undefined) return;
  const [leaf] = certificates(eap.clientCert, 'clientCert');
  const key = privateKey(eap.clientKey, eap.clientKeyPassphrase);
  if (!leaf?.checkPrivateKey(key))
    throw new AirliftError(
      'INVALID_CERTIFICATE',
      'eap.clientKey is not the key of eap.clientCert (its first certificate)',
    );
}
