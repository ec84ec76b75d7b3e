/**
 * The label / QR payload `AIRLIFT1:<deviceId>:<setupSecret>` (protocol.md). Uppercase ASCII only, so
 * it fits QR alphanumeric mode; `AIRLIFT1` pins the cipher suite, there is no negotiation.
 */
import { AirliftError } from './errors';
import { base32Decode, DEVICE_ID_RE, deviceIdSchema, normaliseSetupSecret } from './identity';
import { parseOrThrow } from './validate';

export const QR_PREFIX = 'AIRLIFT1';
/** Generous: the payload is 44 characters. Anything far longer is not ours. */
const QR_MAX_LENGTH = 256;

export interface QrPayload {
  deviceId: string;
  setupSecret: string;
}

export function encodeQrPayload(payload: QrPayload): string {
  const deviceId = parseOrThrow(deviceIdSchema, payload.deviceId, 'deviceId');
  const setupSecret = normaliseSetupSecret(payload.setupSecret);
  return `${QR_PREFIX}:${deviceId}:${setupSecret}`;
}

function invalid(message: string): AirliftError {
  return new AirliftError('INVALID_QR', message);
}

/** Read a scanned or typed payload. Surrounding whitespace and lowercase are forgiven, nothing else. */
export function parseQrPayload(text: string): QrPayload {
  if (typeof text !== 'string') throw invalid('QR payload must be text');
  if (text.length > QR_MAX_LENGTH)
    throw invalid(`QR payload is ${text.length} characters; an Airlift code has 44`);
  const upper = text.trim().toUpperCase();
  if (upper.length === 0) throw invalid('QR payload is empty');
  const parts = upper.split(':');
  const [prefix = '', deviceId = '', setupSecret = ''] = parts;
  if (prefix !== QR_PREFIX) {
    if (/^AIRLIFT\d+$/.test(prefix)) {
      throw invalid(`Unsupported Airlift code version ${prefix}; this software reads ${QR_PREFIX}`);
    }
    throw invalid(`Not an Airlift code: it must start with ${QR_PREFIX}:`);
  }
  if (parts.length !== 3) {
    throw invalid(
      `Airlift code must have 3 parts separated by ':' (${QR_PREFIX}:<deviceId>:<setupSecret>), got ${parts.length}`,
    );
  }
  if (!DEVICE_ID_RE.test(deviceId)) {
    throw invalid('Airlift code has an invalid deviceId: expected 8 base32 characters (A-Z, 2-7)');
  }
  // Strict here (no inner spaces or dashes): a label payload is machine-made, a stray byte means damage.
  if (!/^[A-Z2-7]{26}$/.test(setupSecret)) {
    throw invalid(
      `Airlift code has an invalid setup secret: expected 26 base32 characters (A-Z, 2-7), got ${setupSecret.length}`,
    );
  }
  if (base32Decode(setupSecret) === undefined) {
    throw invalid(
      'Airlift code has an invalid setup secret: its last character is impossible (damaged code?)',
    );
  }
  return { deviceId, setupSecret };
}
