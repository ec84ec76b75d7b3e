/**
 * One network as a client asks for it in `wifi.set` / `wifi.add`, normalised to what the agent stores:
 * the SSID as lowercase hex, an explicit security, exactly the secret that security needs.
 */
import { z } from 'zod';
import { passphraseSchema, pskHexSchema, saePasswordSchema } from '../passphrase';
import { ssidHexSchema, ssidTextSchema, ssidToHex } from '../ssid';
import { utf8Encode } from '../encoding';
import type { ErrorCode } from '../errors';
import { parseOrThrow, withCode } from '../validate';
import { NETWORK_SECURITY, type NetworkSecurity } from './wifi';

export const PRIORITY_MIN = -1000;
export const PRIORITY_MAX = 1000;

/** What the agent stores and the backends configure. */
export interface NetworkInput {
  ssidHex: string;
  security: NetworkSecurity;
  /** WPA2 passphrase (printable ASCII) or WPA3-SAE password. */
  passphrase?: string;
  /** WPA2 raw PSK, 64 lowercase hex digits. */
  psk?: string;
  hidden: boolean;
  priority: number;
}

function isNetworkSecurity(value: string): value is NetworkSecurity {
  return (NETWORK_SECURITY as readonly string[]).includes(value);
}

// Unknown keys are refused: a misspelt `password` must not silently configure an open network.
const rawNetworkInputSchema = z.strictObject({
  ssid: ssidTextSchema.optional(),
  ssidHex: ssidHexSchema.optional(),
  security: z.string().optional(),
  passphrase: z.string().optional(),
  psk: z.string().optional(),
  hidden: z.boolean().optional(),
  priority: z
    .number()
    .int()
    .refine(
      (p) => p >= PRIORITY_MIN && p <= PRIORITY_MAX,
      withCode('BAD_REQUEST', `priority must be an integer from ${PRIORITY_MIN} to ${PRIORITY_MAX}`),
    )
    .optional(),
});

export const networkInputSchema = rawNetworkInputSchema.transform((raw, ctx): NetworkInput => {
  // Unknown keys are reported by the object itself; judging the rest would only add noise.
  if (ctx.issues.length > 0) return z.NEVER;
  const fail = (code: ErrorCode, path: string, message: string): never => {
    ctx.addIssue({ code: 'custom', path: [path], ...withCode(code, message) });
    return z.NEVER;
  };

  if ((raw.ssid === undefined) === (raw.ssidHex === undefined)) {
    return fail('INVALID_SSID', 'ssid', 'Give exactly one of ssid (text) or ssidHex');
  }
  const ssidHex = raw.ssidHex ?? ssidToHex(utf8Encode(raw.ssid ?? ''));

  // An empty string is what forms send for "no password": treat it as absent.
  const passphrase = raw.passphrase === '' ? undefined : raw.passphrase;
  const psk = raw.psk === '' ? undefined : raw.psk;
  const hasSecret = passphrase !== undefined || psk !== undefined;

  const securityText = raw.security ?? (hasSecret ? 'wpa2-psk' : 'open');
  if (!isNetworkSecurity(securityText)) {
    return fail('UNSUPPORTED_SECURITY', 'security', `security must be one of ${NETWORK_SECURITY.join(', ')}`);
  }
  const base = { ssidHex, security: securityText, hidden: raw.hidden ?? false, priority: raw.priority ?? 0 };

  /** The secret as `schema` normalises it, or an issue on `path`. */
  const withSecret = (
    schema: z.ZodType<string, string>,
    value: string,
    path: 'passphrase' | 'psk',
  ): NetworkInput => {
    const result = schema.safeParse(value);
    if (!result.success)
      return fail('INVALID_PASSPHRASE', path, result.error.issues[0]?.message ?? 'invalid');
    return { ...base, [path]: result.data };
  };

  switch (securityText) {
    case 'open': {
      if (!hasSecret) return base;
      const path = passphrase !== undefined ? 'passphrase' : 'psk';
      return fail('INVALID_PASSPHRASE', path, 'An open network takes no passphrase or psk');
    }
    case 'wpa2-psk': {
      if (passphrase !== undefined && psk !== undefined) {
        return fail('INVALID_PASSPHRASE', 'psk', 'Give either passphrase or psk, not both');
      }
      if (psk !== undefined) return withSecret(pskHexSchema, psk, 'psk');
      if (passphrase !== undefined) return withSecret(passphraseSchema, passphrase, 'passphrase');
      return fail('INVALID_PASSPHRASE', 'passphrase', 'wpa2-psk needs a passphrase or a psk');
    }
    case 'wpa3-sae': {
      // SAE derives its keys from the password itself: a WPA2-style PSK cannot be used.
      if (psk !== undefined)
        return fail('INVALID_PASSPHRASE', 'psk', 'wpa3-sae takes a passphrase, not a psk');
      if (passphrase !== undefined) return withSecret(saePasswordSchema, passphrase, 'passphrase');
      return fail('INVALID_PASSPHRASE', 'passphrase', 'wpa3-sae needs a passphrase');
    }
  }
});

/** What a client may send (before normalisation). */
export type NetworkInputRaw = z.input<typeof networkInputSchema>;

/** Parse one network or throw an AirliftError with the right code (INVALID_SSID, INVALID_PASSPHRASE, ...). */
export function parseNetworkInput(value: unknown): NetworkInput {
  return parseOrThrow(networkInputSchema, value, 'network');
}

/**
 * The field a typed secret belongs in: for WPA2, 64 hex digits are a raw PSK and anything else a
 * passphrase; for WPA3-SAE every secret is a password (64 hex digits included). One rule for every
 * place a person types a secret: the CLIs, site profiles, the portal.
 */
export function classifySecret(
  security: NetworkSecurity | undefined,
  secret: string,
): { passphrase: string } | { psk: string } {
  return (security ?? 'wpa2-psk') === 'wpa2-psk' && /^[0-9a-fA-F]{64}$/.test(secret)
    ? { psk: secret }
    : { passphrase: secret };
}
