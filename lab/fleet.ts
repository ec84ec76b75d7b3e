/**
 * A virtual fleet: N real agents (core, session, HTTP on loopback) around sim radios in one
 * airspace, the sim network that decides who reaches whom, the sim mDNS bus, and the station's sim
 * Wi-Fi adapters, starting on the technician's own network. Used by the demo, tests and benchmarks.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { base32Encode } from '../shared/identity';
import { toHex, utf8Encode } from '../shared/encoding';
import type { ManifestEntry } from '../shared/manifest';
import type { AgentConfigInput } from '../shared/agent-config';
import type { SimFaults, SimLatency } from './sim-radio';
import { Airspace, DEFAULT_APS, ssidHexOf } from './airspace';
import { startLabDevice, type LabDevice } from './lab-device';
import { SimBrowser, SimMdnsBus, SimNet, type SimDeviceTransport } from './sim-net';
import { SimAdapterProvider, SimWifiAdapter, type SimAdapterLatency } from './sim-wifi-adapter';

export const WORKSHOP = { ssid: 'Workshop', passphrase: 'technician wifi' };
export const LABNET = { ssid: 'LabNet', passphrase: DEFAULT_APS.labNet.passphrase };

export type InjectedFault = 'wrong_password' | 'out_of_range' | 'dhcp_failure';

export interface FleetOptions {
  devices: number;
  adapters?: number;
  /** Extra devices, one per fault, added after the healthy ones. */
  faults?: InjectedFault[];
  /** Devices start on LabNet already (LAN path) instead of in setup mode. */
  onLan?: boolean;
  timeScale?: number;
  deviceLatency?: Partial<SimLatency>;
  adapterLatency?: Partial<SimAdapterLatency>;
  apSta?: boolean;
  config?: AgentConfigInput;
  seed?: string;
  /** Device state in memory instead of files (large fleets; see lab/memory-store.ts). */
  store?: 'file' | 'memory';
}

export interface FleetDevice {
  entry: ManifestEntry & { salt: string; iter: number };
  fault?: InjectedFault;
  lab: LabDevice;
}

export interface Fleet {
  airspace: Airspace;
  net: SimNet;
  bus: SimMdnsBus;
  devices: FleetDevice[];
  adapters: SimWifiAdapter[];
  provider: SimAdapterProvider;
  /** The station's browser: sees what its adapters' networks carry. */
  browser(): SimBrowser;
  /** How the station reaches devices (the engine's DeviceTransport seam). */
  transport: SimDeviceTransport;
  /** `transport.fetch`, for callers that need only a fetch. */
  stationFetch: ReturnType<SimNet['fetchFor']>;
  manifest: (ManifestEntry & { salt: string; iter: number })[];
  close(): Promise<void>;
}

/** Deterministic ids and secrets from a seed: the demo is the same every run. */
export function labIdentity(seed: string, i: number): { deviceId: string; setupSecret: string } {
  const h = sha256(utf8Encode(`${seed}/${i}`));
  return { deviceId: base32Encode(h.subarray(0, 5)), setupSecret: base32Encode(h.subarray(5, 21)) };
}

export async function startFleet(o: FleetOptions): Promise<Fleet> {
  const airspace = Airspace.withDefaults();
  airspace.addAp({
    ssidHex: ssidHexOf(WORKSHOP.ssid),
    bssid: airspace.allocateBssid('workshop'),
    security: 'wpa2-psk',
    passphrase: WORKSHOP.passphrase,
    frequency: 5180,
    signal: -48,
    subnet: '192.168.77.0/24',
    internet: true,
  });
  const net = new SimNet(airspace);
  const bus = new SimMdnsBus(net);
  const timeScale = o.timeScale ?? 1;
  const seed = o.seed ?? 'airlift-demo';
  const plan: { fault?: InjectedFault }[] = [
    ...Array.from({ length: o.devices }, () => ({})),
    ...(o.faults ?? []).map((fault) => ({ fault })),
  ];
  const labNetBssid = airspace.listAps().find((a) => a.ssidHex === ssidHexOf(LABNET.ssid))?.bssid;
  const iterations = 1000;
  const devices = await Promise.all(
    plan.map(async (p, i): Promise<FleetDevice> => {
      const { deviceId, setupSecret } = labIdentity(seed, i);
      const faults: SimFaults = { concurrentApSta: o.apSta === true };
      if (p.fault === 'wrong_password') faults.forceJoinFailure = 'auth_failed';
      if (p.fault === 'dhcp_failure') faults.forceJoinFailure = 'dhcp_timeout';
      if (p.fault === 'out_of_range' && labNetBssid) airspace.setSignal(deviceId, labNetBssid, undefined);
      const lab = await startLabDevice({
        deviceId,
        setupSecret,
        airspace,
        timeScale,
        iterations,
        faults,
        advertiser: bus.advertiserFor(deviceId),
        ...(o.store ? { store: o.store } : {}),
        ...(o.deviceLatency ? { latency: o.deviceLatency } : {}),
        config: {
          ...o.config,
          ...(o.onLan ? {} : {}),
        },
      });
      const where = lab.running.listening[0];
      if (where) net.register(deviceId, where);
      const identity = lab.running.agent.storedIdentity;
      return {
        entry: {
          deviceId,
          setupSecret,
          name: `unit-${String(i + 1).padStart(3, '0')}`,
          group: p.fault ? 'faulty' : 'line-1',
          extra: {},
          salt: identity?.salt ?? '',
          iter: identity?.iterations ?? iterations,
        },
        ...(p.fault ? { fault: p.fault } : {}),
        lab,
      };
    }),
  );
  if (o.onLan) await putOnLan(devices);
  const adapters = Array.from(
    { length: Math.max(1, o.adapters ?? 1) },
    (_, i) =>
      new SimWifiAdapter({
        airspace,
        net,
        id: `wlan${i}`,
        timeScale,
        ...(o.adapterLatency ? { latency: o.adapterLatency } : {}),
      }),
  );
  // The technician's laptop starts on its own network, as it would on site.
  for (const a of adapters) {
    a.saveProfile(ssidHexOf(WORKSHOP.ssid), WORKSHOP.passphrase);
    await a.restore({ ssidHex: ssidHexOf(WORKSHOP.ssid), ssid: WORKSHOP.ssid });
  }
  const observers = () => adapters.map((a) => a.observerId);
  const transport = net.transportFor(observers);
  return {
    airspace,
    net,
    bus,
    devices,
    adapters,
    provider: new SimAdapterProvider(adapters),
    browser: () => new SimBrowser(bus, observers),
    transport,
    stationFetch: transport.fetch,
    manifest: devices.map((d) => d.entry),
    async close() {
      transport.close();
      await Promise.all(devices.map((d) => d.lab.close()));
      bus.close();
    },
  };
}

/** Give every device LabNet through its own control path, as a staging network would. */
async function putOnLan(devices: FleetDevice[]): Promise<void> {
  await Promise.all(
    devices.map(async (d) => {
      const agent = d.lab.running.agent;
      await agent.setWifi({
        networks: [
          {
            ssidHex: toHex(utf8Encode(LABNET.ssid)),
            security: 'wpa2-psk',
            passphrase: LABNET.passphrase,
            hidden: false,
            priority: 0,
          },
        ],
        mode: 'replace',
        commit: 'auto',
        failsafeSeconds: 300,
        apply: 'now',
      });
      for (let i = 0; i < 500 && agent.state !== 'online'; i++) await new Promise((r) => setTimeout(r, 10));
    }),
  );
}
