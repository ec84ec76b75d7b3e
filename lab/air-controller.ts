/**
 * The network lab's airspace controller: the only simulated layer. It runs in the lab's own
 * process (the root namespace) and owns the "air" namespace, where every access point is a Linux
 * bridge and every radio is the far end of a veth pair whose near end (`wlan0`, `uap0`) lives in a
 * device's or the station's namespace.
 *
 * - Joining attaches the radio's veth to the AP's bridge — only when the SSID is heard and the
 *   credentials pass the same check the in-process lab uses (lab/airspace.ts `checkCredentials`,
 *   WPA2 keys compared as PSKs); otherwise the answer is the failure the real world gives
 *   (`auth_failed`, `ssid_not_found`, `assoc_rejected`). Leaving detaches it and takes its carrier
 *   down, as a disassociated station has no link.
 * - An AP is a bridge of its own with its owner's veth on it; which APs exist, who hears them how
 *   loudly, and who is associated where is the lab's Airspace, so scans, signals and "out of range"
 *   mean what they mean in the in-process lab.
 * - Everything above the link is real and is not done here: the device's dnsmasq on its setup AP,
 *   udhcpc on both sides, ARP, multicast mDNS, TCP/HTTP between namespaces.
 *
 * Faults: an observer out of range of an SSID, association rejected, the AP's carrier flapping,
 * client isolation on a bridge (`bridge link set … isolated on` on every client port; the uplink
 * stays open, so the router can still hairpin unicast — see lab/netns-fleet.ts), a device powered
 * off (its association and AP gone at once, as a reboot takes them), and a hook on every
 * association (the lab kills a device mid-apply there).
 *
 * Protocol: lab/air-protocol.ts. Bridges are created once per AP owner and interface and kept
 * when the AP stops (detached and empty), so a capture running on one survives the AP restarting.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { AirliftError } from '../shared/errors';
import { ssidDisplay } from '../shared/ssid';
import { toHex, utf8Encode } from '../shared/encoding';
import { securityCompatible, type ScanResult } from '../shared/protocol/wifi';
import type { CommandRunner } from '../platform/commands';
import { NEWLINE, readFrames } from '../platform/framing';
import { closeUnixServer, listenUnix } from '../platform/unix-socket';
import {
  Airspace,
  channelToFrequency,
  checkCredentials,
  type AccessPoint,
  type AccessPointInit,
} from './airspace';
import {
  AIR_MAX_LINE_BYTES,
  airRequestSchema,
  type AirRequest,
  type AirStatus,
  type AssociateResult,
} from './air-protocol';

/** Radio timings in milliseconds, before `timeScale`. */
export interface AirLatency {
  /** A device's scan. */
  deviceScanMs: number;
  /** A device's association (the 4-way handshake included). */
  deviceAssociateMs: number;
  apStartMs: number;
  apStopMs: number;
  /** The station adapter's scan. */
  stationScanMs: number;
  /** The station adapter's association: the "join latency" the benchmarks fix. */
  stationAssociateMs: number;
}

export const DEFAULT_AIR_LATENCY: Readonly<AirLatency> = {
  deviceScanMs: 1500,
  deviceAssociateMs: 800,
  apStartMs: 600,
  apStopMs: 200,
  stationScanMs: 1500,
  stationAssociateMs: 2000,
};

export interface AirControllerOptions {
  /** The namespace holding the bridges and the radios' far ends. */
  airNs: string;
  runner: CommandRunner;
  socketPath: string;
  latency?: Partial<AirLatency>;
  /** Multiplies every latency (0: none). */
  timeScale?: number;
  /** Where a failing `ip`/`bridge` command is told (never thrown into a radio's answer). */
  onWarning?: (message: string) => void;
}

/** What the controller tells the lab (tests count and time with these). */
export type AirEvent =
  | { type: 'associate'; observer: string; ssidHex: string; result: AssociateResult; at: number }
  | { type: 'disassociate'; observer: string; at: number }
  | { type: 'ap-up'; observer: string; bssid: string; bridge: string; at: number }
  | { type: 'ap-down'; observer: string; bssid: string; at: number };

