/**
 * Benchmarks on the network lab (lab/netns-fleet.ts): real agent processes in namespaces, the real
 * station CLI, real DHCP, mDNS and HTTP; only the radio simulated, with a fixed join latency.
 *
 * - AP path: wall time of `airlift provision` for 50 devices in setup mode, from the job's start to
 *   its last verification (restoring the technician's network comes after), against the radio
 *   floor ⌈N/K⌉ × join + one return join, with 1 and 3 adapters; once with the setup AP's dnsmasq
 *   as the agent generates it and once with `no-ping` added, to show what its ping costs.
 * - LAN path: 200 devices already on LabNet, `provision --lan`: devices per second, and the
 *   station's own CPU time per device (its process's user + system time, so the figure means
 *   something on a 2-core machine where 200 agents compete with it).
 * - Discovery: 50 devices on LabNet; time until the station's browser lists all 50, until
 *   avahi-browse (a real avahi-daemon in a wired host's namespace) has resolved all 50, and until
 *   the browser notices a device's new address.
 * Root only; prints nothing itself (run.ts does).
 */
import { readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { buildNetnsBundles } from '../../lab/netns-build';
import { LABNET, NetnsFleet, type NetnsDevice } from '../../lab/netns-fleet';
import type { LineEvent } from '../../lab/netns-proc';
import { AvahiPeer } from '../helpers/avahi-peer';
import { median } from './agent';

const BROWSER_HOST = fileURLToPath(new URL('./netns-browser-host.ts', import.meta.url));

export interface NetnsApRun {
  adapters: number;
  wall_s: number;
  floor_s: number;
  ratio: number;
  verified: number;
  /** Median of the station's per-device `joining` step (association + DHCP + reachability). */
  join_median_ms: number;
  /** From the lane's return to the last device verified. */
  verify_tail_s: number;
}

let bundles: Promise<string> | undefined;
const bundleDir = () => (bundles ??= buildNetnsBundles());

/** Remove the bundles built for this run. */
export async function cleanupNetnsBundles(): Promise<void> {
  if (bundles) await rm(await bundles, { recursive: true, force: true });
  bundles = undefined;
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
}

/** Run the station's `provision` and time it from the receipts of its JSON events. */
async function timedJob(
  fleet: NetnsFleet,
  args: string[],
  cpuFile?: string,
): Promise<{ events: LineEvent[]; code: number; wallMs: number; returnAt: number; lastResultAt: number }> {
  const run = fleet.station([...args, '--json'], cpuFile ? { cpuFile } : {});
  const code = await run.done;
  const events = run.proc.events;
  const started = events.find((e) => e.ev === 'job-started')?.t ?? 0;
  const results = events.filter((e) => e.ev === 'device-result');
  const lastResultAt = Math.max(...results.map((e) => e.t));
  const returnAt = events.find((e) => e.ev === 'phase' && e['phase'] === 'verify')?.t ?? lastResultAt;
  return { events, code, wallMs: lastResultAt - started, returnAt, lastResultAt };
}

function verifiedOf(events: LineEvent[]): { count: number; joining: number[] } {
  const outcomes = events
    .filter((e) => e.ev === 'device-result')
    .map((e) => e['outcome'] as { step: string; timings: Record<string, number> });
  return {
    count: outcomes.filter((o) => o.step === 'verified').length,
    joining: outcomes.map((o) => o.timings['joining'] ?? NaN).filter((n) => Number.isFinite(n)),
  };
}

async function inParallel<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let x = queue.shift(); x !== undefined; x = queue.shift()) await work(x);
    }),
  );
}

