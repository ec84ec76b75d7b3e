/**
 * The radio backend for images without NetworkManager: wpa_supplicant for the station, hostapd and
 * dnsmasq for the setup AP, udhcpc or dhcpcd for the lease. Configs are generated whole into a
 * runtime directory (mode 0600); secrets live only there, never in argv. wpa_supplicant, hostapd,
 * dnsmasq and an attached `wpa_cli` event monitor are child processes owned by this object and
 * stopped by `close()`. Short commands go through the CommandRunner with a timeout each.
 *
 * `capabilities()` has no side effects: it reads `iw phy <phy> info` for the station interface's
 * own radio (`/sys/class/net/<wifi>/phy80211/name`; `iw list` only when that cannot be read) and
 * the kernel's links, and starts nothing.
 *
 * AP+STA: when that radio allows an AP and a station together, the AP runs on a second, virtual
 * interface (`interfaces.ap`, default `uap0`), created by `startAp` only and deleted on stopAp/close
 * (agent/backends/ap-interface.ts: a locally administered MAC derived from the station's, a marker so
 * a restarted agent deletes a leftover one, one it did not create used and never deleted). If
 * creation or bring-up fails, the AP and the station take turns on the station interface from then
 * on and `concurrentApSta` is false at once.
 *
 * Which channel the AP uses, and what a join does to it, is the pure planner's
 * (agent/core/ap-plan.ts), shared with the NetworkManager backend: on a one-channel radio (every
 * AP+STA combination has `#channels <= 1`) a join that keeps the AP pauses hostapd when the target's
 * channel (latest scan) differs or is unknown, and restarts it on the station's channel after
 * success or on its configured one after failure (dnsmasq and the AP's address stay); for a DFS
 * target, or a 5 GHz one without a regulatory country, the AP and station take turns for that join.
 *
 * WPA3-SAE is reported until wpa_supplicant, started for a scan or a join, has answered
 * `get_capability key_mgmt` (or `auth_alg`) without SAE; from then on it is withheld and a
 * wpa3-sae join fails at once as `hardware`. Ethernet and cellular come from the kernel
 * (agent/system/links.ts). `leave()` removes only the address our DHCP client (or a network's
 * static IPv4) put there.
 *
 * Enterprise (802.1X) is reported only once wpa_supplicant has said which EAP methods it was built
 * with (`get_capability eap`): asked of a throwaway instance on `lo` with the `none` driver the
 * first time capabilities are read (it touches no radio), else of the running one. WPA3-Enterprise
 * also needs protected management frames, which drivers that do SAE have. A network's block
 * points at the store's certificate files; its text values are written as hex. Join failures are
 * read from the `CTRL-EVENT-EAP-*` events (`eapFailureOf`: cert_rejected, eap_failed, auth_failed).
 *
 * Static IPv4: no DHCP client for that network; the address, the default route and (when
 * /etc/resolv.conf is a file of its own, not a link to a resolver's) the DNS servers are set with
 * `ip` and a whole resolv.conf.
 */
