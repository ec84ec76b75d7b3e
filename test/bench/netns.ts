/**
 * Benchmarks on the network lab (lab/netns-fleet.ts): real agent processes in namespaces, the real
 * station CLI, real DHCP, mDNS and HTTP; only the radio simulated, with a fixed join latency.
 *
 * - AP path: wall time of `airlift provision` for 50 devices in setup mode, from the job's start to
 *   its last verification (restoring the technician's network comes after), against the radio
 *   floor ⌈N/K⌉ × join + one return join, with 1 and 3 adapters, on devices fresh from the factory
 *   (their setup AP's DHCP server has never seen the station). Each lane join is timed in parts
 *   (association, DHCP lease, reachability) and every device's steps are kept, so the figure says
 *   where the time beyond the floor goes.
 * - Discovery, on the same 50 devices, now on LabNet: time until the station's browser lists all
 *   50, and until avahi-browse (a real avahi-daemon in a wired host's namespace, started fresh) has
 *   resolved all 50, alternately, each with nobody else browsing; then how long the browser takes
 *   to notice a device's new address (the old one removed, a new one added, as a new lease does).
 * - LAN path: 200 devices already on LabNet, `provision --lan`: devices per second, and the
 *   station's own CPU time per device (its process's user + system time, from process.cpuUsage()
 *   in the station process when the command returns, so the figure means something on a 2-core
 *   machine where 200 agents compete with it).
 * Root only; prints nothing itself but progress (run.ts prints the figures).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { buildNetnsBundles } from '../../lab/netns-build';
import { LABNET, NetnsFleet, WORKSHOP, type NetnsDevice } from '../../lab/netns-fleet';
import type { LineEvent } from '../../lab/netns-proc';
import { AvahiPeer } from '../helpers/avahi-peer';
import { median } from './agent';
import { summarizeCpuProfile, type ProfileSummary } from './profile';

const BROWSER_HOST = fileURLToPath(new URL('./netns-browser-host.ts', import.meta.url));

type Progress = (m: string) => void;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- profiling and bundles ------------------------------------------------------------------------

let profileDir: string | undefined;

/**
 * Profile the station's CLI process of every job (`node --cpu-prof`, one directory a job under
 * `dir`), with the bundles built unminified so the profile names modules. A profiled job waits
 * for the CLI to exit by itself, which it does only once its verify timeout has passed.
 */
export function profileStationInto(dir: string): void {
  profileDir = dir;
}

let bundles: Promise<string> | undefined;
const bundleDir = () => (bundles ??= buildNetnsBundles(undefined, { minify: profileDir === undefined }));

/** Remove the bundles built for this run. */
export async function cleanupNetnsBundles(): Promise<void> {
  if (bundles) await rm(await bundles, { recursive: true, force: true });
  bundles = undefined;
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
}

// ---- CPU accounting ------------------------------------------------------------------------------

let ticks: number | undefined;
const clockTicks = () =>
  (ticks ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100);

/** utime + stime + cutime + cstime of a process, ms: its own CPU and that of the children it reaped. */
function cpuOfPid(pid: string): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 1000) / clockTicks();
  } catch {
    return 0;
  }
}

/** CPU time of every process in these namespaces (one pass over /proc), ms. */
function namespacesCpuMs(namespaces: string[]): number {
  const inodes = new Set<number>();
  for (const ns of namespaces) {
    try {
      inodes.add(statSync(`/run/netns/${ns}`).ino);
    } catch {
      // gone
    }
  }
  let ms = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (inodes.has(statSync(`/proc/${pid}/ns/net`).ino)) ms += cpuOfPid(pid);
    } catch {
      // exited meanwhile
    }
  }
  return ms;
}

/**
 * The whole machine's CPU time so far (/proc/stat), ms: busy, of which interrupts (irq, softirq:
 * the bridges' and veths' packet work lands there too) and steal (the hypervisor's), and in all.
 */
function machineCpuMs(): { busy: number; irq: number; steal: number; total: number } {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').split(/\s+/).slice(1).map(Number);
  const ms = (n: number) => (n * 1000) / clockTicks();
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return {
    busy: ms(total - idle),
    irq: ms((f[5] ?? 0) + (f[6] ?? 0)),
    steal: ms(f[7] ?? 0),
    total: ms(total),
  };
}

