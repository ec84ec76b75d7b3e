/**
 * The station's Wi-Fi on Windows, through `netsh wlan` run with an argument array and no shell
 * (decision 0001; node-wifi pasted SSIDs into a cmd.exe line).
 *
 * - Adapters and state: `netsh wlan show interfaces`.
 * - Scan: `netsh wlan show networks mode=bssid interface=<name>`. netsh prints what Windows last
 *   scanned (it refreshes on its own about once a minute; netsh cannot ask for a new scan).
 *   Its SSID is text, converted by Windows to the console code page and then read by us as UTF-8:
 *   lossy for anything but ASCII, and a byte such as LF cannot be represented. So `ssidHex` from a
 *   scan is exact for ASCII SSIDs only (the setup APs, `Airlift-<id>`, are ASCII); joining never
 *   relies on it: the profile carries the requested bytes in `<hex>`, and `current()` reads the
 *   `<hex>` of the connected profile (`netsh wlan export profile`).
 * - Join: a WLAN profile XML (`buildWlanProfileXml`) written to a 0600 file in a private temporary
 *   directory, `netsh wlan add profile filename=<file> interface=<name> user=current`, the file
 *   deleted at once (the passphrase is in it), then `netsh wlan connect name=<profile>
 *   interface=<name>` and polling `show interfaces` for `State : connected` on our profile and an
 *   IPv4 address (`os.networkInterfaces()`; 169.254/16 means DHCP failed). `ssid=` is not passed
 *   to `connect`: the profile holds exactly one SSID, and the text form is the lossy one.
 * - Arguments: Node quotes each argv element for the Windows command line itself (an element with a
 *   space becomes `"interface=Wi-Fi 2"`), so we never add quotes of our own; they would become part
 *   of the value.
 * - Location consent: Windows 11 24H2 puts the WLAN API behind Location permission. Denied, netsh
 *   prints "Network shell commands need location permission to access WLAN information" (for
 *   `show interfaces`, `show networks` and `connect` alike); that becomes an AirliftError
 *   BACKEND_UNAVAILABLE with the fix (`locationConsentError`).
 * - Localisation: the parsers read netsh's English labels ("State", "Signal", "Authentication").
 *   On a Windows whose display language is not English the labels are translated and the
 *   parsers find nothing; the adapter then raises BACKEND_UNAVAILABLE instead of reporting an
 *   empty airspace.
 *
 * Tested here: parsers on recorded English output (Windows 10 and 11 shapes, hostile SSIDs, the
 * Location refusal), the profile XML (hex SSID, escaping), every argv, the join flow on a fake
 * runner. Not tested: a real netsh, the command-line quoting of a real Windows, non-English output.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fromHex, toHex, utf8DecodeStrict, utf8Encode } from '../../shared/encoding';
import { AirliftError } from '../../shared/errors';
import type { NetworkSecurity, ScanResult, ScanSecurity } from '../../shared/protocol/wifi';
import { ssidDisplay } from '../../shared/ssid';
import type {
  AdapterInfo,
  CurrentConnection,
  JoinRequest,
  JoinResult,
  WifiAdapter,
  WifiAdapterProvider,
} from '../ports/wifi-adapter';
import {
  ipv4Before,
  outputOf,
  reachableBefore,
  requestSecret,
  requestSsidHex,
  resolveDeps,
  usableIpv4,
  withPrivateDir,
  withSecretFile,
  type AdapterDeps,
  type CommandResult,
  type ResolvedDeps,
  joinFailure,
} from './command';

export const NETSH = 'netsh';
export const TEMP_PROFILE_PREFIX = 'airlift-tmp-';

// ---------------------------------------------------------------------------------------------
// Parsers

/** One `Key : value` line of netsh output: the key is everything before the first ` : `. */
function keyValue(line: string): { key: string; value: string } | undefined {
  const m = /^\s*([^:]*?)\s+: ?(.*)$/.exec(line);
  if (!m) return undefined;
  return { key: m[1] ?? '', value: m[2] ?? '' };
}

function lines(text: string): string[] {
  return text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
}

/**
 * netsh's refusal, matched as a whole line of its own: an SSID (32 bytes at most) can neither hold
 * this sentence nor start a line of `show networks` output with it.
 */
