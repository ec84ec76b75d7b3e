/**
 * Pure generators of the whole configuration files the wpa_supplicant backend runs on
 * (architecture principle 6: written, not patched). SSIDs are written as hex wherever the format
 * allows (`ssid=<hex>` for wpa_supplicant, `ssid2=<hex>` for hostapd); WPA2 passphrases are turned
 * into their 64-hex PSK here, and a SAE password is written as the hex of its UTF-8 bytes, so no
 * secret is ever written as text. Every value is checked before it is written: nothing reaches a
 * file that could start a new line or a new key.
 */
import { pbkdf2Sync } from 'node:crypto';
import { AirliftError } from '../../../shared/errors';
import { isIpv4, parseIpv4, prefixToNetmask } from '../../../shared/ipv4';
import { fromHex, isHex, toHex, utf8Encode } from '../../../shared/encoding';
import { saePasswordSchema } from '../../../shared/passphrase';
import { EAP_LIMITS, eapTextProblem, type EapMethod, type EapPhase2 } from '../../../shared/protocol/eap';
import type { NetworkSecurity } from '../../../shared/protocol/wifi';
import type { SetupApConfig } from '../../ports/radio';
import { writeFileAtomic } from '../../../platform/atomic-file';
import { setupApDnsmasqLines } from '../setup-ap-dnsmasq';

/** One saved network as wpa_supplicant.conf holds it. */
export interface WpaNetwork {
  ssidHex: string;
  security: NetworkSecurity;
  /** WPA2 passphrase (8..63 printable ASCII; written only as its PSK) or SAE password. */
  passphrase?: string | undefined;
  /** 64-hex PSK (WPA2 only). */
  psk?: string | undefined;
  /** Enterprise: the 802.1X settings, certificates and key as files. */
  eap?: WpaEap | undefined;
  hidden?: boolean | undefined;
  priority?: number | undefined;
}

/** The 802.1X settings of a network block: text as given, files as absolute paths. */
export interface WpaEap {
  method: EapMethod;
  phase2?: EapPhase2 | undefined;
  identity: string;
  anonymousIdentity?: string | undefined;
  password?: string | undefined;
  /** No CA: the technician chose not to check the server (`ca_cert` is left out). */
  caCertPath?: string | undefined;
  domainMatch?: string | undefined;
  clientCertPath?: string | undefined;
  clientKeyPath?: string | undefined;
  clientKeyPassphrase?: string | undefined;
}

export interface WpaSupplicantConfOptions {
  /** Directory of wpa_supplicant's control sockets (`ctrl_interface=`). */
  ctrlInterface: string;
  networks: readonly WpaNetwork[];
  /** Two-letter regulatory country, if known. */
  country?: string;
}

export interface HostapdConfOptions {
  interface: string;
  ap: Pick<SetupApConfig, 'ssid' | 'channel' | 'passphrase'>;
  /** Default `nl80211`. */
  driver?: string;
  country?: string;
}

export interface DnsmasqConfOptions {
  interface: string;
  ap: Pick<SetupApConfig, 'address' | 'prefixLength' | 'dhcpRange'>;
  /** Where dnsmasq keeps its leases and pid (absolute paths). */
  leaseFile: string;
  pidFile: string;
  /** DHCP lease time; default `1h`. */
  leaseTime?: string;
}

// ---------------------------------------------------------------------------------------------
// Validation: everything that reaches a file passes one of these first.

const INTERFACE_RE = /^[A-Za-z0-9_.-]{1,15}$/;
const PATH_RE = /^\/[A-Za-z0-9_./@+-]*$/;
const COUNTRY_RE = /^[A-Z]{2}$/;
const PRINTABLE_ASCII_RE = /^[\x20-\x7e]*$/;

function invalid(code: 'INVALID_SSID' | 'INVALID_PASSPHRASE' | 'INVALID_CONFIG', message: string): never {
  throw new AirliftError(code, message);
}

export function checkInterfaceName(name: string): string {
  if (!INTERFACE_RE.test(name))
    invalid('INVALID_CONFIG', 'interface name must be 1..15 of A-Z a-z 0-9 _ . -');
  return name;
}

export function checkIpv4(address: string, what: string): string {
  if (!isIpv4(address)) invalid('INVALID_CONFIG', `${what} must be a dotted IPv4 address`);
  return address;
}

export function checkPath(path: string, what: string): string {
  if (!PATH_RE.test(path) || path.includes('..')) {
    invalid('INVALID_CONFIG', `${what} must be an absolute path of plain characters`);
  }
  return path;
}

function checkCountry(country: string | undefined): string | undefined {
  if (country !== undefined && !COUNTRY_RE.test(country)) {
    invalid('INVALID_CONFIG', 'country must be two uppercase letters');
  }
  return country;
}

