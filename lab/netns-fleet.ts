/**
 * The network lab: the whole fleet in Linux network namespaces, with only the radio simulated.
 *
 *   ┌ <id>-air ─────────────────────────────────────────────────────────────────────────┐
 *   │  blan (LabNet, the target LAN)   bws (Workshop)   b1 … bN (one per setup AP)       │
 *   │   ├ rt0 ─ router uplink           ├ ws0 ─ uplink    ├ d<i>w / d<i>a (the AP's own)  │
 *   │   ├ p0  ─ peer (wired, optional)   │                 └ s<k> while a lane is joined  │
 *   │   └ d<i>w, s<k> while associated   └ s<k>                                          │
 *   └──────────────────────────────────────────────────────────────────────────────────────┘
 *     <id>-rt   router of the target LAN: lan0 192.168.50.1/24, dnsmasq for DNS (router.lab)
 *               and another for DHCP (so "DHCP server down" leaves DNS up)
 *     <id>-ws   the technician's network: lan0 192.168.77.1/24, dnsmasq (DHCP and DNS)
 *     <id>-st   the station: wlan0..wlan<K-1>; runs dist/lab/netns-station.js (the real airlift CLI)
 *     <id>-d<i> device i: wlan0 (and uap0 with AP+STA); runs dist/lab/netns-device.js (the agent)
 *     <id>-peer a wired host on the LAN: 192.168.50.5 (Avahi, curl)
 *
 * Veths join each namespace to the air; the airspace controller (lab/air-controller.ts, in this
 * process) moves their far ends between bridges. Names start with `al-<pid>-`: a run whose process
 * died is swept at the next start (its namespaces' processes killed, the namespaces, /etc/netns
 * entries and run directory removed); a live run cleans up on destroy(), on exit and — for the CLI —
 * on Ctrl-C and SIGTERM. Every namespace gets /etc/netns/<ns>/resolv.conf, which `ip netns exec`
 * binds over /etc/resolv.conf, so udhcpc's script never writes the machine's own.
 *
 * Traffic stays inside these namespaces and on loopback: no namespace has a route to anything
 * else (the routers have no uplink), and nothing here is bridged to a real interface.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AirliftError } from '../shared/errors';
import { setupSubnet } from '../shared/addressing';
import { toHex } from '../shared/encoding';
import { makeVerifierRecord } from '../shared/crypto/airlift';
import { formatManifestCsv } from '../shared/manifest';
import type { AgentConfigInput } from '../shared/agent-config';
import { FileStore } from '../agent/store/file-store';
import { ExecRunner, runSync, type CommandResult } from '../platform/commands';
import { spawnChild } from '../platform/processes';
import { AirController, type AirLatency } from './air-controller';
import { DEFAULT_APS, ssidHexOf } from './airspace';
import { LABNET, WORKSHOP, labIdentity } from './fleet';
import { LineChild, killNamespace, pidsInNamespace, type LineEvent } from './netns-proc';
import { STATION_OBSERVER_PREFIX } from './netns-wifi-adapter';

export { LABNET, WORKSHOP };

export const NETNS_PREFIX = 'al-';
export const LAN = { subnet: '192.168.50.0/24', router: '192.168.50.1', peer: '192.168.50.5' } as const;
export const WORKSHOP_NET = { subnet: '192.168.77.0/24', router: '192.168.77.1' } as const;
export const LAN_PORT = 4780;

/** Faults a device can be given at start (the demo's three, and the network lab's own). */
export type NetnsFault =
  /** It hears LabNet only from another AP with that name and another key: `auth_failed`. */
  | 'wrong_password'
  /** It does not hear LabNet at all: the station's link check fails (`target_not_seen`). */
  | 'out_of_range'
  /** The router's DHCP ignores it: `dhcp_timeout`. */
  | 'dhcp_failure';

export interface NetnsDeviceSpec {
  /** AP+STA: the setup AP on uap0, up while the device joins. */
  apSta?: boolean;
  fault?: NetnsFault;
  /** Boots with LabNet stored (the LAN path: a staging network). */
  onLan?: boolean;
  /** A network it knew before (kept when a push fails). */
  previous?: { ssid: string; passphrase: string };
}

export interface NetnsFleetOptions {
  devices: NetnsDeviceSpec[];
  /** The station's Wi-Fi adapters (lanes). */
  adapters: number;
  /** Where netns-device.js and netns-station.js are (lab/netns-build.ts). */
  bundleDir: string;
  latency?: Partial<AirLatency>;
  timeScale?: number;
  /** Merged over the lab's agent config. */
  agentConfig?: AgentConfigInput;
  /** A wired host on the LAN (Avahi, curl). */
  peer?: boolean;
  seed?: string;
  /** Devices starting at once (2 cores: a Node start is ~0.3 s of CPU). */
  startConcurrency?: number;
  progress?: (message: string) => void;
  /** Node flags for the agents (default: the systemd unit's). */
  nodeFlags?: string[];
}

export interface NetnsDevice {
  index: number;
  deviceId: string;
  setupSecret: string;
  name: string;
  ns: string;
  spec: NetnsDeviceSpec;
  stateDir: string;
  runtimeDir: string;
  configPath: string;
  logPath: string;
  /** The running agent; replaced by `reboot`. */
  proc: LineChild;
  /** Every event of every boot, in order. */
  events: LineEvent[];
  boots: number;
}

