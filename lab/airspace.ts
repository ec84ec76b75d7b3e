/**
 * The lab's model of the air: which access points exist, who hears them how loudly, who is joined
 * where and with which DHCP lease. Sim radios (agent side) and sim Wi-Fi adapters (station side) share
 * one Airspace, so a setup AP started by a simulated device is what the simulated station scans and joins.
 *
 * Everything is synchronous and deterministic: no timers here; latency belongs to the sims.
 */
import { ssidDisplay } from '../shared/ssid';
import { X509Certificate, pbkdf2Sync } from 'node:crypto';
import type { JoinEap, Lease } from '../agent/ports/radio';
import { formatPemBlock, parsePemBlocks } from '../shared/pem';
import { PHASE2_OF, type EapMethod, type EapPhase2 } from '../shared/protocol/eap';
import type { StaticIpv4 } from '../shared/protocol/static-ipv4';
import { AirliftError } from '../shared/errors';
import { formatIpv4, parseIpv4 as ipv4Number, prefixMask, prefixToNetmask } from '../shared/ipv4';
import { bytesEqual, fromHex, isHex, toHex, utf8Encode } from '../shared/encoding';
import type { NetworkSecurity, ScanResult, ScanSecurity } from '../shared/protocol/wifi';
import { securityCompatible } from '../shared/protocol/wifi';

/** Below this an AP is not heard at all (typical receiver sensitivity). */
export const HEARING_THRESHOLD_DBM = -90;
const DEFAULT_SIGNAL_DBM = -50;

export type DhcpBehaviour = 'ok' | 'timeout';

/** What `addAp` takes; omitted fields get defaults. */
export interface AccessPointInit {
  /** Raw SSID bytes in lowercase hex (1..32 bytes): SSIDs need not be UTF-8. */
  ssidHex: string;
  /** `aa:bb:cc:dd:ee:ff`; normalised to lowercase. */
  bssid: string;
  security: ScanSecurity;
  /** WPA2 passphrase / SAE password; required for the personal security modes. */
  passphrase?: string;
  /** The 802.1X authentication server behind an `enterprise` AP; required for it. */
  enterprise?: EnterpriseServer;
  /** MHz. */
  frequency: number;
  /** What an observer without an override hears, in dBm. Default -50. */
  signal?: number;
  /** Does not broadcast its SSID: only directed probes (a join with `hidden: true`) find it. */
  hidden?: boolean;
  /** Lease subnet, CIDR: `192.168.50.0/24`. */
  subnet: string;
  /** Default: the subnet's first host (.1). */
  gateway?: string;
  /** Default: `[gateway]` (the AP runs the resolver, as dnsmasq does). */
  nameservers?: string[];
  /** DHCP pool; default: every host of the subnet but the gateway. */
  dhcpRange?: { start: string; end: string };
  /** Whether the network reaches the internet (drives SimConnectivity). Default false. */
  internet?: boolean;
  /** `timeout`: the AP associates clients but its DHCP server never answers. Default `ok`. */
  dhcp?: DhcpBehaviour;
  /** Device id of the device whose setup AP this is. */
  owner?: string;
}

/**
 * What a RADIUS server behind an Enterprise AP accepts, and the certificate it shows: a device joins
 * when it proposes an accepted method, its CA (and domain) vouch for `serverCert`, and it has an
 * account (PEAP/TTLS) or a client certificate one of `clientCas` issued (TLS).
 */
export interface EnterpriseServer {
  methods: readonly EapMethod[];
  /** TTLS's inner methods the server takes; default MSCHAPv2 and PAP. */
  ttlsPhase2?: readonly EapPhase2[];
  users: ReadonlyArray<{ readonly identity: string; readonly password: string }>;
  /** PEM of the server's certificate (its SAN names are what a domain match is checked against). */
  serverCert: string;
  /** PEM of the CAs whose client certificates it accepts. */
  clientCas: readonly string[];
}

export interface AccessPoint {
  readonly ssidHex: string;
  readonly bssid: string;
  readonly security: ScanSecurity;
  readonly passphrase?: string;
  readonly enterprise?: EnterpriseServer;
  readonly frequency: number;
  readonly signal: number;
  readonly hidden: boolean;
  readonly subnet: string;
  readonly prefixLength: number;
  readonly gateway: string;
  readonly nameservers: readonly string[];
  readonly dhcpRange: { readonly start: string; readonly end: string };
  readonly internet: boolean;
  readonly dhcp: DhcpBehaviour;
  readonly owner?: string;
}

