/**
 * NetworkManager's `802-1x.*` settings for an Enterprise network (shared/protocol/eap.ts), as the
 * arguments `nmcli connection add` appends, and the secrets as passwd-file lines
 * (`connection up ... passwd-file F`). Certificates and the private key are files the caller wrote
 * (0600, in a private directory it removes with the profile): NetworkManager takes a path, and the
 * key's bytes must never be in argv. The password and the key's passphrase are never in the profile:
 * NetworkManager asks nmcli's secret agent for them on activation, and nmcli answers from the file.
 *
 * Identities go in argv as they are: they are not secrets, there is no shell, and the shared
 * schema has already refused control characters.
 */
import type { EapConfig } from '../protocol/eap';
import type { NetworkSecurity } from '../protocol/wifi';
import { AirliftError } from '../errors';

/** Where the caller wrote the block's PEM files (each present exactly when the block has it). */
export interface EapFiles {
  caCert?: string | undefined;
  clientCert?: string | undefined;
  clientKey?: string | undefined;
}

/** The PEM files an `eap` block needs written, by name within the private directory. */
export function eapFileContents(eap: EapConfig): { name: keyof EapFiles; file: string; pem: string }[] {
  const out: { name: keyof EapFiles; file: string; pem: string }[] = [];
  if (eap.caCert !== undefined) out.push({ name: 'caCert', file: 'ca.pem', pem: eap.caCert });
  if (eap.clientCert !== undefined) out.push({ name: 'clientCert', file: 'client.pem', pem: eap.clientCert });
  if (eap.clientKey !== undefined) out.push({ name: 'clientKey', file: 'client.key', pem: eap.clientKey });
  return out;
}

/**
 * The `802-1x.*` arguments (and WPA3-Enterprise's required PMF) for `nmcli connection add`. No
 * secret: `password` and `private-key-password` come from the passwd-file.
 */
export function nm8021xArgs(security: NetworkSecurity, eap: EapConfig, files: EapFiles): string[] {
  const need = (path: string | undefined, what: string): string => {
    if (path === undefined) throw new AirliftError('INVALID_EAP', `${what} was not written`);
    return path;
  };
  const args = ['802-1x.eap', eap.method, '802-1x.identity', eap.identity];
  if (eap.anonymousIdentity !== undefined) args.push('802-1x.anonymous-identity', eap.anonymousIdentity);
  if (eap.phase2 !== undefined) args.push('802-1x.phase2-auth', eap.phase2);
  if (eap.caCert !== undefined) args.push('802-1x.ca-cert', need(files.caCert, 'the CA certificate'));
  // Without a CA nothing may be checked, not even the system store: the technician said so.
  else args.push('802-1x.system-ca-certs', 'no');
  if (eap.domainMatch !== undefined) args.push('802-1x.domain-suffix-match', eap.domainMatch);
  if (eap.method === 'tls') {
    args.push('802-1x.client-cert', need(files.clientCert, 'the client certificate'));
    args.push('802-1x.private-key', need(files.clientKey, 'the client key'));
    // An unencrypted key has no password to ask for: "not required" (NM_SETTING_SECRET_FLAG_NOT_REQUIRED).
    if (eap.clientKeyPassphrase === undefined) args.push('802-1x.private-key-password-flags', '4');
  } else {
    // Asked of the secret agent at activation, never stored in the profile (NOT_SAVED).
    args.push('802-1x.password-flags', '2');
  }
  if (security === 'wpa3-enterprise') args.push('802-11-wireless-security.pmf', '3');
  return args;
}

/** A passwd-file line: `setting.key:value`, the value escaped as nmcli unescapes it. */
function passwdLine(key: string, secret: string): string {
  if (/[\r\n\0]/.test(secret))
    throw new AirliftError('INVALID_PASSPHRASE', 'An Enterprise secret must not contain CR, LF or NUL');
  const octal = (c: string) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`;
  const value = secret
    .replace(/\\/g, '\\\\')
    .replace(/^[ \t\v\f]+/, (ws) => ws.replace(/[ \t\v\f]/g, octal))
    .replace(/[ \t\v\f]+$/, (ws) => ws.replace(/[ \t\v\f]/g, octal));
  return `${key}:${value}\n`;
}

/** The passwd-file for an Enterprise activation: the password or the key's passphrase; '' when none. */
export function eapPasswdFile(eap: EapConfig): string {
  let text = '';
  if (eap.password !== undefined) text += passwdLine('802-1x.password', eap.password);
  if (eap.clientKeyPassphrase !== undefined)
    text += passwdLine('802-1x.private-key-password', eap.clientKeyPassphrase);
  return text;
}

/** The secrets of a block, for the runner's redaction of any output that might echo them. */
export function eapSecrets(eap: EapConfig): string[] {
  return [eap.password, eap.clientKeyPassphrase].filter((s): s is string => s !== undefined && s !== '');
}