interface Radio {
  /** ifname in the radio's namespace → the veth's far end in the air namespace. */
  ports: Map<string, string>;
}

interface OwnedAp {
  bssid: string;
  bridge: string;
  ifname: string;
  port: string;
  ssid: string;
}

interface Infrastructure {
  bridge: string;
  /** Ports that stay open under client isolation (the router's uplink). */
  uplinks: Set<string>;
}

const STATION_PREFIX = 'station-';

export class AirController {
  readonly airspace = new Airspace({
    onListenerError: (err) => this.warn(`airspace listener: ${String(err)}`),
  });
  private readonly airNs: string;
  private readonly runner: CommandRunner;
  private readonly socketPath: string;
  private readonly latency: AirLatency;
  private readonly timeScale: number;
  private readonly warn: (message: string) => void;
  private server: Server | undefined;
  private readonly connections = new Set<Socket>();
  private readonly radios = new Map<string, Radio>();
  /** bssid → the bridge that carries it. */
  private readonly bridges = new Map<string, string>();
  /** `${observer}/${ifname}` → a bridge kept for that owner's AP across restarts. */
  private readonly apBridges = new Map<string, string>();
  private readonly aps = new Map<string, OwnedAp>();
  private readonly infrastructure = new Map<string, Infrastructure>();
  /** observer → the interface of its association. */
  private readonly memberIf = new Map<string, string>();
  /** Bridges whose client ports are isolated from each other. */
  private readonly isolated = new Set<string>();
  private readonly rejected = new Set<string>();
  private readonly flaps = new Map<string, { stop: () => void }>();
  /** Commands on one port run in order (an attach never overtakes the detach before it). */
  private readonly portChains = new Map<string, Promise<unknown>>();
  private bridgeCounter = 0;
  private readonly listeners = new Set<(e: AirEvent) => void>();
  /**
   * Awaited before every association is decided (the lab's mid-apply faults); `false` means the
   * radio lost power meanwhile, and the association never happens.
   */
  onAssociate: ((observer: string, ssidHex: string) => Promise<boolean | undefined>) | undefined;

  constructor(options: AirControllerOptions) {
    this.airNs = options.airNs;
    this.runner = options.runner;
    this.socketPath = options.socketPath;
    this.latency = { ...DEFAULT_AIR_LATENCY, ...options.latency };
    this.timeScale = options.timeScale ?? 1;
    this.warn = options.onWarning ?? ((m) => process.stderr.write(`air: ${m}\n`));
    // Whoever leaves an AP — on request, out of range, the AP gone — loses the link.
    this.airspace.on('left', ({ observerId }) => {
      const ifname = this.memberIf.get(observerId);
      this.memberIf.delete(observerId);
      const port = ifname === undefined ? undefined : this.radios.get(observerId)?.ports.get(ifname);
      if (port !== undefined) void this.detach(port);
    });
  }

  // ---- lab side -----------------------------------------------------------------------------------

  async listen(): Promise<void> {
    const server = createServer((socket) => this.serve(socket));
    await listenUnix(server, this.socketPath, { mode: 0o600 });
    this.server = server;
  }

  async close(): Promise<void> {
    for (const f of this.flaps.values()) f.stop();
    this.flaps.clear();
    if (this.server) await closeUnixServer(this.server, this.socketPath, this.connections);
    this.server = undefined;
    await Promise.allSettled([...this.portChains.values()]);
  }

