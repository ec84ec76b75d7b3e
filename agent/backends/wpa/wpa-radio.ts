/**
 * The radio backend for images without NetworkManager: wpa_supplicant for the station, hostapd and
 * dnsmasq for the setup AP, udhcpc or dhcpcd for the lease. Configs are generated whole into a
 * runtime directory (mode 0600); secrets live only there, never in argv. wpa_supplicant, hostapd,
 * dnsmasq and an attached `wpa_cli` event monitor are child processes owned by this object and
 * stopped by `close()`. Short commands go through the CommandRunner with a timeout each.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { AirliftError, type ConnectFailureReason } from '../../../shared/errors';
import { parseIwBands, parseIwCombinations, parseIwStationCount } from '../../../shared/parsers/iw';
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
  looksLikeHardwareFailure,
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
  /** AP interface; default the station interface (then AP and station take turns unless concurrent). */
  apInterface?: string;
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

export class WpaSupplicantRadio implements RadioPort {
  private readonly runner: CommandRunner;
  private readonly iface: string;
  private readonly apIface: string;
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

  private caps: RadioCapabilities | undefined;
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
    this.apIface = checkInterfaceName(options.apInterface ?? options.interface);
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
    if (this.caps) return this.caps;
    const result = await this.run('iw', ['list']);
    const text = result.code === 0 ? result.stdout : '';
    const bands = parseIwBands(text);
    const security: NetworkSecurity[] = ['open', 'wpa2-psk'];
    if (/\bSAE\b/.test(text)) security.push('wpa3-sae');
    this.caps = {
      concurrentApSta: this.apIface !== this.iface && parseIwCombinations(text).concurrentApSta,
      security,
      bands: bands.length > 0 ? bands : ['2.4GHz'],
      ethernet: false,
      cellular: false,
    };
    return this.caps;
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
    const caps = await this.capabilities();
    if (this.ap && !(options.keepAp && caps.concurrentApSta)) await this.stopAp();
    // Invalid input is a caller's bug, not an ordinary failure: the generator throws it.
    await this.writeSupplicantConf(target);
    const deadline = this.now() + options.timeoutMs;
    let outcome = await this.attemptJoin(target, deadline);
    if (!outcome.ok && outcome.reason === 'hardware' && this.now() < deadline) {
      await this.rfkillUnblock();
      outcome = await this.attemptJoin(target, deadline);
    }
    return outcome;
  }

  private async attemptJoin(target: JoinTarget, deadline: number): Promise<JoinOutcome> {
    const mark = this.events.length;
    try {
      await this.ensureSupplicant();
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
    const caps = await this.capabilities();
    if (this.ap) await this.stopAp();
    if (this.apIface === this.iface || !caps.concurrentApSta) {
      // One radio: the station gives way to the AP.
      await this.leave();
      await this.stopSupplicant();
    }
    await ensureDir(this.dir);
    await writeConfigFile(this.paths.hostapdConf, hostapdConf({ interface: this.apIface, ap: config }));
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
      if (!(err instanceof HardwareFailure)) throw err;
      await this.rfkillUnblock();
      try {
        await this.startHostapd();
      } catch (again) {
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
      throw this.asCommandFailed(err);
    }
    this.ap = config;
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
    await this.stopDaemons();
    if (ap)
      await this.run('ip', ['-4', 'addr', 'del', `${ap.address}/${ap.prefixLength}`, 'dev', this.apIface]);
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
      ethernet: { up: false },
      cellular: { up: false },
      ap: this.ap
        ? { up: true, ssid: this.ap.ssid, address: this.ap.address, clients }
        : { up: false, clients: 0 },
    };
  }

  async close(): Promise<void> {
    await this.stopAp().catch(() => undefined);
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
      dhcpClient: dhcpcd ? 'dhcpcd' : 'udhcpc',
      ...(busybox ? { tools: { udhcpc: busybox } } : {}),
    });
  });
}
