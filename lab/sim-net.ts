/**
 * The lab's IP layer and mDNS, over the airspace. A station reaches a device's API only as it would
 * in the world: through the device's setup AP while one of its adapters is joined to that AP, or
 * at the device's LAN address while both are on the same network. Requests that may pass are
 * forwarded to the device's real HTTP listener on loopback, with the Host header the station used,
 * and answered as the station's own transport answers (main/engine/device-http.ts): at most 1 MiB,
 * no redirects, pooled connections dropped when the station changes networks.
 */
import { Agent as HttpAgent, request } from 'node:http';
import { AirliftError } from '../shared/errors';
import { setupSubnet } from '../shared/addressing';
import type { FetchLike } from '../shared/session/client';
import type { Advertisement, AdvertiserPort } from '../agent/ports/advertiser';
import type { DeviceTransport } from '../main/ports/device-transport';
import type { DiscoveredService, DiscoveryEvent, ServiceBrowser } from '../main/ports/discovery';
import type { Airspace } from './airspace';

interface DeviceEntry {
  deviceId: string;
  /** Where the device's API really listens (loopback). */
  loopback: { host: string; port: number };
  setupAddress: string;
}

const SERVICE_SUFFIX = '._airlift._tcp.local';

export class SimNet {
  private readonly devices = new Map<string, DeviceEntry>();
  private readonly bySetupAddress = new Map<string, DeviceEntry>();

  constructor(readonly airspace: Airspace) {}

  register(deviceId: string, loopback: { host: string; port: number }): void {
    const entry = { deviceId, loopback, setupAddress: setupSubnet(deviceId).address };
    this.devices.set(deviceId, entry);
    this.bySetupAddress.set(entry.setupAddress, entry);
  }

  unregister(deviceId: string): void {
    const e = this.devices.get(deviceId);
    if (!e) return;
    this.devices.delete(deviceId);
    this.bySetupAddress.delete(e.setupAddress);
  }

  /** The device an observer set can reach at `host`, or undefined. */
  route(host: string, observers: readonly string[]): DeviceEntry | undefined {
    const viaAp = this.bySetupAddress.get(host);
    if (viaAp) {
      for (const o of observers) {
        const m = this.airspace.membershipOf(o);
        if (m && this.airspace.getAp(m.bssid)?.owner === viaAp.deviceId) return viaAp;
      }
      return undefined;
    }
    const onLan = new Set(
      observers.map((o) => this.airspace.membershipOf(o)?.bssid).filter((b) => b !== undefined),
    );
    if (onLan.size === 0) return undefined;
    for (const d of this.devices.values()) {
      const m = this.airspace.membershipOf(d.deviceId);
      if (m?.lease.ip === host && onLan.has(m.bssid)) return d;
    }
    return undefined;
  }

  /** A fetch for a station whose adapters are `observers()` (re-read on every request). */
  fetchFor(observers: () => readonly string[], agent: HttpAgent = keepAlive): FetchLike {
    return async (url, init) => {
      const u = new URL(url);
      const target = this.route(u.hostname, observers());
      if (!target) throw new AirliftError('UNREACHABLE', `No route to ${u.host} from the station's networks`);
      return forward(target.loopback, u, init, { agent });
    };
  }

  /** The station's transport over this network (the seam the engine drives after each join). */
  transportFor(observers: () => readonly string[]): SimDeviceTransport {
    return new SimDeviceTransport((agent) => this.fetchFor(observers, agent));
  }

  /** The LAN address of a device as the airspace has it now. */
  leaseOf(deviceId: string): string | undefined {
    return this.airspace.membershipOf(deviceId)?.lease.ip;
  }
}

/** Keep-alive, like a browser or undici: a new TCP connection per call is not what stations do. */
const newKeepAlive = () => new HttpAgent({ keepAlive: true, maxSockets: 64 });
const keepAlive = newKeepAlive();

/** What the station's transport reads of one answer at most (main/engine/device-http.ts). */
export const SIM_MAX_RESPONSE_BYTES = 1024 * 1024;

/**
 * One keep-alive pool per network the station is on, like the station's undici transport: after
 * `networkChanged()` new requests get a fresh pool, and the old one is destroyed once the requests
 * still running on it (other lanes') are done.
 */
