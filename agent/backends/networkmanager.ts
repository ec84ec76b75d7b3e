/**
 * The agent's radio through NetworkManager (`backend: networkmanager`).
 *
 * - Every command goes through the CommandRunner: argument arrays, a timeout each, LC_ALL=C.
 *   nmcli runs in terse mode (`-t -e yes`) and is read with the escape-aware parsers of
 *   `shared/linux-tools/nmcli.ts`; SSIDs are compared by bytes (`SSID-HEX`), never by display text.
 * - Exit codes drive control flow; nmcli's text is only translated into a failure reason
 *   (`classifyActivationFailure`) or carried as detail.
 * - Join: an explicit profile `airlift-net-<ssidHex>` (older profiles of that name, i.e. the same
 *   SSID bytes, are deleted first), `connection add` then `nmcli --wait N connection up uuid U
 *   passwd-file F`. The secret is only in a 0600 file inside a 0700 directory, removed at once;
 *   NetworkManager stores it in the (root-only) profile so autoconnect works after a reboot.
 *   A failed join deletes its profile. A `hardware`-class failure gets `rfkill unblock wifi` and
 *   one retry.
 * - Setup AP: an in-memory profile `airlift-setup-ap` (`802-11-wireless.mode ap`,
 *   `ipv4.method shared`, `ipv4.addresses 10.X.Y.1/24`, band and channel, open or WPA2-PSK/CCMP).
 *   With AP+STA (from `iw list`), the AP runs on a virtual `__ap` interface so the station
 *   interface stays free: created with `iw` when the AP starts, with a locally administered MAC
 *   derived from the station's (also the profile's `cloned-mac-address`), and deleted when the AP
 *   stops or the backend closes; a marker in the runtime directory lets a restarted agent delete one
 *   it left behind (agent/backends/ap-interface.ts). If it cannot be created, the AP and the station
 *   take turns on the station interface from then on and `concurrentApSta` is false at once.
 *   Without AP+STA, joining takes the AP down first (unless asked to keep it, which needs AP+STA).
 * - The channel rules are the AP planner's (agent/core/ap-plan.ts), as in the wpa_supplicant
 *   backend: on a one-channel radio the AP starts on the station's channel, a join to another
 *   channel (or one not in the latest scan) takes the AP's profile down for the join and brings it
 *   back on the station's channel after success or its configured one after failure (its shared-mode
 *   DHCP goes and comes with it); never on a DFS channel or, without `setup.country`, 5 GHz: for
 *   such a target the AP and the station take turns for that join.
 * - Status: Wi-Fi, Ethernet and cellular (`gsm`/`cdma` devices, present when ModemManager runs)
 *   from `device status`, addresses from `device show X`.
 * - SSIDs argv cannot carry (not valid UTF-8, or holding NUL): the same saved profile is added
 *   over D-Bus (`busctl call ... Settings.AddConnection`, the SSID as `ay`) with our own UUID,
 *   then activated like any other (`shared/linux-tools/busctl.ts`).
 * - WPA3-Personal is offered only when NetworkManager's wpa_supplicant lists `sae` for the
 *   interface (D-Bus `Capabilities.KeyMgmt`); when that cannot be asked, it stays offered and
 *   NetworkManager's own failure reason reports a radio that cannot do it.
 * - Enterprise (802.1X): the profile carries `802-1x.*` (method, identity, anonymous identity,
 *   inner method, the store's CA, client certificate and key files, domain suffix), the password
 *   and the key's passphrase come in the passwd-file like a PSK; WPA3-Enterprise adds `pmf
 *   required`. Offered with the EAP methods NetworkManager's wpa_supplicant lists (D-Bus
 *   `EapMethods`; all three when it cannot be asked: NetworkManager's supplicant has EAP), and
 *   WPA3-Enterprise only where WPA3-Personal is. NetworkManager reports a certificate that failed
 *   the check as missing secrets: such a join fails as `auth_failed` with a detail that says so,
 *   never `cert_rejected`. NetworkManager keeps nothing that tells the two apart: of wpa_supplicant's
 *   `EAP` D-Bus signal it reads only started and completion success/failure, it does not listen to
 *   `Certification`, and a failed 802.1X association ends as device reason NO_SECRETS ("Secrets were
 *   required, but not provided"), as a wrong password does. Only wpa_supplicant's own
 *   `CTRL-EVENT-EAP-TLS-CERT-ERROR` line names a certificate, on its control socket or D-Bus while
 *   the join runs, or in the journal where the distribution's unit logs it; none is read here
 *   (decision 0012, "The agent's NetworkManager backend").
 * - Static IPv4: `ipv4.method manual` with the address, gateway and DNS servers.
 *
 * NetworkManager's shared mode chooses its own DHCP range in the /24.
 */
