/**
 * The radio backend for images without NetworkManager: wpa_supplicant for the station, hostapd and
 * dnsmasq for the setup AP, udhcpc or dhcpcd for the lease. Configs are generated whole into a
 * runtime directory (mode 0600); secrets live only there, never in argv. wpa_supplicant, hostapd,
 * dnsmasq and an attached `wpa_cli` event monitor are child processes owned by this object and
 * stopped by `close()`. Short commands go through the CommandRunner with a timeout each.
 *
 * AP+STA: when `iw list` allows an AP and a station together, the AP runs on a second, virtual
 * interface (`interfaces.ap`, default `uap0`). If it does not exist this object creates it
 * (`iw dev <wifi> interface add <ap> type __ap`, with a locally administered MAC when the kernel
 * gave it the station's), and deletes it on stopAp/close, never one it did not create. If creation
 * fails, or the radio has no AP+STA, the AP and the station take turns on the station interface
 * and `concurrentApSta` is false. When every AP+STA combination has `#channels <= 1`, hostapd runs
 * on the station's channel, and is restarted on the new one when a join that kept the AP lands
 * elsewhere.
 *
 * Capabilities: `wpa3-sae` only when wpa_supplicant says it can (`get_capability key_mgmt`), which
 * needs it running: `capabilities()` starts it if it can, otherwise SAE counts as absent until the
 * supplicant has started and answered. Ethernet and cellular come from the kernel (agent/system/links.ts).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { AirliftError, type ConnectFailureReason } from '../../../shared/errors';
import {
  combinationAllowsApSta,
  parseIwBands,
  parseIwCombinationList,
  parseIwStationCount,
} from '../../../shared/parsers/iw';
import type { AgentConfig } from '../../../shared/agent-config';
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
import { ensureDir } from '../../store/atomic-file';
import { LinkProbe } from '../../system/links';
import { findExecutable, registerBackend } from '../select-backend';
import {
  checkInterfaceName,
  dnsmasqConf,
  hostapdConf,
  prefixToNetmask,
  wpaSupplicantConf,
  writeConfigFile,
} from './config';
import {
  channelOfFrequency,
  looksLikeHardwareFailure,
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

export interface ManagedProcess {
  /** Every line the process prints (stdout and stderr). */
  onLine(listener: (line: string) => void): void;
  /** Settles when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  /** SIGTERM, then SIGKILL if it has not exited after a grace period. Idempotent. */
  stop(): Promise<void>;
}

export interface ProcessSpawner {
  spawn(file: string, args: readonly string[]): ManagedProcess;
}

/** Children started with `spawn` (no shell, LC_ALL=C), stdin kept open for `wpa_cli` interactive mode. */
export class NodeProcessSpawner implements ProcessSpawner {
  constructor(private readonly graceMs = 3000) {}

  spawn(file: string, args: readonly string[]): ManagedProcess {
    const child = spawn(file, [...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    });
    const listeners: ((line: string) => void)[] = [];
    const emit = (line: string): void => {
      for (const l of listeners) l(line);
    };
    createInterface({ input: child.stdout }).on('line', emit);
    createInterface({ input: child.stderr }).on('line', emit);
    child.stdin.on('error', () => undefined);
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      child.on('error', (err) => {
        emit(`spawn error: ${err.message}`);
        resolve({ code: null, signal: null });
      });
      child.on('exit', (code, signal) => resolve({ code, signal }));
    });
    let stopping: Promise<void> | undefined;
    return {
      onLine: (listener) => listeners.push(listener),
      exited,
      stop: () => {
        stopping ??= (async () => {
          if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), this.graceMs);
          await exited;
          clearTimeout(timer);
        })();
        return stopping;
      },
    };
  }
}

// ---------------------------------------------------------------------------------------------
// The radio