import type { Logger } from '../../log';
import { lstat, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { AirliftError, type ConnectFailureReason } from '../../../shared/errors';
import {
  combinationAllowsApSta,
  parseIwBands,
  parseIwCombinationList,
  parseIwStationCount,
  pickIwWiphy,
} from '../../../shared/linux-tools/iw';
import type { AgentConfig } from '../../../shared/agent-config';
import type { EapMethod } from '../../../shared/protocol/eap';
import type { StaticIpv4 } from '../../../shared/protocol/static-ipv4';
import type { NetworkSecurity, ScanResult } from '../../../shared/protocol/wifi';
import type { CommandResult, CommandRunner } from '../../ports/command-runner';
import type {
  JoinOutcome,
  JoinTarget,
  Lease,
  RadioCapabilities,
  RadioPort,
  RadioStatus,
  SetupApConfig,
} from '../../ports/radio';
import { ensureDir, writeFileAtomic } from '../../../platform/atomic-file';
import { spawnProcess, type ManagedProcess } from '../../../platform/processes';
import { prefixToNetmask } from '../../../shared/ipv4';
import {
  afterJoinFollowsStation,
  channelOfFrequency,
  channelOfTarget,
  planApAfterJoin,
  planApForJoin,
  planApStart,
  type ApNow,
  type ApRadio,
} from '../../core/ap-plan';
import { LinkProbe } from '../../system/links';
import { ApInterface, readSysfsNet } from '../ap-interface';
import { clearApForJoin, followUpAfterJoin, type ApJoinActions } from '../ap-around-join';
import { findExecutable, registerBackend } from '../select-backend';
import {
  checkInterfaceName,
  dnsmasqConf,
  hostapdConf,
  wpaSupplicantConf,
  writeConfigFile,
  type WpaNetwork,
} from './config';
import {
  eapFailureOf,
  looksLikeHardwareFailure,
  parseEapCapability,
  parseCapabilityWords,
  parseDefaultRoute,
  parseDhcpcdOutput,
  parseEventLine,
  parseIpAddr,
  parseResolvConf,
  parseScanResults,
  parseStatus,
  parseUdhcpcOutput,
  type WpaEvent,
} from './parse';

// ---------------------------------------------------------------------------------------------
// Long-running children

export type { ManagedProcess };

export interface ProcessSpawner {
  spawn(file: string, args: readonly string[]): ManagedProcess;
}

/** The platform's spawner (no shell, LC_ALL=C, minimal environment), stdin kept open for `wpa_cli`. */
export class NodeProcessSpawner implements ProcessSpawner {
  constructor(private readonly graceMs = 3000) {}

  spawn(file: string, args: readonly string[]): ManagedProcess {
    return spawnProcess(file, args, { stopGraceMs: this.graceMs });
  }
}

// ---------------------------------------------------------------------------------------------
// The radio

export interface WpaRadioOptions {
  runner: CommandRunner;
  /** Station interface (`interfaces.wifi`). */
  interface: string;
  /**
   * AP interface (`interfaces.ap`), default `uap0`: used as is if it exists, else created by startAp
   * on the station's radio when that radio allows AP+STA. The station interface's own name means:
   * always take turns.
   */
  apInterface?: string;
  /**
   * Regulatory country for hostapd (`country_code=`). Without one the AP never follows the station
   * onto a 5 GHz channel (hostapd cannot start on NO-IR channels there).
   */
  country?: string;
  /** `interfaces.ethernet` / `interfaces.cellular`; default: found in sysfs. */
  ethernetInterface?: string;
  cellularInterface?: string;
  /** Default `/sys/class/net`; tests point it at a fixture tree. */
  sysfsNetDir?: string;
  /** Where fallbacks and odd findings are told (e.g. the AP interface could not be created): the agent's logger. */
  log?: (message: string) => void;
  /** Where configs, control sockets, leases and pid files live. Default `/run/airlift/wpa`. */
  runtimeDir?: string;
  spawner?: ProcessSpawner;
  dhcpClient?: 'udhcpc' | 'dhcpcd';
  /** Executable paths; defaults are bare names resolved by the runner. */
  tools?: Partial<
    Record<
      'wpa_supplicant' | 'wpa_cli' | 'hostapd' | 'dnsmasq' | 'udhcpc' | 'dhcpcd' | 'iw' | 'ip' | 'rfkill',
      string
    >
  >;
  resolvConfPath?: string;
  pollIntervalMs?: number;
  /** How long hostapd may take to report AP-ENABLED. */
  apStartTimeoutMs?: number;
  /** dnsmasq must still be running this long after start. */
  dnsmasqSettleMs?: number;
  /** Waiting for scan results after `wpa_cli scan`. */
  scanTimeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const COMMAND_TIMEOUT_MS = 10_000;
/** Failure events of one kind that end a join before its deadline (auth_failed ends it at once). */
const FAILURE_REPEATS = 3;

type Tool =
  'wpa_supplicant' | 'wpa_cli' | 'hostapd' | 'dnsmasq' | 'udhcpc' | 'dhcpcd' | 'iw' | 'ip' | 'rfkill';

class HardwareFailure extends Error {}

/** Default name of the AP interface this backend creates for AP+STA (the name Raspberry Pi guides use). */
export const DEFAULT_AP_INTERFACE = 'uap0';

export class WpaSupplicantRadio implements RadioPort {
  private readonly runner: CommandRunner;
  private readonly iface: string;
  /** The AP interface asked for (option or `uap0`). */
  private readonly apWanted: string;
  /** Where the AP runs now: `apWanted`, or the station interface when taking turns. */
  private apIface: string;
  private readonly dir: string;
  private readonly ctrlDir: string;
  private readonly spawner: ProcessSpawner;
  private readonly dhcpClient: 'udhcpc' | 'dhcpcd';
  private readonly tools: Record<Tool, string>;
  private readonly resolvConfPath: string;
  private readonly pollMs: number;
  private readonly apStartTimeoutMs: number;
  private readonly dnsmasqSettleMs: number;
  private readonly scanTimeoutMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private readonly sysfsNetDir: string;
  private readonly links: LinkProbe;
  private readonly log: (message: string) => void;

  private readonly country: string | undefined;
  /** `iw phy <phy> info` of the station's radio (or `iw list`), read once. */
  private radioInfo: string | undefined;
  /** Every AP+STA combination allows one channel only: the AP must follow the station. */
  private singleChannel = false;
  /** The AP+STA interface (created and deleted by us, or found), unless configured to take turns. */
  private readonly apInterfaceOwner: ApInterface | undefined;
  /** SAE per wpa_supplicant; undefined until it has answered. */
  private sae: boolean | undefined;
  /** EAP methods per wpa_supplicant; undefined until one has answered. */
  private eap: EapMethod[] | undefined;
  /** The throwaway wpa_supplicant's answer, asked once. */
  private eapProbe: Promise<void> | undefined;
  /** The latest scan, for the channel of a join's target. */
  private lastScan: ScanResult[] = [];
  /** The address our DHCP client put on the station interface, the only one leave() removes. */
  private ownAddress: string | undefined;
  /** The channel hostapd was started on. */
  private apChannel: number | undefined;
  /** Fallbacks and findings, newest last, for diagnostics. */
  readonly notes: string[] = [];
  private supplicant: ManagedProcess | undefined;
  private monitor: ManagedProcess | undefined;
  private readonly events: WpaEvent[] = [];
  private hostapd: ManagedProcess | undefined;
  private dnsmasq: ManagedProcess | undefined;
  private ap: SetupApConfig | undefined;
  private lease: Lease | undefined;
  private joined: { ssidHex: string; bssid?: string } | undefined;

  constructor(options: WpaRadioOptions) {
    this.runner = options.runner;
    this.iface = checkInterfaceName(options.interface);
    this.apWanted = checkInterfaceName(options.apInterface ?? DEFAULT_AP_INTERFACE);
    // Until the radio's combinations are read, assume the one interface.
    this.apIface = this.iface;
    this.country = options.country;
    this.dir = options.runtimeDir ?? '/run/airlift/wpa';
    this.ctrlDir = join(this.dir, 'ctrl');
    this.spawner = options.spawner ?? new NodeProcessSpawner();
    this.dhcpClient = options.dhcpClient ?? 'udhcpc';
    const names: Tool[] = [
      'wpa_supplicant',
      'wpa_cli',
      'hostapd',
      'dnsmasq',
      'udhcpc',
      'dhcpcd',
      'iw',
      'ip',
      'rfkill',
    ];
    this.tools = Object.fromEntries(names.map((n) => [n, options.tools?.[n] ?? n])) as Record<Tool, string>;
    this.resolvConfPath = options.resolvConfPath ?? '/etc/resolv.conf';
    this.pollMs = options.pollIntervalMs ?? 250;
    this.apStartTimeoutMs = options.apStartTimeoutMs ?? 10_000;
    this.dnsmasqSettleMs = options.dnsmasqSettleMs ?? 300;
    this.scanTimeoutMs = options.scanTimeoutMs ?? 8000;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = options.now ?? Date.now;
    this.sysfsNetDir = options.sysfsNetDir ?? '/sys/class/net';
    this.links = new LinkProbe({
      runner: this.runner,
      sysfsNetDir: this.sysfsNetDir,
      resolvConfPath: this.resolvConfPath,
      ipTool: this.tools.ip,
      ...(options.ethernetInterface === undefined ? {} : { ethernet: options.ethernetInterface }),
      ...(options.cellularInterface === undefined ? {} : { cellular: options.cellularInterface }),
    });
    this.log = options.log ?? (() => undefined);
    this.apInterfaceOwner =
      this.apWanted === this.iface
        ? undefined
        : new ApInterface({
            runner: this.runner,
            station: this.iface,
            name: this.apWanted,
            sysfsNetDir: this.sysfsNetDir,
            runtimeDir: this.dir,
            tools: { iw: this.tools.iw, ip: this.tools.ip },
            note: (message) => this.note(message),
          });
  }

  private note(message: string): void {
    this.notes.push(message);
    if (this.notes.length > 20) this.notes.shift();
    this.log(message);
  }

  /** The interface the setup AP uses now (the station interface when they take turns). */
  get apInterface(): string {
    return this.apIface;
  }

  get paths(): { wpaConf: string; hostapdConf: string; dnsmasqConf: string; ctrlDir: string } {
    return {
      wpaConf: join(this.dir, 'wpa_supplicant.conf'),
      hostapdConf: join(this.dir, 'hostapd.conf'),
      dnsmasqConf: join(this.dir, 'dnsmasq.conf'),
      ctrlDir: this.ctrlDir,
    };
  }

  // -------------------------------------------------------------------------------------------
  // Commands

  private run(tool: Tool, args: readonly string[], timeoutMs = COMMAND_TIMEOUT_MS): Promise<CommandResult> {
    return this.runner.run(this.tools[tool], args, { timeoutMs });
  }

  private async wpaCli(args: readonly string[]): Promise<CommandResult> {
    return this.run('wpa_cli', ['-p', this.ctrlDir, '-i', this.iface, ...args]);
  }

  /** A wpa_cli command that must answer `OK`; anything else is a hardware-class failure. */
  private async wpaCliOk(args: readonly string[]): Promise<void> {
    const result = await this.wpaCli(args);
    if (result.code !== 0 || result.stdout.trim() !== 'OK') {
      throw new HardwareFailure(
        `wpa_cli ${args[0] ?? ''}: ${(result.stdout + result.stderr).trim() || 'no answer'}`,
      );
    }
  }

  private async rfkillUnblock(): Promise<void> {
    await this.run('rfkill', ['unblock', 'wifi']).catch(() => undefined);
  }

  // -------------------------------------------------------------------------------------------
  // Capabilities

  async capabilities(): Promise<RadioCapabilities> {
    // Reads only: the agent calls this at start and after every status refresh.
    const info = await this.readRadio();
    const bands = parseIwBands(info);
    this.eapProbe ??= this.probeEap();
    await this.eapProbe;
    const security: NetworkSecurity[] = ['open', 'wpa2-psk'];
    // Unknown counts as offered (as the NetworkManager backend does); a join then fails clearly.
    if (this.sae !== false) security.push('wpa3-sae');
    const eap = this.eap ?? [];
    if (eap.length > 0) security.push('wpa2-enterprise');
    if (eap.length > 0 && this.sae !== false) security.push('wpa3-enterprise');
    return {
      concurrentApSta: this.apIface !== this.iface,
      security,
      eap,
      staticIpv4: true,
      bands: bands.length > 0 ? bands : ['2.4GHz'],
      ethernet: await this.links.present('ethernet'),
      cellular: await this.links.present('cellular'),
    };
  }

  /**
   * The station's own radio, read once: `iw phy <phy> info` (a second radio, e.g. a USB dongle,
   * must not lend its combinations to this one), `iw list` only when the phy cannot be read. Decides
   * AP+STA; creates nothing.
   */
  private async readRadio(): Promise<string> {
    if (this.radioInfo !== undefined) return this.radioInfo;
    const phy = await this.readSysfs(this.iface, join('phy80211', 'name'));
    const phyName = phy !== undefined && /^[A-Za-z0-9_.-]{1,32}$/.test(phy) ? phy : undefined;
    let info: string | undefined;
    if (phyName !== undefined) {
      const result = await this.run('iw', ['phy', phyName, 'info']);
      if (result.code === 0 && result.stdout.trim() !== '') info = result.stdout;
    }
    if (info === undefined) {
      const result = await this.run('iw', ['list']);
      const list = result.code === 0 ? result.stdout : '';
      info = pickIwWiphy(list, phyName);
    }
    this.radioInfo = info;
    if (this.apWanted === this.iface) return info; // configured to take turns
    const combos = parseIwCombinationList(info).filter(combinationAllowsApSta);
    if (combos.length === 0) return info; // no AP+STA: take turns on the station interface
    this.singleChannel = Math.max(...combos.map((c) => c.channels)) <= 1;
    this.apIface = this.apWanted;
    return info;
  }

  private readSysfs(name: string, file: string): Promise<string | undefined> {
    return readSysfsNet(this.sysfsNetDir, name, file);
  }

  private async ensureApInterface(): Promise<void> {
    await this.apInterfaceOwner?.ensure();
  }

  /** Delete the AP interface if this backend created it (this run or, per the marker, a previous one). */
  private async deleteApInterface(): Promise<void> {
    await this.apInterfaceOwner?.remove();
  }

  /** Creation or bring-up failed: the AP takes turns with the station from now on. */
  private async fallBackToTurns(reason: string): Promise<void> {
    await this.deleteApInterface().catch(() => undefined);
    this.apIface = this.iface;
    this.singleChannel = false;
    this.note(`AP+STA off: ${reason}; the setup AP and the station take turns on ${this.iface}`);
  }

  /** SAE as wpa_supplicant reports it; left unknown when it does not answer. */
  private async detectSae(): Promise<void> {
    const key = await this.wpaCli(['get_capability', 'key_mgmt']);
    const words = key.code === 0 ? parseCapabilityWords(key.stdout) : undefined;
    if (!words) return;
    if (words.includes('SAE')) {
      this.sae = true;
      return;
    }
    // Older wpa_supplicant releases list SAE only under auth_alg (hostap's own tests check there).
    const alg = await this.wpaCli(['get_capability', 'auth_alg']);
    this.sae = (alg.code === 0 ? parseCapabilityWords(alg.stdout) : undefined)?.includes('SAE') ?? false;
  }

  /** The EAP methods as wpa_supplicant lists them; left unknown when it does not answer. */
  private async detectEap(): Promise<void> {
    const r = await this.wpaCli(['get_capability', 'eap']);
    const methods = r.code === 0 ? parseEapCapability(r.stdout) : undefined;
    if (methods !== undefined) this.eap = methods;
  }

  /**
   * Which EAP methods this wpa_supplicant was built with, asked of a throwaway instance on `lo` with
   * the `none` driver (no radio, no config but its control socket). A build without that driver, or
   * any failure, leaves it to the running instance to say.
   */
  private async probeEap(): Promise<void> {
    if (this.eap !== undefined) return;
    const dir = join(this.dir, 'probe');
    const conf = join(dir, 'wpa_supplicant.conf');
    let child: ManagedProcess | undefined;
    try {
      await ensureDir(dir);
      await writeConfigFile(conf, wpaSupplicantConf({ ctrlInterface: join(dir, 'ctrl'), networks: [] }));
      child = this.spawner.spawn(this.tools.wpa_supplicant, ['-i', 'lo', '-D', 'none', '-c', conf]);
      const state: { exited: boolean } = { exited: false };
      void child.exited.then(() => {
        state.exited = true;
      });
      const cli = (args: string[]) =>
        this.run('wpa_cli', ['-p', join(dir, 'ctrl'), '-i', 'lo', ...args], 3000).catch(() => undefined);
      const deadline = this.now() + 3000;
      while ((await cli(['ping']))?.stdout.trim() !== 'PONG') {
        // Built without the `none` driver it exits at once: the running instance will say.
        if (state.exited || this.now() >= deadline) return;
        await this.sleep(this.pollMs);
      }
      const r = await cli(['get_capability', 'eap']);
      const methods = r?.code === 0 ? parseEapCapability(r.stdout) : undefined;
      // The running instance may have answered meanwhile; its word stands.
      if (methods !== undefined) this.eap ??= methods;
    } catch (err) {
      this.note(`could not ask wpa_supplicant for its EAP methods: ${(err as Error).message}`);
    } finally {
      await child?.stop();
    }
  }

  // -------------------------------------------------------------------------------------------
  // wpa_supplicant

  private async writeSupplicantConf(target: JoinTarget | undefined): Promise<void> {
    await ensureDir(this.dir);
    const text = wpaSupplicantConf({
      ctrlInterface: this.ctrlDir,
      networks: target ? [wpaNetworkOf(target)] : [],
    });
    await writeConfigFile(this.paths.wpaConf, text);
  }

  private async supplicantAnswers(): Promise<boolean> {
    const result = await this.wpaCli(['ping']);
    return result.code === 0 && result.stdout.trim() === 'PONG';
  }

  /** wpa_supplicant on our config, and the event monitor attached to it. */
  private async ensureSupplicant(): Promise<void> {
    if (!(await this.supplicantAnswers())) {
      await this.supplicant?.stop();
      const lines: string[] = [];
      const child = this.spawner.spawn(this.tools.wpa_supplicant, [
        '-i',
        this.iface,
        '-c',
        this.paths.wpaConf,
        '-D',
        'nl80211,wext',
      ]);
      child.onLine((line) => lines.push(line));
      this.supplicant = child;
      const state = { exited: false };
      void child.exited.then(() => {
        state.exited = true;
      });
      const deadline = this.now() + 5000;
      for (;;) {
        if (await this.supplicantAnswers()) break;
        if (state.exited || this.now() >= deadline) {
          this.supplicant = undefined;
          await child.stop();
          throw new HardwareFailure(
            `wpa_supplicant did not start: ${lines.slice(-3).join(' | ') || 'no output'}`,
          );
        }
        await this.sleep(this.pollMs);
      }
      await this.monitor?.stop();
      this.monitor = undefined;
    }
    if (this.sae === undefined) await this.detectSae();
    if (this.eap === undefined) await this.detectEap();
    if (!this.monitor) {
      const monitor = this.spawner.spawn(this.tools.wpa_cli, ['-p', this.ctrlDir, '-i', this.iface]);
      monitor.onLine((line) => {
        const event = parseEventLine(line);
        if (event && event.kind !== 'other') this.events.push(event);
      });
      void monitor.exited.then(() => {
        if (this.monitor === monitor) this.monitor = undefined;
      });
      this.monitor = monitor;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Scan

  async scan(): Promise<ScanResult[]> {
    if (this.ap && this.apIface === this.iface) {
      throw new AirliftError('BUSY', 'The setup AP holds the only Wi-Fi interface; cannot scan now');
    }
    try {
      await this.ensureSupplicantWithConf();
    } catch (err) {
      throw this.asCommandFailed(err);
    }
    const mark = this.events.length;
    const started = await this.wpaCli(['scan']);
    const answer = started.stdout.trim();
    if (answer !== 'OK' && answer !== 'FAIL-BUSY') {
      throw new AirliftError('COMMAND_FAILED', `wpa_cli scan failed: ${answer || started.stderr.trim()}`);
    }
    const deadline = this.now() + this.scanTimeoutMs;
    while (this.now() < deadline && !this.events.slice(mark).some((e) => e.kind === 'scan_results')) {
      await this.sleep(this.pollMs);
    }
    const results = await this.wpaCli(['scan_results']);
    if (results.code !== 0) throw new AirliftError('COMMAND_FAILED', 'wpa_cli scan_results failed');
    this.lastScan = parseScanResults(results.stdout);
    return this.lastScan;
  }

  private async ensureSupplicantWithConf(): Promise<void> {
    if (!this.supplicant && !(await this.supplicantAnswers())) await this.writeSupplicantConf(undefined);
    await this.ensureSupplicant();
  }

  private asCommandFailed(err: unknown): AirliftError {
    if (err instanceof AirliftError) return err;
    return new AirliftError('COMMAND_FAILED', err instanceof Error ? err.message : 'radio command failed');
  }

  // -------------------------------------------------------------------------------------------
  // Join

  async join(target: JoinTarget, options: { timeoutMs: number; keepAp: boolean }): Promise<JoinOutcome> {
    await this.readRadio();
    // Known to be impossible: say so before the AP is taken down for nothing.
    if (target.security === 'wpa3-sae' && this.sae === false) return this.noSae();
    const noEap = this.noEap(target);
    if (noEap) return noEap;
    // Checked before the AP is touched. A secret the generator refuses (the input rules refuse the
    // same ones) fails the join as NetworkManager's passwd-file does: auth_failed, not an exception.
    try {
      await this.writeSupplicantConf(target);
    } catch (err) {
      if (err instanceof AirliftError && err.code === 'INVALID_PASSPHRASE')
        return { ok: false, reason: 'auth_failed', detail: err.message };
      throw err;
    }
    const ap = this.ap;
    const plan = planApForJoin(
      this.apRadio(),
      { up: ap !== undefined, ...(this.apChannel !== undefined ? { channel: this.apChannel } : {}) },
      channelOfTarget(this.lastScan, target.ssidHex),
      options.keepAp,
    );
    await clearApForJoin(plan, this.apActions());
    const deadline = this.now() + options.timeoutMs;
    let outcome = await this.attemptJoin(target, deadline);
    const noSae = target.security === 'wpa3-sae' && this.sae === false;
    if (!outcome.ok && outcome.reason === 'hardware' && !noSae && this.now() < deadline) {
      await this.rfkillUnblock();
      outcome = await this.attemptJoin(target, deadline);
    }
    const now = this.apNow();
    const station = afterJoinFollowsStation(this.apRadio(), plan, outcome.ok, now)
      ? await this.stationChannel()
      : undefined;
    await followUpAfterJoin(
      planApAfterJoin(this.apRadio(), plan, outcome.ok, now, station),
      ap,
      this.apActions(),
    );
    return outcome;
  }

  /** The facts the AP planner decides by. */
  private apRadio(): ApRadio {
    return {
      apSta: this.apIface !== this.iface,
      singleChannel: this.singleChannel,
      ...(this.country !== undefined ? { country: this.country } : {}),
    };
  }

  private apNow(): ApNow {
    return {
      up: this.ap !== undefined,
      beaconing: this.hostapd !== undefined,
      ...(this.apChannel !== undefined ? { channel: this.apChannel } : {}),
      configured: this.ap?.channel ?? 0,
    };
  }

  /** What hostapd does for the planner's steps around a join (../ap-around-join.ts). */
  private apActions(): ApJoinActions {
    return {
      stopAp: () => this.stopAp(),
      pauseAp: async (reason) => {
        this.note(`hostapd paused for this join: ${reason}`);
        const hostapd = this.hostapd;
        this.hostapd = undefined;
        await hostapd?.stop();
      },
      restartAp: (channel) => this.restartHostapd(channel),
      startAp: (config) => this.startAp(config),
      note: (message) => this.note(message),
    };
  }

  /** An EAP method this wpa_supplicant lacks, once it has said which it has. */
  private noEap(target: JoinTarget): JoinOutcome | undefined {
    const method = target.eap?.method;
    if (method === undefined || this.eap === undefined || this.eap.includes(method)) return undefined;
    return {
      ok: false,
      reason: 'hardware',
      detail: `EAP-${method.toUpperCase()} is not supported here: wpa_supplicant lists ${this.eap.join(', ') || 'no EAP methods'}`,
    };
  }

  private noSae(): JoinOutcome {
    return {
      ok: false,
      reason: 'hardware',
      detail: 'WPA3-SAE is not supported here: wpa_supplicant lists no SAE in get_capability key_mgmt',
    };
  }

  /** The station's channel, from `wpa_cli status` (`freq=`), when it is associated. */
  private async stationChannel(): Promise<number | undefined> {
    if (!this.supplicant && !this.monitor) return undefined;
    const status = parseStatus((await this.wpaCli(['status'])).stdout);
    if (status.wpaState !== 'COMPLETED' || status.frequency === undefined) return undefined;
    return channelOfFrequency(status.frequency);
  }

  /** hostapd again on `channel`, dnsmasq and the address untouched; if it fails the AP goes down whole. */
  private async restartHostapd(channel: number): Promise<void> {
    const ap = this.ap;
    if (!ap) return;
    const hostapd = this.hostapd;
    this.hostapd = undefined;
    await hostapd?.stop();
    try {
      await this.writeHostapdConf(ap, channel);
      await this.startHostapd();
      this.apChannel = channel;
    } catch (err) {
      this.note(`the setup AP did not restart on channel ${channel}: ${(err as Error).message}`);
      await this.stopAp();
    }
  }

  private async attemptJoin(target: JoinTarget, deadline: number): Promise<JoinOutcome> {
    const mark = this.events.length;
    try {
      await this.ensureSupplicant();
      if (target.security === 'wpa3-sae' && this.sae === false) return this.noSae();
      await this.wpaCliOk(['reconfigure']);
      await this.wpaCliOk(['select_network', '0']);
    } catch (err) {
      if (err instanceof HardwareFailure) return { ok: false, reason: 'hardware', detail: err.message };
      throw err;
    }
    const link = await this.waitForLink(mark, deadline, target.eap?.method);
    if (!link.ok) {
      await this.wpaCli(['disconnect']).catch(() => undefined);
      return link;
    }
    if (target.ipv4) {
      const configured = await this.configureStatic(target.ipv4);
      if (!configured.ok) await this.wpaCli(['disconnect']).catch(() => undefined);
      else this.lease = configured.lease;
      if (configured.ok)
        this.joined = { ssidHex: target.ssidHex, ...(link.bssid === undefined ? {} : { bssid: link.bssid }) };
      return configured.ok
        ? { ...configured, ...(link.bssid === undefined ? {} : { bssid: link.bssid }) }
        : configured;
    }
    const lease = await this.obtainLease(deadline);
    if (!lease) {
      await this.wpaCli(['disconnect']).catch(() => undefined);
      return { ok: false, reason: 'dhcp_timeout', detail: `no DHCP lease on ${this.iface}` };
    }
    this.lease = lease;
    this.joined = { ssidHex: target.ssidHex, ...(link.bssid === undefined ? {} : { bssid: link.bssid }) };
    return { ok: true, lease, ...(link.bssid === undefined ? {} : { bssid: link.bssid }) };
  }

  /**
   * Polls status and reads events until COMPLETED, a decisive failure, or the deadline. For an
   * 802.1X network (`eap`) the EAP events decide first: the SSID's temporary disable that follows an
   * EAP failure says less than the failure itself.
   */
  private async waitForLink(
    mark: number,
    deadline: number,
    eap?: EapMethod,
  ): Promise<{ ok: true; bssid?: string } | { ok: false; reason: ConnectFailureReason; detail?: string }> {
    for (;;) {
      const eapFailure = eap === undefined ? undefined : eapFailureOf(this.events.slice(mark), eap);
      if (eapFailure) return { ok: false, ...eapFailure };
      const failures = this.events.slice(mark).filter((e) => e.kind === 'failure');
      const auth = failures.find((e) => e.reason === 'auth_failed');
      if (auth) return { ok: false, reason: 'auth_failed', detail: auth.detail };
      for (const reason of ['assoc_rejected', 'ssid_not_found'] as const) {
        const same = failures.filter((e) => e.reason === reason);
        const last = same.at(-1);
        if (same.length >= FAILURE_REPEATS && last) return { ok: false, reason, detail: last.detail };
      }
      const status = parseStatus((await this.wpaCli(['status'])).stdout);
      if (status.wpaState === 'COMPLETED')
        return { ok: true, ...(status.bssid ? { bssid: status.bssid } : {}) };
      if (status.wpaState === 'INTERFACE_DISABLED') {
        return { ok: false, reason: 'hardware', detail: 'wpa_state=INTERFACE_DISABLED' };
      }
      if (this.now() >= deadline) {
        const last = failures.at(-1);
        return last
          ? { ok: false, reason: last.reason, detail: last.detail }
          : { ok: false, reason: 'timeout', detail: `wpa_state=${status.wpaState}` };
      }
      await this.sleep(this.pollMs);
    }
  }

  private async obtainLease(deadline: number): Promise<Lease | undefined> {
    const remainingMs = Math.max(deadline - this.now(), 3000);
    let ip: string | undefined;
    let router: string | undefined;
    if (this.dhcpClient === 'udhcpc') {
      const tries = Math.max(1, Math.min(10, Math.floor(remainingMs / 3000)));
      const prefix = basename(this.tools.udhcpc) === 'busybox' ? ['udhcpc'] : [];
      const result = await this.run(
        'udhcpc',
        [...prefix, '-i', this.iface, '-n', '-q', '-t', String(tries), '-T', '3'],
        remainingMs + 2000,
      );
      const out = parseUdhcpcOutput(`${result.stdout}\n${result.stderr}`);
      if (result.code !== 0 || !out) return undefined;
      ip = out.ip;
    } else {
      const seconds = Math.max(3, Math.floor(remainingMs / 1000));
      const result = await this.run(
        'dhcpcd',
        ['-1', '-4', '-t', String(seconds), this.iface],
        remainingMs + 2000,
      );
      const out = parseDhcpcdOutput(`${result.stdout}\n${result.stderr}`);
      if (result.code !== 0 || !out) return undefined;
      ip = out.ip;
      router = out.router;
    }
    const addr = parseIpAddr((await this.run('ip', ['-o', '-4', 'addr', 'show', 'dev', this.iface])).stdout);
    router ??= parseDefaultRoute(
      (await this.run('ip', ['-4', 'route', 'show', 'default', 'dev', this.iface])).stdout,
    );
    const resolv = await readFile(this.resolvConfPath, 'utf8').catch(() => '');
    const own = ip ?? addr?.ip;
    // The prefix is needed to delete exactly this address; without one `ip` matches the address alone.
    if (own !== undefined) this.ownAddress = addr?.ip === own ? `${own}/${addr.prefixLength}` : own;
    return {
      ip: own ?? '',
      subnetmask: addr ? prefixToNetmask(addr.prefixLength) : '255.255.255.0',
      defaultgw: router ?? '',
      nameservers: parseResolvConf(resolv),
    };
  }

  /**
   * A network's static IPv4 on the station interface, instead of a DHCP client: the address (an
   * earlier one of ours goes), the default route, and the DNS servers in resolv.conf when it is a
   * file of its own. A refused address or route fails the join as `hardware`.
   */
  private async configureStatic(
    ipv4: StaticIpv4,
  ): Promise<{ ok: true; lease: Lease } | { ok: false; reason: ConnectFailureReason; detail: string }> {
    const cidr = `${ipv4.address}/${ipv4.prefixLength}`;
    const failed = (what: string, r: CommandResult) => ({
      ok: false as const,
      reason: 'hardware' as const,
      detail: `${what}: ${r.stderr.trim() || `exit ${String(r.code)}`}`,
    });
    if (this.ownAddress !== undefined && this.ownAddress !== cidr)
      await this.run('ip', ['-4', 'addr', 'del', this.ownAddress, 'dev', this.iface]);
    this.ownAddress = undefined;
    // `add`, not `replace`: BusyBox's ip has no `addr replace`; the address already there is fine.
    const added = await this.run('ip', ['-4', 'addr', 'add', cidr, 'dev', this.iface]);
    if (added.code !== 0 && !/exists/i.test(added.stderr)) return failed(`ip addr add ${cidr}`, added);
    this.ownAddress = cidr;
    if (ipv4.gateway !== undefined) {
      const route = ['-4', 'route', 'replace', 'default', 'via', ipv4.gateway, 'dev', this.iface];
      const routed = await this.run('ip', route);
      if (routed.code !== 0) return failed(`ip route replace default via ${ipv4.gateway}`, routed);
    }
    await this.writeResolvConf(ipv4.dns);
    return {
      ok: true,
      lease: {
        ip: ipv4.address,
        subnetmask: prefixToNetmask(ipv4.prefixLength),
        defaultgw: ipv4.gateway ?? '',
        nameservers: [...ipv4.dns],
      },
    };
  }

  /** The DNS servers of a static network, unless resolv.conf belongs to a resolver (a symbolic link). */
  private async writeResolvConf(dns: readonly string[]): Promise<void> {
    if (dns.length === 0) return;
    const info = await lstat(this.resolvConfPath).catch(() => undefined);
    if (info?.isSymbolicLink()) {
      this.note(`DNS servers not written: ${this.resolvConfPath} is a link, another service manages it`);
      return;
    }
    const text = `# Generated by airliftd for a network with static IPv4.\n${dns.map((d) => `nameserver ${d}`).join('\n')}\n`;
    await writeFileAtomic(this.resolvConfPath, text, { mode: 0o644 }).catch((err: unknown) =>
      this.note(`DNS servers not written to ${this.resolvConfPath}: ${(err as Error).message}`),
    );
  }

  async leave(): Promise<void> {
    this.lease = undefined;
    this.joined = undefined;
    const own = this.ownAddress;
    this.ownAddress = undefined;
    // Only what we set up: a static address or another client's lease on this interface stays.
    if (this.supplicant || (await this.supplicantAnswers())) await this.wpaCli(['disconnect']);
    if (own !== undefined) await this.run('ip', ['-4', 'addr', 'del', own, 'dev', this.iface]);
  }

  // -------------------------------------------------------------------------------------------
  // Setup AP

  async startAp(config: SetupApConfig): Promise<void> {
    await this.readRadio();
    if (this.ap) await this.stopAp();
    if (this.apIface !== this.iface) {
      // Created here only, never at capabilities(): an idle AP interface is one more thing for other
      // tools to grab, and a failure belongs to the AP start that needs it.
      try {
        await this.ensureApInterface();
        const up = await this.run('ip', ['link', 'set', 'dev', this.apIface, 'up']);
        if (up.code !== 0) throw new Error(`could not bring ${this.apIface} up (${up.stderr.trim()})`);
      } catch (err) {
        await this.fallBackToTurns((err as Error).message);
      }
    }
    // One channel for both: an associated station decides it, unless the AP may not go there.
    const station =
      this.apIface !== this.iface && this.singleChannel ? await this.stationChannel() : undefined;
    const start = planApStart(this.apRadio(), config.channel, station);
    if (start.station === 'stops') {
      // One interface: the station gives way to the AP (after a fallback too: it must).
      await this.leave();
      await this.stopSupplicant();
    } else if (start.station === 'leaves') {
      this.note(`the station gives way to the setup AP (one channel for both): ${start.reason ?? ''}`);
      await this.leave();
    }
    const channel = start.channel;
    await ensureDir(this.dir);
    await this.writeHostapdConf(config, channel);
    await writeConfigFile(
      this.paths.dnsmasqConf,
      dnsmasqConf({
        interface: this.apIface,
        ap: config,
        leaseFile: join(this.dir, 'dnsmasq.leases'),
        pidFile: join(this.dir, 'dnsmasq.pid'),
      }),
    );
    try {
      await this.startHostapd();
    } catch (err) {
      if (!(err instanceof HardwareFailure)) {
        await this.deleteApInterface();
        throw err;
      }
      await this.rfkillUnblock();
      try {
        await this.startHostapd();
      } catch (again) {
        await this.deleteApInterface();
        throw new AirliftError(
          'COMMAND_FAILED',
          `The setup AP did not start: ${(again as Error).message}`,
          undefined,
          {
            cause: again,
          },
        );
      }
    }
    try {
      const cidr = `${config.address}/${config.prefixLength}`;
      await this.run('ip', ['-4', 'addr', 'flush', 'dev', this.apIface]);
      const added = await this.run('ip', ['-4', 'addr', 'add', cidr, 'dev', this.apIface]);
      if (added.code !== 0) throw new Error(`ip addr add: ${added.stderr.trim()}`);
      await this.startDnsmasq();
    } catch (err) {
      await this.stopDaemons();
      await this.deleteApInterface();
      throw this.asCommandFailed(err);
    }
    this.ap = config;
    this.apChannel = channel;
  }

  private async writeHostapdConf(config: SetupApConfig, channel: number): Promise<void> {
    await writeConfigFile(
      this.paths.hostapdConf,
      hostapdConf({
        interface: this.apIface,
        ap: { ...config, channel },
        ...(this.country === undefined ? {} : { country: this.country }),
      }),
    );
  }

  private async startHostapd(): Promise<void> {
    const lines: string[] = [];
    const child = this.spawner.spawn(this.tools.hostapd, [this.paths.hostapdConf]);
    let enabled!: () => void;
    const ready = new Promise<void>((resolve) => (enabled = resolve));
    child.onLine((line) => {
      lines.push(line);
      if (/AP-ENABLED/.test(line)) enabled();
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      ready.then(() => 'ready' as const),
      child.exited.then(() => 'exited' as const),
      new Promise<'timeout'>(
        (resolve) => (timer = setTimeout(() => resolve('timeout'), this.apStartTimeoutMs)),
      ),
    ]);
    clearTimeout(timer);
    if (outcome === 'ready') {
      this.hostapd = child;
      return;
    }
    await child.stop();
    const text = lines.slice(-5).join(' | ') || 'no output';
    if (looksLikeHardwareFailure(text)) throw new HardwareFailure(`hostapd: ${text}`);
    throw new AirliftError(
      'COMMAND_FAILED',
      `hostapd ${outcome === 'timeout' ? 'did not enable the AP' : 'exited'}: ${text}`,
    );
  }

  private async startDnsmasq(): Promise<void> {
    const lines: string[] = [];
    const child = this.spawner.spawn(this.tools.dnsmasq, [
      '--keep-in-foreground',
      `--conf-file=${this.paths.dnsmasqConf}`,
    ]);
    child.onLine((line) => lines.push(line));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const outcome = await Promise.race([
      child.exited.then(() => 'exited' as const),
      new Promise<'running'>(
        (resolve) => (timer = setTimeout(() => resolve('running'), this.dnsmasqSettleMs)),
      ),
    ]);
    clearTimeout(timer);
    if (outcome === 'exited') {
      throw new AirliftError(
        'COMMAND_FAILED',
        `dnsmasq exited: ${lines.slice(-3).join(' | ') || 'no output'}`,
      );
    }
    this.dnsmasq = child;
  }

  private async stopDaemons(): Promise<void> {
    const dnsmasq = this.dnsmasq;
    const hostapd = this.hostapd;
    this.dnsmasq = undefined;
    this.hostapd = undefined;
    await dnsmasq?.stop();
    await hostapd?.stop();
  }

  async stopAp(): Promise<void> {
    const ap = this.ap;
    this.ap = undefined;
    this.apChannel = undefined;
    await this.stopDaemons();
    if (ap)
      await this.run('ip', ['-4', 'addr', 'del', `${ap.address}/${ap.prefixLength}`, 'dev', this.apIface]);
    // Created for the AP, gone with it: an idle AP interface is one more thing for other tools to grab.
    await this.deleteApInterface();
  }

  private async stopSupplicant(): Promise<void> {
    const monitor = this.monitor;
    const supplicant = this.supplicant;
    this.monitor = undefined;
    this.supplicant = undefined;
    await monitor?.stop();
    await supplicant?.stop();
  }

  // -------------------------------------------------------------------------------------------
  // Status

  async status(): Promise<RadioStatus> {
    let wifi: RadioStatus['wifi'] = { up: false };
    if (this.supplicant || this.monitor) {
      const status = parseStatus((await this.wpaCli(['status'])).stdout);
      if (status.wpaState === 'COMPLETED') {
        const ssidHex = status.ssidHex ?? this.joined?.ssidHex;
        wifi = {
          up: true,
          ...(ssidHex === undefined ? {} : { ssidHex }),
          ...(status.bssid === undefined ? {} : { bssid: status.bssid }),
          ...(this.lease === undefined ? {} : { lease: this.lease }),
        };
      } else {
        this.lease = undefined;
        this.joined = undefined;
      }
    }
    let clients = 0;
    if (this.ap) {
      const dump = await this.run('iw', ['dev', this.apIface, 'station', 'dump']);
      clients = dump.code === 0 ? parseIwStationCount(dump.stdout) : 0;
    }
    return {
      wifi,
      ethernet: await this.links.state('ethernet'),
      cellular: await this.links.state('cellular'),
      ap: this.ap
        ? { up: true, ssid: this.ap.ssid, address: this.ap.address, clients }
        : { up: false, clients: 0 },
    };
  }

  async close(): Promise<void> {
    await this.stopAp().catch(() => undefined);
    await this.deleteApInterface().catch(() => undefined);
    await this.stopSupplicant();
  }
}

/** A join's target as a network block: text as it is, certificates and the key as the store's files. */
export function wpaNetworkOf(target: JoinTarget): WpaNetwork {
  const eap = target.eap;
  return {
    ssidHex: target.ssidHex,
    security: target.security,
    hidden: target.hidden,
    ...(target.passphrase === undefined ? {} : { passphrase: target.passphrase }),
    ...(target.psk === undefined ? {} : { psk: target.psk }),
    ...(eap === undefined
      ? {}
      : {
          eap: {
            method: eap.method,
            identity: eap.identity,
            ...(eap.phase2 === undefined ? {} : { phase2: eap.phase2 }),
            ...(eap.anonymousIdentity === undefined ? {} : { anonymousIdentity: eap.anonymousIdentity }),
            ...(eap.password === undefined ? {} : { password: eap.password }),
            ...(eap.caCert === undefined ? {} : { caCertPath: eap.caCert.path }),
            ...(eap.domainMatch === undefined ? {} : { domainMatch: eap.domainMatch }),
            ...(eap.clientCert === undefined ? {} : { clientCertPath: eap.clientCert.path }),
            ...(eap.clientKeyPath === undefined ? {} : { clientKeyPath: eap.clientKeyPath }),
            ...(eap.clientKeyPassphrase === undefined
              ? {}
              : { clientKeyPassphrase: eap.clientKeyPassphrase }),
          },
        }),
  };
}

/** Register this backend with the selector (`backend: wpa_supplicant`, or `auto` without NetworkManager). */
export function registerWpaSupplicant(): void {
  registerBackend('wpa_supplicant', async (config: AgentConfig, runner: CommandRunner, logger: Logger) => {
    const udhcpc = await findExecutable('udhcpc');
    const dhcpcd = udhcpc ? undefined : await findExecutable('dhcpcd');
    const busybox = udhcpc || dhcpcd ? undefined : await findExecutable('busybox');
    return new WpaSupplicantRadio({
      runner,
      log: (message) => logger.warn(message),
      interface: config.interfaces.wifi,
      ...(config.setup.country === undefined ? {} : { country: config.setup.country }),
      ...(config.interfaces.ap === undefined ? {} : { apInterface: config.interfaces.ap }),
      ...(config.interfaces.ethernet === undefined ? {} : { ethernetInterface: config.interfaces.ethernet }),
      ...(config.interfaces.cellular === undefined ? {} : { cellularInterface: config.interfaces.cellular }),
      dhcpClient: dhcpcd ? 'dhcpcd' : 'udhcpc',
      ...(busybox ? { tools: { udhcpc: busybox } } : {}),
    });
  });
}