import type { Logger } from '../log';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { randomUUID } from 'node:crypto';
import { AirliftError } from '../../shared/errors';
import type { AgentConfig } from '../../shared/agent-config';
import {
  combinationAllowsApSta,
  parseIwBands,
  parseIwCombinationList,
  parseIwStationCount,
} from '../../shared/linux-tools/iw';
import {
  classifyActivationFailure,
  firstErrorLine,
  isConnectedState,
  NMCLI_EXIT,
  parseDeviceStatus,
  parseWifiListDetailed,
  toScanResult,
  type NmcliAccessPoint,
  type NmcliDevice,
} from '../../shared/linux-tools/nmcli';
import {
  connectionDeleteArgs,
  connectionListArgs,
  connectionUpArgs,
  deviceDisconnectArgs,
  deviceStatusArgs,
  wifiListArgs,
  parseAddedUuid,
  parseConnectionList,
  parseDeviceShowIp4,
  connectionModifyArgs,
  passwdFileLine,
  ssidArgText,
  wifiProfileAddArgs,
  wifiProfileSettings,
  type NmEapSpec,
} from '../../shared/linux-tools/nmcli-connections';
import {
  BUSCTL,
  nmAddConnectionDbusArgs,
  nmcliModifiesAfterAdd,
  parseObjectPathReply,
  parseWpaEapMethods,
  parseWpaKeyMgmt,
  wpaEapMethodsArgs,
  wpaGetInterfaceArgs,
  wpaInterfaceCapabilitiesArgs,
} from '../../shared/linux-tools/busctl';
import { EAP_METHODS, type EapMethod } from '../../shared/protocol/eap';
import type { StaticIpv4 } from '../../shared/protocol/static-ipv4';
import type { NetworkSecurity, ScanResult } from '../../shared/protocol/wifi';
import type { CommandResult, CommandRunner } from '../ports/command-runner';
import type {
  JoinOutcome,
  JoinTarget,
  Lease,
  LinkState,
  RadioCapabilities,
  RadioPort,
  RadioStatus,
  SetupApConfig,
} from '../ports/radio';
import { registerBackend } from './select-backend';
import { writeFileAtomic } from '../../platform/atomic-file';
import {
  afterJoinFollowsStation,
  apMacFor,
  channelOfTarget,
  planApAfterJoin,
  planApForJoin,
  planApStart,
  type ApNow,
  type ApRadio,
} from '../core/ap-plan';
import { ApInterface, readSysfsNet } from './ap-interface';
import { clearApForJoin, followUpAfterJoin, type ApJoinActions } from './ap-around-join';
import { setupApDnsmasqLines } from './setup-ap-dnsmasq';

// The shared builders, under this module's names as well.
export {
  connectionDeleteArgs,
  connectionListArgs,
  connectionUpArgs,
  deviceDisconnectArgs,
  deviceStatusArgs,
  wifiListArgs,
  ssidArgText,
};

/** Our file in NetworkManager's dnsmasq-shared.d, present while the setup AP is up (setup-ap-dnsmasq.ts). */
export const CAPTIVE_DNS_FILE = 'airlift-captive-portal.conf';

export const NETWORK_PROFILE_PREFIX = 'airlift-net-';
export const AP_PROFILE_NAME = 'airlift-setup-ap';
export const DEFAULT_PRIORITY = 50;
const SHORT_MS = 15_000;

// ---------------------------------------------------------------------------------------------
// Builders (pure, tested exactly)

export function deviceShowIp4Args(ifname: string): string[] {
  return ['-t', '-f', 'IP4.ADDRESS,IP4.GATEWAY,IP4.DNS', 'device', 'show', ifname];
}

/** The profile name for a network: the SSID bytes in hex, so "same SSID" is an exact name match. */
export function networkProfileName(ssidHex: string): string {
  return `${NETWORK_PROFILE_PREFIX}${ssidHex.toLowerCase()}`;
}

export interface NetworkProfileSpec {
  ifname: string;
  ssidHex: string;
  /** The SSID as text (valid UTF-8 without NUL, see `ssidArgText`). */
  ssid: string;
  security: NetworkSecurity;
  eap?: NmEapSpec;
  ipv4?: StaticIpv4;
  hidden: boolean;
  priority: number;
}

/** `nmcli connection add` for a network: saved, autoconnecting at `priority`, IPv4 required, no secret. */
export function networkAddArgs(spec: NetworkProfileSpec): string[] {
  return wifiProfileAddArgs({
    ...spec,
    name: networkProfileName(spec.ssidHex),
    autoconnectPriority: spec.priority,
  });
}

/** The same saved profile over D-Bus, for an SSID argv cannot carry (not UTF-8, or holding NUL). */
export function networkAddDbusArgs(spec: Omit<NetworkProfileSpec, 'ssid'> & { uuid: string }): string[] {
  return nmAddConnectionDbusArgs({
    ...spec,
    name: networkProfileName(spec.ssidHex),
    autoconnectPriority: spec.priority,
  });
}

/** NetworkManager's `802-11-wireless.band` for a channel: `bg` up to 14, `a` above. */
export function bandForChannel(channel: number): 'bg' | 'a' {
  return channel <= 14 ? 'bg' : 'a';
}

/**
 * `nmcli connection add` for the setup AP: in memory, never autoconnected, shared /24, open or WPA2;
 * with `mac`, the AP's own address (on a virtual AP interface).
 */