export interface StationRun {
  proc: LineChild;
  /** Resolves with the exit code once the CLI ends. */
  done: Promise<number>;
}

const IP = 'ip';

/** Flags of `ExecStart=` in the systemd unit: the agents run as they ship. */
export function unitNodeFlags(): string[] {
  try {
    const unit = readFileSync(new URL('../packaging/airliftd.service', import.meta.url), 'utf8');
    const exec = /^ExecStart=(\S+)\s+(.*?)\s+\/\S+airliftd\.js/m.exec(unit);
    return exec?.[2]?.split(/\s+/).filter((f) => f.startsWith('--')) ?? [];
  } catch {
    return [];
  }
}

// ---- cleanup -----------------------------------------------------------------------------------

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function netnsNames(): string[] {
  try {
    return readdirSync('/run/netns');
  } catch {
    return [];
  }
}

/** Remove what runs of dead processes left: namespaces (and what runs in them), /etc/netns, run dirs. */
export function sweepStaleRuns(): string[] {
  const dead = (name: string) => {
    const m = /^al-(\d+)-/.exec(name);
    return m !== null && !pidAlive(Number(m[1]));
  };
  const removed: string[] = [];
  for (const ns of netnsNames().filter(dead)) {
    killNamespace(ns);
    if (runSync(IP, ['netns', 'del', ns]) === 0) removed.push(ns);
  }
  for (const dir of ['/etc/netns', '/tmp']) {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      continue;
    }
    for (const e of entries.filter(dead)) rmSync(join(dir, e), { recursive: true, force: true });
  }
  return removed;
}

const liveFleets = new Set<NetnsFleet>();
let exitHook = false;

// ---- the fleet -----------------------------------------------------------------------------------

export class NetnsFleet {
  readonly runner = new ExecRunner({ timeoutMs: 20_000 });
  readonly air: AirController;
  readonly devices: NetnsDevice[] = [];
  readonly namespaces: string[] = [];
  readonly airNs: string;
  readonly routerNs: string;
  readonly workshopNs: string;
  readonly stationNs: string;
  readonly peerNs: string | undefined;
  readonly adapters: string[];
  private readonly daemons: LineChild[] = [];
  private readonly stations = new Set<LineChild>();
  private dhcp: LineChild | undefined;
  private dhcpIgnore: string[] = [];
  private stationRuns = 0;
  private destroyed = false;
  private readonly progress: (message: string) => void;

  private constructor(
    readonly id: string,
    readonly runDir: string,
    private readonly o: NetnsFleetOptions,
  ) {
    this.airNs = `${id}-air`;
    this.routerNs = `${id}-rt`;
    this.workshopNs = `${id}-ws`;
    this.stationNs = `${id}-st`;
    this.peerNs = o.peer ? `${id}-peer` : undefined;
    this.adapters = Array.from({ length: Math.max(1, o.adapters) }, (_, k) => `wlan${k}`);
    this.progress = o.progress ?? (() => undefined);
    this.air = new AirController({
      airNs: this.airNs,
      runner: this.runner,
      socketPath: join(runDir, 'air.sock'),
      ...(o.latency ? { latency: o.latency } : {}),
      ...(o.timeScale !== undefined ? { timeScale: o.timeScale } : {}),
      onWarning: (m) => this.progress(`air: ${m}`),
    });
  }

  /** Build the lab and start every agent. On failure everything created is removed first. */
  static async create(o: NetnsFleetOptions): Promise<NetnsFleet> {
    if (process.getuid?.() !== 0) throw new AirliftError('BACKEND_UNAVAILABLE', 'the network lab needs root');
    sweepStaleRuns();
    const id = `${NETNS_PREFIX}${process.pid}-${randomBytes(2).toString('hex')}`;
    const runDir = join('/tmp', id);
    await mkdir(runDir, { mode: 0o700 });
    const fleet = new NetnsFleet(id, runDir, o);
    liveFleets.add(fleet);
    if (!exitHook) {
      exitHook = true;
      process.on('exit', () => {
        for (const f of liveFleets) f.destroySync();
      });
    }
    try {
      await fleet.build();
    } catch (err) {
      await fleet.destroy();
      throw err;
    }
    return fleet;
  }

  // ---- commands ------------------------------------------------------------------------------------

  async ip(args: string[], ns?: string): Promise<CommandResult> {
    return this.runner.run(IP, ns === undefined ? args : ['-n', ns, ...args]);
  }

  async must(file: string, args: string[]): Promise<string> {
    const r = await this.runner.run(file, args);
    if (r.code !== 0)
      throw new AirliftError(
        'COMMAND_FAILED',
        `${file} ${args.join(' ')}: ${r.stderr.trim() || r.stdout.trim() || String(r.code)}`,
      );
    return r.stdout;
  }

  /** A command inside a namespace (`ip netns exec`), collected. */
  exec(ns: string, file: string, args: string[], timeoutMs = 20_000): Promise<CommandResult> {
    return this.runner.run(IP, ['netns', 'exec', ns, file, ...args], { timeoutMs });
  }