/** Fields that may change while an AP is up (fault injection: the uplink dies, DHCP breaks, ...). */
export type AccessPointPatch = Partial<
  Pick<AccessPointInit, 'signal' | 'hidden' | 'internet' | 'dhcp' | 'passphrase' | 'security'>
>;

export interface HeardAp {
  ap: AccessPoint;
  signal: number;
}

export interface Membership {
  bssid: string;
  lease: Lease;
}

/** `deauthenticated`: the AP's security or passphrase changed under its clients (hostapd reload). */
export type LeaveReason = 'left' | 'ap-removed' | 'out-of-range' | 'roamed' | 'deauthenticated';

export interface AirspaceEvents {
  'ap-added': { ap: AccessPoint };
  'ap-removed': { ap: AccessPoint; dropped: string[] };
  'ap-changed': { ap: AccessPoint };
  joined: { observerId: string; bssid: string; lease: Lease };
  left: { observerId: string; bssid: string; reason: LeaveReason };
}

export type AirspaceListener<K extends keyof AirspaceEvents> = (payload: AirspaceEvents[K]) => void;

export interface AirspaceOptions {
  /** Where a throwing listener's error goes; default: console.error. Never rethrown. */
  onListenerError?: (error: unknown, event: keyof AirspaceEvents) => void;
}

// ---------------------------------------------------------------------------------------------
// Addresses

function parseIpv4(text: string): number {
  const value = ipv4Number(text);
  if (value === undefined)
    throw new AirliftError('INVALID_CONFIG', `Not an IPv4 address: ${JSON.stringify(text)}`);
  return value;
}

function parseCidr(cidr: string): { network: number; prefixLength: number } {
  const [addr, len, ...rest] = cidr.split('/');
  const prefixLength = Number(len);
  if (
    addr === undefined ||
    rest.length > 0 ||
    !/^\d{1,2}$/.test(len ?? '') ||
    prefixLength < 8 ||
    prefixLength > 30
  ) {
    throw new AirliftError('INVALID_CONFIG', `Not a usable subnet (a.b.c.d/8..30): ${JSON.stringify(cidr)}`);
  }
  const network = (parseIpv4(addr) & prefixMask(prefixLength)) >>> 0;
  return { network, prefixLength };
}

/** Wi-Fi channel number to centre frequency (MHz), 2.4 and 5 GHz. */
export function channelToFrequency(channel: number): number {
  if (channel >= 1 && channel <= 13) return 2407 + 5 * channel;
  if (channel === 14) return 2484;
  if (channel >= 32 && channel <= 177) return 5000 + 5 * channel;
  throw new AirliftError('INVALID_CONFIG', `Unknown Wi-Fi channel ${channel}`);
}