const LOCATION_RE = /^\s*Network shell commands need location permission to access WLAN information/m;

/** Whether netsh refused because the app has no Location permission (Windows 11 24H2 and later). */
export function isLocationRefusal(text: string): boolean {
  return LOCATION_RE.test(text);
}

/** The AirliftError for a Location refusal, with the fix. */
export function locationConsentError(): AirliftError {
  return new AirliftError(
    'BACKEND_UNAVAILABLE',
    'Windows denies Wi-Fi information to netsh without Location permission (Windows 11 24H2 and later). ' +
      'Open Settings > Privacy & security > Location (run "start ms-settings:privacy-location"), turn on ' +
      '"Location services" and "Let desktop apps access your location", then try again.',
    { fix: 'start ms-settings:privacy-location', cause: 'location_consent' },
  );
}

export interface NetshInterface {
  name: string;
  description?: string;
  guid?: string;
  mac?: string;
  /** `connected`, `disconnected`, `associating`, `authenticating`, `discovering`, `disconnecting`, ... */
  state: string;
  /** Display text of the SSID (lossy, see the file comment). */
  ssid?: string;
  bssid?: string;
  profile?: string;
  signalPercent?: number;
  channel?: number;
  authentication?: string;
}

/** `netsh wlan show interfaces` (Windows 10 and 11 shapes). Throws the Location error when refused. */
export function parseShowInterfaces(text: string): NetshInterface[] {
  if (isLocationRefusal(text)) throw locationConsentError();
  const out: NetshInterface[] = [];
  let cur: NetshInterface | undefined;
  for (const line of lines(text)) {
    const kv = keyValue(line);
    if (!kv) continue;
    const { key, value } = kv;
    if (key === 'Name') {
      cur = { name: value, state: '' };
      out.push(cur);
      continue;
    }
    if (!cur) continue;
    switch (key) {
      case 'Description':
        cur.description = value;
        break;
      case 'GUID':
        cur.guid = value.toLowerCase();
        break;
      case 'Physical address':
        cur.mac = value.toLowerCase();
        break;
      case 'State':
        cur.state = value.trim();
        break;
      case 'SSID':
        cur.ssid = value;
        break;
      case 'BSSID':
      case 'AP BSSID':
        cur.bssid = value.trim().toLowerCase();
        break;
      case 'Profile':
        cur.profile = value;
        break;
      case 'Signal': {
        const m = /^(\d{1,3})%$/.exec(value.trim());
        if (m) cur.signalPercent = Number(m[1]);
        break;
      }
      case 'Channel': {
        const n = Number(value.trim());
        if (Number.isInteger(n) && n > 0) cur.channel = n;
        break;
      }
      case 'Authentication':
        cur.authentication = value.trim();
        break;
      default:
        break;
    }
  }
  return out.filter((i) => i.name !== '');
}

/**
 * Windows reports signal quality 0..100 where 0 means -100 dBm and 100 means -50 dBm, linear in
 * between (WLAN_ASSOCIATION_ATTRIBUTES.wlanSignalQuality): dBm = percent / 2 - 100.
 */
export function netshSignalToDbm(percent: number): number {
  return Math.round(Math.min(100, Math.max(0, percent)) / 2 - 100);
}

/** netsh's Authentication and Encryption (English) as a ScanSecurity. */
export function netshSecurity(authentication: string, encryption: string): ScanSecurity {
  const a = authentication.trim().toLowerCase();
  const e = encryption.trim().toLowerCase();
  if (a.includes('enterprise') || a.includes('802.1x')) return 'enterprise';
  if (a.includes('owe') || a.includes('opportunistic')) return 'owe';
  if (a === 'shared' || (a === 'open' && e === 'wep')) return 'wep';
  if (a.includes('wpa3') && (a.includes('transition') || a.includes('wpa2'))) return 'wpa2-wpa3';
  if (a.includes('wpa3')) return 'wpa3-sae';
  if (a.includes('wpa')) return 'wpa2-psk';
  return 'open';
}

