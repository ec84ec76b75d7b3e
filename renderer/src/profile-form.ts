/**
 * The profile editor's rules, pure: what a typed password lacks, what a heard network's security
 * means, and an Enterprise block's and static IPv4's problems in the shared schemas' words.
 */
import { passphraseSchema, saePasswordSchema } from '../../shared/passphrase';
import { checkCertificatesPem, checkPrivateKeyPem } from '../../shared/pem';
import {
  EAP_LIMITS,
  eapTextProblem,
  PHASE2_OF,
  type EapMethod,
  type EapPhase2,
} from '../../shared/protocol/eap';
import { classifySecret } from '../../shared/protocol/network-input';
import { staticIpv4Schema } from '../../shared/protocol/static-ipv4';
import { isEnterprise, type NetworkSecurity } from '../../shared/protocol/wifi';
import type { HeardNetwork, Profile, ProfileEap, SaveProfileParams } from '../../shared/station-api';

export const SECURITY_LABELS: Record<NetworkSecurity, string> = {
  open: 'Open (no password)',
  'wpa2-psk': 'WPA2 personal (also WPA2/WPA3 mixed)',
  'wpa3-sae': 'WPA3 personal only (SAE)',
  'wpa2-enterprise': 'WPA2 Enterprise (802.1X)',
  'wpa3-enterprise': 'WPA3 Enterprise (802.1X)',
};

/** The problem with a typed password for this security, in words; undefined when it is fine. */
export function passwordProblem(security: NetworkSecurity, password: string): string | undefined {
  if (security === 'open') return undefined;
  if (password === '') return 'Type the network password';
  const secret = classifySecret(security, password);
  if ('psk' in secret) return undefined; // a raw WPA2 PSK
  if (security === 'wpa2-psk') {
    const r = passphraseSchema.safeParse(password);
    return r.success ? undefined : r.error.issues[0]?.message;
  }
  const r = saePasswordSchema.safeParse(password);
  return r.success ? undefined : r.error.issues[0]?.message;
}

/** A scan's security label as the profile's security (WPA2/WPA3 mixed is joined as WPA2). */
export function securityOfHeard(security: string): NetworkSecurity | undefined {
  const s = security.toLowerCase();
  if (s === 'open' || s === 'owe') return 'open';
  if (s.includes('enterprise') || s.includes('eap') || s.includes('802.1x')) return 'wpa2-enterprise';
  if (s === 'wpa3-sae' || s === 'sae' || s === 'wpa3') return 'wpa3-sae';
  if (s.includes('wpa')) return 'wpa2-psk';
  return undefined;
}

export type PasswordView =
  | { kind: 'none' } // open network
  | { kind: 'held'; storage: 'session' | 'keychain' }
  | { kind: 'unreadable' }
  | { kind: 'ask' };

/** What the password part of the editor shows for a saved profile (never the password). */
export function passwordView(
  profile: Profile | undefined,
  security: NetworkSecurity,
  replacing: boolean,
): PasswordView {
  if (security === 'open') return { kind: 'none' };
  if (!profile || replacing) return { kind: 'ask' };
  if (profile.password.unreadable) return { kind: 'unreadable' };
  if (profile.password.held) return { kind: 'held', storage: profile.password.storage ?? 'session' };
  return { kind: 'ask' };
}

/**
 * An Enterprise block as typed. Secrets and certificates are what was typed or picked now: `''`
 * keeps what the station holds (the UI never has a saved one).
 */
export interface EapDraft {
  method: EapMethod;
  phase2: EapPhase2;
  identity: string;
  anonymousIdentity: string;
  password: string;
  /** PEM pasted or read from a picked file. */
  caCert: string;
  domainMatch: string;
  clientCert: string;
  clientKey: string;
  clientKeyPassphrase: string;
  /** The explicit opt-out: devices will not check the server. */
  noCa: boolean;
}

export interface Ipv4Draft {
  on: boolean;
  /** `a.b.c.d/nn` */
  address: string;
  gateway: string;
  /** Comma-separated. */
  dns: string;
}

export interface ProfileDraft {
  id?: string | undefined;
  name: string;
  ssid: string;
  /** Set when the name was picked from what the devices hear: the exact bytes. */
  ssidHex?: string | undefined;
  security: NetworkSecurity;
  hidden: boolean;
  password: string;
  storage: 'session' | 'keychain';
  eap: EapDraft;
  ipv4: Ipv4Draft;
}

export function eapDraftOf(e: ProfileEap | undefined): EapDraft {
  return {
    method: e?.method ?? 'peap',
    phase2: e?.phase2 ?? 'mschapv2',
    identity: e?.identity ?? '',
    anonymousIdentity: e?.anonymousIdentity ?? '',
    password: '',
    caCert: '',
    domainMatch: e?.domainMatch ?? '',
    clientCert: '',
    clientKey: '',
    clientKeyPassphrase: '',
    noCa: e?.serverValidation === 'none',
  };
}

export function ipv4DraftOf(p: Profile | undefined): Ipv4Draft {
  const v = p?.ipv4;
  return v
    ? { on: true, address: `${v.address}/${v.prefixLength}`, gateway: v.gateway ?? '', dns: v.dns.join(', ') }
    : { on: false, address: '', gateway: '', dns: '' };
}

export type EapField =
  | 'identity'
  | 'anonymousIdentity'
  | 'password'
  | 'caCert'
  | 'clientCert'
  | 'clientKey'
  | 'clientKeyPassphrase';