  subscribe(listener: (e: AirEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A radio the lab created: its interfaces and the far ends of their veths. */
  registerRadio(observer: string, ports: Record<string, string>): void {
    this.radios.set(observer, { ports: new Map(Object.entries(ports)) });
  }

  /**
   * An access point of the site (the target LAN, the technician's network): its bridge exists
   * already with the router's uplink on it.
   */
  addInfrastructureAp(init: AccessPointInit, bridge: string, uplink: string): AccessPoint {
    const ap = this.airspace.addAp(init);
    this.bridges.set(ap.bssid, bridge);
    this.infrastructure.set(ap.bssid, { bridge, uplinks: new Set([uplink]) });
    return ap;
  }

  apOf(ssidHex: string): AccessPoint | undefined {
    return this.airspace.listAps().find((a) => a.ssidHex === ssidHex);
  }

  bridgeOf(bssid: string): string | undefined {
    return this.bridges.get(bssid);
  }

  /** The bridge of an observer's setup AP (kept across restarts), if it ever started one. */
  setupBridgeOf(observer: string): string | undefined {
    for (const [key, bridge] of this.apBridges) if (key.startsWith(`${observer}/`)) return bridge;
    return undefined;
  }

  /** Whether the observer's setup AP is on the air. */
  apUp(observer: string): boolean {
    return this.aps.has(observer);
  }

  /** Every bridge a setup AP ever used. */
  setupBridges(): string[] {
    return [...this.apBridges.values()];
  }

  /** `undefined`: the observer does not hear any AP with this SSID (out of range). */
  setSignal(observer: string, ssidHex: string, dBm: number | undefined): void {
    for (const ap of this.airspace.listAps().filter((a) => a.ssidHex === ssidHex))
      this.airspace.setSignal(observer, ap.bssid, dBm);
  }

  /** The AP answers this observer's association requests with a refusal. */
  rejectAssociation(observer: string, ssidHex: string, on = true): void {
    const key = `${observer}/${ssidHex}`;
    if (on) this.rejected.add(key);
    else this.rejected.delete(key);
  }

  /**
   * Client isolation on an AP: clients reach the uplink (the router), not each other — neither
   * unicast nor multicast. Applied to the ports on it now and to every one that joins later.
   */
  async setIsolation(bssid: string, on: boolean): Promise<void> {
    const bridge = this.bridges.get(bssid);
    if (bridge === undefined) throw new AirliftError('NOT_FOUND', `No AP ${bssid}`);
    if (on) this.isolated.add(bridge);
    else this.isolated.delete(bridge);
    const uplinks = this.infrastructure.get(bssid)?.uplinks ?? new Set<string>();
    await Promise.all(
      this.clientPorts(bssid)
        .filter((p) => !uplinks.has(p))
        .map((port) =>
          this.onPort(port, () =>
            this.bridgeCmd(['link', 'set', 'dev', port, 'isolated', on ? 'on' : 'off']),
          ),
        ),
    );
  }

  /**
   * The owner's setup AP loses its carrier for `downMs`, every `downMs + upMs`, `cycles` times:
   * every port on its bridge (the AP's own and its clients') goes down and comes back, as a radio
   * that keeps dropping off the air. Clients stay associated; what was in flight is retransmitted.
   */
  flap(observer: string, o: { downMs: number; upMs: number; cycles: number }): Promise<void> {
    const ap = this.aps.get(observer);
    if (!ap) return Promise.reject(new AirliftError('NOT_FOUND', `${observer} has no AP up`));
    this.flaps.get(observer)?.stop();
    const run = { stopped: false };
    const done = (async () => {
      for (let i = 0; i < o.cycles && !run.stopped; i++) {
        const current = this.aps.get(observer);
        if (!current) break;
        const ports = [current.port, ...this.clientPorts(current.bssid)];
        await Promise.all(ports.map((p) => this.onPort(p, () => this.ipLink(['set', 'dev', p, 'down']))));
        await this.sleep(o.downMs, false);
        const still = new Set([
          ...(this.aps.get(observer) ? [current.port] : []),
          ...this.clientPorts(current.bssid),
        ]);
        await Promise.all([...still].map((p) => this.onPort(p, () => this.ipLink(['set', 'dev', p, 'up']))));
        await this.sleep(o.upMs, false);
      }
    })();
    this.flaps.set(observer, { stop: () => (run.stopped = true) });
    return done.finally(() => this.flaps.delete(observer));
  }

  /** Associate a radio on the lab's behalf (the technician's laptop on its own network before a job). */
  associateNow(
    observer: string,
    r: Omit<Extract<AirRequest, { op: 'associate' }>, 'id' | 'op'>,
  ): Promise<AssociateResult> {
    return this.associate(observer, { id: 0, op: 'associate', ...r }, true);
  }

  /** The radio loses power: its association and its AP end at once (a reboot, a crash). */
  async powerOff(observer: string): Promise<void> {
    this.airspace.leave(observer);
    await this.removeAp(observer);
    const radio = this.radios.get(observer);
    await Promise.all([...(radio?.ports.values() ?? [])].map((p) => this.detach(p)));
  }

  // ---- the protocol -------------------------------------------------------------------------------

  private serve(socket: Socket): void {
    this.connections.add(socket);
    let observer: string | undefined;
    const send = (answer: object) => {
      if (!socket.destroyed) socket.write(`${JSON.stringify(answer)}\n`);
    };
    socket.on('error', () => undefined);
    socket.on('close', () => this.connections.delete(socket));
    readFrames(socket, {
      delimiter: NEWLINE,
      maxFrameBytes: AIR_MAX_LINE_BYTES,
      onItem: (item) => {
        if (item.kind === 'oversize') {
          socket.destroy();
          return;
        }
        let request: AirRequest;
        let id = -1;
        try {
          const json = JSON.parse(item.bytes.toString('utf8')) as { id?: unknown };
          if (typeof json.id === 'number') id = json.id;
          request = airRequestSchema.parse(json);
        } catch {
          send({ id, error: { code: 'BAD_REQUEST', message: 'malformed request' } });
          return;
        }
        if (request.op === 'hello') {
          if (!this.radios.has(request.observer)) {
            send({ id, error: { code: 'NOT_FOUND', message: `no radio ${request.observer} in this lab` } });
            return;
          }
          observer = request.observer;
          send({ id, result: { observer } });
          return;
        }
        if (observer === undefined) {
          send({ id, error: { code: 'BAD_REQUEST', message: 'say hello first' } });
          return;
        }
        const who = observer;
        this.handle(who, request).then(
          (result) => send({ id, result }),
          (err: unknown) =>
            send({
              id,
              error: {
                code: err instanceof AirliftError ? err.code : 'INTERNAL',
                message: err instanceof Error ? err.message : String(err),
              },
            }),
        );
      },
    });
  }

  private async handle(observer: string, r: Exclude<AirRequest, { op: 'hello' }>): Promise<unknown> {
    const station = observer.startsWith(STATION_PREFIX);
    switch (r.op) {
      case 'scan':
        await this.sleep(station ? this.latency.stationScanMs : this.latency.deviceScanMs);
        return { results: this.scanFor(observer) };
      case 'associate': {
        const result = await this.associate(observer, r, station);
        this.emit({ type: 'associate', observer, ssidHex: r.ssidHex, result, at: Date.now() });
        return result;
      }
      case 'disassociate':
        if (this.memberIf.get(observer) === r.ifname) this.airspace.leave(observer);
        else await this.detach(this.portOf(observer, r.ifname));
        this.emit({ type: 'disassociate', observer, at: Date.now() });
        return {};
      case 'startAp':
        return this.startAp(observer, r);
      case 'stopAp':
        await this.sleep(this.latency.apStopMs);
        await this.removeAp(observer);
        return {};
      case 'status':
        return this.status(observer);
    }
  }

  private scanFor(observer: string): ScanResult[] {
    return this.airspace.scanResultsFor(observer);
  }

  private async associate(
    observer: string,
    r: Extract<AirRequest, { op: 'associate' }>,
    station: boolean,
  ): Promise<AssociateResult> {
    const port = this.portOf(observer, r.ifname);
    const own = this.aps.get(observer);
    if (own && own.ifname === r.ifname) {
      return {
        ok: false,
        reason: 'hardware',
        detail: `${r.ifname} is running the setup AP; this radio cannot be an AP and a station at once`,
      };
    }
    // Associating with something new: the radio gives up its current association first.
    if (this.memberIf.has(observer)) this.airspace.leave(observer, 'left');
    await this.sleep(station ? this.latency.stationAssociateMs : this.latency.deviceAssociateMs);
    if ((await this.onAssociate?.(observer, r.ssidHex)) === false)
      return { ok: false, reason: 'hardware', detail: 'the radio lost power' };
    const ssidHex = r.ssidHex.toLowerCase();
    const heard = this.airspace
      .scanFor(observer)
      .filter((h) => h.ap.ssidHex === ssidHex && (!h.ap.hidden || r.hidden));
    const pick = heard.find((h) => securityCompatible(h.ap.security, r.security)) ?? heard[0];
    if (!pick) {
      return {
        ok: false,
        reason: 'ssid_not_found',
        detail: `no AP named ${ssidDisplay(ssidHex)} is in range`,
      };
    }
    if (this.rejected.has(`${observer}/${ssidHex}`)) {
      return { ok: false, reason: 'assoc_rejected', detail: `${pick.ap.bssid} rejected the association` };
    }
    const check = checkCredentials(pick.ap, {
      security: r.security,
      ...(r.passphrase !== undefined ? { passphrase: r.passphrase } : {}),
      ...(r.psk !== undefined ? { psk: r.psk } : {}),
    });
    if (check === 'assoc_rejected')
      return {
        ok: false,
        reason: 'assoc_rejected',
        detail: `the AP uses ${pick.ap.security}; the network is configured as ${r.security}`,
      };
    if (check === 'auth_failed')
      return { ok: false, reason: 'auth_failed', detail: '4-way handshake failed (wrong passphrase or key)' };
    const bridge = this.bridges.get(pick.ap.bssid);
    if (bridge === undefined) return { ok: false, reason: 'ssid_not_found', detail: 'the AP is gone' };
    try {
      // The airspace keeps membership only: the address comes from the AP's real DHCP server.
      this.airspace.join(observer, pick.ap.bssid);
    } catch (err) {
      return { ok: false, reason: 'ssid_not_found', detail: (err as Error).message };
    }
    this.memberIf.set(observer, r.ifname);
    await this.attach(port, bridge, !this.infrastructure.get(pick.ap.bssid)?.uplinks.has(port));
    return { ok: true, bssid: pick.ap.bssid, signal: pick.signal, frequency: pick.ap.frequency };
  }

  private async startAp(
    observer: string,
    r: Extract<AirRequest, { op: 'startAp' }>,
  ): Promise<{ bssid: string }> {
    const port = this.portOf(observer, r.ifname);
    await this.removeAp(observer);
    if (this.memberIf.get(observer) === r.ifname) this.airspace.leave(observer);
    await this.sleep(this.latency.apStartMs);
    const key = `${observer}/${r.ifname}`;
    let bridge = this.apBridges.get(key);
    if (bridge === undefined) {
      bridge = `b${++this.bridgeCounter}`;
      await this.mustIp(['link', 'add', 'name', bridge, 'type', 'bridge', 'mcast_snooping', '0']);
      await this.mustIp(['link', 'set', 'dev', bridge, 'up']);
      this.apBridges.set(key, bridge);
    }
    const ap = this.airspace.addAp({
      ssidHex: toHex(utf8Encode(r.ssid)),
      bssid: this.airspace.allocateBssid(observer),
      security: r.passphrase === undefined ? 'open' : 'wpa2-psk',
      ...(r.passphrase === undefined ? {} : { passphrase: r.passphrase }),
      frequency: channelToFrequency(r.channel),
      // The technician stands next to the devices.
      signal: -42,
      subnet: `${r.address}/${r.prefixLength}`,
      gateway: r.address,
      dhcpRange: r.dhcpRange,
      owner: observer,
    });
    this.bridges.set(ap.bssid, bridge);
    this.aps.set(observer, { bssid: ap.bssid, bridge, ifname: r.ifname, port, ssid: r.ssid });
    await this.attach(port, bridge, false);
    this.emit({ type: 'ap-up', observer, bssid: ap.bssid, bridge, at: Date.now() });
    return { bssid: ap.bssid };
  }

  private async removeAp(observer: string): Promise<void> {
    const ap = this.aps.get(observer);
    if (!ap) return;
    this.aps.delete(observer);
    this.flaps.get(observer)?.stop();
    // Its clients lose the link (the airspace's `left` events detach them).
    this.airspace.removeAp(ap.bssid);
    this.bridges.delete(ap.bssid);
    await this.detach(ap.port);
    this.emit({ type: 'ap-down', observer, bssid: ap.bssid, at: Date.now() });
  }

  private status(observer: string): AirStatus {
    const m = this.airspace.membershipOf(observer);
    const ap = m ? this.airspace.getAp(m.bssid) : undefined;
    const own = this.aps.get(observer);
    const signal = m ? this.airspace.signalFor(observer, m.bssid) : undefined;
    return {
      ...(m && ap
        ? {
            membership: {
              bssid: m.bssid,
              ssidHex: ap.ssidHex,
              ifname: this.memberIf.get(observer) ?? '',
              ...(signal === undefined ? {} : { signal }),
            },
          }
        : {}),
      ...(own
        ? { ap: { bssid: own.bssid, ssid: own.ssid, clients: this.airspace.clientsOf(own.bssid).length } }
        : {}),
    };
  }

  // ---- links ----------------------------------------------------------------------------------------

  private portOf(observer: string, ifname: string): string {
    const port = this.radios.get(observer)?.ports.get(ifname);
    if (port === undefined)
      throw new AirliftError('NOT_FOUND', `${observer} has no radio interface ${ifname}`);
    return port;
  }

  /** Ports of the clients associated with `bssid`. */
  private clientPorts(bssid: string): string[] {
    const ports: string[] = [];
    for (const observer of this.airspace.clientsOf(bssid)) {
      const ifname = this.memberIf.get(observer);
      const port = ifname === undefined ? undefined : this.radios.get(observer)?.ports.get(ifname);
      if (port !== undefined) ports.push(port);
    }
    return ports;
  }

  private attach(port: string, bridge: string, client: boolean): Promise<void> {
    return this.onPort(port, async () => {
      await this.mustIp(['link', 'set', 'dev', port, 'master', bridge, 'up']);
      if (client && this.isolated.has(bridge))
        await this.bridgeCmd(['link', 'set', 'dev', port, 'isolated', 'on']);
    });
  }

  private detach(port: string): Promise<void> {
    return this.onPort(port, () => this.ipLink(['set', 'dev', port, 'nomaster', 'down']));
  }

  private onPort(port: string, work: () => Promise<void>): Promise<void> {
    const next = (this.portChains.get(port) ?? Promise.resolve()).then(work, work);
    this.portChains.set(
      port,
      next.catch(() => undefined),
    );
    return next;
  }

  private async ipLink(args: string[]): Promise<void> {
    const r = await this.runner.run('ip', ['-n', this.airNs, 'link', ...args], { timeoutMs: 10_000 });
    if (r.code !== 0) this.warn(`ip link ${args.join(' ')}: ${r.stderr.trim()}`);
  }

  private async mustIp(args: string[]): Promise<void> {
    const r = await this.runner.run('ip', ['-n', this.airNs, ...args], { timeoutMs: 10_000 });
    if (r.code !== 0)
      throw new AirliftError('COMMAND_FAILED', `ip ${args.join(' ')}: ${r.stderr.trim() || r.code}`);
  }

  private async bridgeCmd(args: string[]): Promise<void> {
    const r = await this.runner.run('bridge', ['-n', this.airNs, ...args], { timeoutMs: 10_000 });
    if (r.code !== 0) this.warn(`bridge ${args.join(' ')}: ${r.stderr.trim()}`);
  }

  private sleep(ms: number, scaled = true): Promise<void> {
    const real = scaled ? ms * this.timeScale : ms;
    return real <= 0 ? Promise.resolve() : new Promise((r) => setTimeout(r, real));
  }

  private emit(e: AirEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        // a lab listener's bug must not break the air
      }
    }
  }
}