export function apAddArgs(ifname: string, config: SetupApConfig, mac?: string): string[] {
  return [
    'connection',
    'add',
    'save',
    'no',
    'type',
    'wifi',
    'ifname',
    ifname,
    'con-name',
    AP_PROFILE_NAME,
    'ssid',
    config.ssid,
    'connection.autoconnect',
    'no',
    '802-11-wireless.mode',
    'ap',
    '802-11-wireless.band',
    bandForChannel(config.channel),
    '802-11-wireless.channel',
    String(config.channel),
    'ipv4.method',
    'shared',
    'ipv4.addresses',
    `${config.address}/${String(config.prefixLength)}`,
    'ipv6.method',
    'disabled',
    ...(mac === undefined ? [] : ['802-11-wireless.cloned-mac-address', mac]),
    ...(config.passphrase === undefined
      ? []
      : [
          '802-11-wireless-security.key-mgmt',
          'wpa-psk',
          '802-11-wireless-security.proto',
          'rsn',
          '802-11-wireless-security.pairwise',
          'ccmp',
          '802-11-wireless-security.group',
          'ccmp',
        ]),
  ];
}

export function rfkillUnblockArgs(): string[] {
  return ['unblock', 'wifi'];
}

export function iwListArgs(): string[] {
  return ['list'];
}

export function iwAddApInterfaceArgs(ifname: string, apIfname: string, mac?: string): string[] {
  return [
    'dev',
    ifname,
    'interface',
    'add',
    apIfname,
    'type',
    '__ap',
    ...(mac === undefined ? [] : ['addr', mac]),
  ];
}

export function iwStationDumpArgs(ifname: string): string[] {
  return ['dev', ifname, 'station', 'dump'];
}

// ---------------------------------------------------------------------------------------------
// The backend

export interface NetworkManagerOptions {
  runner: CommandRunner;
  /** The Wi-Fi station interface (`interfaces.wifi`). */
  ifname: string;
  /** Ethernet interface to report; default: the first ethernet device NetworkManager lists. */
  ethernet?: string;
  /** Modem device to report; default: the first `gsm`/`cdma` device. */
  cellular?: string;
  /**
   * Virtual AP interface used when the radio can do AP+STA. Default `uap0`; the station interface's
   * own name means: always take turns.
   */
  apIfname?: string;
  /** Regulatory country (`setup.country`); without one the AP never follows the station onto 5 GHz. */
  country?: string;
  /** `connection.autoconnect-priority` of joined networks unless the join says otherwise. */
  priority?: number;
  nmcli?: string;
  iw?: string;
  rfkill?: string;
  /** systemd's D-Bus client, for SSIDs argv cannot carry and for wpa_supplicant's capabilities. */
  busctl?: string;
  /** Where the private passwd-file directories are made. Default the OS temp dir. */
  tmpRoot?: string;
  /**
   * NetworkManager's extra configuration for the dnsmasq of shared connections. The setup AP adds a
   * file here so every name resolves to the AP (phones' captive-portal probes reach the portal).
   */
  dnsmasqSharedDir?: string;
  /** Where the marker of an AP interface we created lives (wiped at reboot). Default `/run/airlift/nm`. */
  runtimeDir?: string;
  /** Default `/sys/class/net`; tests point it at a fixture tree. */
  sysfsNetDir?: string;
  ip?: string;
  /** Where fallbacks and odd findings are told (the AP interface could not be made, a paused AP): the agent's logger. */
  log?: (message: string) => void;
  now?: () => number;
}

export interface NetworkManagerJoinOptions {
  timeoutMs: number;
  keepAp: boolean;
  /** `connection.autoconnect-priority` for this network (higher is preferred). */
  priority?: number;
}

