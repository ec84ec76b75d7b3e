/**
 * Pure parsers for what the wpa_supplicant backend reads back: `wpa_cli scan_results`,
 * `wpa_cli status`, `wpa_cli get_capability`, control-interface event lines, the DHCP clients'
 * output (udhcpc, dhcpcd), plus the few `ip` outputs used to complete a lease. All take text
 * (LC_ALL=C) and never throw on odd input: an unreadable line is skipped.
 */
import type { EapMethod } from '../../../shared/protocol/eap';
import { isIpv4 } from '../../../shared/ipv4';
import type { ConnectFailureReason } from '../../../shared/errors';
import { toHex } from '../../../shared/encoding';
import { ssidDisplay } from '../../../shared/ssid';
import type { ScanResult, ScanSecurity } from '../../../shared/protocol/wifi';

/**
 * The bytes of an SSID as wpa_cli prints it (hostapd's `printf_encode`): printable ASCII as is,
 * `\"` `\\` `\e` `\n` `\r` `\t`, and every other byte as `\xNN`. Also accepts octal `\NNN`
 * (`printf_decode` does). Returns lowercase hex.
 */
export function decodeWpaCliSsid(text: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] ?? '';
    if (ch !== '\\') {
      // Raw characters outside ASCII cannot come from printf_encode; keep their UTF-8 bytes.
      for (const b of new TextEncoder().encode(ch)) bytes.push(b);
      continue;
    }
    const next = text[i + 1];
    const simple: Record<string, number> = { '"': 0x22, '\\': 0x5c, e: 0x1b, n: 0x0a, r: 0x0d, t: 0x09 };
    if (next !== undefined && next in simple) {
      bytes.push(simple[next] ?? 0);
      i++;
    } else if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(text.slice(i + 2, i + 4))) {
      bytes.push(parseInt(text.slice(i + 2, i + 4), 16));
      i += 3;
    } else if (next !== undefined && /^[0-7]{1,3}/.test(text.slice(i + 1))) {
      const oct = /^[0-7]{1,3}/.exec(text.slice(i + 1))?.[0] ?? '0';
      bytes.push(parseInt(oct, 8) & 0xff);
      i += oct.length;
    } else {
      bytes.push(0x5c); // a lone backslash: keep it
    }
  }
  return toHex(Uint8Array.from(bytes));
}

/** Security from a scan entry's flags, e.g. `[WPA2-PSK-CCMP][ESS]`, `[WPA2-PSK+SAE-CCMP]`, `[RSN-SAE-CCMP]`. */
export function securityFromFlags(flags: string): ScanSecurity {
  const f = flags.toUpperCase();
  if (/EAP|802\.1X/.test(f)) return 'enterprise';
  const sae = /SAE/.test(f);
  const psk = /PSK/.test(f);
  if (sae && psk) return 'wpa2-wpa3';
  if (sae) return 'wpa3-sae';
  if (psk) return 'wpa2-psk';
  if (/OWE/.test(f)) return 'owe';
  if (/WEP/.test(f)) return 'wep';
  return 'open';
}

const BSSID_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

/**
 * `wpa_cli scan_results`: a header, then `bssid \t frequency \t signal \t flags \t ssid` per BSS.
 * Hidden networks (empty SSID) are left out; `known` is false (the agent fills it in).
 */
export function parseScanResults(text: string): ScanResult[] {
  const out: ScanResult[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const fields = line.split('\t');
    if (fields.length < 4) continue;
    const [bssid = '', freq = '', level = '', flags = ''] = fields;
    if (!BSSID_RE.test(bssid)) continue;
    const frequency = Number(freq);
    const signal = Number(level);
    if (!Number.isInteger(frequency) || !Number.isFinite(signal)) continue;
    // The SSID is the rest of the line: an escaped SSID holds no tab, but keep any anyway.
    const ssidHex = decodeWpaCliSsid(fields.slice(4).join('\t'));
    if (ssidHex === '' || /^(00)+$/.test(ssidHex)) continue;
    out.push({
      ssid: ssidDisplay(ssidHex),
      ssidHex,
      bssid: bssid.toLowerCase(),
      frequency,
      signal,
      security: securityFromFlags(flags),
      known: false,
    });
  }
  return out;
}

export interface WpaStatus {
  wpaState: string;
  bssid?: string;
  ssidHex?: string;
  id?: number;
  frequency?: number;
  keyMgmt?: string;
  ipAddress?: string;
  /** Every key as printed, for diagnostics. */
  fields: Record<string, string>;
}