/** Lowercase hex of a 1..32-byte SSID given in hex. */
export function checkSsidHex(ssidHex: string): string {
  if (!isHex(ssidHex) || ssidHex.length < 2 || ssidHex.length > 64) {
    invalid('INVALID_SSID', 'SSID must be 1..32 bytes given as an even number of hex digits');
  }
  return ssidHex.toLowerCase();
}

function checkWpa2Passphrase(passphrase: string): string {
  if (passphrase.length < 8 || passphrase.length > 63 || !PRINTABLE_ASCII_RE.test(passphrase)) {
    invalid('INVALID_PASSPHRASE', 'WPA2 passphrase must be 8..63 printable ASCII characters');
  }
  return passphrase;
}

function checkPskHex(psk: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(psk)) invalid('INVALID_PASSPHRASE', 'psk must be exactly 64 hex digits');
  return psk.toLowerCase();
}

/**
 * A SAE password as the input rules accept it (shared/passphrase.ts), checked again here because
 * the file is the last place a bad value could do harm. It is written as hex, so it needs no
 * quoting at all.
 */
export function checkSaePassword(password: string): string {
  const parsed = saePasswordSchema.safeParse(password);
  if (!parsed.success) {
    invalid('INVALID_PASSPHRASE', parsed.error.issues[0]?.message ?? 'WPA3-SAE password is not valid');
  }
  return password;
}

function checkPriority(priority: number | undefined): number | undefined {
  if (priority === undefined) return undefined;
  if (!Number.isInteger(priority) || priority < -1000 || priority > 1000) {
    invalid('INVALID_CONFIG', 'priority must be an integer in -1000..1000');
  }
  return priority;
}

export function checkChannel(channel: number): number {
  const ok =
    Number.isInteger(channel) && ((channel >= 1 && channel <= 14) || (channel >= 32 && channel <= 177));
  if (!ok) invalid('INVALID_CONFIG', 'channel must be 1..14 (2.4 GHz) or 32..177 (5 GHz)');
  return channel;
}

// ---------------------------------------------------------------------------------------------
// PSK

/**
 * The WPA2 PSK of a passphrase: PBKDF2-HMAC-SHA1(passphrase, SSID bytes, 4096, 32), as 64 hex.
 * OpenSSL's, not a JavaScript one: 8,192 SHA-1 blocks cost a Pi-class CPU tenths of a second in JS.
 */
export function wpaPskHex(passphrase: string, ssidHex: string): string {
  const key = pbkdf2Sync(
    utf8Encode(checkWpa2Passphrase(passphrase)),
    fromHex(checkSsidHex(ssidHex)),
    4096,
    32,
    'sha1',
  );
  return toHex(key);
}

function pskFor(network: Pick<WpaNetwork, 'ssidHex' | 'passphrase' | 'psk'>): string {
  if (network.psk !== undefined) {
    if (network.passphrase !== undefined)
      invalid('INVALID_PASSPHRASE', 'give a passphrase or a psk, not both');
    return checkPskHex(network.psk);
  }
  if (network.passphrase === undefined)
    invalid('INVALID_PASSPHRASE', 'WPA2 network needs a passphrase or a psk');
  return wpaPskHex(network.passphrase, network.ssidHex);
}

// ---------------------------------------------------------------------------------------------
// 802.1X

/**
 * A text value as wpa_supplicant's string hex form (`wpa_config_parse_string`): quotes, `#`, `}`,
 * backslashes and non-ASCII need no escaping at all, and nothing can end the line or the block.
 * Checked again here (no control characters, within its cap): the file is the last place a bad
 * value could do harm.
 */
function hexText(
  code: 'INVALID_PASSPHRASE' | 'INVALID_CONFIG',
  what: string,
  text: string,
  maxBytes: number,
): string {
  const problem = eapTextProblem(what, text, maxBytes);
  if (problem !== undefined) invalid(code, problem);
  return toHex(utf8Encode(text));
}

/** `eap=` and `phase2=` for a method: PEAP's inner method is EAP-MSCHAPv2, TTLS's MSCHAPv2 or PAP. */
const EAP_NAME: Readonly<Record<EapMethod, string>> = { peap: 'PEAP', ttls: 'TTLS', tls: 'TLS' };
const PHASE2_NAME: Readonly<Record<EapPhase2, string>> = { mschapv2: 'MSCHAPV2', pap: 'PAP' };

