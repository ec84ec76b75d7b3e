/** mDNS/DNS-SD advertisement of `_airlift._tcp` (protocol.md, "Discovery"). */

export interface Advertisement {
  /** Instance name, `Airlift <deviceId>`. */
  instance: string;
  /** Host label without `.local`, `airlift-<id lowercase>` by default. */
  hostname: string;
  port: number;
  txt: Record<string, string>;
  /** Restrict to these interfaces; undefined: every interface with a usable address. */
  interfaces?: string[];
}

export interface AdvertiserPort {
  readonly kind: 'avahi' | 'embedded' | 'sim';
  start(ad: Advertisement): Promise<void>;
  /** Replace the TXT record (state changes); announces the change. */
  updateTxt(txt: Record<string, string>): Promise<void>;
  /** Send goodbyes and release sockets. */
  stop(): Promise<void>;
  /**
   * The addresses the device is reachable at now, for an advertiser that must publish them for
   * `hostname` itself (Avahi, whose own host name is the OS's); the embedded responder finds them.
   */
  updateAddresses?(addresses: readonly string[]): void;
}