  /** A long-running command inside a namespace; stopped by destroy(). */
  spawnIn(
    ns: string,
    label: string,
    file: string,
    args: string[],
    o: { env?: Record<string, string>; onEvent?: (e: LineEvent) => void } = {},
  ): LineChild {
    return new LineChild(
      label,
      spawnChild(IP, ['netns', 'exec', ns, file, ...args], {
        env: o.env ?? {},
        stdio: ['pipe', 'pipe', 'pipe'],
      }),
      o.onEvent ? { onEvent: o.onEvent } : {},
    );
  }

  // ---- building ------------------------------------------------------------------------------------

  private async addNamespace(ns: string): Promise<void> {
    await this.must(IP, ['netns', 'add', ns]);
    this.namespaces.push(ns);
    await mkdir(join('/etc/netns', ns), { recursive: true });
    await writeFile(join('/etc/netns', ns, 'resolv.conf'), '');
    await this.must(IP, ['-n', ns, 'link', 'set', 'lo', 'up']);
  }

  /** A veth: `near` in `ns` (up, IPv4 only), `far` in the air (down until attached). */
  private async veth(ns: string, near: string, far: string, mac: string): Promise<void> {
    await this.must(IP, [
      '-n',
      this.airNs,
      'link',
      'add',
      far,
      'type',
      'veth',
      'peer',
      'name',
      near,
      'netns',
      ns,
      'address',
      mac,
    ]);
    await this.must(IP, ['-n', ns, 'link', 'set', near, 'addrgenmode', 'none']);
    await this.must(IP, ['-n', ns, 'link', 'set', near, 'up']);
  }

  private async build(): Promise<void> {
    const o = this.o;
    this.progress(`network lab ${this.id}: ${o.devices.length} devices, ${this.adapters.length} adapters`);
    await this.addNamespace(this.airNs);
    for (const br of ['blan', 'bws']) {
      await this.must(IP, [
        '-n',
        this.airNs,
        'link',
        'add',
        'name',
        br,
        'type',
        'bridge',
        'mcast_snooping',
        '0',
      ]);
      await this.must(IP, ['-n', this.airNs, 'link', 'set', br, 'up']);
    }
    await this.air.listen();

    // The target LAN's router and the technician's network.
    await this.addNamespace(this.routerNs);
    await this.veth(this.routerNs, 'lan0', 'rt0', '02:52:00:00:00:01');
    await this.must(IP, ['-n', this.airNs, 'link', 'set', 'rt0', 'master', 'blan', 'up']);
    await this.routerLink(this.routerNs, `${LAN.router}/24`);
    await this.addNamespace(this.workshopNs);
    await this.veth(this.workshopNs, 'lan0', 'ws0', '02:52:00:00:00:02');
    await this.must(IP, ['-n', this.airNs, 'link', 'set', 'ws0', 'master', 'bws', 'up']);
    await this.routerLink(this.workshopNs, `${WORKSHOP_NET.router}/24`);
    const labNet = DEFAULT_APS.labNet;
    this.air.addInfrastructureAp({ ...labNet, gateway: LAN.router }, 'blan', 'rt0');
    this.air.addInfrastructureAp(
      {
        ssidHex: ssidHexOf(WORKSHOP.ssid),
        bssid: '02:00:00:00:00:77',
        security: 'wpa2-psk',
        passphrase: WORKSHOP.passphrase,
        frequency: 5180,
        signal: -48,
        subnet: WORKSHOP_NET.subnet,
      },
      'bws',
      'ws0',
    );
    // Another floor's AP with the same name and another key: only the wrong_password device hears it.
    if (o.devices.some((d) => d.fault === 'wrong_password')) {
      await this.must(IP, ['-n', this.airNs, 'link', 'add', 'name', 'bdecoy', 'type', 'bridge']);
      await this.must(IP, ['-n', this.airNs, 'link', 'set', 'bdecoy', 'up']);
      this.air.addInfrastructureAp(
        {
          ...labNet,
          bssid: '02:00:00:00:00:51',
          passphrase: 'another floor key',
          signal: -120,
          subnet: '192.168.51.0/24',
        },
        'bdecoy',
        'none',
      );
    }
    await this.startRouterDns();
    await this.startDhcp();
    await this.startWorkshop();

    if (this.peerNs) {
      await this.addNamespace(this.peerNs);
      await this.veth(this.peerNs, 'eth0', 'p0', '02:52:00:00:00:05');
      await this.must(IP, ['-n', this.airNs, 'link', 'set', 'p0', 'master', 'blan', 'up']);
      await this.must(IP, ['-n', this.peerNs, 'addr', 'add', `${LAN.peer}/24`, 'dev', 'eth0']);
      await this.must(IP, ['-n', this.peerNs, 'route', 'add', '224.0.0.0/4', 'dev', 'eth0']);
    }

    // The station. A lane whose AP went away keeps its address with its carrier down (nothing
    // here plays NetworkManager, which would drop it); the kernel must not route over such a link,
    // or a later lane on the same setup subnet sends its TCP out of the dead one.
    await this.addNamespace(this.stationNs);
    for (const scope of ['all', 'default'])
      await this.must(IP, [
        'netns',
        'exec',
        this.stationNs,
        'sysctl',
        '-q',
        '-w',
        `net.ipv4.conf.${scope}.ignore_routes_with_linkdown=1`,
      ]);
    for (const [k, ifname] of this.adapters.entries()) {
      await this.veth(this.stationNs, ifname, `s${k}`, `02:5a:00:00:00:${hex2(k)}`);
      this.air.registerRadio(`${STATION_OBSERVER_PREFIX}${ifname}`, { [ifname]: `s${k}` });
    }
    await mkdir(join(this.runDir, 'station'), { recursive: true, mode: 0o700 });

    // The devices: identities whose setup subnets differ (the rule allows collisions, 1 in 16384
    // per pair; a station holding two at once on two lanes could not route both).
    const seed = o.seed ?? 'airlift-netns';
    const subnets = new Set<string>();
    let n = 0;
    for (const [i, spec] of o.devices.entries()) {
      let ident = labIdentity(seed, n++);
      while (subnets.has(setupSubnet(ident.deviceId).network)) ident = labIdentity(seed, n++);
      subnets.add(setupSubnet(ident.deviceId).network);
      await this.addDevice(i, ident, spec);
      if ((i + 1) % 25 === 0) this.progress(`  namespaces: ${i + 1}/${o.devices.length} devices`);
    }
    await this.writeManifest();
    await this.startDevices();
  }

