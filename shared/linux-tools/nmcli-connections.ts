/**
 * Pure helpers shared by the agent's NetworkManager backend and the station's nmcli adapter, on
 * top of `./nmcli` (terse splitting, scans, device status, failure classes): the Wi-Fi profile
 * builders, the connection list, `device show` IPv4 facts as a Lease, the UUID nmcli prints on
 * `connection add`, and the passwd-file line for a secret.
 */
import { fromHex, utf8DecodeStrict } from '../encoding';
import { AirliftError } from '../errors';
import { isIpv4, prefixToNetmask } from '../ipv4';
import type { EapMethod, EapPhase2 } from '../protocol/eap';
import type { StaticIpv4 } from '../protocol/static-ipv4';
import type { NetworkSecurity } from '../protocol/wifi';
import { DEVICE_STATUS_FIELDS, WIFI_LIST_FIELDS, splitTerse } from './nmcli';

/** `nmcli -t -e yes -f NAME,UUID,TYPE connection show`: TYPE last, it never holds a newline (a NAME can). */
export const CONNECTION_LIST_FIELDS = ['NAME', 'UUID', 'TYPE'] as const;

export interface NmcliProfile {
  name: string;
  uuid: string;
  type: string;
}

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

export function parseConnectionList(text: string): NmcliProfile[] {
  const out: NmcliProfile[] = [];
  for (const [name, uuid, type] of splitTerse(text, CONNECTION_LIST_FIELDS.length).records) {
    if (name === undefined || uuid === undefined || type === undefined || !UUID_RE.test(uuid)) continue;
    out.push({ name, uuid: uuid.toLowerCase(), type });
  }
  return out;
}