async function withPasswdFile<T>(
  tmpRoot: string,
  content: string,
  fn: (path: string) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(joinPath(tmpRoot, 'airlift-nm-'));
  try {
    const path = joinPath(dir, 'passwd');
    await writeFile(path, content, { mode: 0o600, flag: 'wx' });
    return await fn(path);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function outputOf(r: CommandResult): string {
  return r.stderr === '' ? r.stdout : `${r.stdout}\n${r.stderr}`;
}

const fail = (reason: Extract<JoinOutcome, { ok: false }>['reason'], detail: string): JoinOutcome => ({
  ok: false,
  reason,
  detail,
});

/**
 * The passwd-file of a join (empty for an open network) and the secrets to redact: the PSK or SAE
 * password, or 802.1X's password and key passphrase. A secret the file cannot carry is a problem.
 */
export function joinSecrets(target: JoinTarget): { lines: string; redact: string[] } | { problem: string } {
  const entries: [Parameters<typeof passwdFileLine>[1], string | undefined][] =
    target.eap !== undefined
      ? [
          ['802-1x.password', target.eap.password],
          ['802-1x.private-key-password', target.eap.clientKeyPassphrase],
        ]
      : [
          [
            '802-11-wireless-security.psk',
            target.security === 'open' ? undefined : (target.psk ?? target.passphrase),
          ],
        ];
  const given = entries.filter(
    (e): e is [Parameters<typeof passwdFileLine>[1], string] => e[1] !== undefined && e[1] !== '',
  );
  if (target.security !== 'open' && target.eap === undefined && given.length === 0)
    return { problem: 'No passphrase for a secured network' };
  try {
    return {
      lines: given.map(([property, secret]) => passwdFileLine(secret, property)).join(''),
      redact: given.map((e) => e[1]),
    };
  } catch (err) {
    return { problem: err instanceof Error ? err.message : 'invalid secret' };
  }
}

/** A join's 802.1X settings as the profile keeps them: the secrets stay for the passwd-file. */
function nmEapOf(target: JoinTarget): NmEapSpec | undefined {
  const eap = target.eap;
  if (eap === undefined) return undefined;
  return {
    method: eap.method,
    identity: eap.identity,
    ...(eap.phase2 !== undefined ? { phase2: eap.phase2 } : {}),
    ...(eap.anonymousIdentity !== undefined ? { anonymousIdentity: eap.anonymousIdentity } : {}),
    ...(eap.caCert !== undefined ? { caCertPath: eap.caCert.path } : {}),
    ...(eap.domainMatch !== undefined ? { domainMatch: eap.domainMatch } : {}),
    ...(eap.clientCert !== undefined ? { clientCertPath: eap.clientCert.path } : {}),
    ...(eap.clientKeyPath !== undefined ? { clientKeyPath: eap.clientKeyPath } : {}),
  };
}

export class NetworkManagerRadio implements RadioPort {
  private readonly runner: CommandRunner;
  private readonly ifname: string;
  private readonly apIfname: string;
  private readonly nmcli: string;
  private readonly iw: string;
  private readonly rfkill: string;
  private readonly busctl: string;
  private readonly tmpRoot: string;
  private readonly dnsmasqSharedDir: string;
  private readonly priority: number;
  private readonly now: () => number;
  private readonly sysfsNetDir: string;
  private readonly log: (message: string) => void;
  /** The AP+STA interface (created and deleted by us, or found); none when configured to take turns. */
  private readonly apInterface: ApInterface | undefined;
  private caps: RadioCapabilities | undefined;
  /** Every AP+STA combination allows one channel only: the AP must follow the station. */
  private singleChannel = false;
  /** The AP interface could not be made: the AP and the station take turns from now on. */
  private turns = false;
  /** The latest scan, for the channel of a join's target. */
  private lastScan: ScanResult[] = [];
  /** The channel of the access point the last successful join associated with. */
  private joinedChannel: number | undefined;
  /**
   * The setup AP while it is up: its interface and config, the channel it was started on, and its
   * profile while it beacons (none while it is paused for a join).
   */
  private ap:
    { uuid: string | undefined; ifname: string; config: SetupApConfig; channel: number } | undefined;

  constructor(private readonly options: NetworkManagerOptions) {
    this.runner = options.runner;
    this.ifname = options.ifname;
    this.apIfname = options.apIfname ?? 'uap0';
    this.nmcli = options.nmcli ?? 'nmcli';
    this.iw = options.iw ?? 'iw';
    this.rfkill = options.rfkill ?? 'rfkill';
    this.busctl = options.busctl ?? BUSCTL;
    this.tmpRoot = options.tmpRoot ?? tmpdir();
    this.dnsmasqSharedDir = options.dnsmasqSharedDir ?? '/etc/NetworkManager/dnsmasq-shared.d';
    this.priority = options.priority ?? DEFAULT_PRIORITY;
    this.now = options.now ?? Date.now;
    this.sysfsNetDir = options.sysfsNetDir ?? '/sys/class/net';
    this.log = options.log ?? (() => undefined);
    this.apInterface =
      this.apIfname === this.ifname
        ? undefined
        : new ApInterface({
            runner: this.runner,
            station: this.ifname,
            name: this.apIfname,
            sysfsNetDir: this.sysfsNetDir,
            runtimeDir: options.runtimeDir ?? '/run/airlift/nm',
            tools: { iw: this.iw, ip: options.ip ?? 'ip' },
            note: (message) => this.log(message),
            timeoutMs: SHORT_MS,
          });
  }

  private nm(args: string[], timeoutMs = SHORT_MS, redact: string[] = []): Promise<CommandResult> {
    return this.runner.run(this.nmcli, args, { timeoutMs, redact });
  }

  private async devices(): Promise<NmcliDevice[]> {
    const r = await this.nm(deviceStatusArgs());
    if (r.code !== 0) {
      throw new AirliftError(
        r.code === NMCLI_EXIT.NM_NOT_RUNNING ? 'BACKEND_UNAVAILABLE' : 'COMMAND_FAILED',
        `nmcli device status failed: ${firstErrorLine(outputOf(r)) || `exit ${String(r.code)}`}`,
      );
    }
    return parseDeviceStatus(r.stdout);
  }

  async capabilities(): Promise<RadioCapabilities> {
    if (this.caps) return this.caps;
    const devices = await this.devices();
    const iw = await this.runner.run(this.iw, iwListArgs(), { timeoutMs: SHORT_MS });
    const text = iw.code === 0 ? iw.stdout : '';
    const bands = parseIwBands(text);
    const combos = parseIwCombinationList(text).filter(combinationAllowsApSta);
    this.singleChannel = combos.length > 0 && Math.max(...combos.map((c) => c.channels)) <= 1;
    const sae = (await this.saeSupported()) !== false;
    const eap = await this.eapMethods();
    this.caps = {
      concurrentApSta: combos.length > 0 && this.apInterface !== undefined && !this.turns,
      security: [
        'open',
        'wpa2-psk',
        ...(sae ? (['wpa3-sae'] as const) : []),
        ...(eap.length > 0 ? (['wpa2-enterprise'] as const) : []),
        ...(eap.length > 0 && sae ? (['wpa3-enterprise'] as const) : []),
      ],
      eap,
      staticIpv4: true,
      bands: bands.length > 0 ? bands : ['2.4GHz'],
      ethernet: devices.some((d) => d.type === 'ethernet'),
      cellular: devices.some((d) => d.type === 'gsm' || d.type === 'cdma'),
    };
    return this.caps;
  }

  /**
   * Whether the driver can do WPA3-Personal, from NetworkManager's wpa_supplicant over D-Bus
   * (`sae` in the interface's `Capabilities.KeyMgmt`). Undefined when it cannot be asked (no
   * busctl, wpa_supplicant not on the bus yet): WPA3 is then still offered and a radio that cannot
   * do it fails the join with NetworkManager's reason, as before detection.
   */
  private async saeSupported(): Promise<boolean | undefined> {
    const ask = async (args: string[]) => {
      const r = await this.runner.run(this.busctl, args, { timeoutMs: 5_000 }).catch(() => undefined);
      return r?.code === 0 ? r.stdout : undefined;
    };
    const iface = await ask(wpaGetInterfaceArgs(this.ifname));
    const path = iface === undefined ? undefined : parseObjectPathReply(iface);
    if (path === undefined) return undefined;
    const caps = await ask(wpaInterfaceCapabilitiesArgs(path));
    const keyMgmt = caps === undefined ? undefined : parseWpaKeyMgmt(caps);
    return keyMgmt === undefined ? undefined : keyMgmt.includes('sae');
  }

  /**
   * The EAP methods NetworkManager's wpa_supplicant was built with (D-Bus `EapMethods`; PEAP also
   * needs MSCHAPV2). All three when it cannot be asked: distributions build it with EAP.
   */
  private async eapMethods(): Promise<EapMethod[]> {
    const r = await this.runner
      .run(this.busctl, wpaEapMethodsArgs(), { timeoutMs: 5_000 })
      .catch(() => undefined);
    const listed = r?.code === 0 ? parseWpaEapMethods(r.stdout) : undefined;
    if (listed === undefined) return [...EAP_METHODS];
    const has = (m: string) => listed.includes(m);
    return EAP_METHODS.filter((m) => (m === 'peap' ? has('PEAP') && has('MSCHAPV2') : has(m.toUpperCase())));
  }

  private async accessPoints(rescan: 'yes' | 'no'): Promise<NmcliAccessPoint[] | undefined> {
    const r = await this.nm(wifiListArgs(this.ifname, rescan), 30_000);
    if (r.code !== 0 || r.timedOut) return undefined;
    return parseWifiListDetailed(r.stdout).accessPoints;
  }

  async scan(): Promise<ScanResult[]> {
    const aps = (await this.accessPoints('yes')) ?? (await this.accessPoints('no'));
    if (aps === undefined)
      throw new AirliftError('COMMAND_FAILED', `nmcli could not list Wi-Fi networks on ${this.ifname}`);
    this.lastScan = aps.map(toScanResult);
    return this.lastScan;
  }

  /** The facts the AP planner decides by. */
  private async apRadio(): Promise<ApRadio> {
    const caps = await this.capabilities();
    return {
      apSta: caps.concurrentApSta,
      singleChannel: this.singleChannel,
      ...(this.options.country !== undefined ? { country: this.options.country } : {}),
    };
  }

  private apNow(): ApNow {
    const ap = this.ap;
    return ap
      ? { up: true, beaconing: ap.uuid !== undefined, channel: ap.channel, configured: ap.config.channel }
      : { up: false, beaconing: false, configured: 0 };
  }

  /** The station's channel, from the access point it is associated with. */
  private async stationChannel(): Promise<number | undefined> {
    return (await this.accessPoints('no'))?.find((a) => a.inUse)?.channel;
  }

  private async lease(ifname: string): Promise<Lease | undefined> {
    const r = await this.nm(deviceShowIp4Args(ifname));
    return r.code === 0 ? parseDeviceShowIp4(r.stdout) : undefined;
  }

  private async deleteProfile(uuid: string): Promise<boolean> {
    const r = await this.nm(connectionDeleteArgs(uuid));
    return r.code === 0 || r.code === NMCLI_EXIT.NOT_FOUND;
  }

  /** Delete every profile named `name` (stale copies from earlier joins or a crash). */
  private async deleteProfilesNamed(name: string): Promise<number> {
    const r = await this.nm(connectionListArgs());
    if (r.code !== 0) return 0;
    let n = 0;
    for (const p of parseConnectionList(r.stdout)) {
      if (p.name === name && (await this.deleteProfile(p.uuid))) n++;
    }
    return n;
  }

  async join(target: JoinTarget, options: NetworkManagerJoinOptions): Promise<JoinOutcome> {
    const deadline = this.now() + options.timeoutMs;
    const ssidHex = target.ssidHex.toLowerCase();
    const secrets = joinSecrets(target);
    if ('problem' in secrets) return fail('auth_failed', secrets.problem);
    const line = secrets.lines === '' ? undefined : secrets.lines;

    const radio = await this.apRadio();
    const ap = this.ap;
    const plan = planApForJoin(radio, this.apNow(), channelOfTarget(this.lastScan, ssidHex), options.keepAp);
    await clearApForJoin(plan, this.apActions());
    this.joinedChannel = undefined;
    const outcome = await this.joinStation(target, options, deadline, line, secrets.redact);
    const now = this.apNow();
    // The channel the station joined on, as the join read it.
    const station = afterJoinFollowsStation(radio, plan, outcome.ok, now) ? this.joinedChannel : undefined;
    await followUpAfterJoin(
      planApAfterJoin(radio, plan, outcome.ok, now, station),
      ap?.config,
      this.apActions(),
    );
    return outcome;
  }

  /** What this backend's AP does for the planner's steps around a join (./ap-around-join.ts). */
  private apActions(): ApJoinActions {
    return {
      stopAp: () => this.stopAp(),
      pauseAp: async (reason) => {
        this.log(`the setup AP's profile is down for this join: ${reason}`);
        const ap = this.ap;
        if (ap?.uuid !== undefined && !(await this.deleteProfile(ap.uuid)))
          await this.deleteProfilesNamed(AP_PROFILE_NAME);
        if (ap) ap.uuid = undefined;
      },
      restartAp: (channel) => this.restartAp(channel),
      startAp: (config) => this.startAp(config),
      note: (message) => this.log(message),
    };
  }

  /** The AP's profile again on `channel`, same interface and address; if that fails the AP goes down whole. */
  private async restartAp(channel: number): Promise<void> {
    const ap = this.ap;
    if (!ap) return;
    if (ap.uuid !== undefined) await this.deleteProfile(ap.uuid);
    ap.uuid = undefined;
    try {
      ap.uuid = await this.activateAp(ap.ifname, ap.config, channel);
      ap.channel = channel;
    } catch (err) {
      this.log(`the setup AP did not restart on channel ${channel}: ${(err as Error).message}`);
      await this.stopAp();
    }
  }

  private async joinStation(
    target: JoinTarget,
    options: NetworkManagerJoinOptions,
    deadline: number,
    line: string | undefined,
    redact: string[],
  ): Promise<JoinOutcome> {
    const ssidHex = target.ssidHex.toLowerCase();
    await this.deleteProfilesNamed(networkProfileName(ssidHex));
    const eap = nmEapOf(target);
    const spec = {
      ifname: this.ifname,
      ssidHex,
      security: target.security,
      hidden: target.hidden,
      priority: options.priority ?? this.priority,
      ...(eap !== undefined ? { eap } : {}),
      ...(target.ipv4 !== undefined ? { ipv4: target.ipv4 } : {}),
    };
    const uuid = await this.addNetworkProfile(spec);
    if (typeof uuid !== 'string') return uuid;

    const activate = async (): Promise<CommandResult> => {
      const waitSeconds = Math.max(1, (deadline - this.now()) / 1000);
      const up = (file?: string) =>
        this.nm(
          connectionUpArgs(uuid, this.ifname, waitSeconds, file),
          Math.ceil(waitSeconds) * 1000 + 10_000,
          redact,
        );
      return line === undefined ? up() : withPasswdFile(this.tmpRoot, line, up);
    };

    const enterprise = target.eap !== undefined;
    let result = await activate();
    let failure = result.code === 0 ? undefined : this.classify(result, enterprise);
    if (failure?.reason === 'hardware' && !result.timedOut) {
      // A driver hiccup or a soft block: unblock the radio and try once more.
      await this.runner.run(this.rfkill, rfkillUnblockArgs(), { timeoutMs: 5_000 });
      result = await activate();
      failure = result.code === 0 ? undefined : this.classify(result, enterprise);
    }
    if (failure) {
      await this.deleteProfile(uuid);
      return fail(failure.reason, failure.detail);
    }

    const lease = await this.lease(this.ifname);
    if (lease === undefined) {
      await this.deleteProfile(uuid);
      return fail('dhcp_timeout', `${this.ifname} has no IPv4 address`);
    }
    const ap = (await this.accessPoints('no'))?.find((a) => a.inUse && a.ssidHex === ssidHex);
    this.joinedChannel = ap?.channel;
    return { ok: true, lease, ...(ap ? { bssid: ap.bssid, signal: ap.signal } : {}) };
  }

  /**
   * Adds the saved profile for a network and returns its UUID: through nmcli when argv can carry
   * the SSID, otherwise over D-Bus with the SSID as bytes (a failure here is a JoinOutcome).
   */
  private async addNetworkProfile(spec: Omit<NetworkProfileSpec, 'ssid'>): Promise<string | JoinOutcome> {
    const uuid = await this.addProfile(spec);
    if (typeof uuid !== 'string' || ssidArgText(spec.ssidHex) !== undefined || !nmcliModifiesAfterAdd(spec))
      return uuid;
    // Added over D-Bus with its SSID only: nmcli gives it its security and addressing by UUID.
    const modified = await this.nm(connectionModifyArgs(uuid, wifiProfileSettings(spec)));
    if (modified.code === 0) return uuid;
    await this.deleteProfile(uuid);
    return fail('hardware', firstErrorLine(outputOf(modified)) || 'nmcli could not complete the profile');
  }

  private async addProfile(spec: Omit<NetworkProfileSpec, 'ssid'>): Promise<string | JoinOutcome> {
    const ssid = ssidArgText(spec.ssidHex);
    if (ssid !== undefined) {
      const added = await this.nm(networkAddArgs({ ...spec, ssid }));
      const uuid = added.code === 0 ? parseAddedUuid(added.stdout) : undefined;
      return (
        uuid ?? fail('hardware', firstErrorLine(outputOf(added)) || 'nmcli did not report the new profile')
      );
    }
    const uuid = randomUUID();
    let added: CommandResult;
    try {
      added = await this.runner.run(this.busctl, networkAddDbusArgs({ ...spec, uuid }), {
        timeoutMs: SHORT_MS,
      });
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      return fail(
        'hardware',
        `This SSID is not UTF-8 and needs busctl (systemd), which could not run: ${why}`,
      );
    }
    if (added.code !== 0) {
      const why = firstErrorLine(outputOf(added)) || `exit ${String(added.code)}`;
      return fail('hardware', `NetworkManager did not take the profile over D-Bus (busctl: ${why})`);
    }
    return uuid;
  }

  private classify(
    r: CommandResult,
    enterprise: boolean,
  ): {
    reason: Extract<JoinOutcome, { ok: false }>['reason'];
    detail: string;
  } {
    if (r.timedOut) return { reason: 'timeout', detail: 'nmcli did not finish in time' };
    return classifyActivationFailure(r.code, outputOf(r), enterprise);
  }

  async leave(): Promise<void> {
    const dev = (await this.devices()).find((d) => d.device === this.ifname);
    if (!dev || !isConnectedState(dev.state) || dev.connectionUuid === this.ap?.uuid) return;
    const r = await this.nm(deviceDisconnectArgs(this.ifname));
    if (r.code !== 0 && r.code !== NMCLI_EXIT.DEV_DISCONNECT) {
      throw new AirliftError(
        'COMMAND_FAILED',
        `Could not disconnect ${this.ifname}: ${firstErrorLine(outputOf(r))}`,
      );
    }
  }

  async startAp(config: SetupApConfig): Promise<void> {
    if (/[\0\r\n]/.test(config.ssid) || config.ssid === '') {
      throw new AirliftError(
        'INVALID_SSID',
        'The setup AP SSID must be non-empty text without NUL, CR or LF',
      );
    }
    if (config.passphrase !== undefined) passwdFileLine(config.passphrase); // refused before anything changes
    if (this.ap) await this.stopAp();
    await this.deleteProfilesNamed(AP_PROFILE_NAME);
    let ifname = this.ifname;
    if ((await this.capabilities()).concurrentApSta && this.apInterface) {
      // Created here only, never at capabilities(): an idle AP interface is one more thing for other
      // tools to grab, and a failure belongs to the AP start that needs it.
      try {
        await this.apInterface.ensure();
        ifname = this.apIfname;
      } catch (err) {
        await this.fallBackToTurns((err as Error).message);
      }
    }
    const radio = await this.apRadio();
    const station = radio.apSta && radio.singleChannel ? await this.stationChannel() : undefined;
    const start = planApStart(radio, config.channel, station);
    if (start.station === 'leaves') {
      this.log(`the station gives way to the setup AP (one channel for both): ${start.reason ?? ''}`);
      await this.leave();
    }
    // `stops` (one interface): activating the AP on it replaces the station connection.
    await this.captiveDns(config.address);
    let uuid: string;
    try {
      uuid = await this.activateAp(ifname, config, start.channel);
    } catch (err) {
      if (ifname !== this.ifname) await this.apInterface?.remove().catch(() => undefined);
      throw err;
    }
    this.ap = { uuid, ifname, config, channel: start.channel };
  }

  /** Add the AP's in-memory profile on `ifname` for `channel` and bring it up; its UUID. */
  private async activateAp(ifname: string, config: SetupApConfig, channel: number): Promise<string> {
    const line = config.passphrase === undefined ? undefined : passwdFileLine(config.passphrase);
    const mac = ifname === this.ifname ? undefined : await this.apMac();
    const added = await this.nm(apAddArgs(ifname, { ...config, channel }, mac));
    const uuid = added.code === 0 ? parseAddedUuid(added.stdout) : undefined;
    if (uuid === undefined) {
      throw new AirliftError(
        'COMMAND_FAILED',
        `Could not create the setup AP: ${firstErrorLine(outputOf(added))}`,
      );
    }
    const up = (file?: string) =>
      this.nm(connectionUpArgs(uuid, ifname, 30, file), 40_000, config.passphrase ? [config.passphrase] : []);
    const activate = () => (line === undefined ? up() : withPasswdFile(this.tmpRoot, line, up));
    let r = await activate();
    if (r.code !== 0 && !r.timedOut && classifyActivationFailure(r.code, outputOf(r)).reason === 'hardware') {
      await this.runner.run(this.rfkill, rfkillUnblockArgs(), { timeoutMs: 5_000 });
      r = await activate();
    }
    if (r.code !== 0) {
      await this.deleteProfile(uuid);
      throw new AirliftError(
        r.timedOut ? 'TIMEOUT' : 'COMMAND_FAILED',
        `Could not start the setup AP: ${firstErrorLine(outputOf(r)) || `exit ${String(r.code)}`}`,
      );
    }
    return uuid;
  }

  /** The AP interface's own MAC, derived from the station's (undefined when that cannot be read). */
  private async apMac(): Promise<string | undefined> {
    const station = await readSysfsNet(this.sysfsNetDir, this.ifname, 'address');
    return station === undefined ? undefined : apMacFor(station);
  }

  /** Creating the AP interface failed: the AP takes turns with the station from now on. */
  private async fallBackToTurns(reason: string): Promise<void> {
    await this.apInterface?.remove().catch(() => undefined);
    this.turns = true;
    if (this.caps) this.caps = { ...this.caps, concurrentApSta: false };
    this.log(`AP+STA off: ${reason}; the setup AP and the station take turns on ${this.ifname}`);
  }

  /**
   * Point every DNS name at the AP for the shared connection's dnsmasq. Best effort: a read-only
   * /etc only loses the phones' automatic portal pop-up, the portal stays reachable by address.
   */
  private async captiveDns(address: string): Promise<void> {
    if (!/^\d{1,3}(?:\.\d{1,3}){3}$/.test(address)) return;
    // NetworkManager creates this directory; if it is absent, this NetworkManager does not read it.
    if (
      !(await stat(this.dnsmasqSharedDir).then(
        (st) => st.isDirectory(),
        () => false,
      ))
    )
      return;
    const text = `${setupApDnsmasqLines(address).join('\n')}\n`;
    await writeFileAtomic(joinPath(this.dnsmasqSharedDir, CAPTIVE_DNS_FILE), text, { mode: 0o644 }).catch(
      () => undefined,
    );
  }

  async stopAp(): Promise<void> {
    await rm(joinPath(this.dnsmasqSharedDir, CAPTIVE_DNS_FILE), { force: true }).catch(() => undefined);
    const ap = this.ap;
    this.ap = undefined;
    if (!(ap?.uuid !== undefined && (await this.deleteProfile(ap.uuid))))
      await this.deleteProfilesNamed(AP_PROFILE_NAME);
    // Created for the AP, gone with it: an idle AP interface is one more thing for other tools to grab.
    await this.apInterface?.remove();
  }

  async status(): Promise<RadioStatus> {
    const devices = await this.devices();
    const link = async (dev: NmcliDevice | undefined): Promise<LinkState> => {
      if (!dev || !isConnectedState(dev.state)) return { up: false };
      const lease = await this.lease(dev.device);
      return lease ? { up: true, lease } : { up: true };
    };
    const wifiDev = devices.find((d) => d.device === this.ifname);
    const apOnWifi = wifiDev?.connection === AP_PROFILE_NAME;
    const wifi: RadioStatus['wifi'] = apOnWifi ? { up: false } : await link(wifiDev);
    if (wifi.up) {
      const ap = (await this.accessPoints('no'))?.find((a) => a.inUse);
      if (ap) Object.assign(wifi, { ssidHex: ap.ssidHex, bssid: ap.bssid, signal: ap.signal });
    }
    const eth = devices.find((d) =>
      this.options.ethernet ? d.device === this.options.ethernet : d.type === 'ethernet',
    );
    const cell = devices.find((d) =>
      this.options.cellular ? d.device === this.options.cellular : d.type === 'gsm' || d.type === 'cdma',
    );
    const apDev = devices.find((d) => d.connection === AP_PROFILE_NAME && isConnectedState(d.state));
    let clients = 0;
    if (apDev) {
      const dump = await this.runner.run(this.iw, iwStationDumpArgs(apDev.device), { timeoutMs: 5_000 });
      if (dump.code === 0) clients = parseIwStationCount(dump.stdout);
    }
    return {
      wifi,
      ethernet: await link(eth),
      cellular: await link(cell),
      ap: apDev
        ? {
            up: true,
            clients,
            ...(this.ap ? { ssid: this.ap.config.ssid, address: this.ap.config.address } : {}),
          }
        : { up: false, clients: 0 },
    };
  }

  async close(): Promise<void> {
    // Every command is a short-lived process; what is held is the AP and an interface made for it.
    if (this.ap) await this.stopAp().catch(() => undefined);
    await this.apInterface?.remove().catch(() => undefined);
  }
}

/** Registers `backend: networkmanager` with the backend selector. */
export function registerNetworkManager(): void {
  registerBackend('networkmanager', (config: AgentConfig, runner: CommandRunner, logger: Logger) =>
    Promise.resolve(
      new NetworkManagerRadio({
        runner,
        log: (message) => logger.warn(message),
        ifname: config.interfaces.wifi,
        ...(config.interfaces.ap === undefined ? {} : { apIfname: config.interfaces.ap }),
        ...(config.setup.country === undefined ? {} : { country: config.setup.country }),
        ...(config.interfaces.ethernet === undefined ? {} : { ethernet: config.interfaces.ethernet }),
        ...(config.interfaces.cellular === undefined ? {} : { cellular: config.interfaces.cellular }),
      }),
    ),
  );
}
