/**
 * `npm run bench`: measured figures against their aims, as a table; `npm run bench -- --json`: the
 * same as one JSON object (the only line on stdout; the table and progress go to stderr);
 * `--out <file>` also writes it there. Not a test: nothing here passes or fails. Results and aims:
 * docs/performance.md.
 *
 * Parts: `agent`; `netns-ap` (AP path, then discovery on the same devices) and `netns-lan` (the
 * network lab, root only; `netns` is both); `station` (the engine on the in-process virtual fleet,
 * no namespaces). By default: agent and netns as root, agent and station otherwise — e.g.
 * `npm run bench -- agent netns-lan --json`. `--profile <dir>`: every station CLI of the network
 * lab runs under `node --cpu-prof` (bundles unminified), and the table shows where its time went;
 * slower, since a profiled CLI is left to exit by itself.
 */
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { benchAgent, benchCycles, benchStatusLatency, median } from './agent';
import { benchApPath, benchLanPath } from './station';
import {
  benchNetnsApAndDiscovery,
  benchNetnsLanPath,
  cleanupNetnsBundles,
  profileStationInto,
  type JobCpu,
  type NetnsApRun,
} from './netns';
import type { ProfileSummary } from './profile';

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const round = (n: number, digits = 3) => (Number.isFinite(n) ? Number(n.toFixed(digits)) : null);

const args = process.argv.slice(2);
const json = args.includes('--json');
const valueOf = (flag: string) => {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
};
const outFile = valueOf('--out');
const profileDir = valueOf('--profile');
const parts = args.filter(
  (a, i) => !a.startsWith('--') && !['--out', '--profile'].includes(args[i - 1] ?? ''),
);
const root = process.getuid?.() === 0;
const want = (part: string) =>
  parts.length === 0
    ? part === 'agent' || (root ? part.startsWith('netns') : part === 'station')
    : parts.includes(part) || (part.startsWith('netns-') && parts.includes('netns'));