export class SimDeviceTransport implements DeviceTransport {
  private agent = newKeepAlive();
  private current: FetchLike;
  private readonly running = new Map<HttpAgent, number>();
  private readonly retired = new Set<HttpAgent>();

  constructor(private readonly fetchVia: (agent: HttpAgent) => FetchLike) {
    this.current = fetchVia(this.agent);
  }

  readonly fetch: FetchLike = async (url, init) => {
    const agent = this.agent;
    const via = this.current;
    this.running.set(agent, (this.running.get(agent) ?? 0) + 1);
    try {
      return await via(url, init);
    } finally {
      const left = (this.running.get(agent) ?? 1) - 1;
      this.running.set(agent, left);
      if (left === 0 && this.retired.has(agent)) this.drop(agent);
    }
  };

  networkChanged(): void {
    const old = this.agent;
    this.agent = newKeepAlive();
    this.current = this.fetchVia(this.agent);
    this.retired.add(old);
    if ((this.running.get(old) ?? 0) === 0) this.drop(old);
  }

  close(): void {
    for (const a of [this.agent, ...this.retired]) a.destroy();
    this.retired.clear();
    this.running.clear();
  }

  private drop(agent: HttpAgent): void {
    agent.destroy();
    this.retired.delete(agent);
    this.running.delete(agent);
  }
}

export function forward(
  to: { host: string; port: number },
  u: URL,
  init: { method: string; headers: Record<string, string>; body?: string },
  o: { agent?: HttpAgent; maxResponseBytes?: number } = {},
): Promise<{ status: number; json(): Promise<unknown> }> {
  const max = o.maxResponseBytes ?? SIM_MAX_RESPONSE_BYTES;
  const what = `${init.method} ${u.pathname}`;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: to.host,
        port: to.port,
        method: init.method,
        path: u.pathname + u.search,
        headers: {
          ...init.headers,
          Host: u.host,
          ...(init.body !== undefined ? { 'Content-Length': String(Buffer.byteLength(init.body)) } : {}),
        },
        setHost: false,
        agent: o.agent ?? keepAlive,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400) {
          res.destroy();
          reject(
            new AirliftError(
              'PROTOCOL_ERROR',
              `${what}: the device answered with a redirect (HTTP ${status})`,
            ),
          );
          return;
        }
        const chunks: Buffer[] = [];
        let total = 0;
        res.on('data', (c: Buffer) => {
          total += c.length;
          if (total > max) {
            res.destroy();
            reject(
              new AirliftError('PAYLOAD_TOO_LARGE', `${what}: the device answered more than ${max} bytes`),
            );
            return;
          }
          chunks.push(c);
        });
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status,
            json: () => {
              try {
                return Promise.resolve(JSON.parse(text) as unknown);
              } catch {
                return Promise.reject(
                  new AirliftError(
                    'PROTOCOL_ERROR',
                    `${what}: the device answered HTTP ${status} without JSON`,
                  ),
                );
              }
            },
          });
        });
      },
    );
    req.on('error', reject);
    // One write for headers and body: split, Nagle and delayed ACKs add ~40 ms per request.
    req.end(init.body);
  });
}

// ---- mDNS ----------------------------------------------------------------------------------------

interface Published {
  deviceId: string;
  ad: Advertisement;
}

/** `deviceId` when one device's record changed; undefined when who-hears-whom may have changed. */
type BusListener = (deviceId?: string) => void;

/**
 * What the devices advertise, and on which network each one is: a service is visible to observers
 * joined to the same AP as the device (multicast does not cross networks).
 */
export class SimMdnsBus {
  private readonly published = new Map<string, Published>();
  private readonly listeners = new Set<BusListener>();
  private readonly unhook: (() => void)[];

  constructor(private readonly net: SimNet) {
    // A device moving changes only its own record; a station adapter moving changes what it hears.
    const changed = ({ observerId }: { observerId: string }) =>
      this.changed(this.published.has(observerId) ? observerId : undefined);
    this.unhook = [net.airspace.on('joined', changed), net.airspace.on('left', changed)];
  }

  advertiserFor(deviceId: string): AdvertiserPort {
    return new SimAdvertiser(this, deviceId);
  }

  publish(deviceId: string, ad: Advertisement): void {
    this.published.set(deviceId, { deviceId, ad });
    this.changed(deviceId);
  }

  withdraw(deviceId: string): void {
    if (this.published.delete(deviceId)) this.changed(deviceId);
  }

