/**
 * The station's Wi-Fi adapter in the network lab (main/ports/wifi-adapter.ts): one interface of the
 * station's namespace (`wlan0`, `wlan1`, ...), the far end of a veth in the air. A join asks the
 * airspace controller to associate it (lab/air-controller.ts) — retrying while the SSID is not
 * heard, as an OS keeps scanning until its timeout — then runs BusyBox udhcpc on it for a real
 * lease and checks that the address it was told to expect answers (a TCP connect). Like an OS, it
 * keeps the profiles of networks it joined (secret included, in a 0600 file of the station's state
 * directory, so a station restarted after a crash can still restore the technician's network).
 *
 * No Enterprise (802.1X): the air protocol (lab/air-protocol.ts) carries a passphrase or a PSK only,
 * the network lab builds WPA2-PSK and open access points only (lab/netns-fleet.ts), and its devices
 * offer no Enterprise security (lab/netns-radio.ts). So the adapter says it cannot join one (a job
 * then verifies from the network the lane had, decision 0012) and refuses an Enterprise join with
 * `UNSUPPORTED_SECURITY` rather than associate without 802.1X. Enterprise joins are tested on the
 * in-process lab (lab/sim-wifi-adapter.ts, whose airspace has a RADIUS server).
 */
import { connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { appendFile, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AirliftError } from '../shared/errors';
import { isEnterprise, type ScanResult } from '../shared/protocol/wifi';
import { ssidDisplay } from '../shared/ssid';
import type {
  AdapterInfo,
  CurrentConnection,
  JoinRequest,
  JoinResult,
  WifiAdapter,
  WifiAdapterProvider,
} from '../main/ports/wifi-adapter';
import type { CommandRunner } from '../platform/commands';
import { ensureDir, writeFileAtomic } from '../platform/atomic-file';
import { parseIpAddr } from '../agent/backends/wpa/parse';
import { AirClient } from './air-client';
import { dropLease, multicastRoute, obtainLease } from './dhcp-client';

export const STATION_OBSERVER_PREFIX = 'station-';

type Profile = Pick<JoinRequest, 'security' | 'passphrase' | 'psk' | 'hidden'>;

export interface NetnsAdapterOptions {
  airSocket: string;
  ifname: string;
  /** Orders the adapters' multicast routes (metric 100 + index). */
  index: number;
  runner: CommandRunner;
  /** Saved profiles (ssidHex → secret), shared by the adapters of one station. */
  profiles: ProfileStore;
  dhcpIntervalSeconds?: number;
  /** Pause between association attempts while the SSID is not heard. */
  retryMs?: number;
  /**
   * Where to append one JSON line per successful join with its parts in milliseconds (association,
   * DHCP lease, reachability check): the benchmarks' breakdown of a lane's join.
   */
  joinLog?: string;
}

/** The OS's saved networks, on disk (mode 0600) so they outlive the station's process. */
export class ProfileStore {
  constructor(private readonly path: string) {}

  async all(): Promise<Record<string, Profile>> {
    const text = await readFile(this.path, 'utf8').catch(() => '{}');
    try {
      return JSON.parse(text) as Record<string, Profile>;
    } catch {
      return {};
    }
  }

  async get(ssidHex: string): Promise<Profile | undefined> {
    return (await this.all())[ssidHex];
  }

  async save(ssidHex: string, profile: Profile): Promise<void> {
    const all = await this.all();
    all[ssidHex] = profile;
    await ensureDir(dirname(this.path));
    await writeFileAtomic(this.path, JSON.stringify(all), { mode: 0o600 });
  }
}

/** Why the network lab's adapter does not join 802.1X networks (the pre-flight shows it). */
export const NETNS_NO_ENTERPRISE =
  "The network lab's airspace has no 802.1X: its air protocol carries a passphrase or a PSK only. The lane verifies devices from the network it had before the job.";

export class NetnsWifiAdapter implements WifiAdapter {
  readonly info: AdapterInfo;
  readonly enterprise = { join: false, why: NETNS_NO_ENTERPRISE } as const;
  private client: Promise<AirClient> | undefined;

  constructor(private readonly o: NetnsAdapterOptions) {
    this.info = { id: o.ifname, name: o.ifname };
  }

  get observer(): string {
    return `${STATION_OBSERVER_PREFIX}${this.o.ifname}`;
  }

  private air(): Promise<AirClient> {
    this.client ??= AirClient.connect(this.o.airSocket, this.observer).catch((err: unknown) => {
      this.client = undefined;
      throw err;
    });
    return this.client;
  }

  close(): void {
    void this.client?.then((c) => c.close()).catch(() => undefined);
    this.client = undefined;
  }

  async scan(): Promise<ScanResult[]> {
    return (await (await this.air()).call({ op: 'scan' })).results;
  }

  async current(): Promise<CurrentConnection | undefined> {
    const m = (await (await this.air()).call({ op: 'status' })).membership;
    if (!m) return undefined;
    const ip = parseIpAddr(
      (await this.o.runner.run('ip', ['-o', '-4', 'addr', 'show', 'dev', this.o.ifname])).stdout,
    )?.ip;
    return {
      ssidHex: m.ssidHex,
      ssid: ssidDisplay(m.ssidHex),
      bssid: m.bssid,
      ...(ip !== undefined ? { ip } : {}),
      profile: m.ssidHex,
    };
  }

  async join(req: JoinRequest): Promise<JoinResult> {
    if (req.eap !== undefined || isEnterprise(req.security))
      throw new AirliftError('UNSUPPORTED_SECURITY', `${this.o.ifname}: ${NETNS_NO_ENTERPRISE}`);
    const start = performance.now();
    const deadline = Date.now() + req.timeoutMs;
    const failed = (reason: Extract<JoinResult, { ok: false }>['reason'], detail?: string): JoinResult => ({
      ok: false,
      reason,
      ...(detail !== undefined ? { detail } : {}),
      durationMs: performance.now() - start,
    });
    const air = await this.air();
    await this.dropLink(air);
    const request = {
      op: 'associate' as const,
      ifname: this.o.ifname,
      ssidHex: req.ssidHex.toLowerCase(),
      security: req.security,
      hidden: req.hidden === true,
      ...(req.passphrase !== undefined ? { passphrase: req.passphrase } : {}),
      ...(req.psk !== undefined ? { psk: req.psk } : {}),
    };
    let assoc = await air.call(request);
    while (!assoc.ok && assoc.reason === 'ssid_not_found' && Date.now() + this.retryMs < deadline) {
      await new Promise((r) => setTimeout(r, this.retryMs));
      assoc = await air.call(request);
    }
    if (!assoc.ok) {
      if (assoc.reason === 'auth_failed' || assoc.reason === 'ssid_not_found')
        return failed(assoc.reason, assoc.detail);
      return failed('hardware', `${assoc.reason}: ${assoc.detail}`);
    }
    const associated = performance.now();
    const interval = this.o.dhcpIntervalSeconds ?? 1;
    const seconds = Math.max(1, (deadline - Date.now()) / 1000);
    const lease = await obtainLease(this.o.runner, this.o.ifname, {
      tries: Math.max(1, Math.floor(seconds / interval)),
      intervalSeconds: interval,
    });
    if (!lease) {
      await this.dropLink(air);
      return failed('dhcp_timeout', `no DHCP lease on ${this.o.ifname}`);
    }
    const leased = performance.now();
    await multicastRoute(this.o.runner, this.o.ifname, 100 + this.o.index);
    await this.o.profiles.save(request.ssidHex, {
      security: req.security,
      ...(req.passphrase !== undefined ? { passphrase: req.passphrase } : {}),
      ...(req.psk !== undefined ? { psk: req.psk } : {}),
      ...(req.hidden !== undefined ? { hidden: req.hidden } : {}),
    });
    if (req.expectReachable) {
      const { host, port } = req.expectReachable;
      let up = await tcpAnswers(host, port, Math.min(1000, Math.max(100, deadline - Date.now())));
      while (!up && Date.now() + 100 < deadline) {
        await new Promise((r) => setTimeout(r, 100));
        up = await tcpAnswers(host, port, Math.min(1000, Math.max(100, deadline - Date.now())));
      }
      if (!up) return failed('unreachable', `${host}:${port} does not answer`);
    }
    if (this.o.joinLog !== undefined) {
      const ms = (a: number, b: number) => Math.round(b - a);
      const line = {
        ifname: this.o.ifname,
        ssidHex: request.ssidHex,
        associateMs: ms(start, associated),
        leaseMs: ms(associated, leased),
        reachableMs: ms(leased, performance.now()),
      };
      await appendFile(this.o.joinLog, `${JSON.stringify(line)}\n`).catch(() => undefined);
    }
    return {
      ok: true,
      ip: lease.ip,
      durationMs: performance.now() - start,
      bssid: assoc.bssid,
      signal: assoc.signal,
    };
  }

  private get retryMs(): number {
    return this.o.retryMs ?? 250;
  }

  private async dropLink(air: AirClient): Promise<void> {
    await air.call({ op: 'disassociate', ifname: this.o.ifname });
    await dropLease(this.o.runner, this.o.ifname);
  }

  async leave(): Promise<void> {
    await this.dropLink(await this.air());
  }

  async restore(previous: CurrentConnection | undefined): Promise<void> {
    if (!previous) {
      await this.leave();
      return;
    }
    const profile = await this.o.profiles.get(previous.ssidHex);
    if (!profile) return;
    await this.join({ ssidHex: previous.ssidHex, ...profile, timeoutMs: 30_000 });
  }
}

/** Something accepts a connection there (a refusal means the device's listener is not up yet). */
function tcpAnswers(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export class NetnsAdapterProvider implements WifiAdapterProvider {
  readonly adapters: NetnsWifiAdapter[];

  constructor(o: Omit<NetnsAdapterOptions, 'ifname' | 'index'> & { ifnames: string[] }) {
    const { ifnames, ...rest } = o;
    this.adapters = ifnames.map((ifname, index) => new NetnsWifiAdapter({ ...rest, ifname, index }));
  }

  list(): Promise<WifiAdapter[]> {
    return Promise.resolve([...this.adapters]);
  }

  close(): void {
    for (const a of this.adapters) a.close();
  }
}