/** FNV-1a (32-bit): a stable, dependency-free hash for deterministic addresses, BSSIDs and seeds. */
export function stableHash(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of utf8Encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

// ---------------------------------------------------------------------------------------------
// SSIDs and keys

export function ssidHexOf(text: string): string {
  return toHex(utf8Encode(text));
}

const pskCache = new Map<string, Uint8Array>();

/** The WPA2 pre-shared key: PBKDF2-HMAC-SHA1(passphrase, SSID bytes, 4096, 32) (IEEE 802.11i, H.4). */
export function wpa2Psk(passphrase: string, ssidHex: string): Uint8Array {
  const key = `${ssidHex.toLowerCase()}\u0000${passphrase}`;
  let psk = pskCache.get(key);
  if (psk === undefined) {
    psk = new Uint8Array(pbkdf2Sync(utf8Encode(passphrase), fromHex(ssidHex), 4096, 32, 'sha1'));
    pskCache.set(key, psk);
  }
  return psk;
}

export interface Credentials {
  security: NetworkSecurity;
  passphrase?: string | undefined;
  /** 64-hex WPA2 PSK. */
  psk?: string | undefined;
  /** Enterprise: the join's 802.1X settings (the certificates' PEM is what is checked). */
  eap?:
    | (Pick<JoinEap, 'method' | 'phase2' | 'identity' | 'password' | 'domainMatch'> & {
        caCert?: { pem: string } | undefined;
        clientCert?: { pem: string } | undefined;
      })
    | undefined;
}

export type CredentialCheck = 'ok' | 'assoc_rejected' | 'auth_failed' | 'eap_failed' | 'cert_rejected';

/** Each certificate of a PEM bundle, parsed. */
function certificatesOf(pem: string): X509Certificate[] {
  const blocks = parsePemBlocks(pem);
  return 'problem' in blocks ? [] : blocks.map((b) => new X509Certificate(formatPemBlock(b)));
}

/** Whether one of the bundle's certificates signed `cert` (one level: the lab's PKI has no intermediates). */
function issuedByOneOf(cert: string, bundle: string): boolean {
  const [leaf] = certificatesOf(cert);
  return (
    leaf !== undefined &&
    certificatesOf(bundle).some((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey))
  );
}

/** wpa_supplicant's domain_suffix_match: a SAN DNS name equal to the suffix or ending in `.suffix`. */
function nameMatches(cert: string, suffix: string): boolean {
  const names = (certificatesOf(cert)[0]?.subjectAltName ?? '')
    .split(', ')
    .flatMap((entry) => (entry.startsWith('DNS:') ? [entry.slice(4).toLowerCase()] : []));
  return names.some((n) => n === suffix || n.endsWith(`.${suffix}`));
}

/** The RADIUS server's verdict, in the order a real exchange meets them. */
function checkEnterprise(server: EnterpriseServer, eap: NonNullable<Credentials['eap']>): CredentialCheck {
  if (!server.methods.includes(eap.method)) return 'eap_failed';
  if (eap.caCert !== undefined) {
    if (!issuedByOneOf(server.serverCert, eap.caCert.pem)) return 'cert_rejected';
    if (eap.domainMatch !== undefined && !nameMatches(server.serverCert, eap.domainMatch))
      return 'cert_rejected';
  }
  if (eap.method === 'tls')
    return eap.clientCert !== undefined &&
      server.clientCas.some((ca) => issuedByOneOf(eap.clientCert?.pem ?? '', ca))
      ? 'ok'
      : 'cert_rejected';
  const inner = eap.phase2 ?? 'mschapv2';
  const innerOk =
    eap.method === 'peap'
      ? PHASE2_OF.peap.includes(inner)
      : (server.ttlsPhase2 ?? PHASE2_OF.ttls).includes(inner);
  if (!innerOk) return 'eap_failed';
  return server.users.some((u) => u.identity === eap.identity && u.password === eap.password)
    ? 'ok'
    : 'auth_failed';
}

/**
 * Would these credentials get past association and the 4-way handshake / SAE with this AP?
 * WPA2 compares derived PSKs (a passphrase and the equivalent 64-hex PSK are the same key);
 * SAE compares the password itself, so a raw PSK never works there.
 */
export function checkCredentials(ap: AccessPoint, creds: Credentials): CredentialCheck {
  if (!securityCompatible(ap.security, creds.security)) return 'assoc_rejected';
  switch (creds.security) {
    case 'open':
      return 'ok';
    case 'wpa2-psk': {
      if (ap.passphrase === undefined) return 'auth_failed';
      let offered: Uint8Array;
      if (creds.psk !== undefined) {
        if (!/^[0-9a-fA-F]{64}$/.test(creds.psk)) return 'auth_failed';
        offered = fromHex(creds.psk);
      } else if (creds.passphrase !== undefined) {
        offered = wpa2Psk(creds.passphrase, ap.ssidHex);
      } else {
        return 'auth_failed';
      }
      return bytesEqual(offered, wpa2Psk(ap.passphrase, ap.ssidHex)) ? 'ok' : 'auth_failed';
    }
    case 'wpa3-sae':
      return ap.passphrase !== undefined && creds.passphrase === ap.passphrase ? 'ok' : 'auth_failed';
    case 'wpa2-enterprise':
    case 'wpa3-enterprise':
      return ap.enterprise === undefined || creds.eap === undefined
        ? 'auth_failed'
        : checkEnterprise(ap.enterprise, creds.eap);
  }
}

// ---------------------------------------------------------------------------------------------
// The default world

const LATIN1_CAFE = '636166e9'; // "café" in ISO-8859-1: not valid UTF-8

/** The small world `Airspace.withDefaults()` creates; exported so tests and the demo can name it. */
export const DEFAULT_APS = {
  labNet: {
    ssidHex: ssidHexOf('LabNet'),
    bssid: '02:00:00:00:00:01',
    security: 'wpa2-psk',
    passphrase: 'correct horse',
    frequency: 2437,
    signal: -45,
    subnet: '192.168.50.0/24',
    internet: true,
  },
  coffeeShop: {
    ssidHex: ssidHexOf('CoffeeShop'),
    bssid: '02:00:00:00:00:02',
    security: 'open',
    frequency: 2412,
    signal: -62,
    subnet: '192.168.60.0/24',
    internet: false,
  },
  neighbour5g: {
    ssidHex: ssidHexOf('Neighbour 5G'),
    bssid: '02:00:00:00:00:03',
    security: 'wpa3-sae',
    passphrase: 'not your network',
    frequency: 5180,
    signal: -71,
    subnet: '192.168.70.0/24',
    internet: true,
  },
  latin1: {
    ssidHex: LATIN1_CAFE,
    bssid: '02:00:00:00:00:04',
    security: 'wpa2-psk',
    passphrase: 'latin one',
    frequency: 2462,
    signal: -58,
    subnet: '192.168.80.0/24',
    internet: true,
  },
  escaped: {
    ssidHex: ssidHexOf('Back\\Office: 2nd'),
    bssid: '02:00:00:00:00:05',
    security: 'wpa2-psk',
    passphrase: 'colon:and\\backslash',
    frequency: 5745,
    signal: -66,
    subnet: '192.168.90.0/24',
    internet: true,
  },
} as const satisfies Record<string, AccessPointInit>;

// ---------------------------------------------------------------------------------------------
// Airspace

interface ApState {
  ap: AccessPoint;
  network: number;
  poolStart: number;
  poolEnd: number;
  gateway: number;
  /** ip (as number) -> observer */
  used: Map<number, string>;
  /** Last address each observer had here, preferred on rejoin (a DHCP server's lease memory). */
  remembered: Map<string, number>;
}

type AnyListener = (payload: never) => void;

export class Airspace {
  private readonly aps = new Map<string, ApState>();
  /** observer -> bssid -> dBm, or null for "out of range" */
  private readonly overrides = new Map<string, Map<string, number | null>>();
  private readonly members = new Map<string, Membership>();
  private readonly listeners = new Map<keyof AirspaceEvents, Set<AnyListener>>();
  private readonly onListenerError: (error: unknown, event: keyof AirspaceEvents) => void;

  constructor(options: AirspaceOptions = {}) {
    this.onListenerError =
      options.onListenerError ??
      ((error, event) => {
        console.error(`airspace: a '${event}' listener threw`, error);
      });
  }

  /** LabNet, CoffeeShop, Neighbour 5G, a Latin-1 SSID and one with `:` and `\` (see DEFAULT_APS). */
  static withDefaults(options: AirspaceOptions = {}): Airspace {
    const airspace = new Airspace(options);
    for (const init of Object.values(DEFAULT_APS)) airspace.addAp(init);
    return airspace;
  }

  // -- events ---------------------------------------------------------------------------------

  /** Subscribe; returns the unsubscribe function. */
  on<K extends keyof AirspaceEvents>(event: K, listener: AirspaceListener<K>): () => void {
    let set = this.listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener);
    return () => this.off(event, listener);
  }

  off<K extends keyof AirspaceEvents>(event: K, listener: AirspaceListener<K>): void {
    this.listeners.get(event)?.delete(listener);
  }

  private emit<K extends keyof AirspaceEvents>(event: K, payload: AirspaceEvents[K]): void {
    const set = this.listeners.get(event);
    if (set === undefined) return;
    // Copy: a listener may unsubscribe (itself or others) while we iterate.
    for (const listener of [...set]) {
      try {
        const result: unknown = (listener as AirspaceListener<K>)(payload);
        // An async listener's rejection must not become an unhandled rejection either.
        if (result instanceof Promise) {
          result.catch((error: unknown) => {
            this.reportListenerError(error, event);
          });
        }
      } catch (error) {
        this.reportListenerError(error, event);
      }
    }
  }

  private reportListenerError(error: unknown, event: keyof AirspaceEvents): void {
    try {
      this.onListenerError(error, event);
    } catch {
      // The error sink itself failed: nothing sensible is left to do.
    }
  }

  // -- access points --------------------------------------------------------------------------

  addAp(init: AccessPointInit): AccessPoint {
    const bssid = normaliseBssid(init.bssid);
    if (this.aps.has(bssid)) throw new AirliftError('INVALID_CONFIG', `BSSID ${bssid} already in the air`);
    const ssidHex = init.ssidHex.toLowerCase();
    if (!isHex(ssidHex) || ssidHex.length < 2 || ssidHex.length > 64) {
      throw new AirliftError('INVALID_SSID', 'SSID must be 1..32 bytes of hex');
    }
    const { network, prefixLength } = parseCidr(init.subnet);
    const broadcast = (network | ~prefixMask(prefixLength)) >>> 0;
    const inSubnet = (ip: number): boolean =>
      (ip & prefixMask(prefixLength)) >>> 0 === network && ip !== network && ip !== broadcast;
    const gateway = init.gateway === undefined ? network + 1 : parseIpv4(init.gateway);
    const poolStart = init.dhcpRange === undefined ? network + 1 : parseIpv4(init.dhcpRange.start);
    const poolEnd = init.dhcpRange === undefined ? broadcast - 1 : parseIpv4(init.dhcpRange.end);
    if (!inSubnet(gateway) || !inSubnet(poolStart) || !inSubnet(poolEnd) || poolEnd < poolStart) {
      throw new AirliftError('INVALID_CONFIG', `Gateway or DHCP range outside ${init.subnet}`);
    }
    const ap = freezeAp({
      ssidHex,
      bssid,
      security: init.security,
      ...(init.passphrase === undefined ? {} : { passphrase: init.passphrase }),
      ...(init.enterprise === undefined ? {} : { enterprise: init.enterprise }),
      frequency: init.frequency,
      signal: init.signal ?? DEFAULT_SIGNAL_DBM,
      hidden: init.hidden ?? false,
      subnet: `${formatIpv4(network)}/${prefixLength}`,
      prefixLength,
      gateway: formatIpv4(gateway),
      nameservers: init.nameservers ?? [formatIpv4(gateway)],
      dhcpRange: { start: formatIpv4(poolStart), end: formatIpv4(poolEnd) },
      internet: init.internet ?? false,
      dhcp: init.dhcp ?? 'ok',
      ...(init.owner === undefined ? {} : { owner: init.owner }),
    });
    validatePersonalSecurity(ap);
    this.aps.set(bssid, { ap, network, poolStart, poolEnd, gateway, used: new Map(), remembered: new Map() });
    this.emit('ap-added', { ap });
    return ap;
  }

  /** Take an AP off the air; its clients are dropped (`left` with reason `ap-removed`, then `ap-removed`). */
  removeAp(bssid: string): boolean {
    const key = normaliseBssid(bssid);
    const state = this.aps.get(key);
    if (state === undefined) return false;
    const dropped = this.clientsOf(key);
    for (const observerId of dropped) this.leave(observerId, 'ap-removed');
    this.aps.delete(key);
    this.emit('ap-removed', { ap: state.ap, dropped });
    return true;
  }

  updateAp(bssid: string, patch: AccessPointPatch): AccessPoint {
    const state = this.aps.get(normaliseBssid(bssid));
    if (state === undefined) throw new AirliftError('NOT_FOUND', `No AP ${bssid}`);
    // An explicit `undefined` in the patch means "unchanged", not "erase".
    const entries: [string, unknown][] = Object.entries(patch);
    const defined = Object.fromEntries(entries.filter(([, v]) => v !== undefined)) as AccessPointPatch;
    const ap = freezeAp({ ...state.ap, ...defined });
    validatePersonalSecurity(ap);
    const rekeyed = ap.security !== state.ap.security || ap.passphrase !== state.ap.passphrase;
    state.ap = ap;
    if (rekeyed) for (const observerId of this.clientsOf(ap.bssid)) this.leave(observerId, 'deauthenticated');
    this.emit('ap-changed', { ap });
    this.evictUnheard();
    return ap;
  }

  getAp(bssid: string): AccessPoint | undefined {
    return this.aps.get(normaliseBssid(bssid))?.ap;
  }

  listAps(): AccessPoint[] {
    return [...this.aps.values()].map((s) => s.ap);
  }

  /** A deterministic, unused, locally administered BSSID derived from `seed` (e.g. a device id). */
  allocateBssid(seed: string): string {
    for (let attempt = 0; ; attempt++) {
      const h = stableHash(attempt === 0 ? seed : `${seed}#${attempt}`);
      const bytes = [0x0a, 0x1f, h >>> 24, (h >>> 16) & 255, (h >>> 8) & 255, h & 255];
      const bssid = bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
      if (!this.aps.has(bssid)) return bssid;
    }
  }

  // -- radio propagation ----------------------------------------------------------------------

  /**
   * Override what `observerId` hears from `bssid`: a level in dBm, or `undefined` for out of range.
   * Overrides outlive the AP, so a setup AP that restarts with the same BSSID keeps its geometry.
   */
  setSignal(observerId: string, bssid: string, dBm: number | undefined): void {
    let map = this.overrides.get(observerId);
    if (map === undefined) {
      map = new Map();
      this.overrides.set(observerId, map);
    }
    map.set(normaliseBssid(bssid), dBm ?? null);
    this.evictUnheard();
  }

  /** Back to the AP's default level (one AP, or all of them). */
  clearSignal(observerId: string, bssid?: string): void {
    if (bssid === undefined) this.overrides.delete(observerId);
    else this.overrides.get(observerId)?.delete(normaliseBssid(bssid));
    this.evictUnheard();
  }

  /** What `observerId` hears from `bssid` in dBm, or undefined when it does not hear it at all. */
  signalFor(observerId: string, bssid: string): number | undefined {
    const key = normaliseBssid(bssid);
    const state = this.aps.get(key);
    if (state === undefined || state.ap.owner === observerId) return undefined;
    const override = this.overrides.get(observerId)?.get(key);
    const level = override === undefined ? state.ap.signal : override;
    return level === null || level < HEARING_THRESHOLD_DBM ? undefined : level;
  }

  /**
   * What `observerId` hears: every AP above the threshold (never its own), strongest first, with the
   * level it hears. Hidden APs are included with their real SSID; whoever turns this into a scan must
   * respect `ap.hidden` (see `scanResultsFor`).
   */
  scanFor(observerId: string): HeardAp[] {
    const heard: HeardAp[] = [];
    for (const { ap } of this.aps.values()) {
      const signal = this.signalFor(observerId, ap.bssid);
      if (signal !== undefined) heard.push({ ap, signal });
    }
    return heard.sort((a, b) => b.signal - a.signal || a.ap.bssid.localeCompare(b.ap.bssid));
  }

  /** `scanFor` as a passive scan reports it: hidden APs have an empty SSID, so none is found by name. */
  scanResultsFor(observerId: string): ScanResult[] {
    return this.scanFor(observerId).map(toScanResult);
  }

  // -- membership and leases ------------------------------------------------------------------

  /**
   * Associate `observerId` with `bssid` and hand it a lease (credentials are the caller's business:
   * see `checkCredentials`). Leaves any previous AP first. Throws NOT_FOUND for an unknown AP,
   * UNREACHABLE when the observer does not hear it, TIMEOUT (details.reason `dhcp_timeout`) when the
   * AP's DHCP does not answer or its pool is full; a failed join changes nothing.
   */
  join(observerId: string, bssid: string, fixed?: StaticIpv4): Lease {
    const key = normaliseBssid(bssid);
    const state = this.aps.get(key);
    if (state === undefined) throw new AirliftError('NOT_FOUND', `No AP ${key}`);
    if (this.signalFor(observerId, key) === undefined) {
      throw new AirliftError('UNREACHABLE', `${observerId} does not hear ${key}`);
    }
    const current = this.members.get(observerId);
    if (current?.bssid === key && fixed === undefined) return current.lease;
    if (fixed !== undefined) return this.joinStatic(observerId, state, fixed);
    if (state.ap.dhcp === 'timeout') {
      throw new AirliftError('TIMEOUT', `DHCP on ${key} does not answer`, { reason: 'dhcp_timeout' });
    }
    const ip = this.allocate(state, observerId);
    if (ip === undefined) {
      throw new AirliftError('TIMEOUT', `DHCP pool of ${key} is exhausted`, { reason: 'dhcp_timeout' });
    }
    if (current !== undefined) this.leave(observerId, 'roamed');
    state.used.set(ip, observerId);
    state.remembered.set(observerId, ip);
    const lease: Lease = {
      ip: formatIpv4(ip),
      subnetmask: prefixToNetmask(state.ap.prefixLength),
      defaultgw: state.ap.gateway,
      nameservers: [...state.ap.nameservers],
    };
    this.members.set(observerId, { bssid: key, lease });
    this.emit('joined', { observerId, bssid: key, lease });
    return lease;
  }

  /**
   * A station with its own static address (no DHCP): it has the address it was given, reachable or
   * not, as a real host would; the address is kept out of the AP's pool while it is there.
   */
  private joinStatic(observerId: string, state: ApState, fixed: StaticIpv4): Lease {
    if (this.members.has(observerId)) this.leave(observerId, 'roamed');
    state.used.set(parseIpv4(fixed.address), observerId);
    const lease: Lease = {
      ip: fixed.address,
      subnetmask: prefixToNetmask(fixed.prefixLength),
      defaultgw: fixed.gateway ?? '',
      nameservers: [...fixed.dns],
    };
    this.members.set(observerId, { bssid: state.ap.bssid, lease });
    this.emit('joined', { observerId, bssid: state.ap.bssid, lease });
    return lease;
  }

  /** Disassociate; frees the address. Returns whether the observer was joined anywhere. */
  leave(observerId: string, reason: LeaveReason = 'left'): boolean {
    const membership = this.members.get(observerId);
    if (membership === undefined) return false;
    this.members.delete(observerId);
    const state = this.aps.get(membership.bssid);
    if (state !== undefined) {
      for (const [ip, who] of state.used) if (who === observerId) state.used.delete(ip);
    }
    this.emit('left', { observerId, bssid: membership.bssid, reason });
    return true;
  }

  membershipOf(observerId: string): Membership | undefined {
    const m = this.members.get(observerId);
    return m === undefined
      ? undefined
      : { bssid: m.bssid, lease: { ...m.lease, nameservers: [...m.lease.nameservers] } };
  }

  /** Observers joined to `bssid`, sorted. */
  clientsOf(bssid: string): string[] {
    const key = normaliseBssid(bssid);
    return [...this.members]
      .filter(([, m]) => m.bssid === key)
      .map(([id]) => id)
      .sort();
  }

  /**
   * Remembered address if free, else one chosen by hashing the observer id and probing upwards, as
   * dnsmasq does with client MACs: the same observer gets the same address across leave/rejoin.
   */
  private allocate(state: ApState, observerId: string): number | undefined {
    const free = (ip: number): boolean => ip !== state.gateway && !state.used.has(ip);
    const remembered = state.remembered.get(observerId);
    if (remembered !== undefined && free(remembered)) return remembered;
    const size = state.poolEnd - state.poolStart + 1;
    const start = stableHash(observerId) % size;
    for (let i = 0; i < size; i++) {
      const ip = state.poolStart + ((start + i) % size);
      if (free(ip)) return ip;
    }
    return undefined;
  }

  /** Anyone whose AP they no longer hear loses the association, as a real link would. */
  private evictUnheard(): void {
    for (const [observerId, m] of [...this.members]) {
      if (this.signalFor(observerId, m.bssid) === undefined) this.leave(observerId, 'out-of-range');
    }
  }
}