  private async routerLink(ns: string, cidr: string): Promise<void> {
    await this.must(IP, ['-n', ns, 'addr', 'add', cidr, 'dev', 'lan0']);
    await this.must(IP, ['-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', 'lan0']);
  }

  private async conf(name: string, lines: string[]): Promise<string> {
    const path = join(this.runDir, name);
    await writeFile(path, `${lines.join('\n')}\n`, { mode: 0o600 });
    return path;
  }

  private async daemon(ns: string, label: string, conf: string): Promise<LineChild> {
    const d = this.spawnIn(ns, label, 'dnsmasq', [
      '--keep-in-foreground',
      '--log-facility=-',
      `--conf-file=${conf}`,
    ]);
    this.daemons.push(d);
    await new Promise((r) => setTimeout(r, 150));
    if (d.exit) throw new AirliftError('COMMAND_FAILED', `${label} did not start:${d.context()}`);
    return d;
  }

  private async startRouterDns(): Promise<void> {
    const conf = await this.conf('router-dns.conf', [
      'interface=lan0',
      'bind-interfaces',
      'except-interface=lo',
      `listen-address=${LAN.router}`,
      'no-resolv',
      'no-hosts',
      'no-poll',
      'no-dhcp-interface=lan0',
      'local=/lab/',
      `address=/router.lab/${LAN.router}`,
      `address=/time.lab/${LAN.router}`,
      `pid-file=${join(this.runDir, 'router-dns.pid')}`,
    ]);
    await this.daemon(this.routerNs, 'router dns', conf);
  }

  /**
   * The LAN's DHCP server, alone in its dnsmasq so it can go down while DNS stays. `no-ping`: by
   * default dnsmasq pings every address before offering it and handles new clients one at a time,
   * 3 s each (measured here: five clients at once take 15 s), which would make this router, not
   * the system under test, the bottleneck of every fleet. The agent's setup APs ship with
   * `no-ping` for the same reason (agent/backends/setup-ap-dnsmasq.ts).
   */
  async startDhcp(): Promise<void> {
    if (this.dhcp && !this.dhcp.exit) return;
    const conf = await this.conf('router-dhcp.conf', [
      'interface=lan0',
      'bind-interfaces',
      'except-interface=lo',
      'port=0',
      'no-ping',
      'dhcp-range=192.168.50.20,192.168.50.250,255.255.255.0,1h',
      `dhcp-option=option:router,${LAN.router}`,
      `dhcp-option=option:dns-server,${LAN.router}`,
      'dhcp-authoritative',
      `dhcp-leasefile=${join(this.runDir, 'router.leases')}`,
      `pid-file=${join(this.runDir, 'router-dhcp.pid')}`,
      ...this.dhcpIgnore.map((mac) => `dhcp-host=${mac},ignore`),
    ]);
    this.dhcp = await this.daemon(this.routerNs, 'router dhcp', conf);
  }

  /** The LAN's DHCP server stops answering anyone (DNS and routing stay). */
  async stopDhcp(): Promise<void> {
    const d = this.dhcp;
    this.dhcp = undefined;
    await d?.stop(2000);
  }

  private async startWorkshop(): Promise<void> {
    const conf = await this.conf('workshop.conf', [
      'interface=lan0',
      'bind-interfaces',
      'except-interface=lo',
      `listen-address=${WORKSHOP_NET.router}`,
      'no-resolv',
      'no-hosts',
      'no-poll',
      'no-ping',
      'dhcp-range=192.168.77.20,192.168.77.250,255.255.255.0,1h',
      `dhcp-option=option:router,${WORKSHOP_NET.router}`,
      `dhcp-option=option:dns-server,${WORKSHOP_NET.router}`,
      'dhcp-authoritative',
      `dhcp-leasefile=${join(this.runDir, 'workshop.leases')}`,
      `pid-file=${join(this.runDir, 'workshop.pid')}`,
    ]);
    await this.daemon(this.workshopNs, 'workshop dnsmasq', conf);
  }