  updateTxt(deviceId: string, txt: Record<string, string>): void {
    const p = this.published.get(deviceId);
    if (!p) return;
    p.ad = { ...p.ad, txt: { ...txt } };
    this.changed(deviceId);
  }

  /** Services an observer set can hear now. */
  visibleTo(observers: readonly string[], now: number, deviceId?: string): DiscoveredService[] {
    const nets = new Set(
      observers.map((o) => this.net.airspace.membershipOf(o)?.bssid).filter((b) => b !== undefined),
    );
    const out: DiscoveredService[] = [];
    const one = deviceId === undefined ? undefined : this.published.get(deviceId);
    const which = deviceId === undefined ? [...this.published.values()] : one ? [one] : [];
    for (const p of which) {
      const m = this.net.airspace.membershipOf(p.deviceId);
      if (!m || !nets.has(m.bssid)) continue;
      out.push({
        fqdn: `${p.ad.instance}${SERVICE_SUFFIX}`,
        instance: p.ad.instance,
        host: `${p.ad.hostname}.local`,
        port: p.ad.port,
        addresses: [m.lease.ip],
        txt: { ...p.ad.txt },
        lastSeen: now,
      });
    }
    return out;
  }

  subscribe(listener: BusListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    for (const u of this.unhook) u();
    this.listeners.clear();
  }

  private changed(deviceId?: string): void {
    for (const l of [...this.listeners]) l(deviceId);
  }
}

class SimAdvertiser implements AdvertiserPort {
  readonly kind = 'sim' as const;
  constructor(
    private readonly bus: SimMdnsBus,
    private readonly deviceId: string,
  ) {}
  start(ad: Advertisement): Promise<void> {
    this.bus.publish(this.deviceId, ad);
    return Promise.resolve();
  }
  updateTxt(txt: Record<string, string>): Promise<void> {
    this.bus.updateTxt(this.deviceId, txt);
    return Promise.resolve();
  }
  stop(): Promise<void> {
    this.bus.withdraw(this.deviceId);
    return Promise.resolve();
  }
}

/** The station's browser over the bus: the same events a real RFC 6762 cache produces. */
export class SimBrowser implements ServiceBrowser {
  private readonly known = new Map<string, DiscoveredService>();
  private readonly listeners = new Set<(e: DiscoveryEvent) => void>();
  private unsubscribe?: () => void;

  constructor(
    private readonly bus: SimMdnsBus,
    private readonly observers: () => readonly string[],
    private readonly now: () => number = Date.now,
  ) {}

  start(): Promise<void> {
    this.unsubscribe = this.bus.subscribe((deviceId) => this.sync(deviceId));
    this.sync();
    return Promise.resolve();
  }

  subscribe(listener: (event: DiscoveryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  services(): DiscoveredService[] {
    return [...this.known.values()];
  }

  refresh(): void {
    this.sync();
  }

  stop(): Promise<void> {
    this.unsubscribe?.();
    this.known.clear();
    return Promise.resolve();
  }

  /** Reconcile with the bus: everything, or only one device's record. */
  private sync(deviceId?: string): void {
    const seen = new Map(this.bus.visibleTo(this.observers(), this.now(), deviceId).map((s) => [s.fqdn, s]));
    for (const [fqdn, svc] of seen) {
      const old = this.known.get(fqdn);
      this.known.set(fqdn, svc);
      if (!old) {
        this.emit({ type: 'up', service: svc });
        continue;
      }
      const changed: ('addresses' | 'txt' | 'port' | 'host')[] = [];
      if (old.addresses.join() !== svc.addresses.join()) changed.push('addresses');
      if (JSON.stringify(old.txt) !== JSON.stringify(svc.txt)) changed.push('txt');
      if (old.port !== svc.port) changed.push('port');
      if (old.host !== svc.host) changed.push('host');
      if (changed.length > 0) this.emit({ type: 'update', service: svc, changed });
    }
    const scope = [...this.known.keys()].filter(
      (f) => deviceId === undefined || this.known.get(f)?.txt['id'] === deviceId,
    );
    for (const fqdn of scope) {
      if (!seen.has(fqdn)) {
        this.known.delete(fqdn);
        this.emit({ type: 'down', fqdn });
      }
    }
  }

  private emit(e: DiscoveryEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(e);
      } catch {
        // one listener's failure must not stop the others
      }
    }
  }
}