/** The 802.1X lines of a network block. */
export function eapLines(eap: WpaEap): string[] {
  const lines = [
    `\teap=${EAP_NAME[eap.method]}`,
    `\tidentity=${hexText('INVALID_CONFIG', 'identity', eap.identity, EAP_LIMITS.identityBytes)}`,
  ];
  if (eap.anonymousIdentity !== undefined)
    lines.push(
      `\tanonymous_identity=${hexText('INVALID_CONFIG', 'anonymousIdentity', eap.anonymousIdentity, EAP_LIMITS.identityBytes)}`,
    );
  if (eap.method === 'tls') {
    if (eap.clientCertPath === undefined || eap.clientKeyPath === undefined)
      invalid('INVALID_CONFIG', 'EAP-TLS needs a client certificate and key');
    lines.push(
      `\tclient_cert="${checkPath(eap.clientCertPath, 'client certificate')}"`,
      `\tprivate_key="${checkPath(eap.clientKeyPath, 'client key')}"`,
    );
    if (eap.clientKeyPassphrase !== undefined)
      lines.push(
        `\tprivate_key_passwd=${hexText('INVALID_PASSPHRASE', 'clientKeyPassphrase', eap.clientKeyPassphrase, EAP_LIMITS.keyPassphraseBytes)}`,
      );
  } else {
    if (eap.password === undefined)
      invalid('INVALID_PASSPHRASE', `EAP-${EAP_NAME[eap.method]} needs a password`);
    lines.push(
      `\tpassword=${hexText('INVALID_PASSPHRASE', 'password', eap.password, EAP_LIMITS.passwordBytes)}`,
      `\tphase2="auth=${PHASE2_NAME[eap.phase2 ?? 'mschapv2']}"`,
    );
  }
  if (eap.caCertPath !== undefined) lines.push(`\tca_cert="${checkPath(eap.caCertPath, 'CA certificate')}"`);
  if (eap.domainMatch !== undefined) {
    if (eap.caCertPath === undefined) invalid('INVALID_CONFIG', 'a domain match needs a CA certificate');
    lines.push(
      `\tdomain_suffix_match=${hexText('INVALID_CONFIG', 'domainMatch', eap.domainMatch, EAP_LIMITS.domainChars)}`,
    );
  }
  return lines;
}

// ---------------------------------------------------------------------------------------------
// wpa_supplicant.conf

function networkBlock(network: WpaNetwork): string[] {
  const ssidHex = checkSsidHex(network.ssidHex);
  const priority = checkPriority(network.priority);
  const lines = [`\tssid=${ssidHex}`];
  switch (network.security) {
    case 'open':
      if (network.passphrase !== undefined || network.psk !== undefined) {
        invalid('INVALID_PASSPHRASE', 'an open network takes no passphrase');
      }
      lines.push('\tkey_mgmt=NONE');
      break;
    case 'wpa2-psk':
      lines.push('\tkey_mgmt=WPA-PSK', `\tpsk=${pskFor(network)}`);
      break;
    case 'wpa3-sae':
      if (network.psk !== undefined) invalid('INVALID_PASSPHRASE', 'WPA3-SAE takes a password, not a psk');
      if (network.passphrase === undefined)
        invalid('INVALID_PASSPHRASE', 'WPA3-SAE network needs a password');
      lines.push(
        '\tkey_mgmt=SAE',
        '\tieee80211w=2',
        // Hex, one of wpa_supplicant's string forms (wpa_config_parse_string): a quoted form
        // would need `"`, `\\` and `#` to survive its line reader.
        `\tsae_password=${toHex(utf8Encode(checkSaePassword(network.passphrase)))}`,
      );
      break;
    case 'wpa2-enterprise':
    case 'wpa3-enterprise':
      if (network.passphrase !== undefined || network.psk !== undefined)
        invalid('INVALID_PASSPHRASE', 'an Enterprise network takes its password in eap');
      if (network.eap === undefined)
        invalid('INVALID_CONFIG', 'an Enterprise network needs its eap settings');
      // WPA3-Enterprise only mode: SHA-256 key management and protected management frames required.
      lines.push(
        ...(network.security === 'wpa3-enterprise'
          ? ['\tkey_mgmt=WPA-EAP-SHA256', '\tieee80211w=2']
          : ['\tkey_mgmt=WPA-EAP']),
        ...eapLines(network.eap),
      );
      break;
    default:
      throw new AirliftError(
        'UNSUPPORTED_SECURITY',
        `security ${String(network.security)} is not one this agent writes`,
      );
  }
  if (
    network.eap !== undefined &&
    network.security !== 'wpa2-enterprise' &&
    network.security !== 'wpa3-enterprise'
  )
    invalid('INVALID_CONFIG', `${network.security} takes no eap settings`);
  if (network.hidden === true) lines.push('\tscan_ssid=1');
  if (priority !== undefined) lines.push(`\tpriority=${priority}`);
  return ['network={', ...lines, '}'];
}