/** `wpa_cli status`: `key=value` lines. A missing `wpa_state` reads as `UNKNOWN`. */
export function parseStatus(text: string): WpaStatus {
  const fields: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    fields[line.slice(0, eq)] = line.slice(eq + 1);
  }
  const status: WpaStatus = { wpaState: fields.wpa_state ?? 'UNKNOWN', fields };
  if (fields.bssid !== undefined && BSSID_RE.test(fields.bssid)) status.bssid = fields.bssid.toLowerCase();
  if (fields.ssid !== undefined && fields.ssid !== '') status.ssidHex = decodeWpaCliSsid(fields.ssid);
  if (fields.id !== undefined && /^\d+$/.test(fields.id)) status.id = Number(fields.id);
  if (fields.freq !== undefined && /^\d+$/.test(fields.freq)) status.frequency = Number(fields.freq);
  if (fields.key_mgmt !== undefined) status.keyMgmt = fields.key_mgmt;
  if (fields.ip_address !== undefined) status.ipAddress = fields.ip_address;
  return status;
}

/** What wpa_supplicant said about one 802.1X exchange (`CTRL-EVENT-EAP-*`). */
export type EapStep = 'started' | 'method' | 'cert-error' | 'failure' | 'success';

export type WpaEvent =
  | { kind: 'connected'; bssid?: string; id?: number }
  | { kind: 'eap'; step: EapStep; detail: string }
  | { kind: 'disconnected'; bssid?: string; reason?: number }
  | { kind: 'failure'; reason: ConnectFailureReason; detail: string }
  | { kind: 'scan_results' }
  | { kind: 'other'; name: string };

/**
 * One control-interface event line as `wpa_cli` prints it in interactive mode
 * (`<3>CTRL-EVENT-...`, possibly after a `\r` or a `> ` prompt), or undefined for anything else.
 */
export function parseEventLine(line: string): WpaEvent | undefined {
  const m = /(?:^|[\r>\s])<(\d)>([A-Z0-9-]+)(.*)$/.exec(line.replace(/\r?\n$/, ''));
  if (!m) return undefined;
  const name = m[2] ?? '';
  const rest = (m[3] ?? '').trim();
  const kv = (key: string): string | undefined =>
    new RegExp(`(?:^|\\s|\\[)${key}=([^\\s\\]]*)`).exec(rest)?.[1];
  switch (name) {
    case 'CTRL-EVENT-CONNECTED': {
      const bssid = /Connection to ([0-9a-fA-F:]{17})/.exec(rest)?.[1]?.toLowerCase();
      const id = kv('id');
      return {
        kind: 'connected',
        ...(bssid === undefined ? {} : { bssid }),
        ...(id !== undefined && /^\d+$/.test(id) ? { id: Number(id) } : {}),
      };
    }
    case 'CTRL-EVENT-DISCONNECTED': {
      const bssid = kv('bssid');
      const reason = kv('reason');
      return {
        kind: 'disconnected',
        ...(bssid === undefined ? {} : { bssid: bssid.toLowerCase() }),
        ...(reason !== undefined && /^\d+$/.test(reason) ? { reason: Number(reason) } : {}),
      };
    }
    case 'CTRL-EVENT-SSID-TEMP-DISABLED': {
      const reason = kv('reason') ?? '';
      if (reason === 'WRONG_KEY' || reason === 'AUTH_FAILED') {
        return { kind: 'failure', reason: 'auth_failed', detail: `temp-disabled: ${reason}` };
      }
      return { kind: 'failure', reason: 'assoc_rejected', detail: `temp-disabled: ${reason || 'unknown'}` };
    }
    case 'CTRL-EVENT-NETWORK-NOT-FOUND':
      return { kind: 'failure', reason: 'ssid_not_found', detail: 'network not found in scan' };
    case 'CTRL-EVENT-ASSOC-REJECT': {
      const code = kv('status_code');
      return {
        kind: 'failure',
        reason: 'assoc_rejected',
        detail: `association rejected (status ${code ?? '?'})`,
      };
    }
    case 'CTRL-EVENT-AUTH-REJECT': {
      const code = kv('status_code');
      return {
        kind: 'failure',
        reason: 'auth_failed',
        detail: `authentication rejected (status ${code ?? '?'})`,
      };
    }
    case 'CTRL-EVENT-SCAN-RESULTS':
      return { kind: 'scan_results' };
    case 'CTRL-EVENT-EAP-STARTED':
      return { kind: 'eap', step: 'started', detail: 'EAP started' };
    case 'CTRL-EVENT-EAP-METHOD':
      return { kind: 'eap', step: 'method', detail: clip(rest) };
    case 'CTRL-EVENT-EAP-TLS-CERT-ERROR': {
      const err = /err='([^']*)'/.exec(rest)?.[1] ?? 'certificate error';
      const subject = /subject='([^']*)'/.exec(rest)?.[1];
      return {
        kind: 'eap',
        step: 'cert-error',
        detail: clip(`the server's certificate failed the check: ${err}${subject ? ` (${subject})` : ''}`),
      };
    }
    case 'CTRL-EVENT-EAP-FAILURE':
    case 'CTRL-EVENT-EAP-FAILURE2':
    case 'CTRL-EVENT-EAP-TIMEOUT-FAILURE':
    case 'CTRL-EVENT-EAP-TIMEOUT-FAILURE2':
      return { kind: 'eap', step: 'failure', detail: clip(`${name.slice('CTRL-EVENT-'.length)} ${rest}`) };
    case 'CTRL-EVENT-EAP-SUCCESS':
      return { kind: 'eap', step: 'success', detail: 'EAP succeeded' };
    default:
      return { kind: 'other', name };
  }
}

