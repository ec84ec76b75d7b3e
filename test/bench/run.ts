/** `npm run bench`: prints measured figures and ratios. Not a test: nothing here passes or fails. */
import { benchAgent, median } from './agent';
import { benchApPath, benchLanPath } from './station';

const fmt = (n: number, digits = 1) => n.toFixed(digits);

async function main(): Promise<void> {
  const only = process.argv[2];
  console.log('Airlift benchmarks (this machine: medians where repeated)\n');
  if (!only || only === 'agent') {
    const a = await benchAgent();
    console.log('Agent');
    console.log(
      `  idle RSS          ${fmt(a.agentRssMiB)} MiB   bare Node HTTP server ${fmt(a.bareRssMiB)} MiB   → +${fmt(a.rssOverBareMiB)} MiB (aim ≤ +15)`,
    );
    console.log(
      `                    ${fmt(a.agentTunedRssMiB)} MiB with --max-semi-space-size=2 → +${fmt(a.agentTunedRssMiB - a.bareRssMiB)} MiB`,
    );
    console.log(
      `  start → API ready ${fmt(a.agentReadyMs, 0)} ms   bare Node server ${fmt(a.bareReadyMs, 0)} ms   (aim ≤ 500 ms)`,
    );
    console.log(
      `  bundle            ${fmt(a.bundleKiB, 0)} KiB (gzip ${fmt(a.bundleGzipKiB, 0)} KiB)   dist/agent/airliftd.js`,
    );
    console.log(
      `  PBKDF2 (station)  ${fmt(a.pbkdf2Ms)} ms at the identity's iteration count, precomputed off the critical path`,
    );
    console.log(
      `  handshake         ${fmt(a.handshakeMs)} ms   wifi.set ${fmt(a.pushMs)} ms   → ${fmt(a.handshakePlusPushMs)} ms (aim ≤ 50 ms)\n`,
    );
  }
  if (!only || only === 'station') {
    console.log('Station, AP path (12 devices, fixed join latency)');
    for (const k of [1, 3]) {
      const r = await benchApPath(12, k);
      console.log(
        `  ${k} adapter${k > 1 ? 's' : ' '}  wall ${fmt(r.wallMs / 1000, 2)} s   floor ${fmt(r.floorMs / 1000, 2)} s (⌈${r.devices}/${k}⌉ × ${r.joinMs} ms + one return)   → ${fmt(r.ratio, 3)} × floor (aim ≤ 1.10); ${r.verified}/${r.devices} verified`,
      );
    }
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await benchLanPath(200));
    const rates = runs.map((r) => r.perSecond);
    const l = runs[rates.indexOf(median(rates))] ?? runs[0];
    console.log('Station, LAN path (median of 3 runs)');
    if (l) {
      console.log(
        `  ${l.devices} devices in ${fmt(l.wallMs / 1000, 2)} s → ${fmt(l.perSecond)} devices/s pushed and verified (aim ≥ 50/s; runs ${rates.map((r) => fmt(r)).join(', ')}); ${l.verified}/${l.devices} verified`,
      );
    }
    console.log(
      '  (the 200 agents run in a second process on the other core, state in memory: each real device has its own CPU and disk)',
    );
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
