/**
 * One network as a client asks for it in `wifi.set` / `wifi.add`, normalised to what the agent stores:
 * the SSID as lowercase hex, an explicit security, exactly the secret that security needs (a
 * passphrase or PSK, or for Enterprise an `eap` block), and optionally static IPv4 (`ipv4`).
 */
import { z } from 'zod';
import { passphraseSchema, pskHexSchema, saePasswordSchema } from '../passphrase';
import { ssidHexSchema, ssidTextSchema, ssidToHex } from '../ssid';
import { utf8Encode } from '../encoding';
import { judged, parseOrThrow, refuse, withCode } from '../validate';
import { EAP_SECRET_FIELDS, eapInputSchema, type EapConfig, type EapSecretField } from './eap';
import { staticIpv4Schema, type StaticIpv4 } from './static-ipv4';
import { isEnterprise, NETWORK_SECURITY, type NetworkSecurity } from './wifi';

export const PRIORITY_MIN = -1000;
export const PRIORITY_MAX = 1000;

/**
 * A network as a site has it, the same for every device: its name, security and credentials. What a
 * station's site profile keeps (with the secrets apart: `splitSecrets`).
 */
export interface SiteNetwork {
  ssidHex: string;
  security: NetworkSecurity;
  /** WPA2 passphrase (printable ASCII) or WPA3-SAE password. Secret. */
  passphrase?: string;
  /** WPA2 raw PSK, 64 lowercase hex digits. Secret. */
  psk?: string;
  /** `wpa2-enterprise` / `wpa3-enterprise` only: the 802.1X settings (shared/protocol/eap.ts). */
  eap?: EapConfig;
  hidden: boolean;
}

/** What the agent stores and the backends configure: a site network plus what is per device. */
export interface NetworkInput extends SiteNetwork {
  priority: number;
  /** Static addressing for this network (shared/protocol/static-ipv4.ts); absent: DHCP. */
  ipv4?: StaticIpv4;
}

function isNetworkSecurity(value: string): value is NetworkSecurity {
  return (NETWORK_SECURITY as readonly string[]).includes(value);
}

// Unknown keys are refused: a misspelt `password` must not silently configure an open network.
const rawSiteShape = {
  ssid: ssidTextSchema.optional(),
  ssidHex: ssidHexSchema.optional(),
  security: z.string().optional(),
  passphrase: z.string().optional(),
  psk: z.string().optional(),
  eap: eapInputSchema.optional(),
  hidden: z.boolean().optional(),
};
const rawSiteNetworkSchema = z.strictObject(rawSiteShape);
const rawNetworkInputSchema = z.strictObject({
  ...rawSiteShape,
  priority: z
    .number()
    .int()
    .refine(
      (p) => p >= PRIORITY_MIN && p <= PRIORITY_MAX,
      withCode('BAD_REQUEST', `priority must be an integer from ${PRIORITY_MIN} to ${PRIORITY_MAX}`),
    )
    .optional(),
  ipv4: staticIpv4Schema.optional(),
});
type RawSite = z.output<typeof rawSiteNetworkSchema>;

/** The secret as `schema` normalises it, or INVALID_PASSPHRASE on `path`. */
function secret(schema: z.ZodType<string, string>, value: string, path: 'passphrase' | 'psk'): string {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  return refuse('INVALID_PASSPHRASE', path, result.error.issues[0]?.message ?? 'invalid');
}

/** Exactly the credentials `security` needs, normalised; anything else refused with its code. */
function credentials(
  security: NetworkSecurity,
  passphrase: string | undefined,
  psk: string | undefined,
  eap: EapConfig | undefined,
): Pick<SiteNetwork, 'passphrase' | 'psk' | 'eap'> {
  if (eap !== undefined && !isEnterprise(security))
    refuse('INVALID_EAP', 'eap', `${security} takes no eap block; use wpa2-enterprise or wpa3-enterprise`);
  const given = passphrase !== undefined ? 'passphrase' : psk !== undefined ? 'psk' : undefined;
  switch (security) {
    case 'open':
      if (given !== undefined)
        refuse('INVALID_PASSPHRASE', given, 'An open network takes no passphrase or psk');
      return {};
    case 'wpa2-psk':
      if (passphrase !== undefined && psk !== undefined)
        refuse('INVALID_PASSPHRASE', 'psk', 'Give either passphrase or psk, not both');
      if (psk !== undefined) return { psk: secret(pskHexSchema, psk, 'psk') };
      if (passphrase !== undefined) return { passphrase: secret(passphraseSchema, passphrase, 'passphrase') };
      return refuse('INVALID_PASSPHRASE', 'passphrase', 'wpa2-psk needs a passphrase or a psk');
    case 'wpa3-sae':
      // SAE derives its keys from the password itself: a WPA2-style PSK cannot be used.
      if (psk !== undefined) refuse('INVALID_PASSPHRASE', 'psk', 'wpa3-sae takes a passphrase, not a psk');
      if (passphrase !== undefined)
        return { passphrase: secret(saePasswordSchema, passphrase, 'passphrase') };
      return refuse('INVALID_PASSPHRASE', 'passphrase', 'wpa3-sae needs a passphrase');
    case 'wpa2-enterprise':
    case 'wpa3-enterprise':
      // 802.1X credentials live in `eap`: a passphrase here is a mistake, not a fallback.
      if (given !== undefined)
        refuse('INVALID_PASSPHRASE', given, `${security} takes its password in eap.password, not ${given}`);
      if (eap === undefined) return refuse('INVALID_EAP', 'eap', `${security} needs an eap block`);
      return { eap };
  }
}