/** Centre frequency of a channel, with the band when netsh gives it (Windows 11) or inferred. */
export function channelToFrequency(channel: number, band?: string): number {
  const b = band?.replace(/\s+/g, '').toLowerCase();
  if (b === '6ghz') return channel === 2 ? 5935 : 5950 + 5 * channel;
  if (b === '2.4ghz' || (b === undefined && channel <= 14)) return channel === 14 ? 2484 : 2407 + 5 * channel;
  return 5000 + 5 * channel;
}

export interface NetshNetworksParse {
  networks: ScanResult[];
  /** `SSID n :` blocks seen (to tell "nothing in the air" from "output we cannot read"). */
  ssidBlocks: number;
}

/**
 * `netsh wlan show networks mode=bssid interface=<name>`: one ScanResult per BSSID. The SSID is the
 * text after `SSID n : ` exactly (leading and trailing spaces kept), `ssidHex` its UTF-8 bytes
 * (exact for ASCII only); an empty SSID is a hidden network. Ad-hoc networks are dropped.
 * Throws the Location error when refused.
 */
export function parseShowNetworks(text: string): NetshNetworksParse {
  if (isLocationRefusal(text)) throw locationConsentError();
  const networks: ScanResult[] = [];
  let ssidBlocks = 0;
  let net: { ssid: string; type: string; auth: string; enc: string } | undefined;
  let bss: { bssid: string; signal?: number; channel?: number; band?: string } | undefined;
  const flush = () => {
    if (
      net &&
      bss &&
      bss.signal !== undefined &&
      bss.channel !== undefined &&
      net.type === 'Infrastructure'
    ) {
      const ssidHex = toHex(utf8Encode(net.ssid));
      networks.push({
        ssid: ssidHex === '' ? '' : ssidDisplay(ssidHex),
        ssidHex,
        bssid: bss.bssid,
        frequency: channelToFrequency(bss.channel, bss.band),
        signal: netshSignalToDbm(bss.signal),
        security: netshSecurity(net.auth, net.enc),
        known: false,
      });
    }
    bss = undefined;
  };
  for (const line of lines(text)) {
    const header = /^SSID \d+ : ?(.*)$/.exec(line);
    if (header) {
      flush();
      ssidBlocks++;
      net = { ssid: header[1] ?? '', type: '', auth: '', enc: '' };
      continue;
    }
    const kv = keyValue(line);
    if (!kv || !net) continue;
    const { key, value } = kv;
    const v = value.trim();
    if (/^BSSID \d+$/.test(key)) {
      flush();
      if (/^[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}$/.test(v)) bss = { bssid: v.toLowerCase() };
      continue;
    }
    switch (key) {
      case 'Network type':
        net.type = v;
        break;
      case 'Authentication':
        net.auth = v;
        break;
      case 'Encryption':
        net.enc = v;
        break;
      case 'Signal': {
        const m = /^(\d{1,3})%$/.exec(v);
        if (bss && m) bss.signal = Number(m[1]);
        break;
      }
      case 'Channel': {
        const n = Number(v);
        if (bss && Number.isInteger(n) && n > 0) bss.channel = n;
        break;
      }
      case 'Band':
        if (bss) bss.band = v;
        break;
      default:
        break;
    }
  }
  flush();
  return { networks, ssidBlocks };
}

/** The SSID bytes of an exported WLAN profile (`<SSIDConfig><SSID><hex>`), lowercase, or undefined. */
export function profileXmlSsidHex(xml: string): string | undefined {
  const m = /<SSIDConfig>\s*<SSID>\s*<hex>\s*([0-9A-Fa-f]+)\s*<\/hex>/.exec(xml);
  const hex = m?.[1]?.toLowerCase();
  return hex !== undefined && hex.length % 2 === 0 && hex.length <= 64 ? hex : undefined;
}

/** Result of `netsh wlan connect` (English): ok, or why not. */
export function parseConnectOutput(
  text: string,
): { ok: true } | { ok: false; reason: 'ssid_not_found' | 'hardware'; detail: string } {
  if (isLocationRefusal(text)) throw locationConsentError();
  if (/Connection request was completed successfully/i.test(text)) return { ok: true };
  const detail =
    lines(text)
      .find((l) => l.trim() !== '')
      ?.trim() ?? '';
  if (/is not available to connect/i.test(text)) return { ok: false, reason: 'ssid_not_found', detail };
  return { ok: false, reason: 'hardware', detail };
}

