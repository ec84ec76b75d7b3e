/**
 * Pure parsers for NetworkManager's `nmcli` in terse mode. The station's Linux Wi-Fi adapter
 * (main/wifi/linux-nmcli.ts) uses them today; the agent's NetworkManager backend reuses them.
 *
 * What nmcli really prints (read in NetworkManager's `src/nmcli/utils.c`, `print_required_fields`
 * and `print_data`, at 1.52/HEAD):
 *
 * - `-t` (terse) tabular output: one line per object, fields joined by `:`, no header, unset values
 *   printed as the empty string (not `--`).
 * - `-e yes` (the default, given explicitly anyway): inside a value, `:` becomes `\:` and `\`
 *   becomes `\\`. Nothing else is escaped: a newline or CR inside a value (an SSID may hold any
 *   byte) is printed raw and splits the "line". `splitTerse` therefore closes a record only at a
 *   newline that follows exactly `fields - 1` unescaped separators, and every field set used here
 *   ends with a field that can never hold a newline (SECURITY, CON-UUID).
 * - `-g`/`--get-values` is the same terse tabular format; `-m multiline` in terse mode does NOT
 *   escape values at all (`FIELD:value` per line), so it is ambiguous for hostile values and is not
 *   used here.
 * - `SSID` is `nm_utils_ssid_to_utf8()`: display text, converted from a guessed legacy encoding or
 *   with `?` substituted when the bytes are not UTF-8 — lossy. `SSID-HEX` is the exact bytes in
 *   upper-case hex (`ssid_to_hex`), empty for a hidden network. `SSID-HEX` is authoritative here;
 *   the display text is derived from it with `ssidDisplay`, never taken from `SSID`.
 */
import { isHex } from '../encoding';
import type { ConnectFailureReason } from '../errors';
import type { ScanResult, ScanSecurity } from '../protocol/wifi';
import { ssidDisplay } from '../ssid';

// ---------------------------------------------------------------------------------------------
// Terse splitting

export interface TerseParse {
  /** Records with exactly the expected number of fields, unescaped. */
  records: string[][];
  /** Records dropped because their field count was wrong (truncated or unexpected output). */
  malformed: number;
}

/**
 * Split `nmcli -t -e yes` tabular output into records of `fieldCount` unescaped fields.
 * A backslash escapes the next character (nmcli only produces `\:` and `\\`); a newline inside a
 * record (an SSID containing LF) is kept as data until `fieldCount - 1` separators have been seen.
 * Never throws: a record with too many or too few fields is counted in `malformed` and skipped.
 */
export function splitTerse(text: string, fieldCount: number): TerseParse {
  if (!Number.isInteger(fieldCount) || fieldCount < 1) throw new RangeError('fieldCount must be >= 1');
  const records: string[][] = [];
  let malformed = 0;
  let fields: string[] = [];
  let current = '';
  let started = false;
  let broken = false;

  const close = () => {
    fields.push(current);
    if (!broken && fields.length === fieldCount) records.push(fields);
    else malformed++;
    fields = [];
    current = '';
    started = false;
    broken = false;
  };

  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    if (c === '\\' && i + 1 < text.length) {
      current += text.charAt(i + 1);
      i++;
      started = true;
    } else if (c === ':') {
      if (fields.length === fieldCount - 1) broken = true; // more separators than fields
      fields.push(current);
      current = '';
      started = true;
    } else if (c === '\n') {
      if (!started) continue; // blank line between records
      if (fields.length === fieldCount - 1 || broken) close();
      else current += c; // a newline inside a value
    } else {
      current += c;
      started = true;
    }
  }
  if (started) {
    // Output without a trailing newline: the last record still counts if it is complete.
    // A CR before the final newline (never printed by nmcli) would stay in the last field.
    close();
  }
  return { records, malformed };
}

/** One field value escaped the way nmcli's terse mode escapes it (for building fixtures and tests). */
export function escapeTerse(value: string): string {
  return value.replace(/[\\:]/g, (c) => `\\${c}`);
}