function judgeSite(raw: RawSite): SiteNetwork {
  if ((raw.ssid === undefined) === (raw.ssidHex === undefined))
    refuse('INVALID_SSID', 'ssid', 'Give exactly one of ssid (text) or ssidHex');
  const ssidHex = raw.ssidHex ?? ssidToHex(utf8Encode(raw.ssid ?? ''));
  // An empty string is what forms send for "no password": treat it as absent.
  const passphrase = raw.passphrase === '' ? undefined : raw.passphrase;
  const psk = raw.psk === '' ? undefined : raw.psk;
  const inferred =
    raw.eap !== undefined
      ? 'wpa2-enterprise'
      : passphrase !== undefined || psk !== undefined
        ? 'wpa2-psk'
        : 'open';
  const security = raw.security ?? inferred;
  if (!isNetworkSecurity(security))
    return refuse(
      'UNSUPPORTED_SECURITY',
      'security',
      `security must be one of ${NETWORK_SECURITY.join(', ')}`,
    );
  return {
    ssidHex,
    security,
    ...credentials(security, passphrase, psk, raw.eap),
    hidden: raw.hidden ?? false,
  };
}

/**
 * A site network (no priority, no per-device addressing), normalised as networkInputSchema does:
 * what a station profile reuses, so a profile holds nothing a device would refuse.
 */
export const siteNetworkSchema = rawSiteNetworkSchema.transform((raw, ctx): SiteNetwork => {
  // Unknown keys and nested blocks are reported by the object itself; judging the rest would only add noise.
  if (ctx.issues.length > 0) return z.NEVER;
  return judged(ctx, () => judgeSite(raw));
});
export type SiteNetworkRaw = z.input<typeof siteNetworkSchema>;

export const networkInputSchema = rawNetworkInputSchema.transform((raw, ctx): NetworkInput => {
  if (ctx.issues.length > 0) return z.NEVER;
  return judged(ctx, () => ({
    ...judgeSite(raw),
    priority: raw.priority ?? 0,
    ...(raw.ipv4 !== undefined ? { ipv4: raw.ipv4 } : {}),
  }));
});

/** What a client may send (before normalisation). */
export type NetworkInputRaw = z.input<typeof networkInputSchema>;

/** Parse one network or throw an AirliftError with the right code (INVALID_SSID, INVALID_EAP, ...). */
export function parseNetworkInput(value: unknown): NetworkInput {
  return parseOrThrow(networkInputSchema, value, 'network');
}

// ---- secrets -------------------------------------------------------------------------------------

/** Keys that hold a secret wherever they appear in a network (top level or `eap`): for log scrubbers and journals. */
export const NETWORK_SECRET_KEYS = ['passphrase', 'psk', ...EAP_SECRET_FIELDS] as const;
export type NetworkSecretKey = (typeof NETWORK_SECRET_KEYS)[number];

/** The secrets of a network, apart (what a station keeps in its secret store). */
export interface NetworkSecrets {
  passphrase?: string;
  psk?: string;
  eap?: Partial<Pick<EapConfig, EapSecretField>>;
}

/** A network without its secrets: what may be written to a profile file, a journal or a screen. */
export type WithoutSecrets<N extends SiteNetwork> = Omit<N, 'passphrase' | 'psk' | 'eap'> & {
  eap?: Omit<EapConfig, EapSecretField>;
};

/** Whether the field at `path` within a network (`['eap', 'password']`, `['psk']`) holds a secret. */
export function isSecretPath(path: readonly PropertyKey[]): boolean {
  const [first, second] = path;
  if (path.length === 1) return first === 'passphrase' || first === 'psk';
  return (
    path.length === 2 &&
    first === 'eap' &&
    (EAP_SECRET_FIELDS as readonly PropertyKey[]).includes(second ?? '')
  );
}

/** `o` without its undefined values (optional properties here are absent, never undefined). */
const defined = <T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };

/** A network split into what may be shown and stored openly, and its secrets. */
export function splitSecrets<N extends SiteNetwork>(
  network: N,
): { open: WithoutSecrets<N>; secrets: NetworkSecrets } {
  const { passphrase, psk, eap, ...rest } = network;
  const secrets: NetworkSecrets = defined({ passphrase, psk });
  if (eap === undefined) return { open: rest, secrets };
  const { password, clientKey, clientKeyPassphrase, ...openEap } = eap;
  const eapSecrets = defined({ password, clientKey, clientKeyPassphrase });
  return {
    open: { ...rest, eap: openEap },
    secrets: Object.keys(eapSecrets).length > 0 ? { ...secrets, eap: eapSecrets } : secrets,
  };
}

/** The inverse of `splitSecrets` (parse the result with siteNetworkSchema before trusting it). */
export function joinSecrets<N extends SiteNetwork>(
  open: WithoutSecrets<N>,
  secrets: NetworkSecrets,
): SiteNetwork {
  const { eap, ...rest } = open;
  const top = defined({ passphrase: secrets.passphrase, psk: secrets.psk });
  if (eap === undefined) return { ...rest, ...top };
  return { ...rest, ...top, eap: { ...eap, ...defined(secrets.eap ?? {}) } };
}

/**
 * The field a typed secret belongs in: for WPA2, 64 hex digits are a raw PSK and anything else a
 * passphrase; for WPA3-SAE every secret is a password (64 hex digits included). One rule for every
 * place a person types a secret: the CLIs, site profiles, the portal. Enterprise passwords go in
 * `eap.password` and are not filed here.
 */
export function classifySecret(
  security: NetworkSecurity | undefined,
  secret: string,
): { passphrase: string } | { psk: string } {
  return (security ?? 'wpa2-psk') === 'wpa2-psk' && /^[0-9a-fA-F]{64}$/.test(secret)
    ? { psk: secret }
    : { passphrase: secret };
}