export async function benchNetnsApPath(o: {
  devices: number;
  adapters: number[];
  joinMs: number;
  noPing: boolean;
  progress: (m: string) => void;
}): Promise<NetnsApRun[]> {
  const fleet = await NetnsFleet.create({
    devices: Array.from({ length: o.devices }, () => ({})),
    adapters: Math.max(...o.adapters),
    bundleDir: await bundleDir(),
    timeScale: 1,
    latency: {
      stationAssociateMs: o.joinMs,
      stationScanMs: 1500,
      deviceAssociateMs: 300,
      deviceScanMs: 300,
      apStartMs: 300,
      apStopMs: 100,
    },
    ...(o.noPing ? { setupApDnsmasqExtra: ['no-ping'] } : {}),
    progress: o.progress,
  });
  const runs: NetnsApRun[] = [];
  try {
    await fleet.connectStationToWorkshop();
    for (const [i, k] of o.adapters.entries()) {
      if (i > 0) {
        o.progress(`  factory reset of ${o.devices} devices`);
        await inParallel(fleet.devices, 6, (d) => fleet.factoryReset(d));
      }
      o.progress(
        `  AP path: ${o.devices} devices, ${k} adapter(s)${o.noPing ? ', setup AP dnsmasq no-ping' : ''}`,
      );
      const job = await timedJob(fleet, [
        ...fleet.provisionArgs({ verifyTimeoutS: 90 }),
        '--chunk-size',
        String(o.devices),
        ...fleet.adapters.slice(0, k).flatMap((a) => ['--adapter', a]),
      ]);
      const floorMs = Math.ceil(o.devices / k) * o.joinMs + o.joinMs;
      const v = verifiedOf(job.events);
      runs.push({
        adapters: k,
        wall_s: job.wallMs / 1000,
        floor_s: floorMs / 1000,
        ratio: job.wallMs / floorMs,
        verified: v.count,
        join_median_ms: median(v.joining),
        verify_tail_s: (job.lastResultAt - job.returnAt) / 1000,
      });
    }
  } finally {
    await fleet.destroy();
  }
  return runs;
}

export interface NetnsLanRun {
  devices: number;
  wall_s: number;
  per_s: number;
  station_cpu_ms_per_device: number;
  station_cpu_ms: number;
  verified: number;
}

export async function benchNetnsLanPath(o: {
  devices: number;
  progress: (m: string) => void;
}): Promise<NetnsLanRun> {
  const fleet = await NetnsFleet.create({
    devices: Array.from({ length: o.devices }, () => ({ onLan: true })),
    adapters: 1,
    bundleDir: await bundleDir(),
    timeScale: 0.1,
    progress: o.progress,
  });
  try {
    await fleet.connectStation('wlan0', LABNET);
    // The embedded responder learns a new interface address on its 15 s poll: let every device
    // reach the LAN's mDNS before the clock starts (discovery is measured on its own below).
    await new Promise((r) => setTimeout(r, 17_000));
    const cpuFile = join(fleet.runDir, 'station-cpu.json');
    o.progress(`  LAN path: ${o.devices} devices, concurrency 32`);
    const job = await timedJob(
      fleet,
      [...fleet.provisionArgs({ lan: true, verifyTimeoutS: 120 }), '--add', '--concurrency', '32'],
      cpuFile,
    );
    const cpu = JSON.parse(await readFile(cpuFile, 'utf8')) as { userUs: number; systemUs: number };
    const cpuMs = (cpu.userUs + cpu.systemUs) / 1000;
    const verified = verifiedOf(job.events).count;
    return {
      devices: o.devices,
      wall_s: job.wallMs / 1000,
      per_s: verified / (job.wallMs / 1000),
      station_cpu_ms: cpuMs,
      station_cpu_ms_per_device: cpuMs / o.devices,
      verified,
    };
  } finally {
    await fleet.destroy();
  }
}

export interface NetnsDiscovery {
  devices: number;
  all_listed_ms: number;
  avahi_all_listed_ms: number;
  /** Median over the changes made; max alongside. */
  address_change_ms: number;
  address_change_max_ms: number;
  address_changes: number[];
  /** Idle RSS of the agents in their namespaces (median), and of a bare Node HTTP server there. */
  netns_agent_rss_mb: number;
  netns_node_baseline_rss_mb: number;
}