  private async addDevice(
    index: number,
    ident: { deviceId: string; setupSecret: string },
    spec: NetnsDeviceSpec,
  ): Promise<void> {
    const ns = `${this.id}-d${index}`;
    await this.addNamespace(ns);
    const wlanMac = `02:d0:00:00:${hex2(index >> 8)}:${hex2(index & 255)}`;
    await this.veth(ns, 'wlan0', `d${index}w`, wlanMac);
    const ports: Record<string, string> = { wlan0: `d${index}w` };
    if (spec.apSta) {
      await this.veth(ns, 'uap0', `d${index}a`, `02:da:00:00:${hex2(index >> 8)}:${hex2(index & 255)}`);
      ports['uap0'] = `d${index}a`;
    }
    this.air.registerRadio(ident.deviceId, ports);
    const dir = join(this.runDir, `d${index}`);
    const stateDir = join(dir, 'state');
    const runtimeDir = join(dir, 'run');
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    await mkdir(runtimeDir, { recursive: true, mode: 0o700 });
    // At the factory: the identity (as `airliftctl provision-identity` writes it) and, for some,
    // networks they already know.
    const store = new FileStore(stateDir);
    const record = makeVerifierRecord(ident.setupSecret, ident.deviceId, { iterations: 1000 });
    await store.saveIdentity({
      deviceId: ident.deviceId,
      w0: toHex(record.w0),
      L: toHex(record.L),
      salt: toHex(record.salt),
      iterations: record.iterations,
      createdAt: new Date().toISOString(),
    });
    const known = [
      ...(spec.previous ? [{ ...spec.previous, id: '0000000a', priority: 0 }] : []),
      ...(spec.onLan
        ? [{ ssid: LABNET.ssid, passphrase: LABNET.passphrase, id: '0000000b', priority: 10 }]
        : []),
    ];
    if (known.length > 0) {
      await store.saveNetworkState({
        networks: known.map((k) => ({
          id: k.id,
          ssidHex: ssidHexOf(k.ssid),
          security: 'wpa2-psk',
          passphrase: k.passphrase,
          hidden: false,
          priority: k.priority,
          addedAt: new Date().toISOString(),
        })),
      });
    }
    const config: AgentConfigInput = {
      name: `unit-${String(index + 1).padStart(3, '0')}`,
      model: 'lab-netns',
      fw: '1.0.0',
      stateDir,
      interfaces: { wifi: 'wlan0', ...(spec.apSta ? { ap: 'uap0' } : {}) },
      setup: {
        teardownDelayMs: 200,
        lingerSeconds: 5,
        retryKnownSeconds: 30,
        idleTimeoutSeconds: 900,
        ...this.o.agentConfig?.setup,
      },
      join: { timeoutSeconds: 12, ...this.o.agentConfig?.join },
      failsafe: { defaultSeconds: 300 },
      connectivity: {
        intervalSeconds: 30,
        dns: ['router.lab'],
        timeoutMs: 2000,
        ...this.o.agentConfig?.connectivity,
      },
      // Embedded: every namespace shares one filesystem, so `auto` would see another
      // namespace's Avahi socket under /run.
      mdns: { mode: 'embedded', interfaces: spec.apSta ? ['wlan0', 'uap0'] : ['wlan0'] },
      control: { socket: join(runtimeDir, 'agent.sock'), group: 'airlift' },
      log: { level: 'info' },
      ...(this.o.agentConfig?.limits ? { limits: this.o.agentConfig.limits } : {}),
    };
    const configPath = join(dir, 'agent.json');
    await writeFile(configPath, JSON.stringify(config, null, 2), { mode: 0o600 });
    if (spec.fault === 'out_of_range') this.air.setSignal(ident.deviceId, ssidHexOf(LABNET.ssid), undefined);
    if (spec.fault === 'wrong_password') {
      this.air.setSignal(ident.deviceId, ssidHexOf(LABNET.ssid), undefined);
      this.air.airspace.setSignal(ident.deviceId, '02:00:00:00:00:51', -55);
    }
    if (spec.fault === 'dhcp_failure') this.dhcpIgnore.push(wlanMac);
    const device: NetnsDevice = {
      index,
      deviceId: ident.deviceId,
      setupSecret: ident.setupSecret,
      name: `unit-${String(index + 1).padStart(3, '0')}`,
      ns,
      spec,
      stateDir,
      runtimeDir,
      configPath,
      logPath: join(dir, 'agent.log'),
      proc: undefined as unknown as LineChild,
      events: [],
      boots: 0,
    };
    this.devices.push(device);
  }