/** The whole wpa_supplicant.conf: our control socket, no self-rewriting, one block per network. */
export function wpaSupplicantConf(options: WpaSupplicantConfOptions): string {
  const country = checkCountry(options.country);
  const lines = [
    '# Generated by airliftd; rewritten whole on every change.',
    `ctrl_interface=${checkPath(options.ctrlInterface, 'ctrl_interface')}`,
    'update_config=0',
  ];
  if (country !== undefined) lines.push(`country=${country}`);
  for (const network of options.networks) lines.push('', ...networkBlock(network));
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// hostapd.conf

/** The whole hostapd.conf for the setup AP: open, or WPA2 with the PSK (never the passphrase). */
export function hostapdConf(options: HostapdConfOptions): string {
  const channel = checkChannel(options.ap.channel);
  const ssid = options.ap.ssid;
  // eslint-disable-next-line no-control-regex
  if (/[\x00\r\n]/.test(ssid) || /[\uD800-\uDFFF]/u.test(ssid)) {
    invalid('INVALID_SSID', 'setup SSID must not contain NUL, CR, LF or unpaired surrogates');
  }
  const ssidHex = checkSsidHex(toHex(utf8Encode(ssid)));
  const driver = options.driver ?? 'nl80211';
  if (!/^[a-z0-9_]{1,32}$/.test(driver)) invalid('INVALID_CONFIG', 'driver must be a plain driver name');
  const country = checkCountry(options.country);
  const lines = [
    '# Generated by airliftd; rewritten whole on every change.',
    `interface=${checkInterfaceName(options.interface)}`,
    `driver=${driver}`,
    `ssid2=${ssidHex}`,
    `hw_mode=${channel <= 14 ? 'g' : 'a'}`,
    `channel=${channel}`,
  ];
  if (country !== undefined) lines.push(`country_code=${country}`, 'ieee80211d=1');
  lines.push('ieee80211n=1', 'wmm_enabled=1', 'auth_algs=1', 'ignore_broadcast_ssid=0');
  if (options.ap.passphrase !== undefined) {
    lines.push(
      'wpa=2',
      'wpa_key_mgmt=WPA-PSK',
      'rsn_pairwise=CCMP',
      `wpa_psk=${wpaPskHex(options.ap.passphrase, ssidHex)}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// dnsmasq.conf

/** The setup AP's netmask: a subnet with room for clients (/8 to /30) and nothing else. */
function apNetmask(prefixLength: number): string {
  if (!Number.isInteger(prefixLength) || prefixLength < 8 || prefixLength > 30) {
    invalid('INVALID_CONFIG', 'prefix length must be 8..30');
  }
  return prefixToNetmask(prefixLength);
}

/** An address checkIpv4 accepted, as a number. */
function ipToNumber(address: string): number {
  return parseIpv4(address) ?? invalid('INVALID_CONFIG', `${address} is not a dotted IPv4 address`);
}

/**
 * The whole dnsmasq.conf for the setup AP: DHCP on the AP interface only, and every DNS name
 * answered with the AP's own address so that clients find the captive portal.
 */
export function dnsmasqConf(options: DnsmasqConfOptions): string {
  const iface = checkInterfaceName(options.interface);
  const address = checkIpv4(options.ap.address, 'AP address');
  const start = checkIpv4(options.ap.dhcpRange.start, 'DHCP range start');
  const end = checkIpv4(options.ap.dhcpRange.end, 'DHCP range end');
  const netmask = apNetmask(options.ap.prefixLength);
  const maskNum = ipToNumber(netmask);
  const net = (ip: string): number => (ipToNumber(ip) & maskNum) >>> 0;
  if (net(start) !== net(address) || net(end) !== net(address) || ipToNumber(start) > ipToNumber(end)) {
    invalid('INVALID_CONFIG', 'DHCP range must be an ordered range inside the AP subnet');
  }
  const leaseTime = options.leaseTime ?? '1h';
  if (!/^\d{1,6}[mh]?$/.test(leaseTime)) invalid('INVALID_CONFIG', 'lease time must be like 1h, 30m or 3600');
  const lines = [
    '# Generated by airliftd; rewritten whole on every change.',
    `interface=${iface}`,
    'bind-interfaces',
    'except-interface=lo',
    `listen-address=${address}`,
    'no-resolv',
    'no-hosts',
    'no-poll',
    `dhcp-range=${start},${end},${netmask},${leaseTime}`,
    `dhcp-option=option:router,${address}`,
    `dhcp-option=option:dns-server,${address}`,
    'dhcp-authoritative',
    `dhcp-leasefile=${checkPath(options.leaseFile, 'lease file')}`,
    `pid-file=${checkPath(options.pidFile, 'pid file')}`,
    ...setupApDnsmasqLines(address),
  ];
  return `${lines.join('\n')}\n`;
}

/** Write a generated config file: atomic, mode 0600 (it may hold a PSK or a SAE password). */
export async function writeConfigFile(path: string, text: string): Promise<void> {
  await writeFileAtomic(path, text, { mode: 0o600 });
}
