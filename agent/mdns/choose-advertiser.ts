/**
 * Which mDNS advertiser the agent uses (docs/decisions/0002): Avahi when avahi-daemon runs (one
 * responder per host, RFC 6762 §15), the embedded ciao responder otherwise.
 */
import { statSync } from 'node:fs';
import { AirliftError } from '../../shared/errors';
import type { AdvertiserPort } from '../ports/advertiser';
import { AvahiAdvertiser, DEFAULT_AVAHI_SERVICES_DIR } from './avahi-advertiser';
import type { AvahiHostNameOptions } from './avahi-host-name';
import { CiaoAdvertiser, type CiaoAdvertiserOptions } from './ciao-advertiser';

export const DEFAULT_AVAHI_SOCKET = '/run/avahi-daemon/socket';
export const ADVERTISER_MODES = ['auto', 'avahi', 'embedded'] as const;
export type AdvertiserMode = (typeof ADVERTISER_MODES)[number];

export interface ChooseAdvertiserOptions {
  mode: AdvertiserMode;
  avahiServicesDir?: string;
  /** avahi-daemon creates this socket while it runs and removes it when it exits. */
  avahiSocketPath?: string;
  /** Passed to the embedded responder. */
  embedded?: CiaoAdvertiserOptions;
  /**
   * Findings of the Avahi host-name publisher (a missing avahi-publish, a conflict), and the
   * embedded responder advertising again after an address change.
   */
  log?: AvahiHostNameOptions['log'];
}

/** Whether avahi-daemon is running, judged by its socket (present only while the daemon runs). */
export function avahiRunning(socketPath: string = DEFAULT_AVAHI_SOCKET): boolean {
  try {
    return statSync(socketPath, { throwIfNoEntry: false })?.isSocket() ?? false;
  } catch {
    // EACCES on a parent directory and the like: treat as "no daemon we can use".
    return false;
  }
}

export function chooseAdvertiser(options: ChooseAdvertiserOptions): AdvertiserPort {
  const avahi = (): AdvertiserPort =>
    new AvahiAdvertiser({
      servicesDir: options.avahiServicesDir ?? DEFAULT_AVAHI_SERVICES_DIR,
      hostName: options.log ? { log: options.log } : {},
    });
  const embedded = (): AdvertiserPort => new CiaoAdvertiser({ log: options.log, ...options.embedded });
  switch (options.mode) {
    case 'avahi':
      // Forced: errors (no services directory, no permission) surface at start() with their cause.
      return avahi();
    case 'embedded':
      return embedded();
    case 'auto':
      // Two responders on one host fight over port 5353 and unicast replies (RFC 6762 §15).
      return avahiRunning(options.avahiSocketPath ?? DEFAULT_AVAHI_SOCKET) ? avahi() : embedded();
    default:
      throw new AirliftError(
        'INVALID_CONFIG',
        `Unknown mDNS advertiser mode "${String(options.mode)}" (expected ${ADVERTISER_MODES.join(', ')})`,
      );
  }
}