  private async writeManifest(): Promise<void> {
    await writeFile(
      this.manifestPath,
      formatManifestCsv(
        this.devices.map((d) => ({
          deviceId: d.deviceId,
          setupSecret: d.setupSecret,
          name: d.name,
          group: d.spec.fault ? 'faulty' : 'line-1',
          extra: {},
        })),
      ),
      { mode: 0o600 },
    );
    await writeFile(this.passphrasePath, `${LABNET.passphrase}\n`, { mode: 0o600 });
    await writeFile(
      this.profilesPath,
      JSON.stringify({
        [ssidHexOf(WORKSHOP.ssid)]: { security: 'wpa2-psk', passphrase: WORKSHOP.passphrase },
      }),
      { mode: 0o600 },
    );
    if (this.dhcpIgnore.length > 0) {
      await this.stopDhcp();
      await this.startDhcp();
    }
  }

  get manifestPath(): string {
    return join(this.runDir, 'manifest.csv');
  }

  get passphrasePath(): string {
    return join(this.runDir, 'labnet.passphrase');
  }

  get profilesPath(): string {
    return join(this.runDir, 'station', 'profiles.json');
  }

  get stationStateDir(): string {
    return join(this.runDir, 'station');
  }

  // ---- devices -------------------------------------------------------------------------------------

  private async startDevices(): Promise<void> {
    const queue = [...this.devices];
    const width = Math.max(1, this.o.startConcurrency ?? 8);
    let started = 0;
    await Promise.all(
      Array.from({ length: width }, async () => {
        for (let d = queue.shift(); d; d = queue.shift()) {
          await this.boot(d);
          started++;
          if (started % 25 === 0 || started === this.devices.length)
            this.progress(`  agents ready: ${started}/${this.devices.length}`);
        }
      }),
    );
    // Every device in its starting state: setup with the AP up, or online on the LAN.
    await Promise.all(this.devices.map((d) => this.settled(d, 60_000)));
  }

  /** Start the device's agent process and wait until its API listens. */
  private async boot(d: NetnsDevice): Promise<void> {
    const flags = this.o.nodeFlags ?? unitNodeFlags();
    const proc = this.spawnIn(
      d.ns,
      `device ${d.deviceId}`,
      process.execPath,
      [
        ...flags,
        join(this.o.bundleDir, 'netns-device.js'),
        '--config',
        d.configPath,
        '--air',
        join(this.runDir, 'air.sock'),
        '--observer',
        d.deviceId,
        '--runtime-dir',
        d.runtimeDir,
        '--log',
        d.logPath,
        ...(d.spec.apSta ? ['--ap-sta'] : []),
      ],
      { onEvent: (e) => d.events.push(e) },
    );
    d.proc = proc;
    d.boots++;
    await proc
      .waitFor('ready', (e) => e.ev === 'ready' || e.ev === 'error', 30_000)
      .then((e) => {
        if (e.ev === 'error')
          throw new AirliftError('COMMAND_FAILED', `device ${d.deviceId}: ${String(e['message'])}`);
      });
  }

  /** The device's lifecycle state as its agent last reported it (this boot). */
  stateOf(d: NetnsDevice): string | undefined {
    const events = d.proc.events;
    for (let i = events.length - 1; i >= 0; i--) {
      const e = events[i];
      if (e?.ev === 'state' || e?.ev === 'ready') return String(e['state']);
    }
    return undefined;
  }

  /** Wait until a device is where it starts: online (LAN) or in setup with its AP up. */
  async settled(d: NetnsDevice, timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const state = this.stateOf(d);
      if (d.spec.onLan ? state === 'online' : state === 'setup' && this.air.apUp(d.deviceId)) return;
      if (Date.now() > end || d.proc.exit)
        throw new AirliftError(
          'TIMEOUT',
          `device ${d.deviceId} did not settle (state ${state})${d.proc.context()}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The device's public status, read over its control socket's neighbour: the API on loopback. */
  async statusOf(d: NetnsDevice): Promise<{
    state: string;
    setupAp: { up: boolean };
    ip?: string;
    pv: string;
    lastAttempt?: { id: string; result: string; reason?: string };
  }> {
    const r = await this.exec(
      d.ns,
      'curl',
      ['-s', '-m', '3', `http://127.0.0.1:${LAN_PORT}/v1/status`],
      5000,
    );
    if (r.code !== 0) throw new AirliftError('UNREACHABLE', `device ${d.deviceId}: curl ${r.code}`);
    return JSON.parse(r.stdout) as never;
  }

  /**
   * A reboot: every process of the device dies at once (the agent, its dnsmasq, a DHCP client),
   * its radio loses its association and its AP, its interfaces lose their addresses; after
   * `offMs` the agent starts again from its state directory.
   */
  async reboot(d: NetnsDevice, offMs = 300): Promise<void> {
    await this.powerCut(d);
    await new Promise((r) => setTimeout(r, offMs));
    await this.powerOn(d);
  }

  /** The first half of a reboot: everything of the device stops at once. */
  async powerCut(d: NetnsDevice): Promise<void> {
    killNamespace(d.ns);
    await d.proc.exited;
    await this.air.powerOff(d.deviceId);
    for (const ifname of d.spec.apSta ? ['wlan0', 'uap0'] : ['wlan0']) {
      await this.ip(['-4', 'addr', 'flush', 'dev', ifname], d.ns);
      await this.ip(['-4', 'route', 'flush', 'dev', ifname], d.ns);
    }
  }