export interface WpaRadioOptions {
  runner: CommandRunner;
  /** Station interface (`interfaces.wifi`). */
  interface: string;
  /**
   * AP interface (`interfaces.ap`), default `uap0`: used as is if it exists, else created on the
   * station's radio when `iw list` allows AP+STA. The station interface's own name means: always
   * take turns.
   */
  apInterface?: string;
  /** `interfaces.ethernet` / `interfaces.cellular`; default: found in sysfs. */
  ethernetInterface?: string;
  cellularInterface?: string;
  /** Default `/sys/class/net`; tests point it at a fixture tree. */
  sysfsNetDir?: string;
  /** Where fallbacks and odd findings are told (e.g. the AP interface could not be created). */
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

/**
 * A locally administered unicast MAC for the AP, derived from the station's: the same address with
 * the U/L bit set (and the group bit clear). Clients and the driver must not see one address on two
 * interfaces: mac80211 refuses to bring a second interface up with the first one's address, and a
 * BSSID equal to the station's own confuses the AP it is joined to. Deriving it keeps it stable
 * across reboots and recognisable (same OUI-derived prefix), unlike a random one. If the station's
 * address is itself locally administered, the last bit of the last octet is flipped instead.
 */
export function apMacFor(stationMac: string): string | undefined {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(stationMac)) return undefined;
  const octets = stationMac
    .toLowerCase()
    .split(':')
    .map((o) => parseInt(o, 16));
  const first = octets[0] ?? 0;
  const derived = [...octets];
  derived[0] = (first | 0x02) & 0xfe;
  if (derived[0] === first) derived[5] = (octets[5] ?? 0) ^ 0x01;
  return derived.map((o) => o.toString(16).padStart(2, '0')).join(':');
}

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

  private iwList: string | undefined;
  /** Whether the AP interface has been chosen (after the first `capabilities()`). */
  private apDecided = false;
  /** Every AP+STA combination allows one channel only: the AP must follow the station. */
  private singleChannel = false;
  /** The AP interface exists because this object created it (so it may delete it). */
  private apCreated = false;
  /** SAE per wpa_supplicant; undefined until it has answered. */
  private sae: boolean | undefined;
  private saeProbed = false;
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
    // Until capabilities() has seen `iw list`, assume the one interface.
    this.apIface = this.iface;
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
    this.log = options.log ?? ((message) => console.warn(`airliftd wpa_supplicant backend: ${message}`));
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
    await this.prepare();
    if (this.sae === undefined && !this.saeProbed && !(this.ap && this.apIface === this.iface)) {
      // The agent reads capabilities once at start, so ask wpa_supplicant now rather than at the first
      // join. Once: a supplicant that cannot start now is retried by scan/join, which detect SAE then.
      this.saeProbed = true;
      try {
        await this.ensureSupplicantWithConf();
      } catch (err) {
        this.note(`WPA3-SAE support unknown, reported absent: ${(err as Error).message}`);
      }
    }
    const text = this.iwList ?? '';
    const bands = parseIwBands(text);
    const security: NetworkSecurity[] = ['open', 'wpa2-psk'];
    if (this.sae === true) security.push('wpa3-sae');
    return {
      concurrentApSta: this.apIface !== this.iface,
      security,
      bands: bands.length > 0 ? bands : ['2.4GHz'],
      ethernet: await this.links.present('ethernet'),
      cellular: await this.links.present('cellular'),
    };
  }

  /** `iw list` once, and the AP interface chosen once: created now if AP+STA allows it. */
  private async prepare(): Promise<void> {
    if (this.iwList === undefined) {
      const result = await this.run('iw', ['list']);
      this.iwList = result.code === 0 ? result.stdout : '';
    }
    if (this.apDecided) return;
    this.apDecided = true;
    if (this.apWanted === this.iface) return;
    const combos = parseIwCombinationList(this.iwList).filter(combinationAllowsApSta);
    if (combos.length === 0) return; // no AP+STA: take turns on the station interface
    this.singleChannel = Math.max(...combos.map((c) => c.channels)) <= 1;
    try {
      await this.ensureApInterface();
      this.apIface = this.apWanted;
    } catch (err) {
      this.note(
        `AP+STA off: ${(err as Error).message}; the setup AP and the station take turns on ${this.iface}`,
      );
    }
  }

  private async readSysfs(name: string, file: string): Promise<string | undefined> {
    try {
      return (await readFile(join(this.sysfsNetDir, name, file), 'utf8')).trim();
    } catch {
      return undefined;
    }
  }

  /** The AP interface exists: as found, or created on the station's radio (then ours to delete). */
  private async ensureApInterface(): Promise<void> {
    const name = this.apWanted;
    if ((await this.readSysfs(name, 'ifindex')) !== undefined) return;
    const added = await this.run('iw', ['dev', this.iface, 'interface', 'add', name, 'type', '__ap']);
    if (added.code !== 0) {
      const why = (added.stderr || added.stdout).trim() || `exit ${added.code ?? '?'}`;
      throw new Error(`could not create ${name} (iw: ${why})`);
    }
    this.apCreated = true;
    // Drivers differ: mac80211 ones give the new interface the station's own address. Only then is
    // it changed, while the interface is still down (see apMacFor); an address of its own is kept.
    const station = await this.readSysfs(this.iface, 'address');
    const ap = await this.readSysfs(name, 'address');
    if (station !== undefined && (ap === undefined || ap.toLowerCase() === station.toLowerCase())) {
      const mac = apMacFor(station);
      if (mac !== undefined) {
        const set = await this.run('ip', ['link', 'set', 'dev', name, 'address', mac]);
        if (set.code !== 0) this.note(`could not set ${name}'s address to ${mac}: ${set.stderr.trim()}`);
      }
    }
  }

  /** Delete the AP interface if this object created it. */
  private async deleteApInterface(): Promise<void> {
    if (!this.apCreated) return;
    this.apCreated = false;
    const deleted = await this.run('iw', ['dev', this.apWanted, 'del']);
    if (deleted.code !== 0) this.note(`could not delete ${this.apWanted}: ${deleted.stderr.trim()}`);
  }

  /** Creation or bring-up failed: the AP takes turns with the station from now on. */
  private async fallBackToTurns(reason: string): Promise<void> {
    await this.deleteApInterface().catch(() => undefined);
    this.apIface = this.iface;
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

  // -------------------------------------------------------------------------------------------
  // wpa_supplicant

  private async writeSupplicantConf(target: JoinTarget | undefined): Promise<void> {
    await ensureDir(this.dir);
    const text = wpaSupplicantConf({
      ctrlInterface: this.ctrlDir,
      networks: target
        ? [
            {
              ssidHex: target.ssidHex,
              security: target.security,
              hidden: target.hidden,
              ...(target.passphrase === undefined ? {} : { passphrase: target.passphrase }),
              ...(target.psk === undefined ? {} : { psk: target.psk }),
            },
          ]
        : [],
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
    return parseScanResults(results.stdout);
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
    await this.prepare();
    // Known to be impossible: say so before the AP is taken down for nothing.
    if (target.security === 'wpa3-sae' && this.sae === false) return this.noSae();
    if (this.ap && !(options.keepAp && this.apIface !== this.iface)) await this.stopAp();
    // Invalid input is a caller's bug, not an ordinary failure: the generator throws it.
    await this.writeSupplicantConf(target);
    const deadline = this.now() + options.timeoutMs;
    let outcome = await this.attemptJoin(target, deadline);
    const noSae = target.security === 'wpa3-sae' && this.sae === false;
    if (!outcome.ok && outcome.reason === 'hardware' && !noSae && this.now() < deadline) {
      await this.rfkillUnblock();
      outcome = await this.attemptJoin(target, deadline);
    }
    if (outcome.ok && this.ap && this.singleChannel) await this.followStationChannel();
    return outcome;
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

  /** One channel for both: restart hostapd on the station's channel if the join moved it. */
  private async followStationChannel(): Promise<void> {
    const ap = this.ap;
    const channel = await this.stationChannel();
    if (!ap || channel === undefined || channel === this.apChannel) return;
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
    const link = await this.waitForLink(mark, deadline);
    if (!link.ok) {
      await this.wpaCli(['disconnect']).catch(() => undefined);
      return link;
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

  /** Polls status and reads events until COMPLETED, a decisive failure, or the deadline. */
  private async waitForLink(
    mark: number,
    deadline: number,
  ): Promise<{ ok: true; bssid?: string } | { ok: false; reason: ConnectFailureReason; detail?: string }> {
    for (;;) {
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
    return {
      ip: ip ?? addr?.ip ?? '',
      subnetmask: addr ? prefixToNetmask(Math.min(30, Math.max(8, addr.prefixLength))) : '255.255.255.0',
      defaultgw: router ?? '',
      nameservers: parseResolvConf(resolv),
    };
  }

  async leave(): Promise<void> {
    this.lease = undefined;
    this.joined = undefined;
    if (!this.supplicant && !(await this.supplicantAnswers())) return;
    await this.wpaCli(['disconnect']);
    await this.run('ip', ['-4', 'addr', 'flush', 'dev', this.iface]);
  }

  // -------------------------------------------------------------------------------------------
  // Setup AP

  async startAp(config: SetupApConfig): Promise<void> {
    await this.prepare();
    if (this.ap) await this.stopAp();
    let channel = config.channel;
    if (this.apIface !== this.iface) {
      try {
        await this.ensureApInterface();
        const up = await this.run('ip', ['link', 'set', 'dev', this.apIface, 'up']);
        if (up.code !== 0) throw new Error(`could not bring ${this.apIface} up (${up.stderr.trim()})`);
      } catch (err) {
        await this.fallBackToTurns((err as Error).message);
      }
    }
    if (this.apIface === this.iface) {
      // One radio: the station gives way to the AP.
      await this.leave();
      await this.stopSupplicant();
    } else if (this.singleChannel) {
      // One channel for both: an associated station decides it.
      channel = (await this.stationChannel()) ?? channel;
    }
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
      hostapdConf({ interface: this.apIface, ap: { ...config, channel } }),
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
        wifi = {
          up: true,
          ...((status.ssidHex ?? this.joined?.ssidHex) === undefined
            ? {}
            : { ssidHex: status.ssidHex ?? this.joined?.ssidHex }),
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

/** Register this backend with the selector (`backend: wpa_supplicant`, or `auto` without NetworkManager). */
export function registerWpaSupplicant(): void {
  registerBackend('wpa_supplicant', async (config: AgentConfig, runner: CommandRunner) => {
    const udhcpc = await findExecutable('udhcpc');
    const dhcpcd = udhcpc ? undefined : await findExecutable('dhcpcd');
    const busybox = udhcpc || dhcpcd ? undefined : await findExecutable('busybox');
    return new WpaSupplicantRadio({
      runner,
      interface: config.interfaces.wifi,
      ...(config.interfaces.ap === undefined ? {} : { apInterface: config.interfaces.ap }),
      ...(config.interfaces.ethernet === undefined ? {} : { ethernetInterface: config.interfaces.ethernet }),
      ...(config.interfaces.cellular === undefined ? {} : { cellularInterface: config.interfaces.cellular }),
      dhcpClient: dhcpcd ? 'dhcpcd' : 'udhcpc',
      ...(busybox ? { tools: { udhcpc: busybox } } : {}),
    });
  });
}