// ---------------------------------------------------------------------------------------------
// Profile XML (pure; tested)

/** XML 1.0 text escaping; refuses characters XML 1.0 cannot hold at all. */
export function xmlEscape(text: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(text)) {
    throw new AirliftError('BAD_REQUEST', 'Text contains characters an XML document cannot hold');
  }
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface WlanProfileSpec {
  /** Profile name (ours: `airlift-tmp-<id>`, ASCII). */
  name: string;
  ssidHex: string;
  security: NetworkSecurity;
  passphrase?: string;
  /** WPA2's raw key, 64 hex digits: written as `keyType` `networkKey` instead of `passPhrase`. */
  psk?: string;
  hidden?: boolean;
}

/** The SSID's `<name>` text, when it can be one: valid UTF-8, printable, at most 32 characters. */
function ssidNameText(ssidHex: string): string | undefined {
  const text = utf8DecodeStrict(fromHex(ssidHex));
  // eslint-disable-next-line no-control-regex
  if (text === undefined || /[\u0000-\u001f\u007f\ufffe\uffff]/.test(text) || text.length > 32)
    return undefined;
  return text;
}

/** The profile's key: a passphrase, or WPA2's 64-hex PSK; exactly one. */
function sharedKeyOf(spec: WlanProfileSpec): { keyType: 'passPhrase' | 'networkKey'; material: string } {
  if (spec.psk !== undefined) {
    if (spec.passphrase !== undefined) {
      throw new AirliftError('INVALID_PASSPHRASE', 'A profile takes a passphrase or a PSK, not both');
    }
    if (spec.security !== 'wpa2-psk' || !/^[0-9a-fA-F]{64}$/.test(spec.psk)) {
      throw new AirliftError('INVALID_PASSPHRASE', 'A raw PSK is 64 hex digits, for WPA2 only');
    }
    return { keyType: 'networkKey', material: spec.psk.toLowerCase() };
  }
  if (spec.passphrase === undefined || spec.passphrase === '') {
    throw new AirliftError('INVALID_PASSPHRASE', `A ${spec.security} profile needs a passphrase`);
  }
  return { keyType: 'passPhrase', material: spec.passphrase };
}

/**
 * A WLAN profile (namespace http://www.microsoft.com/networking/WLAN/profile/v1). The SSID goes in
 * `<hex>`, which Windows uses whenever present ("the hex SSID takes precedence over the name
 * SSID"); `<name>` is added for people only when the SSID is printable text. WPA2-Personal is
 * WPA2PSK/AES, WPA3-Personal WPA3SAE/AES (Windows 10 2004 and later), open is open/none. The
 * passphrase is `<sharedKey><keyType>passPhrase</keyType><protected>false</protected>` with the
 * key XML-escaped; a WPA2 raw PSK (64 hex digits) is `keyType` `networkKey` (the WLAN_profile
 * schema's sharedKey: `networkKey` for a key, `passPhrase` for a passphrase). This document is a
 * secret and only ever goes to a private 0600 file.
 */