/** Table lines go to stdout, or to stderr with --json (stdout then carries the object only). */
const say = (line = '') => (json ? process.stderr : process.stdout).write(`${line}\n`);
const t0 = performance.now();
const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(0).padStart(4)} s`;
/** Progress of the long parts, on stderr, with the time since the start. */
const progress = (m: string) => process.stderr.write(`  [${elapsed()}] ${m}\n`);
const load = () => loadavg().map((x) => round(x, 2));

/** Who used the CPU during a job: the station, the devices, the lab, and everyone else. */
function cpuShares(stationMs: number, c: JobCpu, devices: number) {
  return {
    station_ms: round(stationMs, 0),
    devices_ms: round(c.devicesMs, 0),
    devices_ms_per_device: round(c.devicesMs / devices, 1),
    lab_ms: round(c.labMs, 0),
    irq_ms: round(c.machineIrqMs, 0),
    steal_ms: round(c.machineStealMs, 0),
    others_ms: round(
      c.machineBusyMs - stationMs - c.devicesMs - c.labMs - c.machineIrqMs - c.machineStealMs,
      0,
    ),
    machine_busy_ms: round(c.machineBusyMs, 0),
    machine_capacity_ms: round(c.machineCapacityMs, 0),
  };
}

function sayCpu(stationMs: number, c: JobCpu, devices: number): void {
  const x = cpuShares(stationMs, c, devices);
  say(
    `      CPU during the job, ms: station ${x.station_ms}, devices ${x.devices_ms} (${x.devices_ms_per_device} each), lab ${x.lab_ms}, interrupts ${x.irq_ms}, steal ${x.steal_ms}, other processes ${x.others_ms}; machine busy ${x.machine_busy_ms} of ${x.machine_capacity_ms}`,
  );
}

function sayProfile(p: ProfileSummary | undefined): void {
  if (!p) return;
  say(`      profile of the station CLI, ${fmt(p.busyMs, 0)} ms busy samples; by module:`);
  for (const m of p.byModule.slice(0, 8)) say(`        ${fmt(m.pct, 1).padStart(5)} %  ${m.what}`);
  say('      busiest functions:');
  for (const f of p.topFunctions.slice(0, 6)) say(`        ${fmt(f.pct, 1).padStart(5)} %  ${f.what}`);
}

async function main(): Promise<void> {
  const loadByPart: Record<string, (number | null)[]> = { start: load() };
  const out: Record<string, unknown> = {
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, loadavg: loadByPart },
    command: `npm run bench -- ${args.join(' ')}`.trim(),
  };
  if (profileDir) profileStationInto(profileDir);
  say(`Airlift benchmarks (${cpus().length} cores, Node ${process.version}, load ${load().join(' ')})\n`);

  if (want('agent')) {
    progress('agent: starts, idle RSS, handshakes');
    const a = await benchAgent();
    const unitIndex = a.variants.length > 1 ? 1 : 0;
    say('Agent (the lab device bundle dist/lab/device.js: the agent with a sim radio, on loopback)');
    say(`  bare Node HTTP server   idle RSS ${fmt(a.bareRssMiB)} MiB   ready ${fmt(a.bareReadyMs, 0)} ms`);
    for (const [k, v] of a.variants.entries()) {
      const how = [...Object.entries(v.variant.env).map(([n, x]) => `${n}=${x}`), ...v.variant.flags].join(
        ' ',
      );
      const base = a.bareRssByVariantMiB[k] ?? NaN;
      say(`  ${v.variant.name}${how ? ` (${how})` : ''}`);
      say(
        `    idle RSS ${fmt(v.rssMiB)} MiB, bare Node with these flags ${fmt(base)} MiB: +${fmt(v.rssMiB - base)} (aim ≤ +15)   ready ${fmt(v.readyMs, 0)} ms (aim ≤ 500)   handshake ${fmt(v.handshakeMs)} ms + wifi.set ${fmt(v.pushMs)} ms`,
      );
    }
    say(
      `  bundle ${fmt(a.bundleKiB, 0)} KiB (gzip ${fmt(a.bundleGzipKiB, 0)} KiB) dist/agent/airliftd.js   PBKDF2 (station, precomputed) ${fmt(a.pbkdf2Ms)} ms`,
    );
    loadByPart['agent_start'] = load();
    progress('agent: /v1/status under 50 concurrent clients (agent, then a bare Node server)');
    const s = await benchStatusLatency(50, 100, 'agent');
    const sb = await benchStatusLatency(50, 100, 'bare');
    const sp = await benchStatusLatency(50, 40, 'agent', 100);
    say(
      `  GET /v1/status, ${s.clients} concurrent keep-alive clients back to back, ${s.requests} requests: p50 ${fmt(s.p50Ms, 2)} ms, p99 ${fmt(s.p99Ms, 2)} ms (aim p99 ≤ 5 ms); a bare Node server under the same load: p50 ${fmt(sb.p50Ms, 2)} ms, p99 ${fmt(sb.p99Ms, 2)} ms`,
    );
    say(
      `  the same 50 clients paced, each one request every 100 ms (500 a second): p50 ${fmt(sp.p50Ms, 2)} ms, p99 ${fmt(sp.p99Ms, 2)} ms`,
    );
    loadByPart['agent_status'] = load();
    progress('agent: 500 provisioning cycles');
    const c = await benchCycles(500, 20, 100, (m) => progress(`  ${m}`));
    say(
      `  ${c.cycles} provisioning cycles (session, wifi.set, trial, commit): idle RSS ${fmt(c.rssBeforeMiB)} → ${fmt(c.rssAfterMiB)} MiB (${c.growthPct >= 0 ? '+' : ''}${fmt(c.growthPct)} %, aim ≤ +10 %; every 100: ${c.rssCheckpointsMiB.map((x) => fmt(x)).join(', ')}), ${fmt(c.cycleMs)} ms a cycle\n`,
    );
    loadByPart['agent_cycles'] = load();
    const unit = a.variants[unitIndex];
    out['agent'] = {
      rss_mb: round(unit?.rssMiB ?? NaN, 1),
      node_baseline_rss_mb: round(a.bareRssByVariantMiB[unitIndex] ?? NaN, 1),
      node_baseline_default_flags_rss_mb: round(a.bareRssMiB, 1),
      ready_ms: round(unit?.readyMs ?? NaN, 0),
      node_baseline_ready_ms: round(a.bareReadyMs, 0),
      bundle_kb: round(a.bundleKiB, 0),
      bundle_gzip_kb: round(a.bundleGzipKiB, 0),
      handshake_ms: round(unit?.handshakeMs ?? NaN, 2),
      wifi_set_ms: round(unit?.pushMs ?? NaN, 2),
      status_p50_ms: round(s.p50Ms, 2),
      status_p99_ms: round(s.p99Ms, 2),
      status_clients: s.clients,
      status_node_baseline_p50_ms: round(sb.p50Ms, 2),
      status_node_baseline_p99_ms: round(sb.p99Ms, 2),
      status_paced_100ms_p50_ms: round(sp.p50Ms, 2),
      status_paced_100ms_p99_ms: round(sp.p99Ms, 2),
      rss_before_cycles_mb: round(c.rssBeforeMiB, 1),
      rss_after_500_cycles_mb: round(c.rssAfterMiB, 1),
      rss_growth_pct: round(c.growthPct, 1),
      rss_every_100_cycles_mb: c.rssCheckpointsMiB.map((x) => round(x, 1)),
      cycle_ms: round(c.cycleMs, 1),
      flags: unit?.variant.flags ?? [],
      default_flags: {
        rss_mb: round(a.variants[0]?.rssMiB ?? NaN, 1),
        ready_ms: round(a.variants[0]?.readyMs ?? NaN, 0),
      },
    };
  }

  if (want('station')) {
    progress('station on the in-process virtual fleet');
    say('Station on the in-process virtual fleet, AP path (12 devices, fixed join latency)');
    const sim: Record<string, unknown> = {};
    for (const k of [1, 3]) {
      const r = await benchApPath(12, k);
      say(
        `  ${k} adapter${k > 1 ? 's' : ' '}  wall ${fmt(r.wallMs / 1000, 2)} s   floor ${fmt(r.floorMs / 1000, 2)} s (⌈${r.devices}/${k}⌉ × ${r.joinMs} ms + one return)   → ${fmt(r.ratio, 3)} × floor (aim ≤ 1.10); ${r.verified}/${r.devices} verified`,
      );
      sim[`apAdapters${k}`] = {
        wall_s: round(r.wallMs / 1000),
        floor_s: round(r.floorMs / 1000),
        ratio: round(r.ratio),
      };
    }
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await benchLanPath(200));
    const rates = runs.map((r) => r.perSecond);
    const l = runs[rates.indexOf(median(rates))] ?? runs[0];
    say('Station on the in-process virtual fleet, LAN path (median of 3 runs)');
    if (l) {
      say(
        `  ${l.devices} devices in ${fmt(l.wallMs / 1000, 2)} s → ${fmt(l.perSecond)} devices/s pushed and verified (aim ≥ 50/s; runs ${rates.map((r) => fmt(r)).join(', ')}); ${l.verified}/${l.devices} verified`,
      );
      sim['lanPath'] = { devices: l.devices, per_s: round(l.perSecond, 1) };
    }
    say('  (the 200 agents run in a second process, state in memory)\n');
    out['sim'] = sim;
    loadByPart['station'] = load();
  }

  const netns = want('netns-ap') || want('netns-lan');
  if (netns && !root) {
    say('Network lab: SKIPPED (needs root: network namespaces)\n');
    out['netnsSkipped'] = 'needs root';
  }
  if (netns && root && want('netns-ap')) {
    const joinMs = 2000;
    const devices = 50;
    const r = await benchNetnsApAndDiscovery({
      devices,
      joinMs,
      runs: [{ adapters: 1 }, { adapters: 3 }],
      discoveryRounds: 3,
      addressChanges: 5,
      progress,
    });
    say(
      `Network lab, AP path (${devices} devices in namespaces, each fresh from the factory; association fixed at ${joinMs} ms)`,
    );
    const line = (x: NetnsApRun) => {
      say(
        `  ${x.adapters} adapter${x.adapters > 1 ? 's' : ' '}  wall ${fmt(x.wall_s, 1)} s   floor ${fmt(x.floor_s, 1)} s   → ${fmt(x.ratio, 3)} × floor (aim ≤ 1.10); ${x.verified}/${devices} verified`,
      );
      const st = x.steps_ms;
      say(
        `      a lane's join: association ${fmt(x.join_associate_ms, 0)} ms + DHCP ${fmt(x.join_lease_ms, 0)} ms + reachable ${fmt(x.join_reachable_ms, 0)} ms; then session ${fmt(st['session'] ?? NaN, 0)} ms, link check ${fmt(st['linkCheck'] ?? NaN, 0)} ms, push ${fmt(st['pushing'] ?? NaN, 0)} ms (medians); verify tail ${fmt(x.verify_tail_s, 1)} s; station CPU ${fmt(x.station_cpu_ms, 0)} ms`,
      );
      sayCpu(x.station_cpu_ms, x.cpu, devices);
      sayProfile(x.profile);
    };
    r.ap.forEach(line);
    const ap = (x: NetnsApRun | undefined) =>
      x && {
        wall_s: round(x.wall_s, 1),
        floor_s: round(x.floor_s, 1),
        ratio: round(x.ratio),
        verified: x.verified,
        join_associate_ms: round(x.join_associate_ms, 0),
        join_lease_ms: round(x.join_lease_ms, 0),
        join_reachable_ms: round(x.join_reachable_ms, 0),
        steps_ms: Object.fromEntries(Object.entries(x.steps_ms).map(([k, v]) => [k, round(v, 0)])),
        verify_tail_s: round(x.verify_tail_s, 1),
        station_cpu_ms: round(x.station_cpu_ms, 0),
        cpu: cpuShares(x.station_cpu_ms, x.cpu, devices),
      };
    const shipped = (k: number) => r.ap.find((x) => x.adapters === k);
    out['apPath'] = {
      devices,
      join_ms: joinMs,
      adapters1: ap(shipped(1)),
      adapters3: ap(shipped(3)),
    };
    const d = r.discovery;
    say(
      `Network lab, discovery (${d.devices} agents on LabNet, the AP path's devices; medians of ${d.all_listed_rounds_ms.length} rounds)`,
    );
    say(
      `  all ${d.devices} listed by the station's browser in ${fmt(d.all_listed_ms, 0)} ms (aim ≤ 1500 ms; rounds ${d.all_listed_rounds_ms.map((x) => fmt(x, 0)).join(', ')}); by avahi-browse in ${fmt(d.avahi_all_listed_ms, 0)} ms (rounds ${d.avahi_rounds_ms.map((x) => fmt(x, 0)).join(', ')})`,
    );
    say(
      `  a device's new address noticed in ${fmt(d.address_change_ms, 0)} ms (median of ${d.address_changes.length}: ${d.address_changes.map((x) => fmt(x, 0)).join(', ')}; aim ≤ 2000 ms)`,
    );
    say(
      `  idle RSS of an agent in its namespace ${fmt(d.netns_agent_rss_mb)} MiB (median); bare Node HTTP server there ${fmt(d.netns_node_baseline_rss_mb)} MiB\n`,
    );
    out['discovery'] = {
      devices: d.devices,
      all_listed_ms: round(d.all_listed_ms, 0),
      address_change_ms: round(d.address_change_ms, 0),
      avahi_all_listed_ms: round(d.avahi_all_listed_ms, 0),
      all_listed_rounds_ms: d.all_listed_rounds_ms.map((x) => round(x, 0)),
      avahi_rounds_ms: d.avahi_rounds_ms.map((x) => round(x, 0)),
      address_change_max_ms: round(d.address_change_max_ms, 0),
      address_changes_ms: d.address_changes.map((x) => round(x, 0)),
    };
    out['netnsAgent'] = {
      rss_mb: round(d.netns_agent_rss_mb, 1),
      node_baseline_rss_mb: round(d.netns_node_baseline_rss_mb, 1),
    };
    loadByPart['netns_ap'] = load();
  }
  if (netns && root && want('netns-lan')) {
    const lan = await benchNetnsLanPath({ devices: 200, progress });
    say(`Network lab, LAN path (${lan.devices} agents in namespaces on the same cores as the station)`);
    say(
      `  ${lan.verified}/${lan.devices} verified in ${fmt(lan.wall_s, 1)} s → ${fmt(lan.per_s)} devices/s (aim ≥ 50/s); station CPU ${fmt(lan.station_cpu_ms, 0)} ms = ${fmt(lan.station_cpu_ms_per_device, 2)} ms a device (aim < 20 ms)`,
    );
    const st = lan.steps_ms;
    say(
      `      a device's steps (medians): session ${fmt(st['session'] ?? NaN, 0)} ms, link check ${fmt(st['linkCheck'] ?? NaN, 0)} ms, push ${fmt(st['pushing'] ?? NaN, 0)} ms, pushed → awaited ${fmt(st['pushed'] ?? NaN, 0)} ms, awaiting its advertisement ${fmt(st['awaiting'] ?? NaN, 0)} ms`,
    );
    say(
      `      phases began at (s): ${Object.entries(lan.phases_s)
        .map(([k, v]) => `${k} ${fmt(v, 1)}`)
        .join(', ')}`,
    );
    say(
      `      an idle agent uses ${fmt(lan.devices_idle_cpu_ms_per_s, 1)} ms of CPU a second (measured before the job)`,
    );
    say(
      `      station CPU: user ${fmt(lan.station_cpu_user_ms, 0)} ms, system ${fmt(lan.station_cpu_system_ms, 0)} ms`,
    );
    sayCpu(lan.station_cpu_ms, lan.cpu, lan.devices);
    sayProfile(lan.profile);
    say();
    out['lanPath'] = {
      devices: lan.devices,
      per_s: round(lan.per_s, 1),
      station_cpu_ms_per_device: round(lan.station_cpu_ms_per_device, 2),
      wall_s: round(lan.wall_s, 1),
      verified: lan.verified,
      station_cpu_ms: round(lan.station_cpu_ms, 0),
      station_cpu_user_ms: round(lan.station_cpu_user_ms, 0),
      station_cpu_system_ms: round(lan.station_cpu_system_ms, 0),
      phases_s: Object.fromEntries(Object.entries(lan.phases_s).map(([k, v]) => [k, round(v, 1)])),
      cpu: cpuShares(lan.station_cpu_ms, lan.cpu, lan.devices),
      devices_idle_cpu_ms_per_s: round(lan.devices_idle_cpu_ms_per_s, 2),
      steps_ms: Object.fromEntries(Object.entries(st).map(([k, v]) => [k, round(v, 0)])),
    };
    loadByPart['netns_lan'] = load();
  }
  if (netns && root) await cleanupNetnsBundles();

  out['runtime_s'] = round((performance.now() - t0) / 1000, 0);
  say(`(${elapsed().trim()} in all; load ${load().join(' ')})`);
  if (json) process.stdout.write(`${JSON.stringify(out)}\n`);
  if (outFile) await writeFile(outFile, `${JSON.stringify(out, null, 2)}\n`);
}

main().catch(async (err: unknown) => {
  console.error(err);
  await cleanupNetnsBundles().catch(() => undefined);
  process.exit(1);
});
