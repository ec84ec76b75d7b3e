/** Device discovery on the LAN: the station's mDNS browser (real: our RFC 6762 cache; lab: a sim bus). */

export interface DiscoveredService {
  /** Full instance name, `Airlift K7Q2M6XA._airlift._tcp.local`. */
  fqdn: string;
  /** Instance label, `Airlift K7Q2M6XA`. */
  instance: string;
  /** Target host, `airlift-k7q2m6xa.local`. */
  host: string;
  port: number;
  /** IPv4 (and IPv6) addresses of `host`, freshest first. */
  addresses: string[];
  txt: Record<string, string>;
  /** Interface the answer arrived on. */
  interface?: string;
  lastSeen: number;
}

export type DiscoveryEvent =
  | { type: 'up'; service: DiscoveredService }
  | { type: 'update'; service: DiscoveredService; changed: ('addresses' | 'txt' | 'port' | 'host')[] }
  | { type: 'down'; fqdn: string };

export interface ServiceBrowser {
  /** Start browsing `_airlift._tcp`; events arrive through `subscribe`. */
  start(): Promise<void>;
  subscribe(listener: (event: DiscoveryEvent) => void): () => void;
  /** Services currently alive in the cache. */
  services(): DiscoveredService[];
  /** Ask again now (e.g. after the station rejoined a network). */
  refresh(): void;
  stop(): Promise<void>;
}