export function buildWlanProfileXml(spec: WlanProfileSpec): string {
  const ssidHex = spec.ssidHex.toLowerCase();
  if (!/^(?:[0-9a-f]{2}){1,32}$/.test(ssidHex))
    throw new AirliftError('INVALID_SSID', 'ssidHex must be 1..32 bytes');
  const name = ssidNameText(ssidHex);
  const auth =
    spec.security === 'open'
      ? { authentication: 'open', encryption: 'none' }
      : { authentication: spec.security === 'wpa3-sae' ? 'WPA3SAE' : 'WPA2PSK', encryption: 'AES' };
  let sharedKey = '';
  if (spec.security !== 'open') {
    const { keyType, material } = sharedKeyOf(spec);
    let key: string;
    try {
      key = xmlEscape(material);
    } catch {
      throw new AirliftError('INVALID_PASSPHRASE', 'The passphrase contains control characters');
    }
    sharedKey =
      '\t\t\t<sharedKey>\n' +
      `\t\t\t\t<keyType>${keyType}</keyType>\n` +
      '\t\t\t\t<protected>false</protected>\n' +
      `\t\t\t\t<keyMaterial>${key}</keyMaterial>\n` +
      '\t\t\t</sharedKey>\n';
  }
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<WLANProfile xmlns="http://www.microsoft.com/networking/WLAN/profile/v1">\n' +
    `\t<name>${xmlEscape(spec.name)}</name>\n` +
    '\t<SSIDConfig>\n' +
    '\t\t<SSID>\n' +
    `\t\t\t<hex>${ssidHex.toUpperCase()}</hex>\n` +
    (name === undefined ? '' : `\t\t\t<name>${xmlEscape(name)}</name>\n`) +
    '\t\t</SSID>\n' +
    `\t\t<nonBroadcast>${spec.hidden === true ? 'true' : 'false'}</nonBroadcast>\n` +
    '\t</SSIDConfig>\n' +
    '\t<connectionType>ESS</connectionType>\n' +
    '\t<connectionMode>manual</connectionMode>\n' +
    '\t<autoSwitch>false</autoSwitch>\n' +
    '\t<MSM>\n' +
    '\t\t<security>\n' +
    '\t\t\t<authEncryption>\n' +
    `\t\t\t\t<authentication>${auth.authentication}</authentication>\n` +
    `\t\t\t\t<encryption>${auth.encryption}</encryption>\n` +
    '\t\t\t\t<useOneX>false</useOneX>\n' +
    '\t\t\t</authEncryption>\n' +
    sharedKey +
    '\t\t</security>\n' +
    '\t</MSM>\n' +
    '</WLANProfile>\n'
  );
}

// ---------------------------------------------------------------------------------------------
// Builders (pure; tested exactly)

export function showInterfacesArgs(): string[] {
  return ['wlan', 'show', 'interfaces'];
}
export function showNetworksArgs(iface: string): string[] {
  return ['wlan', 'show', 'networks', 'mode=bssid', `interface=${iface}`];
}
export function addProfileArgs(file: string, iface: string): string[] {
  return ['wlan', 'add', 'profile', `filename=${file}`, `interface=${iface}`, 'user=current'];
}
export function connectArgs(profile: string, iface: string): string[] {
  return ['wlan', 'connect', `name=${profile}`, `interface=${iface}`];
}
export function disconnectArgs(iface: string): string[] {
  return ['wlan', 'disconnect', `interface=${iface}`];
}
export function deleteProfileArgs(profile: string, iface: string): string[] {
  return ['wlan', 'delete', 'profile', `name=${profile}`, `interface=${iface}`];
}
export function exportProfileArgs(profile: string, folder: string, iface: string): string[] {
  return ['wlan', 'export', 'profile', `name=${profile}`, `folder=${folder}`, `interface=${iface}`];
}

// ---------------------------------------------------------------------------------------------
// Adapter

export interface NetshAdapterOptions extends AdapterDeps {
  netsh?: string;
  /** Interval between `show interfaces` polls while joining. */
  pollMs?: number;
}

export class NetshAdapter implements WifiAdapter {
  readonly info: AdapterInfo;
  /**
   * netsh can add a WLAN profile with EAP settings, but not its user credentials: those need the
   * native WlanSetProfileEapXmlUserData API (or the sign-in prompt a person answers). Decision 0012.
   */
  readonly enterprise = {
    join: false,
    why: 'Windows cannot be given an Enterprise password or client key through netsh: a WLAN profile with EAP can be added, but its credentials only through the native WlanSetProfileEapXmlUserData API or a sign-in prompt. The lane verifies devices from the network it had before the job.',
  } as const;
  private readonly deps: ResolvedDeps;
  private readonly netsh: string;
  private readonly pollMs: number;
  private readonly temporary = new Set<string>();

  constructor(iface: NetshInterface, options: NetshAdapterOptions) {
    this.deps = resolveDeps(options);
    this.netsh = options.netsh ?? NETSH;
    this.pollMs = options.pollMs ?? 500;
    this.info = {
      id: iface.guid ?? iface.name,
      name: iface.name,
      ...(iface.mac === undefined ? {} : { mac: iface.mac }),
    };
  }

