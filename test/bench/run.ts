/** `npm run bench`: prints measured figures and ratios. Not a test: nothing here passes or fails. */
import { benchAgent, median } from './agent';
import { benchApPath, benchLanPath } from './station';

const fmt = (n: number, digits = 1) => n.toFixed(digits);

async function main(): Promise<void> {
  const only = process.argv[2];
  console.log('Airlift benchmarks (this machine: medians where repeated)\n');
  if (!only || only === 'agent') {
    const a = await benchAgent();
    console.log(
      'Agent (aims: idle RSS ≤ +15 MiB over bare Node, ready ≤ 500 ms, handshake + wifi.set ≤ 50 ms)',
    );
    console.log(
      `  bare Node HTTP server   idle RSS ${fmt(a.bareRssMiB)} MiB   ready ${fmt(a.bareReadyMs, 0)} ms`,
    );
    for (const v of a.variants) {
      const how = [...Object.entries(v.variant.env).map(([k, x]) => `${k}=${x}`), ...v.variant.flags].join(
        ' ',
      );
      console.log(`  ${v.variant.name}${how ? ` (${how})` : ''}`);
      console.log(
        `    idle RSS ${fmt(v.rssMiB)} MiB (+${fmt(v.rssMiB - a.bareRssMiB)})   ready ${fmt(v.readyMs, 0)} ms   handshake ${fmt(v.handshakeMs)} ms + wifi.set ${fmt(v.pushMs)} ms = ${fmt(v.handshakeMs + v.pushMs)} ms`,
      );
    }
    console.log(
      `  bundle ${fmt(a.bundleKiB, 0)} KiB (gzip ${fmt(a.bundleGzipKiB, 0)} KiB) dist/agent/airliftd.js   PBKDF2 (station, precomputed) ${fmt(a.pbkdf2Ms)} ms\n`,
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