/**
 * What the Enterprise part lacks, by field, in the shared rules' words; `held` is the saved
 * profile's view (what the station has, for the same method, so a blank field is fine).
 */
export function eapProblems(
  d: EapDraft,
  held: ProfileEap | undefined,
  passwordHeld: boolean,
): Partial<Record<EapField, string>> {
  const same = held?.method === d.method ? held : undefined;
  const out: Partial<Record<EapField, string>> = {};
  const textProblem = (field: EapField, what: string, value: string, max: number) => {
    const p = eapTextProblem(what, value, max);
    if (p !== undefined) out[field] = p;
  };
  textProblem('identity', 'The identity', d.identity, EAP_LIMITS.identityBytes);
  if (d.anonymousIdentity !== '')
    textProblem('anonymousIdentity', 'The anonymous identity', d.anonymousIdentity, EAP_LIMITS.identityBytes);
  if (d.method !== 'tls') {
    if (d.password === '') {
      if (!(same && passwordHeld)) out.password = 'Type the password';
    } else textProblem('password', 'The password', d.password, EAP_LIMITS.passwordBytes);
  }
  if (!d.noCa) {
    if (d.caCert === '') {
      if (!same?.caCertSet)
        out.caCert = "Add the site's CA certificate, or choose not to validate the server";
    } else {
      const c = checkCertificatesPem(d.caCert, EAP_LIMITS.caCerts);
      if ('problem' in c) out.caCert = c.problem;
    }
  }
  if (d.method === 'tls') {
    if (d.clientCert === '') {
      if (!same?.clientCertSet) out.clientCert = 'Pick the device’s client certificate';
    } else {
      const c = checkCertificatesPem(d.clientCert, EAP_LIMITS.clientCerts);
      if ('problem' in c) out.clientCert = c.problem;
    }
    if (d.clientKey === '') {
      if (!same?.clientKeySet) out.clientKey = 'Pick the client certificate’s private key';
    } else {
      const k = checkPrivateKeyPem(d.clientKey);
      if ('problem' in k) out.clientKey = k.problem;
      else if (k.encrypted && d.clientKeyPassphrase === '')
        out.clientKeyPassphrase = 'This key is encrypted: type its passphrase';
      else if (!k.encrypted && d.clientKeyPassphrase !== '')
        out.clientKeyPassphrase = 'This key is not encrypted: leave the passphrase empty';
    }
  }
  return out;
}

/** Static IPv4 as the shared schema judges it: the first problem and its field, or undefined. */
export function ipv4Problem(
  d: Ipv4Draft,
): { field: 'address' | 'gateway' | 'dns'; message: string } | undefined {
  if (!d.on) return undefined;
  if (d.address.trim() === '')
    return { field: 'address', message: 'Type the address and prefix, e.g. 192.168.10.20/24' };
  const r = staticIpv4Schema.safeParse(ipv4Raw(d));
  if (r.success) return undefined;
  const issue = r.error.issues[0];
  const at = issue?.path[0];
  return {
    field: at === 'gateway' || at === 'dns' ? at : 'address',
    message: issue?.message ?? 'Not a usable address',
  };
}

function ipv4Raw(d: Ipv4Draft): NonNullable<SaveProfileParams['ipv4']> {
  const dns = d.dns
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return {
    address: d.address.trim(),
    ...(d.gateway.trim() !== '' ? { gateway: d.gateway.trim() } : {}),
    dns,
  };
}

function eapParams(d: EapDraft): NonNullable<SaveProfileParams['eap']> {
  const opt = (v: string) => (v.trim() === '' ? undefined : v);
  const fields = {
    ...(d.method === 'tls' ? {} : { phase2: PHASE2_OF[d.method].includes(d.phase2) ? d.phase2 : 'mschapv2' }),
    anonymousIdentity: opt(d.anonymousIdentity),
    password: d.method === 'tls' ? undefined : opt(d.password),
    caCert: d.noCa ? undefined : opt(d.caCert),
    domainMatch: d.noCa ? undefined : opt(d.domainMatch),
    clientCert: d.method === 'tls' ? opt(d.clientCert) : undefined,
    clientKey: d.method === 'tls' ? opt(d.clientKey) : undefined,
    clientKeyPassphrase: d.method === 'tls' ? opt(d.clientKeyPassphrase) : undefined,
  };
  return {
    method: d.method,
    identity: d.identity,
    ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)),
    ...(d.noCa ? { insecureNoCaValidation: true, clearCaCert: true } : {}),
  };
}

/** The saveProfile params for a draft: the password only when one was typed; picked names by their bytes. */
export function saveParams(d: ProfileDraft, askPassword: boolean): SaveProfileParams {
  const enterprise = isEnterprise(d.security);
  return {
    ...(d.id ? { id: d.id } : {}),
    name: d.name.trim(),
    ...(d.ssidHex ? { ssidHex: d.ssidHex } : { ssid: d.ssid }),
    security: d.security,
    hidden: d.hidden,
    ...(askPassword && d.security !== 'open' && !enterprise ? { password: d.password } : {}),
    ...(enterprise ? { eap: eapParams(d.eap) } : {}),
    ...(d.ipv4.on ? { ipv4: ipv4Raw(d.ipv4) } : {}),
    storage: d.storage,
  };
}

/** A heard network matching typed text exactly (then the draft uses its bytes). */
export function heardMatch(networks: readonly HeardNetwork[], ssid: string): HeardNetwork | undefined {
  return networks.find((n) => n.ssid === ssid);
}