  get temporaryProfiles(): string[] {
    return [...this.temporary];
  }

  private run(args: string[], timeoutMs = 15_000): Promise<CommandResult> {
    return this.deps.runner.run(this.netsh, args, { timeoutMs });
  }

  private async state(): Promise<NetshInterface | undefined> {
    const r = await this.run(showInterfacesArgs());
    return parseShowInterfaces(outputOf(r)).find((i) => i.name === this.info.name);
  }

  async scan(): Promise<ScanResult[]> {
    const r = await this.run(showNetworksArgs(this.info.name));
    const text = outputOf(r);
    const parsed = parseShowNetworks(text);
    if (r.code !== 0 && parsed.networks.length === 0) {
      throw new AirliftError(
        'COMMAND_FAILED',
        `netsh could not list networks: ${text.trim().split('\n')[0] ?? ''}`,
      );
    }
    if (parsed.ssidBlocks > 0 && parsed.networks.length === 0 && !/Authentication/.test(text)) {
      throw new AirliftError(
        'BACKEND_UNAVAILABLE',
        'netsh output is not in English; the station reads netsh in English only (set the Windows display language to English)',
      );
    }
    return parsed.networks;
  }

  async current(): Promise<CurrentConnection | undefined> {
    const i = await this.state();
    if (i?.state !== 'connected') return undefined;
    let ssidHex = i.ssid === undefined ? '' : toHex(utf8Encode(i.ssid));
    if (i.profile !== undefined) ssidHex = (await this.profileSsidHex(i.profile)) ?? ssidHex;
    const ip = usableIpv4(this.deps.interfaces(), this.info.name);
    return {
      ssidHex,
      ssid: ssidHex === '' ? '' : ssidDisplay(ssidHex),
      ...(i.bssid === undefined ? {} : { bssid: i.bssid }),
      ...(ip === undefined ? {} : { ip }),
      ...(i.profile === undefined ? {} : { profile: i.profile }),
    };
  }

  /** The exact SSID of a stored profile, from its exported XML (no key=clear: no secret in clear). */
  private async profileSsidHex(profile: string): Promise<string | undefined> {
    try {
      return await withPrivateDir(this.deps.tmpRoot, async (dir) => {
        const r = await this.run(exportProfileArgs(profile, dir, this.info.name));
        if (r.code !== 0) return undefined;
        const file = (await readdir(dir)).find((f) => f.toLowerCase().endsWith('.xml'));
        return file === undefined ? undefined : profileXmlSsidHex(await readFile(join(dir, file), 'utf8'));
      });
    } catch {
      return undefined;
    }
  }