/** Who used the machine's CPU while a job ran, ms: the devices, this process, everything. */
export interface JobCpu {
  /** Every process in the devices' namespaces: agents and what they ran (dnsmasq, udhcpc, ip). */
  devicesMs: number;
  /** This process: the airspace controller and the lab's bookkeeping. */
  labMs: number;
  /** All CPUs' busy time (interrupts and steal included), and their capacity (cores × wall). */
  machineBusyMs: number;
  machineIrqMs: number;
  machineStealMs: number;
  machineCapacityMs: number;
}

function cpuMark(fleet: NetnsFleet): () => JobCpu {
  const namespaces = fleet.devices.map((d) => d.ns);
  const devices0 = namespacesCpuMs(namespaces);
  const lab0 = process.cpuUsage();
  const m0 = machineCpuMs();
  return () => {
    const lab = process.cpuUsage(lab0);
    const m = machineCpuMs();
    return {
      devicesMs: namespacesCpuMs(namespaces) - devices0,
      labMs: (lab.user + lab.system) / 1000,
      machineBusyMs: m.busy - m0.busy,
      machineIrqMs: m.irq - m0.irq,
      machineStealMs: m.steal - m0.steal,
      machineCapacityMs: m.total - m0.total,
    };
  };
}

/** The devices' CPU while nobody provisions them, ms per device per second. */
async function idleDevicesCpu(fleet: NetnsFleet, ms: number): Promise<number> {
  const namespaces = fleet.devices.map((d) => d.ns);
  const before = namespacesCpuMs(namespaces);
  await sleep(ms);
  return (namespacesCpuMs(namespaces) - before) / fleet.devices.length / (ms / 1000);
}

// ---- one job --------------------------------------------------------------------------------------

export interface StepMedians {
  [step: string]: number;
}

interface JobRun {
  events: LineEvent[];
  wallMs: number;
  /** When the station began its return to the technician's network (the verify phase for LAN). */
  returnAt: number;
  lastResultAt: number;
  verified: number;
  /** The station process's own CPU time (user + system) until the command returned. */
  cpuMs: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  /** Everyone else's CPU over the same time. */
  others: JobCpu;
  /** Median time each device spent in each step (the station's device-result timings). */
  steps: StepMedians;
  /** When each phase of the job began, s from its start (the last one seen of each name). */
  phases: Record<string, number>;
  /** Lane joins onto setup APs, in parts (lab/netns-wifi-adapter.ts `joinLog`). */
  joins: { associateMs: number; leaseMs: number; reachableMs: number }[];
  profile?: ProfileSummary;
}

/**
 * Run the station's `provision` and time it from the receipts of its JSON events. The CLI stays
 * alive after its job until the verify timeout passes (see docs/performance.md): once it has
 * returned (its CPU file is written) it is stopped, unless it is being profiled.
 */
