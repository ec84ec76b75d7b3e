/**
 * Why a device failed, in a technician's words: what happened and what to do about it. The tokens
 * are FAILURE_REASONS (shared/protocol/job.ts): the device's own connection reasons (protocol.md)
 * and the station's; the report groups failures by token, and the UI, the CLI and the exported
 * report explain each group with these texts. Every reason has its text: one without fails typecheck.
 */
import { isFailureReason, type FailureReason } from './protocol/job';

export interface ReasonHelp {
  /** What happened, in a few words. */
  title: string;
  /** What to do next. */
  fix: string;
  /** Whose side the problem is on: the target network, the device, or the station's surroundings. */
  where: 'network' | 'device' | 'station';
}

export const FAILURE_REASON_HELP: Readonly<Record<FailureReason, ReasonHelp>> = {
  // The device's own reasons for not joining the target.
  auth_failed: {
    title: 'Wrong network password',
    fix: "The target network refused the password (on an Enterprise network: the identity or password). Check the profile's credentials and security, then retry the group.",
    where: 'network',
  },
  eap_failed: {
    title: 'Enterprise sign-in failed',
    fix: "The network's authentication server did not complete the EAP exchange: the method or inner method (PEAP, TTLS, TLS; MSCHAPv2, PAP) may not be the one the site uses, or the server did not answer. Check the profile's EAP method with the site's IT, then retry.",
    where: 'network',
  },
  cert_rejected: {
    title: 'Certificate check failed',
    fix: "The network's server certificate did not match the profile's CA certificate or domain, or the server refused the device's client certificate. Get the site's current CA (and domain) or a valid client certificate, and check the device's clock (certificates have validity dates), then retry.",
    where: 'network',
  },
  ssid_not_found: {
    title: 'Target network not found',
    fix: 'The device could not see the network when it tried. Check the network name, whether it is hidden, and that the device is in range.',
    where: 'network',
  },
  assoc_rejected: {
    title: 'Access point refused the device',
    fix: 'The access point rejected the association (MAC filter, client limit or band). Check the access point, then retry.',
    where: 'network',
  },
  dhcp_timeout: {
    title: 'No address from the network',
    fix: 'The device joined but got no DHCP lease. Check the DHCP server and its free addresses, then retry.',
    where: 'network',
  },
  no_internet: {
    title: 'Joined, but no internet',
    fix: "The device joined and got an address, but its connectivity checks failed. Check the site's internet access or firewall.",
    where: 'network',
  },
  timeout: {
    title: 'The join took too long',
    fix: 'The device gave up joining in time. Move it closer to the access point or raise the join timeout, then retry.',
    where: 'device',
  },
  hardware: {
    title: "The device's Wi-Fi failed",
    fix: "The device's radio or its Wi-Fi software failed. Run `airliftctl doctor` on it, reboot it, then retry.",
    where: 'device',
  },
  not_confirmed: {
    title: 'Not confirmed in time; reverted',
    fix: 'The device joined but the station did not confirm it before its fail-safe ran out, so it went back. Retry; raise the fail-safe time on a slow network.',
    where: 'station',
  },
  interrupted: {
    title: 'Interrupted by a restart',
    fix: 'The device restarted while trying the network and went back to its previous one. Retry.',
    where: 'device',
  },
  // The station's reasons.
  unreachable: {
    title: 'Could not reach the device',
    fix: "The station could not join the device's setup network or reach its API. Check it is powered and in setup mode, move the adapter closer, then retry.",
    where: 'station',
  },
  not_rediscovered: {
    title: 'Did not reappear on the network',
    fix: 'The device took the credentials but was not seen on the target network, nor back in setup mode. Check the station is on the target network and that mDNS crosses it (client isolation blocks it), then retry.',
    where: 'station',
  },
  weak_signal: {
    title: 'Target signal too weak',
    fix: 'The device hears the target network below the minimum signal. Move it or the access point, or lower the minimum in Settings.',
    where: 'network',
  },
  target_not_seen: {
    title: 'Device does not hear the target',
    fix: 'The device does not see the target network at all. Check the network name and band (some devices are 2.4 GHz only), or whether it is hidden.',
    where: 'network',
  },
  auth_failed_setup: {
    title: 'Wrong setup secret',
    fix: 'The device refused the setup secret. Check the manifest or label matches this device (the id is printed on it), then retry.',
    where: 'station',
  },
  session_failed: {
    title: 'Secure session failed',
    fix: 'The secure session to the device broke off. Retry; if it persists, update the device agent.',
    where: 'station',
  },
  rejected: {
    title: 'Device refused the network',
    fix: 'The device refused the settings (for example WPA3 on a radio without it). The detail says which; change the profile, then retry.',
    where: 'device',
  },
  commit_failed: {
    title: 'Confirmation failed',
    fix: 'The device was seen on the target network but refused the confirmation. It reverts after its fail-safe; retry.',
    where: 'station',
  },
  cancelled: {
    title: 'Cancelled',
    fix: 'The job was cancelled before this device finished. Retry the group to run it again.',
    where: 'station',
  },
  locked_out: {
    title: 'Device locked after failed attempts',
    fix: 'Too many wrong setup secrets were tried on this device. On the device, run `airliftctl reset-lockout` (or use its reset button), then retry with the right secret.',
    where: 'device',
  },
  setup_closed: {
    title: 'Setup window closed',
    fix: 'The device closed setup after repeated wrong secrets. It reopens when the device has been online and enters setup again, or with `airliftctl reset-lockout` on the device.',
    where: 'device',
  },
  rate_limited: {
    title: 'Device is slowing down attempts',
    fix: 'Several wrong secrets were tried recently, so the device is delaying handshakes. Wait a minute, check the secret, then retry.',
    where: 'device',
  },
  device_mismatch: {
    title: 'A different device answered',
    fix: 'Another device answered at the expected address. Check for a duplicate device id, then retry.',
    where: 'station',
  },
  device_error: {
    title: 'The device reported an unknown error',
    fix: 'The device answered with a reason this station does not know; the detail has its words. Update the station or the device agent.',
    where: 'device',
  },
  device_busy: {
    title: 'Device kept busy by another handshake',
    fix: 'Something else kept opening sessions with the device (a phone on its setup page, another station). Stop it, then retry.',
    where: 'device',
  },
  station_error: {
    title: 'The station failed for this device',
    fix: 'The station could not record or finish this device (the detail says why, for example a full disk). Fix that, then retry the group.',
    where: 'station',
  },
};

/**
 * Tokens that are not failure reasons but are explained the same way: the registry's warning for a
 * device whose setup secret the station does not have.
 */
const OTHER_HELP: Readonly<Record<string, ReasonHelp>> = {
  no_secret: {
    title: 'No setup secret',
    fix: "Import the device's manifest or scan its label, then retry.",
    where: 'station',
  },
};

export type KnownFailureReason = FailureReason;

export function isKnownFailureReason(reason: string): reason is FailureReason {
  return isFailureReason(reason);
}

/** The help for a reason; an unknown token is shown as it is, with a generic next step. */
export function explainReason(reason: string): ReasonHelp {
  if (isFailureReason(reason)) return FAILURE_REASON_HELP[reason];
  if (Object.hasOwn(OTHER_HELP, reason)) return OTHER_HELP[reason] as ReasonHelp;
  return {
    title: reason.replaceAll('_', ' '),
    fix: "See the device's detail line, then retry the group.",
    where: 'device',
  };
}