  async join(req: JoinRequest): Promise<JoinResult> {
    const start = this.deps.now();
    const deadline = start + req.timeoutMs;
    const ssidHex = requestSsidHex(req);
    const secret = requestSecret(req);
    const fail = joinFailure(this.deps.now, start);

    await this.dropTemporary();
    const profile = `${TEMP_PROFILE_PREFIX}${this.deps.randomId()}`;
    const xml = buildWlanProfileXml({
      name: profile,
      ssidHex,
      security: req.security,
      ...(secret === undefined
        ? {}
        : secret.kind === 'psk'
          ? { psk: secret.value }
          : { passphrase: secret.value }),
      hidden: req.hidden === true,
    });
    const added = await withSecretFile(this.deps.tmpRoot, 'profile.xml', xml, (file) =>
      this.run(addProfileArgs(file, this.info.name)),
    );
    const addedText = outputOf(added);
    if (isLocationRefusal(addedText)) throw locationConsentError();
    if (added.code !== 0 || !/is added on interface/i.test(addedText)) {
      // A profile that was not added needs no cleanup; be sure anyway.
      await this.run(deleteProfileArgs(profile, this.info.name));
      return fail('hardware', addedText.trim().split('\n')[0]);
    }
    this.temporary.add(profile);

    const connected = await this.run(connectArgs(profile, this.info.name));
    let verdict: ReturnType<typeof parseConnectOutput>;
    try {
      verdict = parseConnectOutput(outputOf(connected));
    } catch (err) {
      await this.deleteProfile(profile);
      throw err;
    }
    if (!verdict.ok) {
      await this.deleteProfile(profile);
      return fail(verdict.reason, verdict.detail);
    }

    const seen = new Set<string>();
    let ip: string | undefined;
    let joined: NetshInterface | undefined;
    for (;;) {
      let i: NetshInterface | undefined;
      try {
        i = await this.state();
      } catch (err) {
        await this.deleteProfile(profile);
        throw err;
      }
      if (i) seen.add(i.state);
      if (i?.state === 'connected' && i.profile === profile) {
        joined = i;
        ip = usableIpv4(this.deps.interfaces(), this.info.name);
        if (ip !== undefined) break;
      }
      if (this.deps.now() >= deadline) break;
      await this.deps.sleep(this.pollMs);
    }
    if (ip === undefined && seen.has('connected')) {
      ip = await ipv4Before(this.deps, this.info.name, this.deps.now() + 2_000);
    }
    if (ip === undefined) {
      await this.deleteProfile(profile);
      // netsh gives no reason: infer it from the states the interface went through.
      if (seen.has('connected'))
        return fail('dhcp_timeout', `${this.info.name} has no IPv4 address from DHCP`);
      if (seen.has('authenticating')) return fail('auth_failed', 'authentication did not complete');
      return fail('timeout', `states seen: ${[...seen].join(', ') || 'none'}`);
    }
    if (req.expectReachable && !(await reachableBefore(this.deps, req.expectReachable, deadline))) {
      await this.deleteProfile(profile);
      return fail('unreachable', `${req.expectReachable.host}:${req.expectReachable.port} does not answer`);
    }
    return {
      ok: true,
      ip,
      durationMs: this.deps.now() - start,
      ...(joined?.bssid === undefined ? {} : { bssid: joined.bssid }),
      ...(joined?.signalPercent === undefined ? {} : { signal: netshSignalToDbm(joined.signalPercent) }),
    };
  }

  private async deleteProfile(profile: string): Promise<void> {
    const r = await this.run(deleteProfileArgs(profile, this.info.name));
    if (r.code === 0 || /is not found/i.test(outputOf(r))) this.temporary.delete(profile);
  }

  private async dropTemporary(): Promise<void> {
    for (const p of [...this.temporary]) await this.deleteProfile(p);
  }

  async leave(): Promise<void> {
    await this.run(disconnectArgs(this.info.name));
    await this.dropTemporary();
    if (this.temporary.size > 0) {
      throw new AirliftError('COMMAND_FAILED', `Could not delete temporary profiles on ${this.info.name}`);
    }
  }

  async restore(previous: CurrentConnection | undefined): Promise<void> {
    if (previous?.profile === undefined) {
      await this.leave();
      return;
    }
    await this.dropTemporary();
    const r = await this.run(connectArgs(previous.profile, this.info.name));
    const v = parseConnectOutput(outputOf(r));
    if (!v.ok) throw new AirliftError('COMMAND_FAILED', `Could not restore ${previous.profile}: ${v.detail}`);
  }
}

export class NetshAdapterProvider implements WifiAdapterProvider {
  private readonly deps: ResolvedDeps;
  private readonly adapters = new Map<string, NetshAdapter>();

  constructor(private readonly options: NetshAdapterOptions) {
    this.deps = resolveDeps(options);
  }

  async list(): Promise<NetshAdapter[]> {
    const r = await this.deps.runner.run(this.options.netsh ?? NETSH, showInterfacesArgs(), {
      timeoutMs: 15_000,
    });
    const text = outputOf(r);
    const ifaces = parseShowInterfaces(text);
    if (r.code !== 0 && ifaces.length === 0 && !/no wireless interface/i.test(text)) {
      throw new AirliftError(
        'BACKEND_UNAVAILABLE',
        `netsh wlan is not available: ${text.trim().split('\n')[0] ?? ''} (is the WLAN AutoConfig service running?)`,
      );
    }
    return ifaces.map((i) => {
      const key = i.guid ?? i.name;
      let a = this.adapters.get(key);
      if (!a) {
        a = new NetshAdapter(i, this.options);
        this.adapters.set(key, a);
      }
      return a;
    });
  }
}