async function timedJob(
  fleet: NetnsFleet,
  args: string[],
  label: string,
  setupSsids: (ssidHex: string) => boolean = () => true,
): Promise<JobRun> {
  const cpuFile = join(fleet.runDir, `station-cpu-${label}.json`);
  const joinLog = join(fleet.runDir, `station-joins-${label}.jsonl`);
  const profile = profileDir ? join(profileDir, label) : undefined;
  const mark = cpuMark(fleet);
  const run = fleet.station([...args, '--json'], {
    cpuFile,
    joinLog,
    nodeFlags: profile ? ['--cpu-prof', `--cpu-prof-dir=${profile}`] : [],
  });
  if (profile) await run.done;
  else {
    while (!existsSync(cpuFile) && !run.proc.exit) await sleep(100);
    await sleep(100);
    await run.proc.stop(200);
  }
  const others = mark();
  const events = run.proc.events;
  const started = events.find((e) => e.ev === 'job-started')?.t ?? NaN;
  const results = events.filter((e) => e.ev === 'device-result');
  const lastResultAt = Math.max(...results.map((e) => e.t));
  const returnAt =
    events.find((e) => e.ev === 'phase' && (e['phase'] === 'return' || e['phase'] === 'verify'))?.t ??
    lastResultAt;
  const outcomes = results.map(
    (e) => e['outcome'] as { step: string; timings?: Record<string, number> } | undefined,
  );
  const byStep = new Map<string, number[]>();
  for (const o of outcomes)
    for (const [step, ms] of Object.entries(o?.timings ?? {}))
      byStep.set(step, [...(byStep.get(step) ?? []), ms]);
  const cpu = JSON.parse(await readFile(cpuFile, 'utf8').catch(() => '{}')) as {
    userUs?: number;
    systemUs?: number;
  };
  const joins = (await readFile(joinLog, 'utf8').catch(() => ''))
    .split('\n')
    .filter((l) => l !== '')
    .map(
      (l) => JSON.parse(l) as { ssidHex: string; associateMs: number; leaseMs: number; reachableMs: number },
    )
    .filter((j) => setupSsids(j.ssidHex));
  let summary: ProfileSummary | undefined;
  if (profile) {
    const file = (await readdir(profile).catch(() => [])).find((f) => f.endsWith('.cpuprofile'));
    if (file) summary = await summarizeCpuProfile(join(profile, file));
  }
  return {
    events,
    wallMs: lastResultAt - started,
    returnAt,
    lastResultAt,
    verified: outcomes.filter((o) => o?.step === 'verified').length,
    cpuMs: ((cpu.userUs ?? NaN) + (cpu.systemUs ?? NaN)) / 1000,
    cpuUserMs: (cpu.userUs ?? NaN) / 1000,
    cpuSystemMs: (cpu.systemUs ?? NaN) / 1000,
    others,
    steps: Object.fromEntries([...byStep].map(([s, xs]) => [s, median(xs)])),
    phases: Object.fromEntries(
      events.filter((e) => e.ev === 'phase').map((e) => [String(e['phase']), (e.t - started) / 1000]),
    ),
    joins,
    ...(summary ? { profile: summary } : {}),
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

/**
 * Back to the factory, as after a real reboot: networks and meta gone, and /run empty — so the
 * setup AP's dnsmasq has no lease from an earlier run (lab/netns-fleet.ts `factoryReset` keeps the
 * device's runtime directory, where a real device has tmpfs).
 */
async function freshFromFactory(fleet: NetnsFleet, d: NetnsDevice): Promise<void> {
  await fleet.powerCut(d);
  for (const f of ['networks.json', 'meta.json']) await rm(join(d.stateDir, f), { force: true });
  await rm(d.runtimeDir, { recursive: true, force: true });
  d.spec = { ...d.spec, onLan: false };
  await fleet.powerOn(d);
  await fleet.settled(d, 60_000);
}

// ---- AP path, then discovery on the same devices ------------------------------------------------------

export interface NetnsApRun {
  adapters: number;
  wall_s: number;
  floor_s: number;
  ratio: number;
  verified: number;
  /** Medians of a lane's join onto a setup AP, in parts. */
  join_associate_ms: number;
  join_lease_ms: number;
  join_reachable_ms: number;
  /** Median time a device spent in each step, as the station timed it. */
  steps_ms: StepMedians;
  /** From the lane's return to the last device verified. */
  verify_tail_s: number;
  station_cpu_ms: number;
  cpu: JobCpu;
  profile?: ProfileSummary;
}

export interface NetnsDiscovery {
  devices: number;
  /** Medians over the rounds; each round a fresh browser process, then a fresh avahi-daemon. */
  all_listed_ms: number;
  avahi_all_listed_ms: number;
  all_listed_rounds_ms: number[];
  avahi_rounds_ms: number[];
  /** Median over the changes made; max alongside. */
  address_change_ms: number;
  address_change_max_ms: number;
  address_changes: number[];
  /** Idle RSS of the agents in their namespaces (median), and of a bare Node HTTP server there. */
  netns_agent_rss_mb: number;
  netns_node_baseline_rss_mb: number;
}

export interface NetnsApAndDiscovery {
  ap: NetnsApRun[];
  discovery: NetnsDiscovery;
}

export async function benchNetnsApAndDiscovery(o: {
  devices: number;
  joinMs: number;
  /** Runs in order, each on devices fresh from the factory. */
  runs: { adapters: number }[];
  discoveryRounds: number;
  addressChanges: number;
  progress: Progress;
}): Promise<NetnsApAndDiscovery> {
  const fleet = await NetnsFleet.create({
    devices: Array.from({ length: o.devices }, () => ({})),
    adapters: Math.max(...o.runs.map((r) => r.adapters)),
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
    peer: true,
    progress: o.progress,
  });
  let peer: AvahiPeer | undefined;
  try {
    await fleet.connectStationToWorkshop();
    const labNetHex = Buffer.from(LABNET.ssid).toString('hex');
    const workshopHex = Buffer.from(WORKSHOP.ssid).toString('hex');
    const ap: NetnsApRun[] = [];
    for (const [i, r] of o.runs.entries()) {
      if (i > 0) {
        o.progress(`factory reset of ${o.devices} devices`);
        await inParallel(fleet.devices, 6, (d) => freshFromFactory(fleet, d));
      }
      o.progress(`AP path: ${o.devices} devices, ${r.adapters} adapter(s)`);
      const job = await timedJob(
        fleet,
        [
          ...fleet.provisionArgs({ verifyTimeoutS: 90 }),
          '--chunk-size',
          String(o.devices),
          ...fleet.adapters.slice(0, r.adapters).flatMap((a) => ['--adapter', a]),
        ],
        `ap-${r.adapters}`,
        (ssidHex) => ssidHex !== labNetHex && ssidHex !== workshopHex,
      );
      const floorMs = Math.ceil(o.devices / r.adapters) * o.joinMs + o.joinMs;
      ap.push({
        adapters: r.adapters,
        wall_s: job.wallMs / 1000,
        floor_s: floorMs / 1000,
        ratio: job.wallMs / floorMs,
        verified: job.verified,
        join_associate_ms: median(job.joins.map((j) => j.associateMs)),
        join_lease_ms: median(job.joins.map((j) => j.leaseMs)),
        join_reachable_ms: median(job.joins.map((j) => j.reachableMs)),
        steps_ms: job.steps,
        verify_tail_s: (job.lastResultAt - job.returnAt) / 1000,
        station_cpu_ms: job.cpuMs,
        cpu: job.others,
        ...(job.profile ? { profile: job.profile } : {}),
      });
      o.progress(
        `  ${job.verified}/${o.devices} verified, ${(job.wallMs / 1000).toFixed(1)} s = ${(job.wallMs / floorMs).toFixed(2)} × floor`,
      );
    }

    // Discovery: the devices the last run verified are online on LabNet, advertised there.
    const online = fleet.devices.filter((d) => fleet.stateOf(d) === 'online');
    const ids = new Set(online.map((d) => d.deviceId));
    await fleet.connectStation('wlan0', LABNET);
    await sleep(2000);

    // Idle RSS in the namespaces, with a bare Node HTTP server in one of them for the floor.
    const bare = fleet.spawnIn(fleet.stationNs, 'bare node', process.execPath, [
      '-e',
      "require('node:http').createServer((q, s) => s.end('{}')).listen(0, () => console.log('{\"ev\":\"ready\"}'))",
    ]);
    await bare.waitFor('ready', (e) => e.ev === 'ready', 10_000);
    await sleep(1500);
    const agentRss = await Promise.all(online.map((d) => rssMiB(d.proc.child.pid ?? 0)));
    const bareRss = await rssMiB(bare.child.pid ?? 0);
    await bare.stop();

    const startBrowser = async () => {
      const b = fleet.spawnIn(fleet.stationNs, 'browser', process.execPath, [
        '--import',
        'tsx',
        BROWSER_HOST,
      ]);
      const started = await b.waitFor('started', (e) => e.ev === 'started', 20_000);
      return { b, started };
    };
    /** Addresses per device id, from the browser's events up to index `upTo`. */
    const listedBy = (events: LineEvent[], upTo = events.length) => {
      const seen = new Map<string, string[]>();
      for (const e of events.slice(0, upTo))
        if ((e.ev === 'up' || e.ev === 'update') && typeof e['id'] === 'string')
          seen.set(e['id'], e['addresses'] as string[]);
      return seen;
    };
    const complete = (seen: Map<string, string[]>) => [...ids].every((id) => (seen.get(id)?.length ?? 0) > 0);

    const listedRounds: number[] = [];
    const avahiRounds: number[] = [];
    for (let round = 0; round < o.discoveryRounds; round++) {
      o.progress(
        `discovery round ${round + 1}/${o.discoveryRounds}: the station's browser, ${ids.size} services`,
      );
      const { b, started } = await startBrowser();
      // The event that completed the set: the browser's time for all of them.
      const done = await b
        .waitFor('all listed', (e) => complete(listedBy(b.events, b.events.indexOf(e) + 1)), 30_000)
        .catch(() => undefined);
      listedRounds.push(done ? done.t - started.t : NaN);
      await b.stop();
      await sleep(1500); // nobody browsing: the responders' one-per-second multicast limit has passed

      o.progress(`discovery round ${round + 1}/${o.discoveryRounds}: avahi-browse, a fresh avahi-daemon`);
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
        await sleep(20);
      }
      avahiRounds.push(avahiMs);
      await peer.stop();
      peer = undefined;
      await sleep(1500);
    }

    o.progress(`discovery: ${o.addressChanges} address changes`);
    const { b: browser } = await startBrowser();
    await browser
      .waitFor('all listed', () => complete(listedBy(browser.events)), 30_000)
      .catch(() => undefined);
    const changes: number[] = [];
    for (let i = 0; i < o.addressChanges; i++) {
      const d = online[i];
      if (!d) break;
      const old = listedBy(browser.events).get(d.deviceId)?.[0] ?? '';
      const fresh = `192.168.50.${251 - i}`;
      const mark = browser.events.length;
      // A new lease: the old address goes, the new one comes (deleting the primary address first:
      // deleting it after adding would take the new, secondary one with it).
      await fleet.ip(['addr', 'del', `${old}/24`, 'dev', 'wlan0'], d.ns);
      await fleet.ip(['addr', 'add', `${fresh}/24`, 'dev', 'wlan0'], d.ns);
      const at = Date.now();
      await fleet.ip(['route', 'replace', 'default', 'via', '192.168.50.1', 'dev', 'wlan0'], d.ns);
      const seen = await browser
        .waitFor(
          `${d.deviceId} at ${fresh}`,
          (e) => e['id'] === d.deviceId && ((e['addresses'] as string[] | undefined) ?? []).includes(fresh),
          25_000,
          mark,
        )
        .catch(() => undefined);
      changes.push(seen ? seen.t - at : NaN);
      o.progress(`  ${d.deviceId}: ${seen ? `${seen.t - at} ms` : 'not noticed in 25 s'}`);
    }
    await browser.stop();
    return {
      ap,
      discovery: {
        devices: ids.size,
        all_listed_ms: median(listedRounds),
        avahi_all_listed_ms: median(avahiRounds),
        all_listed_rounds_ms: listedRounds,
        avahi_rounds_ms: avahiRounds,
        address_change_ms: median(changes),
        address_change_max_ms: Math.max(...changes),
        address_changes: changes,
        netns_agent_rss_mb: median(agentRss),
        netns_node_baseline_rss_mb: bareRss,
      },
    };
  } finally {
    await peer?.stop();
    await fleet.destroy();
  }
}

// ---- LAN path -------------------------------------------------------------------------------------

export interface NetnsLanRun {
  devices: number;
  wall_s: number;
  per_s: number;
  station_cpu_ms_per_device: number;
  station_cpu_ms: number;
  station_cpu_user_ms: number;
  station_cpu_system_ms: number;
  verified: number;
  steps_ms: StepMedians;
  /** When each phase of the job began, s from its start. */
  phases_s: Record<string, number>;
  cpu: JobCpu;
  /** An idle agent's CPU, ms per second, measured before the job. */
  devices_idle_cpu_ms_per_s: number;
  profile?: ProfileSummary;
}

export async function benchNetnsLanPath(o: { devices: number; progress: Progress }): Promise<NetnsLanRun> {
  const fleet = await NetnsFleet.create({
    devices: Array.from({ length: o.devices }, () => ({ onLan: true })),
    adapters: 1,
    bundleDir: await bundleDir(),
    timeScale: 0.1,
    progress: o.progress,
  });
  try {
    await fleet.connectStation('wlan0', LABNET);
    // Let every device's advertisement reach the LAN before the clock starts (the embedded
    // responder advertises again within about 2 s of a new address; discovery is measured on its own).
    o.progress('waiting 5 s: every agent advertised on LabNet (then 5 s of their idle CPU)');
    await sleep(5000);
    const idle = await idleDevicesCpu(fleet, 5000);
    o.progress(`LAN path: ${o.devices} devices, concurrency 32`);
    const job = await timedJob(
      fleet,
      [...fleet.provisionArgs({ lan: true, verifyTimeoutS: 120 }), '--add', '--concurrency', '32'],
      'lan',
    );
    o.progress(`  ${job.verified}/${o.devices} verified in ${(job.wallMs / 1000).toFixed(1)} s`);
    return {
      devices: o.devices,
      wall_s: job.wallMs / 1000,
      per_s: job.verified / (job.wallMs / 1000),
      station_cpu_ms: job.cpuMs,
      station_cpu_ms_per_device: job.cpuMs / o.devices,
      station_cpu_user_ms: job.cpuUserMs,
      station_cpu_system_ms: job.cpuSystemMs,
      verified: job.verified,
      steps_ms: job.steps,
      phases_s: job.phases,
      cpu: job.others,
      devices_idle_cpu_ms_per_s: idle,
      ...(job.profile ? { profile: job.profile } : {}),
    };
  } finally {
    await fleet.destroy();
  }
}
