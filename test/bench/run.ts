/**
 * `npm run bench`: measured figures and ratios, as a table; `npm run bench -- --json`: the same as
 * one JSON object (the last line of stdout; `--out <file>` also writes it there). Not a test:
 * nothing here passes or fails. Parts: `agent`, `station` (the in-process virtual fleet), `netns`
 * (the network lab: root only) — e.g. `npm run bench -- agent netns --json`; all by default.
 */
import { writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { benchAgent, benchCycles, benchStatusLatency, median } from './agent';
import { benchApPath, benchLanPath } from './station';
import {
  benchNetnsApPath,
  benchNetnsDiscovery,
  benchNetnsLanPath,
  cleanupNetnsBundles,
  type NetnsApRun,
} from './netns';

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const round = (n: number, digits = 3) => (Number.isFinite(n) ? Number(n.toFixed(digits)) : null);

const args = process.argv.slice(2);
const json = args.includes('--json');
const outIndex = args.indexOf('--out');
const outFile = outIndex >= 0 ? args[outIndex + 1] : undefined;
const parts = args.filter((a, i) => !a.startsWith('--') && i !== outIndex + 1);
const want = (part: string) => parts.length === 0 || parts.includes(part);
/** Table lines go to stdout, or to stderr with --json (stdout then carries the object only). */
const say = (line = '') => (json ? process.stderr : process.stdout).write(`${line}\n`);

async function main(): Promise<void> {
  const out: Record<string, unknown> = {
    machine: { cpus: cpus().length, loadavg: loadavg().map((x) => round(x, 2)), node: process.version },
    command: `npm run bench -- ${args.join(' ')}`.trim(),
  };
  say('Airlift benchmarks (this machine: medians where repeated)\n');

  if (want('agent')) {
    const a = await benchAgent();
    say('Agent (aims: idle RSS ≤ +15 MiB over bare Node, ready ≤ 500 ms, handshake + wifi.set ≤ 50 ms)');
    say(`  bare Node HTTP server   idle RSS ${fmt(a.bareRssMiB)} MiB   ready ${fmt(a.bareReadyMs, 0)} ms`);
    for (const v of a.variants) {
      const how = [...Object.entries(v.variant.env).map(([k, x]) => `${k}=${x}`), ...v.variant.flags].join(
        ' ',
      );
      say(`  ${v.variant.name}${how ? ` (${how})` : ''}`);
      say(
        `    idle RSS ${fmt(v.rssMiB)} MiB (+${fmt(v.rssMiB - a.bareRssMiB)})   ready ${fmt(v.readyMs, 0)} ms   handshake ${fmt(v.handshakeMs)} ms + wifi.set ${fmt(v.pushMs)} ms = ${fmt(v.handshakeMs + v.pushMs)} ms`,
      );
    }
    say(
      `  bundle ${fmt(a.bundleKiB, 0)} KiB (gzip ${fmt(a.bundleGzipKiB, 0)} KiB) dist/agent/airliftd.js   PBKDF2 (station, precomputed) ${fmt(a.pbkdf2Ms)} ms`,
    );
    const s = await benchStatusLatency(50, 100);
    say(
      `  GET /v1/status, ${s.clients} concurrent keep-alive clients, ${s.requests} requests: p50 ${fmt(s.p50Ms, 2)} ms, p99 ${fmt(s.p99Ms, 2)} ms (aim p99 ≤ 5 ms)`,
    );
    const c = await benchCycles(500);
    say(
      `  ${c.cycles} provisioning cycles (session, wifi.set, trial, commit): idle RSS ${fmt(c.rssBeforeMiB)} → ${fmt(c.rssAfterMiB)} MiB (${c.growthPct >= 0 ? '+' : ''}${fmt(c.growthPct)} %, aim ≤ +10 %), ${fmt(c.cycleMs)} ms a cycle\n`,
    );
    const unit = a.variants[1] ?? a.variants[0];
    out['agent'] = {
      rss_mb: round(unit?.rssMiB ?? NaN, 1),
      node_baseline_rss_mb: round(a.bareRssMiB, 1),
      ready_ms: round(unit?.readyMs ?? NaN, 0),
      bundle_kb: round(a.bundleKiB, 0),
      bundle_gzip_kb: round(a.bundleGzipKiB, 0),
      handshake_ms: round(unit?.handshakeMs ?? NaN, 2),
      wifi_set_ms: round(unit?.pushMs ?? NaN, 2),
      status_p50_ms: round(s.p50Ms, 2),
      status_p99_ms: round(s.p99Ms, 2),
      status_clients: s.clients,
      rss_before_cycles_mb: round(c.rssBeforeMiB, 1),
      rss_after_500_cycles_mb: round(c.rssAfterMiB, 1),
      rss_growth_pct: round(c.growthPct, 1),
      cycle_ms: round(c.cycleMs, 1),
      flags: unit?.variant.flags ?? [],
    };
  }

  if (want('station')) {
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
    say('  (the 200 agents run in a second process on the other core, state in memory)\n');
    out['sim'] = sim;
  }

  if (want('netns')) {
    if (process.getuid?.() !== 0) {
      say('Network lab: SKIPPED (needs root: network namespaces)\n');
      out['netnsSkipped'] = 'needs root';
    } else {
      const progress = (m: string) => process.stderr.write(`    ${m}\n`);
      const joinMs = 2000;
      const devices = 50;
      say(`Network lab, AP path (${devices} devices in namespaces, join latency fixed at ${joinMs} ms)`);
      const line = (r: NetnsApRun, what: string) =>
        say(
          `  ${r.adapters} adapter${r.adapters > 1 ? 's' : ' '} ${what}  wall ${fmt(r.wall_s, 1)} s   floor ${fmt(r.floor_s, 1)} s   → ${fmt(r.ratio, 3)} × floor (aim ≤ 1.10); ${r.verified}/${devices} verified; join median ${fmt(r.join_median_ms, 0)} ms, verify tail ${fmt(r.verify_tail_s, 1)} s`,
        );
      const shipped = await benchNetnsApPath({ devices, adapters: [1, 3], joinMs, noPing: false, progress });
      for (const r of shipped) line(r, 'setup AP dnsmasq as generated');
      const noPing = await benchNetnsApPath({ devices, adapters: [1, 3], joinMs, noPing: true, progress });
      for (const r of noPing) line(r, 'setup AP dnsmasq + no-ping   ');
      const ap = (r: NetnsApRun | undefined) =>
        r && {
          wall_s: round(r.wall_s, 1),
          floor_s: round(r.floor_s, 1),
          ratio: round(r.ratio),
          verified: r.verified,
          join_median_ms: round(r.join_median_ms, 0),
          verify_tail_s: round(r.verify_tail_s, 1),
        };
      out['apPath'] = {
        devices,
        join_ms: joinMs,
        adapters1: ap(shipped.find((r) => r.adapters === 1)),
        adapters3: ap(shipped.find((r) => r.adapters === 3)),
        noPing: {
          adapters1: ap(noPing.find((r) => r.adapters === 1)),
          adapters3: ap(noPing.find((r) => r.adapters === 3)),
        },
      };

      const lan = await benchNetnsLanPath({ devices: 200, progress });
      say(`Network lab, LAN path (${lan.devices} agents in namespaces on the same 2 cores as the station)`);
      say(
        `  ${lan.verified}/${lan.devices} verified in ${fmt(lan.wall_s, 1)} s → ${fmt(lan.per_s)} devices/s (aim ≥ 50/s); station CPU ${fmt(lan.station_cpu_ms, 0)} ms = ${fmt(lan.station_cpu_ms_per_device, 2)} ms a device (aim < 20 ms)`,
      );
      out['lanPath'] = {
        devices: lan.devices,
        per_s: round(lan.per_s, 1),
        station_cpu_ms_per_device: round(lan.station_cpu_ms_per_device, 2),
        wall_s: round(lan.wall_s, 1),
        verified: lan.verified,
      };

      const disc = await benchNetnsDiscovery({ devices: 50, changes: 5, progress });
      say(`Network lab, discovery (${disc.devices} agents on LabNet)`);
      say(
        `  all ${disc.devices} listed by the station's browser in ${fmt(disc.all_listed_ms, 0)} ms (aim ≤ 1500 ms); by avahi-browse in ${fmt(disc.avahi_all_listed_ms, 0)} ms`,
      );
      say(
        `  a device's new address noticed in ${fmt(disc.address_change_ms, 0)} ms (median of ${disc.address_changes.length}, max ${fmt(disc.address_change_max_ms, 0)} ms; aim ≤ 2000 ms)`,
      );
      say(
        `  idle RSS of an agent in its namespace ${fmt(disc.netns_agent_rss_mb)} MiB (median of ${disc.devices}); bare Node HTTP server there ${fmt(disc.netns_node_baseline_rss_mb)} MiB\n`,
      );
      out['discovery'] = {
        devices: disc.devices,
        all_listed_ms: round(disc.all_listed_ms, 0),
        address_change_ms: round(disc.address_change_ms, 0),
        address_change_max_ms: round(disc.address_change_max_ms, 0),
        address_changes_ms: disc.address_changes.map((x) => round(x, 0)),
        avahi_all_listed_ms: round(disc.avahi_all_listed_ms, 0),
      };
      await cleanupNetnsBundles();
      out['netnsAgent'] = {
        rss_mb: round(disc.netns_agent_rss_mb, 1),
        node_baseline_rss_mb: round(disc.netns_node_baseline_rss_mb, 1),
      };
    }
  }

  out['loadavgAfter'] = loadavg().map((x) => round(x, 2));
  if (json) process.stdout.write(`${JSON.stringify(out)}\n`);
  if (outFile) await writeFile(outFile, `${JSON.stringify(out, null, 2)}\n`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
