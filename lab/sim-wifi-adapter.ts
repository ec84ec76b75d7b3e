/**
 * The station's Wi-Fi adapter over the airspace (the lab side of main/ports/wifi-adapter.ts). A join
 * takes `joinMs` (association + DHCP), like a laptop's adapter; it remembers networks it joined
 * with their passphrases or PSKs, as an OS keeps profiles, so `restore` can go back. The airspace
 * checks credentials as WPA2 does: a passphrase and the PSK derived from it are the same key.
 */
import { performance } from 'node:perf_hooks';
import type { ScanResult } from '../shared/protocol/wifi';
import type {
  AdapterInfo,
  CurrentConnection,
  JoinRequest,
  JoinResult,
  WifiAdapter,
  WifiAdapterProvider,
} from '../main/ports/wifi-adapter';
import { checkCredentials, type Airspace, type Credentials } from './airspace';
import { ssidDisplay } from '../shared/ssid';
import type { SimNet } from './sim-net';

export interface SimAdapterLatency {
  scanMs: number;
  joinMs: number;
  leaveMs: number;
}

export const DEFAULT_ADAPTER_LATENCY: SimAdapterLatency = { scanMs: 1500, joinMs: 2500, leaveMs: 100 };

export interface SimWifiAdapterOptions {
  airspace: Airspace;
  net: SimNet;
  id: string;
  latency?: Partial<SimAdapterLatency>;
  timeScale?: number;
}

export class SimWifiAdapter implements WifiAdapter {
  readonly info: AdapterInfo;
  readonly observerId: string;
  private readonly airspace: Airspace;
  private readonly net: SimNet;
  private readonly latency: SimAdapterLatency;
  private readonly timeScale: number;
  /** Saved profiles: ssidHex → its secret (none for open networks). */
  private readonly profiles = new Map<string, Pick<JoinRequest, 'passphrase' | 'psk'>>();
  /** The airspace's 802.1X APs check what a laptop's supplicant would send (as nmcli's adapter does). */
  readonly enterprise = { join: true } as const;

  constructor(o: SimWifiAdapterOptions) {
    this.airspace = o.airspace;
    this.net = o.net;
    this.latency = { ...DEFAULT_ADAPTER_LATENCY, ...o.latency };
    this.timeScale = o.timeScale ?? 1;
    this.observerId = `station-${o.id}`;
    this.info = { id: o.id, name: o.id, mac: `02:aa:00:00:00:${String(o.id.length).padStart(2, '0')}` };
  }

  private wait(ms: number): Promise<void> {
    const scaled = ms * this.timeScale;
    return scaled <= 0 ? Promise.resolve() : new Promise((r) => setTimeout(r, scaled));
  }

  /** Remember a network as the OS would (the technician's own Wi-Fi, set up before the job). */
  saveProfile(ssidHex: string, passphrase?: string): void {
    this.profiles.set(ssidHex, passphrase === undefined ? {} : { passphrase });
  }

  async scan(): Promise<ScanResult[]> {
    await this.wait(this.latency.scanMs);
    return this.airspace.scanResultsFor(this.observerId);
  }

  current(): Promise<CurrentConnection | undefined> {
    const m = this.airspace.membershipOf(this.observerId);
    const ap = m ? this.airspace.getAp(m.bssid) : undefined;
    if (!m || !ap) return Promise.resolve(undefined);
    return Promise.resolve({
      ssidHex: ap.ssidHex,
      ssid: ssidDisplay(ap.ssidHex),
      bssid: ap.bssid,
      ip: m.lease.ip,
      profile: ap.ssidHex,
    });
  }

  async join(req: JoinRequest): Promise<JoinResult> {
    const start = performance.now();
    const done = (r: Omit<Extract<JoinResult, { ok: false }>, 'durationMs'>): JoinResult => ({
      ...r,
      durationMs: performance.now() - start,
    });
    const heard = this.airspace
      .scanFor(this.observerId)
      .filter((h) => h.ap.ssidHex === req.ssidHex && (!h.ap.hidden || req.hidden === true))
      .sort((a, b) => b.signal - a.signal)[0];
    if (!heard) {
      await this.wait(Math.min(req.timeoutMs, this.latency.joinMs));
      return done({ ok: false, reason: 'ssid_not_found' });
    }
    const secret = secretOf(req);
    const creds = checkCredentials(heard.ap, { security: req.security, ...secret, ...eapOf(req) });
    if (creds !== 'ok') {
      await this.wait(this.latency.joinMs);
      const reason = creds === 'assoc_rejected' ? 'hardware' : creds;
      return done({ ok: false, reason, detail: creds });
    }
    await this.wait(this.latency.joinMs);
    let ip: string;
    try {
      ip = this.airspace.join(this.observerId, heard.ap.bssid).ip;
    } catch (err) {
      const reason =
        (err as { details?: { reason?: string } }).details?.reason === 'dhcp_timeout'
          ? 'dhcp_timeout'
          : 'timeout';
      return done({ ok: false, reason, detail: (err as Error).message });
    }
    this.profiles.set(req.ssidHex, secret);
    if (req.expectReachable && !this.net.route(req.expectReachable.host, [this.observerId])) {
      return done({
        ok: false,
        reason: 'unreachable',
        detail: `${req.expectReachable.host} does not answer`,
      });
    }
    return {
      ok: true,
      ip,
      durationMs: performance.now() - start,
      bssid: heard.ap.bssid,
      signal: heard.signal,
    };
  }

  async leave(): Promise<void> {
    await this.wait(this.latency.leaveMs);
    this.airspace.leave(this.observerId);
  }

  async restore(previous: CurrentConnection | undefined): Promise<void> {
    if (!previous) {
      await this.leave();
      return;
    }
    const secret = this.profiles.get(previous.ssidHex);
    if (!secret) return;
    const ap = this.airspace.listAps().find((a) => a.ssidHex === previous.ssidHex);
    await this.join({
      ssidHex: previous.ssidHex,
      security: ap?.security === 'open' ? 'open' : ap?.security === 'wpa3-sae' ? 'wpa3-sae' : 'wpa2-psk',
      ...secret,
      timeoutMs: 30_000,
    });
  }
}

/** The request's passphrase or PSK, as given (the airspace checks them). */
function secretOf(req: JoinRequest): Pick<JoinRequest, 'passphrase' | 'psk'> {
  return {
    ...(req.passphrase !== undefined ? { passphrase: req.passphrase } : {}),
    ...(req.psk !== undefined ? { psk: req.psk } : {}),
  };
}

/** An Enterprise request's 802.1X block as the airspace's RADIUS server checks it. */
function eapOf(req: JoinRequest): Pick<Credentials, 'eap'> {
  const e = req.eap;
  if (e === undefined) return {};
  return {
    eap: {
      method: e.method,
      identity: e.identity,
      ...(e.phase2 !== undefined ? { phase2: e.phase2 } : {}),
      ...(e.password !== undefined ? { password: e.password } : {}),
      ...(e.domainMatch !== undefined ? { domainMatch: e.domainMatch } : {}),
      ...(e.caCert !== undefined ? { caCert: { pem: e.caCert } } : {}),
      ...(e.clientCert !== undefined ? { clientCert: { pem: e.clientCert } } : {}),
    },
  };
}

export class SimAdapterProvider implements WifiAdapterProvider {
  constructor(readonly adapters: SimWifiAdapter[]) {}
  list(): Promise<WifiAdapter[]> {
    return Promise.resolve([...this.adapters]);
  }
}