/** A heard AP as a scan reports it; a hidden AP's SSID is empty, as real scans show it. */
export function toScanResult({ ap, signal }: HeardAp): ScanResult {
  return {
    ssid: ap.hidden ? '' : ssidDisplay(ap.ssidHex),
    ssidHex: ap.hidden ? '' : ap.ssidHex,
    bssid: ap.bssid,
    frequency: ap.frequency,
    signal,
    security: ap.security,
    known: false,
  };
}

function normaliseBssid(bssid: string): string {
  const lower = bssid.toLowerCase();
  if (!/^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/.test(lower)) {
    throw new AirliftError('INVALID_CONFIG', `Not a BSSID: ${JSON.stringify(bssid)}`);
  }
  return lower;
}

function freezeAp(ap: AccessPoint): AccessPoint {
  return Object.freeze({
    ...ap,
    nameservers: Object.freeze([...ap.nameservers]),
    dhcpRange: Object.freeze({ ...ap.dhcpRange }),
  });
}

function validatePersonalSecurity(ap: AccessPoint): void {
  const personal = ap.security === 'wpa2-psk' || ap.security === 'wpa3-sae' || ap.security === 'wpa2-wpa3';
  if (personal && ap.passphrase === undefined) {
    throw new AirliftError('INVALID_PASSPHRASE', `AP ${ap.bssid} (${ap.security}) needs a passphrase`);
  }
  if (ap.security === 'enterprise' && ap.enterprise === undefined) {
    throw new AirliftError('INVALID_CONFIG', `AP ${ap.bssid} (enterprise) needs its authentication server`);
  }
}