export async function benchNetnsDiscovery(o: {
  devices: number;
  changes: number;
  progress: (m: string) => void;
}): Promise<NetnsDiscovery> {
  const fleet = await NetnsFleet.create({
    devices: Array.from({ length: o.devices }, () => ({ onLan: true })),
    adapters: 1,
    bundleDir: await bundleDir(),
    timeScale: 0.1,
    peer: true,
    progress: o.progress,
  });
  let peer: AvahiPeer | undefined;
  try {
    await fleet.connectStation('wlan0', LABNET);
    await new Promise((r) => setTimeout(r, 17_000));
    const ids = new Set(fleet.devices.map((d) => d.deviceId));

    // Idle RSS in the namespaces, with a bare Node HTTP server in one of them for the floor.
    const bare = fleet.spawnIn(fleet.stationNs, 'bare node', process.execPath, [
      '-e',
      "require('node:http').createServer((q, s) => s.end('{}')).listen(0, () => console.log('{\"ev\":\"ready\"}'))",
    ]);
    await bare.waitFor('ready', (e) => e.ev === 'ready', 10_000);
    await new Promise((r) => setTimeout(r, 1500));
    const agentRss = await Promise.all(fleet.devices.map((d) => rssMiB(d.proc.child.pid ?? 0)));
    const bareRss = await rssMiB(bare.child.pid ?? 0);
    await bare.stop();

    o.progress(`  discovery: the station's browser, ${o.devices} services`);
    const browser = fleet.spawnIn(fleet.stationNs, 'browser', process.execPath, [
      '--import',
      'tsx',
      BROWSER_HOST,
    ]);
    const started = await browser.waitFor('started', (e) => e.ev === 'started', 20_000);
    const listed = () => {
      const seen = new Map<string, string[]>();
      for (const e of browser.events)
        if ((e.ev === 'up' || e.ev === 'update') && typeof e['id'] === 'string')
          seen.set(e['id'], e['addresses'] as string[]);
      return seen;
    };
    const all = await browser.waitFor(
      'all listed',
      () => [...ids].every((id) => (listed().get(id)?.length ?? 0) > 0),
      30_000,
    );
    const allListedMs = all.t - started.t;

    o.progress('  discovery: avahi-browse on the same fleet');
    peer = await AvahiPeer.start(fleet, fleet.peerNs ?? '', 'eth0', 'airlift-peer');
    const sent = Date.now();
    const from = peer.browse('_airlift._tcp');
    const end = Date.now() + 30_000;
    let avahiMs = NaN;
    while (Date.now() < end) {
      const resolved = peer.resolved(from);
      const got = [...ids].filter((id) => resolved.has(`Airlift ${id}`));
      if (got.length === ids.size) {
        avahiMs = Math.max(...got.map((id) => resolved.get(`Airlift ${id}`)?.t ?? 0)) - sent;
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }

    o.progress(`  discovery: ${o.changes} address changes`);
    const changes: number[] = [];
    for (let i = 0; i < o.changes; i++) {
      const d: NetnsDevice | undefined = fleet.devices[i];
      if (!d) break;
      const old = listed().get(d.deviceId)?.[0] ?? '';
      const fresh = `192.168.50.${251 + i}`;
      const mark = browser.events.length;
      const at = Date.now();
      await fleet.ip(['addr', 'add', `${fresh}/24`, 'dev', 'wlan0'], d.ns);
      await fleet.ip(['addr', 'del', `${old}/24`, 'dev', 'wlan0'], d.ns);
      const seen = await browser
        .waitFor(
          `${d.deviceId} at ${fresh}`,
          (e) => e['id'] === d.deviceId && ((e['addresses'] as string[] | undefined) ?? []).includes(fresh),
          40_000,
          mark,
        )
        .catch(() => undefined);
      changes.push(seen ? seen.t - at : NaN);
    }
    await browser.stop();
    return {
      devices: o.devices,
      all_listed_ms: allListedMs,
      avahi_all_listed_ms: avahiMs,
      address_change_ms: median(changes),
      address_change_max_ms: Math.max(...changes),
      address_changes: changes,
      netns_agent_rss_mb: median(agentRss),
      netns_node_baseline_rss_mb: bareRss,
    };
  } finally {
    await peer?.stop();
    await fleet.destroy();
  }
}
