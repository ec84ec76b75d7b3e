/**
 * The 802.1X block of a `wpa2-enterprise` / `wpa3-enterprise` network (the `eap` key of a network,
 * shared/protocol/network-input.ts): the method, who the device is, and how it checks the server.
 *
 * - `peap` and `ttls` authenticate with `identity` and `password` inside a TLS tunnel; `phase2` is
 *   the inner method (`mschapv2` by default; TTLS also takes `pap`).
 * - `tls` authenticates with a client certificate (`clientCert`) and its private key (`clientKey`,
 *   with `clientKeyPassphrase` when the key is encrypted); `identity` is still sent.
 * - The server is checked against `caCert` (one or more PEM certificates), and its name against
 *   `domainMatch` (a DNS suffix) when given. Without a CA nothing checks who answers, so anyone who
 *   runs an access point with the same SSID collects the password: a missing `caCert` is refused
 *   unless `insecureNoCaValidation: true` says the technician chose it (and the device shows it).
 *
 * Secrets (EAP_SECRET_FIELDS): `password`, `clientKey`, `clientKeyPassphrase`. Certificates are
 * public. Text fields refuse control characters; PEM is checked by shared/pem.ts and comes out
 * written anew. Parsing the output again gives the same output.
 */
import { z } from 'zod';
import { utf8Encode } from '../encoding';
import type { ErrorCode } from '../errors';
import { checkCertificatesPem, checkPrivateKeyPem, type PemCheck } from '../pem';
import { hasLoneSurrogate } from '../ssid';
import { judged, refuse, withCode } from '../validate';

export const EAP_METHODS = ['peap', 'ttls', 'tls'] as const;
export type EapMethod = (typeof EAP_METHODS)[number];
export const eapMethodSchema = z.enum(EAP_METHODS);

/** Inner authentication of PEAP (EAP-MSCHAPv2) and TTLS (MSCHAPv2 or PAP). */
export const EAP_PHASE2 = ['mschapv2', 'pap'] as const;
export type EapPhase2 = (typeof EAP_PHASE2)[number];

/** The inner methods each tunnelled method takes; the first is the default. */
export const PHASE2_OF: Readonly<Record<'peap' | 'ttls', readonly EapPhase2[]>> = {
  peap: ['mschapv2'],
  ttls: ['mschapv2', 'pap'],
};

export const EAP_LIMITS = {
  /** RFC 7542: a network access identifier is at most 253 octets. */
  identityBytes: 253,
  /** RFC 2865: RADIUS carries at most 128 octets of User-Password. */
  passwordBytes: 128,
  keyPassphraseBytes: 128,
  domainChars: 253,
  /** PEM text as given (explanatory text included). Sized so one wifi.set fits its RPC record. */
  caCertChars: 16 * 1024,
  clientCertChars: 8 * 1024,
  clientKeyChars: 8 * 1024,
  /** Certificates in the CA bundle, and in the client certificate with its chain. */
  caCerts: 8,
  clientCerts: 4,
} as const;

/** The fields of an `eap` block that are secrets: never logged, listed, journalled or reported. */
export const EAP_SECRET_FIELDS = ['password', 'clientKey', 'clientKeyPassphrase'] as const;
export type EapSecretField = (typeof EAP_SECRET_FIELDS)[number];

/** An `eap` block as the agent stores and the backends configure it. */
export interface EapConfig {
  method: EapMethod;
  /** PEAP and TTLS only. */
  phase2?: EapPhase2;
  /** The identity (user name) the server authenticates. */
  identity: string;
  /** The outer identity sent before the tunnel is up (e.g. `anonymous@example.org`). */
  anonymousIdentity?: string;
  /** PEAP and TTLS only. Secret. */
  password?: string;
  /** The CA certificate(s) the server's certificate must chain to, as PEM written anew. */
  caCert?: string;
  /** EAP-TLS only: the device's certificate (with its chain), PEM. */
  clientCert?: string;
  /** EAP-TLS only: the certificate's private key, PEM. Secret. */
  clientKey?: string;
  /** The passphrase of an encrypted `clientKey`. Secret. */
  clientKeyPassphrase?: string;
  /** A DNS suffix the server certificate's name must end with (lowercase). */
  domainMatch?: string;
  /** The technician chose to join without checking the server: no CA. */
  insecureNoCaValidation?: true;
}