/** The UUID in nmcli's "Connection 'NAME' (UUID) successfully added." */
export function parseAddedUuid(stdout: string): string | undefined {
  const m =
    /\(([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\) successfully added/.exec(
      stdout,
    );
  return m?.[1]?.toLowerCase();
}

/** `/24` → `255.255.255.0` (shared/ipv4.ts). */

export interface Ipv4Facts {
  ip: string;
  subnetmask: string;
  defaultgw: string;
  nameservers: string[];
}

/**
 * `nmcli -t -f IP4.ADDRESS,IP4.GATEWAY,IP4.DNS device show X`: multiline terse output, one
 * `NAME[n]:value` per line (these values are addresses, so the unescaped multiline form is safe).
 * The first address is the lease; an empty or `--` gateway is `''`. Undefined without an address.
 */
export function parseDeviceShowIp4(text: string): Ipv4Facts | undefined {
  let ip: string | undefined;
  let prefix = 0;
  let gateway = '';
  const dns: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const sep = raw.indexOf(':');
    if (sep < 0) continue;
    const key = raw.slice(0, sep).replace(/\[\d+\]$/, '');
    const value = raw.slice(sep + 1).trim();
    if (key === 'IP4.ADDRESS' && ip === undefined) {
      const m = /^([\d.]+)\/(\d{1,2})$/.exec(value);
      if (m?.[1] !== undefined && isIpv4(m[1]) && Number(m[2]) <= 32) {
        ip = m[1];
        prefix = Number(m[2]);
      }
    } else if (key === 'IP4.GATEWAY' && isIpv4(value)) {
      gateway = value;
    } else if (key === 'IP4.DNS' && isIpv4(value)) {
      dns.push(value);
    }
  }
  if (ip === undefined) return undefined;
  return { ip, subnetmask: prefixToNetmask(prefix), defaultgw: gateway, nameservers: dns };
}

/**
 * The passwd-file line nmcli reads for a Wi-Fi secret (`connection up ... passwd-file F`). A
 * plain secret is written as is; a backslash becomes `\\` and edge whitespace becomes octal
 * escapes (nmcli >= 1.26 unescapes them and strips unescaped edge spaces). CR, LF and NUL would
 * end the line and are refused.
 */
export function passwdFileLine(
  secret: string,
  property: PasswdProperty = '802-11-wireless-security.psk',
): string {
  if (/[\r\n\0]/.test(secret)) {
    throw new AirliftError('INVALID_PASSPHRASE', 'The Wi-Fi secret must not contain CR, LF or NUL');
  }
  const octal = (c: string) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`;
  const plain = !secret.includes('\\') && !/^[ \t\v\f]|[ \t\v\f]$/.test(secret);
  const value = plain
    ? secret
    : secret
        .replace(/\\/g, '\\\\')
        .replace(/^[ \t\v\f]+/, (ws) => ws.replace(/[ \t\v\f]/g, octal))
        .replace(/[ \t\v\f]+$/, (ws) => ws.replace(/[ \t\v\f]/g, octal));
  return `${property}:${value}\n`;
}

/** The secret properties a passwd-file carries: a PSK or SAE password, or 802.1X's password and key passphrase. */
export type PasswdProperty =
  '802-11-wireless-security.psk' | '802-1x.password' | '802-1x.private-key-password';

// ---- command builders: the argument arrays both the agent's backend and the station's adapter run

/** Terse output with nmcli's escaping of `:` and `\\`, read by `splitTerse`. */
export const TERSE = ['-t', '-e', 'yes'] as const;

export function deviceStatusArgs(): string[] {
  return [...TERSE, '-f', DEVICE_STATUS_FIELDS.join(','), 'device', 'status'];
}

export function connectionListArgs(): string[] {
  return [...TERSE, '-f', CONNECTION_LIST_FIELDS.join(','), 'connection', 'show'];
}

/** `nmcli --wait N connection up uuid U ifname X [passwd-file F]`. */
export function connectionUpArgs(
  uuid: string,
  ifname: string,
  waitSeconds: number,
  passwdFile?: string,
): string[] {
  return [
    '--wait',
    String(Math.max(1, Math.ceil(waitSeconds))),
    'connection',
    'up',
    'uuid',
    uuid,
    'ifname',
    ifname,
    ...(passwdFile === undefined ? [] : ['passwd-file', passwdFile]),
  ];
}

export function connectionDeleteArgs(uuid: string): string[] {
  return ['connection', 'delete', 'uuid', uuid];
}

export function deviceDisconnectArgs(ifname: string): string[] {
  return ['device', 'disconnect', ifname];
}

/** The access points one interface hears; `--rescan yes` asks for a fresh scan first. */
export function wifiListArgs(ifname: string, rescan: 'yes' | 'no' | 'auto'): string[] {
  return [
    ...TERSE,
    '-f',
    WIFI_LIST_FIELDS.join(','),
    'device',
    'wifi',
    'list',
    'ifname',
    ifname,
    '--rescan',
    rescan,
  ];
}

// ---- Wi-Fi station profiles

/** What a station profile holds apart from its SSID; never a secret (that comes on activation). */
export interface WifiProfileSpec {
  ifname: string;
  /** `connection.id`. */
  name: string;
  security: NetworkSecurity;
  /** Enterprise: the 802.1X settings but the secrets (those go in the passwd-file). */
  eap?: NmEapSpec;
  /** Static addressing (`ipv4.method manual`); absent: DHCP. */
  ipv4?: StaticIpv4;
  hidden: boolean;
  /**
   * Saved to disk and autoconnecting at this `connection.autoconnect-priority` (the agent's known
   * networks). Undefined: in memory only and never autoconnected (the station's temporary joins).
   */
  autoconnectPriority?: number;
}

/**
 * The 802.1X settings NetworkManager keeps in a profile: no password and no key passphrase (the
 * passwd-file carries them at activation). Certificates and the key are files NetworkManager reads
 * (nmcli reads them too, when the profile is made: they must exist by then).
 */
export interface NmEapSpec {
  method: EapMethod;
  phase2?: EapPhase2;
  identity: string;
  anonymousIdentity?: string;
  /** Absent: no server validation (the technician's explicit choice). */
  caCertPath?: string;
  domainMatch?: string;
  clientCertPath?: string;
  clientKeyPath?: string;
}

/**
 * NetworkManager's `802-11-wireless-security.key-mgmt` for a security; open has no section. Both
 * Enterprise generations are `wpa-eap`: WPA3-Enterprise is that with PMF required (`pmf 3`).
 */
export function nmKeyMgmt(security: NetworkSecurity): 'wpa-psk' | 'sae' | 'wpa-eap' | undefined {
  switch (security) {
    case 'wpa2-psk':
      return 'wpa-psk';
    case 'wpa3-sae':
      return 'sae';
    case 'wpa2-enterprise':
    case 'wpa3-enterprise':
      return 'wpa-eap';
    case 'open':
      return undefined;
  }
}

/**
 * The SSID as nmcli argument text, or undefined when argv cannot carry it: not valid UTF-8 (a
 * Node string is sent as UTF-8), or holding NUL (a C string would end there). Every other byte,
 * `:`, `\\`, quotes, newlines, edge spaces, goes verbatim: there is no shell, and nmcli's `ssid`
 * property takes the argument's bytes as they are (it has no hex form). Such SSIDs go over
 * D-Bus instead (`./busctl`).
 */
export function ssidArgText(ssidHex: string): string | undefined {
  const text = utf8DecodeStrict(fromHex(ssidHex.toLowerCase()));
  if (text === undefined || text === '' || text.includes('\0')) return undefined;
  return text;
}

/**
 * `nmcli connection add` for a station profile: bound to the interface, IPv4 required
 * (`ipv4.may-fail no`, so a DHCP failure fails the activation instead of leaving an IPv6-only
 * link), no secret.
 */
export function wifiProfileAddArgs(spec: WifiProfileSpec & { ssid: string }): string[] {
  const saved = spec.autoconnectPriority !== undefined;
  return [
    'connection',
    'add',
    ...(saved ? [] : ['save', 'no']),
    'type',
    'wifi',
    'ifname',
    spec.ifname,
    'con-name',
    spec.name,
    'ssid',
    spec.ssid,
    'connection.autoconnect',
    saved ? 'yes' : 'no',
    ...(saved ? ['connection.autoconnect-priority', String(spec.autoconnectPriority)] : []),
    '802-11-wireless.mode',
    'infrastructure',
    '802-11-wireless.hidden',
    spec.hidden ? 'yes' : 'no',
    ...wifiProfileSettings(spec),
  ];
}

/**
 * The security, 802.1X and IPv4 settings of a station profile as nmcli property/value pairs: what
 * `connection add` ends with, and what `connection modify` gives a profile added over D-Bus.
 * Values go verbatim (no shell; nmcli keeps a string property's quotes, braces, backslashes and
 * edge spaces as they are, checked with `nmcli --offline` in the tests).
 */
export function wifiProfileSettings(spec: Pick<WifiProfileSpec, 'security' | 'eap' | 'ipv4'>): string[] {
  const km = nmKeyMgmt(spec.security);
  return [
    ...ipv4Settings(spec.ipv4),
    ...(km === undefined ? [] : ['802-11-wireless-security.key-mgmt', km]),
    // WPA3-Enterprise only mode: protected management frames required.
    ...(spec.security === 'wpa3-enterprise' ? ['802-11-wireless-security.pmf', 'required'] : []),
    ...(spec.eap === undefined ? [] : eapSettings(spec.eap)),
  ];
}

/** DHCP with IPv4 required, or the network's static address, gateway and DNS servers. */
function ipv4Settings(ipv4: StaticIpv4 | undefined): string[] {
  if (ipv4 === undefined) return ['ipv4.method', 'auto', 'ipv4.may-fail', 'no'];
  return [
    'ipv4.method',
    'manual',
    'ipv4.addresses',
    `${ipv4.address}/${String(ipv4.prefixLength)}`,
    ...(ipv4.gateway === undefined ? [] : ['ipv4.gateway', ipv4.gateway]),
    ...(ipv4.dns.length === 0 ? [] : ['ipv4.dns', ipv4.dns.join(',')]),
    'ipv4.may-fail',
    'no',
  ];
}

function eapSettings(eap: NmEapSpec): string[] {
  if (/[\r\n\0]/.test(eap.identity + (eap.anonymousIdentity ?? '') + (eap.domainMatch ?? '')))
    throw new AirliftError('INVALID_EAP', 'An 802.1X identity or domain must not contain CR, LF or NUL');
  // nmcli splits the private key's value at whitespace and commas (a path, then a password).
  for (const path of [eap.caCertPath, eap.clientCertPath, eap.clientKeyPath])
    if (path !== undefined && !/^\/[A-Za-z0-9_./@+-]+$/.test(path))
      throw new AirliftError('INVALID_CONFIG', 'A certificate path must be absolute and plain');
  return [
    '802-1x.eap',
    eap.method,
    '802-1x.identity',
    eap.identity,
    ...(eap.anonymousIdentity === undefined ? [] : ['802-1x.anonymous-identity', eap.anonymousIdentity]),
    ...(eap.method === 'tls' ? [] : ['802-1x.phase2-auth', eap.phase2 ?? 'mschapv2']),
    ...(eap.caCertPath === undefined ? [] : ['802-1x.ca-cert', eap.caCertPath]),
    ...(eap.domainMatch === undefined ? [] : ['802-1x.domain-suffix-match', eap.domainMatch]),
    ...(eap.clientCertPath === undefined ? [] : ['802-1x.client-cert', eap.clientCertPath]),
    ...(eap.clientKeyPath === undefined ? [] : ['802-1x.private-key', eap.clientKeyPath]),
  ];
}

/** `nmcli connection modify uuid U <settings>`: how a profile added over D-Bus gets the rest. */
export function connectionModifyArgs(uuid: string, settings: readonly string[]): string[] {
  return ['connection', 'modify', 'uuid', uuid, ...settings];
}
