/** `npm run bench`: prints measured figures and ratios. Not a test: nothing here passes or fails. */
import { benchAgent } from './agent';

const fmt = (n: number, digits = 1) => n.toFixed(digits);

async function main(): Promise<void> {
  console.log('Airlift benchmarks (medians of several runs on this machine)\n');
  const a = await benchAgent();
  console.log('Agent');
  console.log(
    `  idle RSS          ${fmt(a.agentRssMiB)} MiB   bare Node HTTP server ${fmt(a.bareRssMiB)} MiB   → +${fmt(a.rssOverBareMiB)} MiB (aim ≤ +15)`,
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
    `  handshake         ${fmt(a.handshakeMs)} ms   wifi.set ${fmt(a.pushMs)} ms   → ${fmt(a.handshakePlusPushMs)} ms (aim ≤ 50 ms)`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