// ---------------------------------------------------------------------------------------------
// device wifi list

/** `nmcli -t -e yes -f <these> device wifi list`: the field set `parseWifiList` expects, in order. */
export const WIFI_LIST_FIELDS = [
  'IN-USE',
  'BSSID',
  'SSID',
  'SSID-HEX',
  'MODE',
  'CHAN',
  'FREQ',
  'SIGNAL',
  'SECURITY',
] as const;

/** A scan entry with the nmcli facts the port's ScanResult does not carry. */
export interface NmcliAccessPoint extends ScanResult {
  /** The access point this device is associated with (`IN-USE` is `*`). */
  inUse: boolean;
  channel: number;
  /** Signal as nmcli reports it, 0..100. */
  signalPercent: number;
  /** nmcli's SECURITY text, for logs. */
  securityText: string;
}

/** The port's ScanResult of an access point, without nmcli's extra facts. */
export function toScanResult({
  ssid,
  ssidHex,
  bssid,
  frequency,
  signal,
  security,
  known,
}: NmcliAccessPoint): ScanResult {
  return { ssid, ssidHex, bssid, frequency, signal, security, known };
}

const BSSID_RE = /^[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}$/;

/**
 * nmcli's 0..100 signal back to approximate dBm. NetworkManager computes the percentage from dBm as
 * `100 - (|clamp(dBm, -100, -40) + 40| * 100 / 60)` (`nm_wifi_utils_level_to_quality`), so the
 * inverse is `dBm = -100 + 0.6 * percent`: 100 % → -40 dBm, 50 % → -70 dBm, 0 % → -100 dBm.
 * Anything stronger than -40 dBm also reads 100 %, so the top of the scale is compressed.
 */
export function nmcliSignalToDbm(percent: number): number {
  const p = Math.min(100, Math.max(0, percent));
  return Math.round(-100 + 0.6 * p);
}

/**
 * nmcli's SECURITY column (`WPA1 WPA2`, `WPA2 WPA3`, `WPA3`, `OWE`, `OWE-TM`, `WEP`,
 * `WPA2 802.1X`, `WPA-EAP-SUITE-B-192`, empty or `--` for open) as a ScanSecurity.
 */
export function nmcliSecurity(text: string): ScanSecurity {
  const flags = new Set(text.split(/\s+/).filter((t) => t !== '' && t !== '--'));
  if (flags.has('802.1X') || flags.has('WPA-EAP-SUITE-B-192')) return 'enterprise';
  if (flags.has('WEP')) return 'wep';
  const wpa2 = flags.has('WPA2') || flags.has('WPA1');
  if (flags.has('WPA3')) return wpa2 ? 'wpa2-wpa3' : 'wpa3-sae';
  if (wpa2) return 'wpa2-psk';
  if (flags.has('OWE') || flags.has('OWE-TM')) return 'owe';
  return 'open';
}

function parseAccessPoint(f: string[]): NmcliAccessPoint | undefined {
  const [inUse, bssid, , ssidHexRaw, mode, chan, freq, signal, security] = f;
  if (
    inUse === undefined ||
    bssid === undefined ||
    ssidHexRaw === undefined ||
    mode === undefined ||
    chan === undefined ||
    freq === undefined ||
    signal === undefined ||
    security === undefined
  ) {
    return undefined;
  }
  if (!BSSID_RE.test(bssid)) return undefined;
  const ssidHex = ssidHexRaw.toLowerCase();
  if (!isHex(ssidHex) || ssidHex.length > 64) return undefined;
  const freqMatch = /^(\d{4,5}) MHz$/.exec(freq);
  const signalPercent = /^\d{1,3}$/.test(signal) ? Number(signal) : NaN;
  const channel = /^\d{1,3}$/.test(chan) ? Number(chan) : NaN;
  if (!freqMatch || !Number.isFinite(signalPercent) || signalPercent > 100 || !Number.isFinite(channel)) {
    return undefined;
  }
  // Ad-hoc and mesh peers are not access points a station can join.
  if (mode !== 'Infra') return undefined;
  return {
    ssid: ssidHex === '' ? '' : ssidDisplay(ssidHex),
    ssidHex,
    bssid: bssid.toLowerCase(),
    frequency: Number(freqMatch[1]),
    signal: nmcliSignalToDbm(signalPercent),
    security: nmcliSecurity(security),
    known: false,
    inUse: inUse === '*',
    channel,
    signalPercent,
    securityText: security,
  };
}