function clip(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/**
 * Why an 802.1X exchange failed, from its events (recorded from wpa_supplicant against hostapd's
 * RADIUS server, test/fixtures/wpa/events-eap-*.txt): a certificate error is `cert_rejected`; a
 * failure before any method was agreed is `eap_failed` (the server wanted another method); after
 * the tunnel was up, PEAP/TTLS failing is the identity or password (`auth_failed`) and TLS failing
 * the client certificate (`cert_rejected`). Undefined while none of these has happened.
 */
export function eapFailureOf(
  events: readonly WpaEvent[],
  method: 'peap' | 'ttls' | 'tls',
): { reason: ConnectFailureReason; detail: string } | undefined {
  const steps = events.flatMap((e) => (e.kind === 'eap' ? [e] : []));
  const certError = steps.find((e) => e.step === 'cert-error');
  if (certError) return { reason: 'cert_rejected', detail: certError.detail };
  const failure = steps.find((e) => e.step === 'failure');
  if (!failure) return undefined;
  if (/TIMEOUT/.test(failure.detail))
    return { reason: 'eap_failed', detail: 'the authentication server did not answer in time' };
  if (!steps.some((e) => e.step === 'method'))
    return {
      reason: 'eap_failed',
      detail: `the server refused EAP-${method.toUpperCase()}: it expects another method`,
    };
  return method === 'tls'
    ? { reason: 'cert_rejected', detail: "the server refused the device's client certificate" }
    : { reason: 'auth_failed', detail: 'the server refused the identity or password' };
}

/** What a DHCP client printed about the lease it got. */
export interface DhcpOutput {
  ip?: string;
  server?: string;
  router?: string;
  leaseSeconds?: number;
}

const IP = '(\\d{1,3}(?:\\.\\d{1,3}){3})';

/**
 * `udhcpc -n -q` output: `lease of 192.168.1.50 obtained from 192.168.1.1, lease time 86400`
 * (BusyBox 1.30+), or `Lease of 192.168.1.50 obtained, lease time 86400` (older). Undefined when no lease.
 */
export function parseUdhcpcOutput(text: string): DhcpOutput | undefined {
  const m = new RegExp(`[Ll]ease of ${IP} obtained(?: from ${IP})?, lease time (\\d+)`).exec(text);
  if (!m) return undefined;
  return {
    ip: m[1] ?? '',
    ...(m[2] === undefined ? {} : { server: m[2] }),
    leaseSeconds: Number(m[3]),
  };
}

/** `dhcpcd -1` output: `wlan0: leased 192.168.1.50 for 86400 seconds`, `adding default route via …`. */
export function parseDhcpcdOutput(text: string): DhcpOutput | undefined {
  const m = new RegExp(`(?:leased|rebinding lease of) ${IP} for (\\d+) seconds`).exec(text);
  if (!m) return undefined;
  const router = new RegExp(`adding default route via ${IP}`).exec(text)?.[1];
  return { ip: m[1] ?? '', leaseSeconds: Number(m[2]), ...(router === undefined ? {} : { router }) };
}

/**
 * The IPv4 address of `ip -o -4 addr show dev X` (iproute2 or BusyBox, one line per address): a
 * `scope global` one before a link-local one, else the first. `inet X peer Y/N` (ppp, tun) is the
 * local address X; N is the peer's prefix, so the lease gets /32.
 */
export function parseIpAddr(text: string): { ip: string; prefixLength: number } | undefined {
  const found: { ip: string; prefixLength: number; global: boolean }[] = [];
  for (const line of text.split('\n')) {
    const m = new RegExp(`\\binet ${IP}(?:/(\\d{1,2})|\\s+peer ${IP}/\\d{1,2})?\\s`).exec(`${line} `);
    if (!m) continue;
    const ip = m[1] ?? '';
    const prefix = m[2] !== undefined ? Number(m[2]) : 32;
    if (!isIpv4(ip) || prefix > 32) continue;
    const scope = /\bscope (\S+)/.exec(line)?.[1];
    found.push({ ip, prefixLength: prefix, global: scope === undefined || scope === 'global' });
  }
  const best = found.find((a) => a.global) ?? found[0];
  return best ? { ip: best.ip, prefixLength: best.prefixLength } : undefined;
}

/**
 * The first IPv4 address in `ip -j -4 addr show dev X` (iproute2's JSON: a list of links, each with
 * `addr_info` entries of `family`, `local`, `prefixlen`). A global address is preferred over a
 * link-scoped one. Undefined for anything unreadable.
 */
export function parseIpAddrJson(text: string): { ip: string; prefixLength: number } | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(data)) return undefined;
  const found: { ip: string; prefixLength: number; global: boolean }[] = [];
  for (const link of data as unknown[]) {
    if (typeof link !== 'object' || link === null) continue;
    const infos = (link as { addr_info?: unknown }).addr_info;
    if (!Array.isArray(infos)) continue;
    for (const info of infos as unknown[]) {
      if (typeof info !== 'object' || info === null) continue;
      const { family, local, prefixlen, scope } = info as Record<string, unknown>;
      if (family !== 'inet' || typeof local !== 'string' || !isIpv4(local)) continue;
      if (typeof prefixlen !== 'number' || !Number.isInteger(prefixlen) || prefixlen < 0 || prefixlen > 32)
        continue;
      found.push({ ip: local, prefixLength: prefixlen, global: scope === undefined || scope === 'global' });
    }
  }
  const best = found.find((a) => a.global) ?? found[0];
  return best ? { ip: best.ip, prefixLength: best.prefixLength } : undefined;
}

