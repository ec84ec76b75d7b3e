/**
 * The network lab's radio backend for one device: agent/ports/radio.ts on real Linux networking,
 * with only the air simulated. It lives in lab/ because the product must never ship it; it runs
 * inside the device's network namespace, in the agent's own process (lab/netns-device.ts).
 *
 * What it asks the airspace controller (lab/air-controller.ts, over its Unix socket): scans,
 * associations (its veth attached to an AP's bridge), leaving, and its setup AP's bridge. What it
 * does itself, for real, in the order the wpa_supplicant backend (agent/backends/wpa/wpa-radio.ts)
 * does it:
 *
 * - join: the AP planner's decision (agent/core/ap-plan.ts) for the setup AP, association, then
 *   BusyBox udhcpc on `wlan0` (lab/dhcp-client.ts: the wpa backend's command and parsers); no lease
 *   is `dhcp_timeout`, and the association is dropped again;
 * - setup AP: the AP's address on its interface (`ip addr`), then the agent's own dnsmasq with the
 *   config the wpa backend generates (`dnsmasqConf` from agent/backends/wpa/config.ts, written
 *   atomically, mode 0600), started and watched as the wpa backend does;
 * - leave / stop: only what it set up is removed.
 *
 * The radio is `wlan0`; with AP+STA the setup AP runs on a second interface, `uap0` (the name the
 * wpa backend creates), so the AP stays up while the station joins. Without it, AP and station
 * take turns on `wlan0`, as on most devices. Scans are answered while the AP is up (the sim radio
 * and most nl80211 drivers with NetworkManager do so); the wpa backend refuses them then.
 *
 * Every multicast packet needs a route out (architecture.md): udhcpc's script flushes wlan0's
 * routes on every run and a static AP address brings none, so a 224.0.0.0/4 route is put on each
 * interface after its address.
 */
import { join } from 'node:path';
import { AirliftError } from '../shared/errors';
import type { ScanResult } from '../shared/protocol/wifi';
import type {
  Lease,
  JoinOptions,
  JoinOutcome,
  JoinTarget,
  RadioCapabilities,
  RadioPort,
  RadioStatus,
  SetupApConfig,
} from '../agent/ports/radio';
import {
  afterJoinFollowsStation,
  channelOfFrequency,
  channelOfTarget,
  planApAfterJoin,
  planApForJoin,
  planApStart,
  type ApFollowUp,
  type ApRadio,
  type JoinApPlan,
} from '../agent/core/ap-plan';
import { dnsmasqConf, writeConfigFile } from '../agent/backends/wpa/config';
import { ensureDir } from '../platform/atomic-file';
import type { CommandRunner } from '../platform/commands';
import { spawnProcess, type ManagedProcess } from '../platform/processes';
import type { AirClient } from './air-client';
import { dropLease, multicastRoute, obtainLease, type DhcpLease } from './dhcp-client';

export interface NetnsRadioOptions {
  air: AirClient;
  runner: CommandRunner;
  /** Where dnsmasq's config, leases and pid file live. */
  runtimeDir: string;
  /** The station interface; default `wlan0`. */
  stationIf?: string;
  /** The AP+STA interface (`uap0`); without it the AP takes turns with the station on `wlan0`. */
  apIf?: string;
  /** Seconds between DHCP discovers (udhcpc `-T`); the join timeout decides how many. */
  dhcpIntervalSeconds?: number;
  /** dnsmasq must still be running this long after it starts (the wpa backend waits 300 ms). */
  dnsmasqSettleMs?: number;
  dnsmasq?: string;
  log?: (message: string) => void;
}

export class NetnsRadio implements RadioPort {
  private readonly air: AirClient;
  private readonly runner: CommandRunner;
  private readonly dir: string;
  private readonly stationIf: string;
  private readonly apIf: string;
  private readonly apSta: boolean;
  private readonly dhcpInterval: number;
  private readonly settleMs: number;
  private readonly dnsmasqPath: string;
  private readonly log: (message: string) => void;
  private ap: SetupApConfig | undefined;
  private apChannel: number | undefined;
  private dnsmasq: ManagedProcess | undefined;
  private lease: DhcpLease | undefined;
  private joined: { ssidHex: string; bssid: string; frequency: number } | undefined;
  private lastScan: ScanResult[] = [];

  constructor(o: NetnsRadioOptions) {
    this.air = o.air;
    this.runner = o.runner;
    this.dir = o.runtimeDir;
    this.stationIf = o.stationIf ?? 'wlan0';
    this.apIf = o.apIf ?? this.stationIf;
    this.apSta = this.apIf !== this.stationIf;
    this.dhcpInterval = o.dhcpIntervalSeconds ?? 1;
    this.settleMs = o.dnsmasqSettleMs ?? 300;
    this.dnsmasqPath = o.dnsmasq ?? 'dnsmasq';
    this.log = o.log ?? (() => undefined);
  }