/** How a device checks the server it authenticates to, as `wifi.list` and reports show it. */
export const SERVER_VALIDATION = ['ca-and-domain', 'ca', 'none'] as const;
export type ServerValidation = (typeof SERVER_VALIDATION)[number];

export function serverValidationOf(eap: {
  caCert?: string | undefined;
  domainMatch?: string | undefined;
}): ServerValidation {
  if (eap.caCert === undefined) return 'none';
  return eap.domainMatch === undefined ? 'ca' : 'ca-and-domain';
}

// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\x00-\x1f\x7f]/;
const DOMAIN_RE = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** Why `text` cannot be an identity or password of at most `maxBytes`, or undefined. */
export function eapTextProblem(what: string, text: string, maxBytes: number): string | undefined {
  if (text.length === 0) return `${what} is empty`;
  if (hasLoneSurrogate(text)) return `${what} is not valid Unicode (unpaired surrogate)`;
  // Control characters break the config formats they go into (a newline ends a wpa_supplicant line).
  if (CONTROL_RE.test(text)) return `${what} must not contain control characters (newline, tab, NUL, DEL)`;
  const bytes = utf8Encode(text).length;
  if (bytes > maxBytes) return `${what} is ${bytes} bytes in UTF-8; at most ${maxBytes} are allowed`;
  return undefined;
}

// Forms send "" for a field left blank: such fields are absent.
const optionalText = z
  .string()
  .optional()
  .transform((s) => (s === '' ? undefined : s));

/** PEM text capped before it is read, so a huge paste costs nothing to refuse. */
const pemText = (field: string, maxChars: number) =>
  optionalText.refine(
    (s) => s === undefined || s.length <= maxChars,
    withCode('INVALID_CERTIFICATE', `${field} is longer than ${maxChars} characters`),
  );

// Unknown keys are refused: a misspelt `caCert` must not quietly mean "no server validation".
const rawEapSchema = z.strictObject({
  method: z.string(),
  phase2: optionalText,
  identity: z.string(),
  anonymousIdentity: optionalText,
  password: optionalText,
  caCert: pemText('caCert', EAP_LIMITS.caCertChars),
  clientCert: pemText('clientCert', EAP_LIMITS.clientCertChars),
  clientKey: pemText('clientKey', EAP_LIMITS.clientKeyChars),
  clientKeyPassphrase: optionalText,
  domainMatch: optionalText,
  insecureNoCaValidation: z.literal(true, { error: 'insecureNoCaValidation is true or absent' }).optional(),
});

/** What a client may send as `eap` (before normalisation). */
export type EapInputRaw = z.input<typeof rawEapSchema>;
type RawEap = z.output<typeof rawEapSchema>;

function isMethod(value: string): value is EapMethod {
  return (EAP_METHODS as readonly string[]).includes(value);
}

/** The PEM `check` wrote anew, or INVALID_CERTIFICATE on `path` with what was wrong. */
function pem(path: string, check: PemCheck): string {
  if ('problem' in check) return refuse('INVALID_CERTIFICATE', path, `${path}: ${check.problem}`);
  return check.pem;
}

function text(code: ErrorCode, path: string, value: string, maxBytes: number): string {
  const problem = eapTextProblem(path, value, maxBytes);
  return problem === undefined ? value : refuse(code, path, problem);
}

/** PEAP/TTLS: the inner method and the password; no client certificate. */
function tunnelled(raw: RawEap, method: 'peap' | 'ttls'): Pick<EapConfig, 'phase2' | 'password'> {
  const allowed = PHASE2_OF[method];
  const phase2 = allowed.find((p) => p === (raw.phase2 ?? allowed[0]));
  if (phase2 === undefined)
    return refuse('INVALID_EAP', 'phase2', `${method} takes phase2 ${allowed.join(' or ')}`);
  if (raw.clientCert !== undefined || raw.clientKey !== undefined || raw.clientKeyPassphrase !== undefined)
    refuse(
      'INVALID_EAP',
      'clientCert',
      `${method} authenticates with a password; a client certificate is for tls`,
    );
  if (raw.password === undefined)
    return refuse('INVALID_PASSPHRASE', 'password', `${method} needs a password`);
  return { phase2, password: text('INVALID_PASSPHRASE', 'password', raw.password, EAP_LIMITS.passwordBytes) };
}