  /** The second half: the agent boots again from its state directory. */
  async powerOn(d: NetnsDevice): Promise<void> {
    await this.boot(d);
  }

  /**
   * Back to the factory: the agent stops at once, its networks and meta are gone (identity and
   * handshake counters stay), and it boots into setup again. Resolves once it is there.
   */
  async factoryReset(d: NetnsDevice): Promise<void> {
    await this.powerCut(d);
    for (const f of ['networks.json', 'meta.json']) await rm(join(d.stateDir, f), { force: true });
    d.spec = { ...d.spec, onLan: false };
    await this.powerOn(d);
    await this.settled(d, 60_000);
  }

  /** Attempts the device's agent reported (every boot), by id. */
  attemptsOf(d: NetnsDevice): { id: string; result: string; reason?: string }[] {
    const byId = new Map<string, { id: string; result: string; reason?: string }>();
    for (const e of d.events.filter((x) => x.ev === 'attempt')) {
      const a = e['attempt'] as { id: string; result: string; reason?: string };
      byId.set(a.id, a);
    }
    return [...byId.values()];
  }

  // ---- faults on the LAN ---------------------------------------------------------------------------

  /**
   * Client isolation on LabNet: the bridge isolates every client port, and the router answers ARP
   * for the subnet and forwards between clients (private-VLAN proxy ARP, RFC 3069-style), so
   * unicast still reaches a device through the router while link-local multicast — mDNS — does not
   * cross between clients.
   */
  async isolateLan(on: boolean): Promise<void> {
    const v = on ? '1' : '0';
    for (const [key, value] of [
      ['net.ipv4.ip_forward', v],
      ['net.ipv4.conf.lan0.proxy_arp', v],
      ['net.ipv4.conf.lan0.proxy_arp_pvlan', v],
      ['net.ipv4.conf.all.send_redirects', on ? '0' : '1'],
      ['net.ipv4.conf.lan0.send_redirects', on ? '0' : '1'],
    ] as const) {
      const r = await this.exec(this.routerNs, 'sysctl', ['-q', '-w', `${key}=${value}`]);
      if (r.code !== 0) throw new AirliftError('COMMAND_FAILED', `sysctl ${key}: ${r.stderr.trim()}`);
    }
    const ap = this.air.apOf(ssidHexOf(LABNET.ssid));
    if (ap) await this.air.setIsolation(ap.bssid, on);
  }

  // ---- the station ---------------------------------------------------------------------------------

  /** The station's environment for its CLI. */
  private stationEnv(cpuFile?: string, joinLog?: string): Record<string, string> {
    return {
      AIRLIFT_LAB_AIR: join(this.runDir, 'air.sock'),
      AIRLIFT_LAB_ADAPTERS: this.adapters.join(','),
      AIRLIFT_LAB_PROFILES: this.profilesPath,
      AIRLIFT_STATE_DIR: this.stationStateDir,
      HOME: this.stationStateDir,
      ...(cpuFile ? { AIRLIFT_LAB_CPU_FILE: cpuFile } : {}),
      ...(joinLog ? { AIRLIFT_LAB_JOIN_LOG: joinLog } : {}),
    };
  }

  /**
   * Run the real `airlift` CLI in the station's namespace. For the benchmarks: `cpuFile` (its CPU
   * time, written when the command returns), `joinLog` (each adapter join's parts, timed),
   * `nodeFlags` (e.g. `--cpu-prof`).
   */
  station(
    args: string[],
    o: { cpuFile?: string; joinLog?: string; onLine?: (line: string) => void; nodeFlags?: string[] } = {},
  ): StationRun {
    const proc = new LineChild(
      'station',
      spawnChild(
        IP,
        [
          'netns',
          'exec',
          this.stationNs,
          process.execPath,
          ...(o.nodeFlags ?? []),
          join(this.o.bundleDir, 'netns-station.js'),
          ...args,
        ],
        { env: this.stationEnv(o.cpuFile, o.joinLog), stdio: ['pipe', 'pipe', 'pipe'] },
      ),
      o.onLine ? { onLine: o.onLine } : {},
    );
    proc.child.stdin?.end();
    this.stations.add(proc);
    const n = ++this.stationRuns;
    const done = proc.exited.then(async (e) => {
      this.stations.delete(proc);
      const keep = process.env['AIRLIFT_LAB_KEEP_LOGS'];
      if (keep) {
        await mkdir(keep, { recursive: true });
        const lines = [
          `$ airlift ${args.join(' ')}`,
          ...proc.events.map((x) => JSON.stringify(x)),
          ...proc.text,
        ];
        await writeFile(
          join(keep, `station-${n}.log`),
          `${lines.join('\n')}\nstderr:\n${proc.stderr}\nexit ${String(e.code ?? e.signal)}\n`,
        );
      }
      return e.code ?? 128;
    });
    return { proc, done };
  }

  /** The arguments of `airlift provision` for this fleet (more may follow). */
  provisionArgs(o: { lan?: boolean; verifyTimeoutS?: number; devices?: string[] } = {}): string[] {
    return [
      'provision',
      '--manifest',
      this.manifestPath,
      '--ssid',
      LABNET.ssid,
      '--passphrase-file',
      this.passphrasePath,
      '--verify-timeout',
      String(o.verifyTimeoutS ?? 20),
      '--min-signal',
      '-80',
      ...(o.lan ? ['--lan'] : []),
      ...(o.devices ? ['--devices', o.devices.join(',')] : []),
    ];
  }