/**
 * `nmcli -t -e yes -f IN-USE,BSSID,SSID,SSID-HEX,MODE,CHAN,FREQ,SIGNAL,SECURITY device wifi list`
 * (run with LC_ALL=C: FREQ is `2437 MHz`, MODE `Infra`). Hidden networks come back with an empty
 * `ssidHex` and `ssid`; non-infrastructure rows and malformed rows are dropped. `known` is false
 * (nmcli's list does not say; the adapter fills it in when it knows).
 */
export function parseWifiListDetailed(text: string): { accessPoints: NmcliAccessPoint[]; malformed: number } {
  const { records, malformed } = splitTerse(text, WIFI_LIST_FIELDS.length);
  const accessPoints: NmcliAccessPoint[] = [];
  let bad = malformed;
  for (const r of records) {
    const ap = parseAccessPoint(r);
    if (ap) accessPoints.push(ap);
    else if (r[4] === 'Infra') bad++;
  }
  return { accessPoints, malformed: bad };
}

/** `parseWifiListDetailed` reduced to the protocol's ScanResult. */
export function parseWifiList(text: string): ScanResult[] {
  return parseWifiListDetailed(text).accessPoints.map(
    ({ ssid, ssidHex, bssid, frequency, signal, security, known }) => ({
      ssid,
      ssidHex,
      bssid,
      frequency,
      signal,
      security,
      known,
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// device status

/**
 * `nmcli -t -e yes -f <these> device`: CON-UUID comes last because a UUID can never hold a newline
 * (a connection name can: profiles are made over D-Bus by anyone allowed to).
 */
export const DEVICE_STATUS_FIELDS = ['DEVICE', 'TYPE', 'STATE', 'CONNECTION', 'CON-UUID'] as const;

export interface NmcliDevice {
  device: string;
  /** `wifi`, `ethernet`, `wifi-p2p`, `loopback`, ... (LC_ALL=C). */
  type: string;
  /** `connected`, `disconnected`, `unavailable`, `unmanaged`, `connecting (getting IP configuration)`, ... */
  state: string;
  /** Name of the active connection profile, when one is active. */
  connection?: string;
  /** UUID of the active connection profile, when one is active. */
  connectionUuid?: string;
}

/**
 * `nmcli -t -e yes -f DEVICE,TYPE,STATE,CONNECTION,CON-UUID device`. Also accepts the four-field
 * form without CON-UUID (`fields: 4`).
 */
export function parseDeviceStatus(text: string, fields: 4 | 5 = 5): NmcliDevice[] {
  const out: NmcliDevice[] = [];
  for (const [device, type, state, connection, uuid] of splitTerse(text, fields).records) {
    if (device === undefined || device === '' || type === undefined || state === undefined) continue;
    out.push({
      device,
      type,
      state,
      ...(connection ? { connection } : {}),
      ...(uuid ? { connectionUuid: uuid } : {}),
    });
  }
  return out;
}

/** Wi-Fi station devices NetworkManager manages (drops `wifi-p2p`, unmanaged and unavailable ones). */
export function usableWifiDevices(devices: readonly NmcliDevice[]): NmcliDevice[] {
  return devices.filter((d) => d.type === 'wifi' && d.state !== 'unmanaged' && d.state !== 'unavailable');
}

/** Whether an nmcli device STATE means associated with an address (`connected`, `connected (externally)`, ...). */
export function isConnectedState(state: string): boolean {
  return state === 'connected' || state.startsWith('connected (');
}

// ---------------------------------------------------------------------------------------------
// Activation failures

/** nmcli exit codes (nmcli(1), "EXIT STATUS"). */
export const NMCLI_EXIT = {
  SUCCESS: 0,
  UNKNOWN: 1,
  USER_INPUT: 2,
  TIMEOUT_EXPIRED: 3,
  CON_ACTIVATION: 4,
  CON_DEACTIVATION: 5,
  DEV_DISCONNECT: 6,
  CON_DEL: 7,
  NM_NOT_RUNNING: 8,
  NOT_FOUND: 10,
} as const;

export type NmcliFailureReason = Extract<
  ConnectFailureReason,
  'auth_failed' | 'eap_failed' | 'ssid_not_found' | 'dhcp_timeout' | 'timeout' | 'hardware'
>;

/**
 * Why `nmcli connection up` failed, from its exit code and its message (LC_ALL=C). The texts are
 * NetworkManager's device and active-connection state reasons (`nm-client-utils.c`):
 * - wrong or missing secrets: "Secrets were required, but not provided", "No valid secrets",
 *   "Invalid secrets", and the supplicant's 4-way-handshake failures ("802.1X supplicant
 *   disconnected/failed/took too long to authenticate") → `auth_failed`;
 * - "The Wi-Fi network could not be found", "No network with SSID ... found" → `ssid_not_found`;
 * - "IP configuration could not be reserved", "DHCP client failed/error" → `dhcp_timeout`;
 * - exit 3 ("Timeout expired") or "The connection attempt timed out" → `timeout`;
 * - anything else → `hardware` (the device, the driver or NetworkManager itself).
 *
 * On an Enterprise (802.1X) profile (`enterprise`) the same words mean other things:
 * NetworkManager asks again for secrets whenever the EAP exchange fails after the tunnel (wrong
 * identity or password, but also a server certificate that failed the check: nmcli says no more),
 * so "Secrets were required" → `auth_failed` with a detail that says so; the supplicant failing,
 * disconnecting or taking too long → `eap_failed`; "802.1X supplicant configuration failed" (a
 * certificate NetworkManager cannot use) → `hardware`.
 */
export function classifyActivationFailure(
  code: number | null,
  text: string,
  enterprise = false,
): { reason: NmcliFailureReason; detail: string } {
  const detail = firstErrorLine(text);
  const t = text.toLowerCase();
  if (enterprise) {
    if (t.includes('802.1x supplicant configuration failed')) return { reason: 'hardware', detail };
    if (
      t.includes('secrets were required') ||
      t.includes('no valid secrets') ||
      t.includes('invalid secrets')
    )
      return {
        reason: 'auth_failed',
        detail: `${detail} (NetworkManager: the identity or password, or the server certificate's check)`,
      };
    if (t.includes('802.1x supplicant')) return { reason: 'eap_failed', detail };
  }
  if (
    t.includes('secrets were required') ||
    t.includes('no valid secrets') ||
    t.includes('invalid secrets') ||
    t.includes('802.1x supplicant')
  ) {
    return { reason: 'auth_failed', detail };
  }
  if (t.includes('wi-fi network could not be found') || /no network with ssid/.test(t)) {
    return { reason: 'ssid_not_found', detail };
  }
  if (t.includes('ip configuration could not be reserved') || t.includes('dhcp client')) {
    return { reason: 'dhcp_timeout', detail };
  }
  if (code === NMCLI_EXIT.TIMEOUT_EXPIRED || t.includes('timeout expired') || t.includes('timed out')) {
    return { reason: 'timeout', detail };
  }
  return { reason: 'hardware', detail };
}

/** The first `Error: ...` line of nmcli's output (or the first non-empty line), bounded in length. */
export function firstErrorLine(text: string): string {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const line = lines.find((l) => l.startsWith('Error:')) ?? lines.find((l) => l !== '') ?? '';
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}
