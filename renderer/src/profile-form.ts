/** The profile editor's rules, pure: what a typed password lacks, and what a heard network's security means. */
import { passphraseSchema, saePasswordSchema } from '../../shared/passphrase';
import { classifySecret } from '../../shared/protocol/network-input';
import type { NetworkSecurity } from '../../shared/protocol/wifi';
import type { HeardNetwork, Profile, SaveProfileParams } from '../../shared/station-api';

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
}

/** The saveProfile params for a draft: the password only when one was typed; picked names by their bytes. */
export function saveParams(d: ProfileDraft, askPassword: boolean): SaveProfileParams {
  return {
    ...(d.id ? { id: d.id } : {}),
    name: d.name.trim(),
    ...(d.ssidHex ? { ssidHex: d.ssidHex } : { ssid: d.ssid }),
    security: d.security,
    hidden: d.hidden,
    ...(askPassword && d.security !== 'open' ? { password: d.password } : {}),
    storage: d.storage,
  };
}

/** A heard network matching typed text exactly (then the draft uses its bytes). */
export function heardMatch(networks: readonly HeardNetwork[], ssid: string): HeardNetwork | undefined {
  return networks.find((n) => n.ssid === ssid);
}