  /** The technician's laptop on its own network before the job: every adapter joins Workshop. */
  async connectStationToWorkshop(): Promise<void> {
    for (const ifname of this.adapters) await this.connectStation(ifname, WORKSHOP);
  }

  /**
   * One adapter onto a network on the lab's behalf, as the laptop's OS would (association, then
   * udhcpc in the station's namespace), and the network saved as a profile.
   */
  async connectStation(ifname: string, net: { ssid: string; passphrase: string }): Promise<string> {
    const k = this.adapters.indexOf(ifname);
    const r = await this.air.associateNow(`${STATION_OBSERVER_PREFIX}${ifname}`, {
      ifname,
      ssidHex: ssidHexOf(net.ssid),
      security: 'wpa2-psk',
      passphrase: net.passphrase,
      hidden: false,
    });
    if (!r.ok) throw new AirliftError('COMMAND_FAILED', `${ifname} could not join ${net.ssid}: ${r.reason}`);
    const dhcp = await this.exec(this.stationNs, 'udhcpc', ['-i', ifname, '-n', '-q', '-t', '5', '-T', '1']);
    const ip = /lease of (\S+) obtained/.exec(dhcp.stderr + dhcp.stdout)?.[1];
    if (dhcp.code !== 0 || ip === undefined)
      throw new AirliftError('COMMAND_FAILED', `${ifname}: no ${net.ssid} lease: ${dhcp.stderr}`);
    await this.ip(
      ['route', 'replace', '224.0.0.0/4', 'dev', ifname, 'metric', String(100 + k)],
      this.stationNs,
    );
    const profiles = JSON.parse(await readFile(this.profilesPath, 'utf8').catch(() => '{}')) as Record<
      string,
      unknown
    >;
    profiles[ssidHexOf(net.ssid)] = { security: 'wpa2-psk', passphrase: net.passphrase };
    await writeFile(this.profilesPath, JSON.stringify(profiles), { mode: 0o600 });
    return ip;
  }

  /** Which network each adapter is on now, by SSID (undefined: none). */
  stationNetworks(): (string | undefined)[] {
    return this.adapters.map((ifname) => {
      const m = this.air.airspace.membershipOf(`${STATION_OBSERVER_PREFIX}${ifname}`);
      const ap = m ? this.air.airspace.getAp(m.bssid) : undefined;
      return ap ? Buffer.from(ap.ssidHex, 'hex').toString('utf8') : undefined;
    });
  }

  // ---- teardown ------------------------------------------------------------------------------------

  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    await Promise.all([...this.stations].map((s) => s.stop(2000)));
    await Promise.all(this.devices.filter((d) => d.boots > 0).map((d) => d.proc.stop(3000)));
    await Promise.all(this.daemons.map((d) => d.stop(2000)));
    await this.air.close().catch(() => undefined);
    for (const ns of [...this.namespaces].reverse()) {
      killNamespace(ns);
      await this.ip(['netns', 'del', ns]);
      await rm(join('/etc/netns', ns), { recursive: true, force: true });
    }
    const keep = process.env['AIRLIFT_LAB_KEEP_LOGS'];
    if (keep) await this.copyLogs(keep);
    await rm(this.runDir, { recursive: true, force: true });
    liveFleets.delete(this);
  }

  /** The agents' logs and the lab's configs, for a post-mortem (AIRLIFT_LAB_KEEP_LOGS=<dir>). */
  async copyLogs(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    for (const d of this.devices) {
      const log = await readFile(d.logPath, 'utf8').catch(() => '');
      await writeFile(join(dir, `${d.deviceId}.log`), log);
      await writeFile(join(dir, `${d.deviceId}.events.json`), JSON.stringify(d.events, null, 1));
    }
  }

  /** The exit hook's version: synchronous, nothing waits. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const ns of [...this.namespaces].reverse()) {
      killNamespace(ns);
      runSync(IP, ['netns', 'del', ns]);
      rmSync(join('/etc/netns', ns), { recursive: true, force: true });
    }
    rmSync(this.runDir, { recursive: true, force: true });
    liveFleets.delete(this);
  }

  /** Whether any process is left in the lab's namespaces (a leak check). */
  leftovers(): number {
    return this.namespaces.reduce((n, ns) => n + pidsInNamespace(ns).length, 0);
  }

  /** Whether the resolv.conf bind is in place for namespace `ns` (udhcpc writes there). */
  resolvConfOf(ns: string): string | undefined {
    const path = join('/etc/netns', ns, 'resolv.conf');
    return existsSync(path) && statSync(path).isFile() ? readFileSync(path, 'utf8') : undefined;
  }

  async readState(d: NetnsDevice, file: 'networks.json' | 'meta.json'): Promise<unknown> {
    return JSON.parse(await readFile(join(d.stateDir, file), 'utf8')) as unknown;
  }
}

function hex2(n: number): string {
  return (n & 255).toString(16).padStart(2, '0');
}