  private get radio(): ApRadio {
    return { apSta: this.apSta, singleChannel: false };
  }

  capabilities(): Promise<RadioCapabilities> {
    return Promise.resolve({
      concurrentApSta: this.apSta,
      security: ['open', 'wpa2-psk', 'wpa3-sae'],
      bands: ['2.4GHz', '5GHz'],
      ethernet: false,
      cellular: false,
    });
  }

  async scan(): Promise<ScanResult[]> {
    const { results } = await this.air.call({ op: 'scan' });
    this.lastScan = results;
    return results;
  }

  async join(target: JoinTarget, options: JoinOptions): Promise<JoinOutcome> {
    const ap = this.ap;
    const plan = planApForJoin(
      this.radio,
      { up: ap !== undefined, ...(this.apChannel !== undefined ? { channel: this.apChannel } : {}) },
      channelOfTarget(this.lastScan, target.ssidHex),
      options.keepAp,
    );
    await this.clearApFor(plan);
    const started = Date.now();
    const outcome = await this.attemptJoin(target, started + options.timeoutMs);
    const now = {
      up: this.ap !== undefined,
      beaconing: this.ap !== undefined,
      ...(this.apChannel !== undefined ? { channel: this.apChannel } : {}),
      configured: this.ap?.channel ?? ap?.channel ?? 0,
    };
    const station =
      afterJoinFollowsStation(this.radio, plan, outcome.ok, now) && this.joined
        ? channelOfFrequency(this.joined.frequency)
        : undefined;
    await this.carryOut(planApAfterJoin(this.radio, plan, outcome.ok, now, station), ap);
    return outcome;
  }

  private async attemptJoin(target: JoinTarget, deadline: number): Promise<JoinOutcome> {
    await this.dropStation();
    const assoc = await this.air.call({
      op: 'associate',
      ifname: this.stationIf,
      ssidHex: target.ssidHex.toLowerCase(),
      security: target.security,
      hidden: target.hidden,
      ...(target.passphrase !== undefined ? { passphrase: target.passphrase } : {}),
      ...(target.psk !== undefined ? { psk: target.psk } : {}),
    });
    if (!assoc.ok) return { ok: false, reason: assoc.reason, detail: assoc.detail };
    const seconds = Math.max(1, (deadline - Date.now()) / 1000);
    const lease = await obtainLease(this.runner, this.stationIf, {
      tries: Math.max(1, Math.floor(seconds / this.dhcpInterval)),
      intervalSeconds: this.dhcpInterval,
    });
    if (!lease) {
      await this.air.call({ op: 'disassociate', ifname: this.stationIf }).catch(() => undefined);
      await dropLease(this.runner, this.stationIf);
      return { ok: false, reason: 'dhcp_timeout', detail: `no DHCP lease on ${this.stationIf}` };
    }
    await multicastRoute(this.runner, this.stationIf, 100);
    this.lease = lease;
    this.joined = { ssidHex: target.ssidHex.toLowerCase(), bssid: assoc.bssid, frequency: assoc.frequency };
    return { ok: true, lease: plainLease(lease), bssid: assoc.bssid, signal: assoc.signal };
  }

  private async clearApFor(plan: JoinApPlan): Promise<void> {
    switch (plan.kind) {
      case 'keep':
        return;
      case 'down':
        return this.stopAp();
      case 'turns':
        this.log(`the setup AP is down for this join: ${plan.reason}`);
        return this.stopAp();
      case 'pause':
        // One channel is never forced here (singleChannel is false); kept for completeness.
        this.log(`the setup AP pauses for this join: ${plan.reason}`);
        await this.air.call({ op: 'stopAp' });
        return;
    }
  }

  private async carryOut(follow: ApFollowUp, ap: SetupApConfig | undefined): Promise<void> {
    switch (follow.kind) {
      case 'none':
        return;
      case 'restart':
        if (this.ap) await this.announceAp(this.ap, follow.channel);
        return;
      case 'stop':
        return this.stopAp();
      case 'start':
        if (ap) await this.startAp(ap);
        return;
    }
  }

  /** Drop the station's association and what its lease put on the interface. */
  private async dropStation(): Promise<void> {
    const had = this.joined !== undefined || this.lease !== undefined;
    this.joined = undefined;
    this.lease = undefined;
    if (!had) return;
    await this.air.call({ op: 'disassociate', ifname: this.stationIf }).catch(() => undefined);
    // Without AP+STA the AP may hold wlan0's address now: only the lease's own is removed.
    await dropLease(this.runner, this.stationIf);
  }