/** EAP-TLS: the client certificate and its key (with its passphrase when encrypted); no password. */
function clientTls(raw: RawEap): Pick<EapConfig, 'clientCert' | 'clientKey' | 'clientKeyPassphrase'> {
  if (raw.phase2 !== undefined) refuse('INVALID_EAP', 'phase2', 'tls has no phase2');
  if (raw.password !== undefined)
    refuse('INVALID_EAP', 'password', 'tls authenticates with a client certificate, not a password');
  if (raw.clientCert === undefined)
    return refuse('INVALID_CERTIFICATE', 'clientCert', 'tls needs clientCert');
  if (raw.clientKey === undefined) return refuse('INVALID_CERTIFICATE', 'clientKey', 'tls needs clientKey');
  const clientCert = pem('clientCert', checkCertificatesPem(raw.clientCert, EAP_LIMITS.clientCerts));
  const key = checkPrivateKeyPem(raw.clientKey);
  const clientKey = pem('clientKey', key);
  const encrypted = 'encrypted' in key && key.encrypted;
  const passphrase = raw.clientKeyPassphrase;
  if (encrypted && passphrase === undefined)
    refuse('INVALID_PASSPHRASE', 'clientKeyPassphrase', 'clientKey is encrypted: give clientKeyPassphrase');
  if (!encrypted && passphrase !== undefined)
    refuse(
      'INVALID_PASSPHRASE',
      'clientKeyPassphrase',
      'clientKey is not encrypted: leave out clientKeyPassphrase',
    );
  if (passphrase === undefined) return { clientCert, clientKey };
  const checked = text(
    'INVALID_PASSPHRASE',
    'clientKeyPassphrase',
    passphrase,
    EAP_LIMITS.keyPassphraseBytes,
  );
  return { clientCert, clientKey, clientKeyPassphrase: checked };
}

/** The server check: a CA (and optionally a domain), or the explicit opt-out and neither. */
function serverCheck(raw: RawEap): Pick<EapConfig, 'caCert' | 'domainMatch' | 'insecureNoCaValidation'> {
  if (raw.insecureNoCaValidation === true) {
    if (raw.caCert !== undefined)
      refuse('INVALID_EAP', 'insecureNoCaValidation', 'Give caCert or insecureNoCaValidation, not both');
    if (raw.domainMatch !== undefined)
      refuse('INVALID_EAP', 'domainMatch', 'domainMatch needs caCert: without a CA no name is checked');
    return { insecureNoCaValidation: true };
  }
  if (raw.caCert === undefined)
    return refuse(
      'INVALID_EAP',
      'caCert',
      "caCert is required to check the network's server; to join without checking it, set insecureNoCaValidation: true",
    );
  const caCert = pem('caCert', checkCertificatesPem(raw.caCert, EAP_LIMITS.caCerts));
  if (raw.domainMatch === undefined) return { caCert };
  const domain = raw.domainMatch.toLowerCase().replace(/\.$/, '');
  if (domain.length > EAP_LIMITS.domainChars || !DOMAIN_RE.test(domain))
    refuse('INVALID_EAP', 'domainMatch', 'domainMatch must be a DNS name such as radius.example.org');
  return { caCert, domainMatch: domain };
}

/** The `eap` block judged: every rule in the module comment, the first one broken refused with its code. */
function judgeEap(raw: RawEap): EapConfig {
  if (!isMethod(raw.method))
    return refuse('INVALID_EAP', 'method', `method must be one of ${EAP_METHODS.join(', ')}`);
  const identity = text('INVALID_EAP', 'identity', raw.identity, EAP_LIMITS.identityBytes);
  const anonymous = raw.anonymousIdentity;
  if (anonymous !== undefined) text('INVALID_EAP', 'anonymousIdentity', anonymous, EAP_LIMITS.identityBytes);
  const credentials = raw.method === 'tls' ? clientTls(raw) : tunnelled(raw, raw.method);
  return {
    method: raw.method,
    identity,
    ...(anonymous !== undefined ? { anonymousIdentity: anonymous } : {}),
    ...credentials,
    ...serverCheck(raw),
  };
}

/** The `eap` block, normalised: defaults filled in, PEM written anew. */
export const eapInputSchema = rawEapSchema.transform((raw, ctx): EapConfig => {
  // Unknown keys and wrong types are reported by the object itself.
  if (ctx.issues.length > 0) return z.NEVER;
  return judged(ctx, () => judgeEap(raw));
});