/**
 * The words of `wpa_cli get_capability <field>` (space-separated, e.g. key_mgmt
 * `NONE IEEE8021X WPA-EAP WPA-PSK SAE`), or undefined when wpa_supplicant refused (`FAIL`) or
 * printed nothing.
 */
export function parseCapabilityWords(text: string): string[] | undefined {
  const words = text.split(/\s+/).filter((w) => w !== '');
  if (words.length === 0 || words[0] === 'FAIL' || words[0] === 'UNKNOWN') return undefined;
  if (words.some((w) => !/^[A-Z0-9_-]+$/.test(w))) return undefined;
  return words;
}

/**
 * The EAP methods Airlift can use from `wpa_cli get_capability eap` (`MD5 TLS MSCHAPV2 PEAP TTLS
 * ... AKA' ...`): PEAP needs MSCHAPv2 for its inner method. Undefined for FAIL or nothing.
 */
export function parseEapCapability(text: string): EapMethod[] | undefined {
  const words = text.split(/\s+/).filter((w) => w !== '');
  if (words.length === 0 || words[0] === 'FAIL' || words[0] === 'UNKNOWN') return undefined;
  if (words.some((w) => !/^[A-Z0-9_'-]+$/.test(w))) return undefined;
  const has = (w: string) => words.includes(w);
  return [
    ...(has('PEAP') && has('MSCHAPV2') ? (['peap'] as const) : []),
    ...(has('TTLS') ? (['ttls'] as const) : []),
    ...(has('TLS') ? (['tls'] as const) : []),
  ];
}

/** The gateway in `ip -4 route show default dev X` (`default via 192.168.1.1 ...`). */
export function parseDefaultRoute(text: string): string | undefined {
  return new RegExp(`^default via ${IP}`, 'm').exec(text)?.[1];
}

/** `nameserver` lines of a resolv.conf (IPv4 and IPv6). */
export function parseResolvConf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*nameserver\s+([0-9a-fA-F.:]+)\s*$/gm)) out.push(m[1] ?? '');
  return out;
}

// Shared with the AP planner, which decides by channels.

/** Whether a command's output points at the radio itself (rfkill, a missing or down device). */
export function looksLikeHardwareFailure(text: string): boolean {
  return /rfkill|RF-kill|Operation not possible|No such device|Network is down|Could not set interface|nl80211: Could not configure driver mode|Failed to initialize driver|Failed to connect to non-global ctrl_ifname|No such file or directory/i.test(
    text,
  );
}