  async leave(): Promise<void> {
    await this.dropStation();
  }

  async startAp(config: SetupApConfig): Promise<void> {
    if (this.ap) await this.stopAp();
    const plan = planApStart(this.radio, config.channel, undefined);
    if (plan.station !== 'stays') await this.dropStation();
    await this.announceAp(config, plan.channel);
    try {
      const cidr = `${config.address}/${config.prefixLength}`;
      await this.runner.run('ip', ['-4', 'addr', 'flush', 'dev', this.apIf]);
      const added = await this.runner.run('ip', ['-4', 'addr', 'add', cidr, 'dev', this.apIf]);
      if (added.code !== 0) throw new Error(`ip addr add ${cidr}: ${added.stderr.trim()}`);
      await multicastRoute(this.runner, this.apIf, 200);
      await ensureDir(this.dir);
      const confPath = join(this.dir, 'dnsmasq.conf');
      const conf = dnsmasqConf({
        interface: this.apIf,
        ap: config,
        leaseFile: join(this.dir, 'dnsmasq.leases'),
        pidFile: join(this.dir, 'dnsmasq.pid'),
      });
      await writeConfigFile(confPath, conf);
      this.dnsmasq = await this.startDnsmasq(confPath);
    } catch (err) {
      await this.air.call({ op: 'stopAp' }).catch(() => undefined);
      await this.runner.run('ip', ['-4', 'addr', 'flush', 'dev', this.apIf]);
      throw new AirliftError('COMMAND_FAILED', `The setup AP did not start: ${(err as Error).message}`);
    }
    this.ap = config;
  }

  private async announceAp(config: SetupApConfig, channel: number): Promise<void> {
    await this.air.call({
      op: 'startAp',
      ifname: this.apIf,
      ssid: config.ssid,
      channel,
      address: config.address,
      prefixLength: config.prefixLength,
      dhcpRange: config.dhcpRange,
      ...(config.passphrase !== undefined ? { passphrase: config.passphrase } : {}),
    });
    this.apChannel = channel;
  }

  /** As the wpa backend: dnsmasq in the foreground, alive after a short settle, else its last lines. */
  private async startDnsmasq(confPath: string): Promise<ManagedProcess> {
    const lines: string[] = [];
    const child = spawnProcess(this.dnsmasqPath, ['--keep-in-foreground', `--conf-file=${confPath}`], {
      stopGraceMs: 2000,
    });
    child.onLine((line) => lines.push(line));
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      child.exited.then(() => 'exited' as const),
      new Promise<'running'>((resolve) => (timer = setTimeout(() => resolve('running'), this.settleMs))),
    ]);
    clearTimeout(timer);
    if (outcome === 'exited')
      throw new Error(`dnsmasq exited: ${lines.slice(-3).join(' | ') || 'no output'}`);
    return child;
  }

  async stopAp(): Promise<void> {
    const ap = this.ap;
    this.ap = undefined;
    this.apChannel = undefined;
    const dnsmasq = this.dnsmasq;
    this.dnsmasq = undefined;
    await dnsmasq?.stop();
    await this.air.call({ op: 'stopAp' }).catch(() => undefined);
    if (ap) {
      await this.runner.run('ip', [
        '-4',
        'addr',
        'del',
        `${ap.address}/${ap.prefixLength}`,
        'dev',
        this.apIf,
      ]);
    }
  }

  async status(): Promise<RadioStatus> {
    const air = await this.air.call({ op: 'status' });
    const m = air.membership;
    // The air may have dropped us (AP gone, out of range, its key changed): the link is down then.
    if (this.joined && (!m || m.bssid !== this.joined.bssid)) {
      this.log(`lost the association with ${this.joined.bssid}`);
      await dropLease(this.runner, this.stationIf);
      this.joined = undefined;
      this.lease = undefined;
    }
    const lease = this.lease;
    const joined = this.joined;
    return {
      wifi:
        joined && lease
          ? {
              up: true,
              ssidHex: joined.ssidHex,
              bssid: joined.bssid,
              ...(m?.signal !== undefined ? { signal: m.signal } : {}),
              lease: plainLease(lease),
            }
          : { up: false },
      ethernet: { up: false },
      cellular: { up: false },
      ap: this.ap
        ? { up: true, ssid: this.ap.ssid, address: this.ap.address, clients: air.ap?.clients ?? 0 }
        : { up: false, clients: 0 },
    };
  }

  async close(): Promise<void> {
    await this.stopAp().catch(() => undefined);
    await this.dropStation().catch(() => undefined);
    this.air.close();
  }
}

function plainLease(l: DhcpLease): Lease {
  return { ip: l.ip, subnetmask: l.subnetmask, defaultgw: l.defaultgw, nameservers: [...l.nameservers] };
}
