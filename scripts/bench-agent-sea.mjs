// `node scripts/bench-agent-sea.mjs [rounds]`: figures for decision 0009, measured the way
// test/bench/agent.ts measures the agent (the lab device: the real agent on a sim radio, so nothing
// on this machine's network changes): process start → API ready (the `listening URL` line, then a
// GET /v1/info that answers) and idle RSS 1.5 s later, medians, the variants interleaved.
// Variants: the system Node running the ESM bundle (what the `all` package does), the pinned Node 24
// running the same bundle, and the same device as a single executable (Node 24, SEA). Also the
// start of `airliftd --version` as a bundle and as the packaged executable. Prints; never fails.
/* global fetch, setTimeout */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { debArchForNodeArch, seaUnit } from './sea/config.mjs';
import { bundleCjs, hostNode, makeBlob, makeExecutable, mib } from './sea/build.mjs';

const rounds = Number(process.argv[2] ?? 7);
const ID = 'K7Q2M6XA';
const SECRET = 'ABCDEFGHIJKLMNOPQRSTUVWXYQ';
const version = JSON.parse(readFileSync('package.json', 'utf8')).version;
const work = resolve('dist/sea/bench');
const deb = debArchForNodeArch(process.arch);
const packaged = resolve(`dist/sea/${deb}/airliftd`);
if (!existsSync('dist/lab/device.js') || !existsSync('dist/portal/index.html')) {
  throw new Error('run `npm run build` (or `npm run package:agent:sea`) first');
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

async function startAndTime(cmd, args) {
  const t0 = performance.now();
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  const rl = createInterface({ input: child.stdout });
  const url = await new Promise((res, rej) => {
    rl.once('line', (line) => (line.startsWith('listening ') ? res(line.slice(10)) : rej(new Error(line))));
    child.once('exit', (code) => rej(new Error(`${cmd} exited ${code}`)));
  });
  for (;;) {
    try {
      await (await fetch(`${url}/v1/info`)).arrayBuffer();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 2));
    }
  }
  return { child, readyMs: performance.now() - t0 };
}

const rssMiB = (pid) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
const stop = (child) =>
  new Promise((res) => {
    child.once('exit', res);
    child.kill('SIGTERM');
  });

// The lab device as a single executable, built as the packages are (same execArgv as the unit).
const { execArgv } = seaUnit(readFileSync('packaging/airliftd.service', 'utf8'));
const node24 = hostNode();
const bundle = await bundleCjs({ entry: 'lab/device-cli.ts', outfile: join(work, 'device.cjs'), version });
const blobBytes = makeBlob({ node: node24, bundle, blob: join(work, 'device.blob'), execArgv });
const built = await makeExecutable({ deb, blobBytes, exe: join(work, 'lab-device.built') });
// Copied in small writes, as dpkg unpacks it: a file written in one go (postject, llvm-strip) can sit
// in the page cache as large folios, and mapping those inflated RSS by ~20 MiB on this kernel.
const exe = join(work, 'lab-device');
execFileSync('cp', [built.exe, exe]);

const stateDir = mkdtempSync(join(tmpdir(), 'airlift-sea-bench-'));
const device = ['--id', ID, '--secret', SECRET, '--listen', '127.0.0.1:0', '--log-level', 'warn'];
const tail = [...device, '--state-dir', stateDir, '--portal-dir', 'dist/portal'];
const variants = [
  {
    name: `system Node ${process.version}, bundle`,
    cmd: process.execPath,
    args: [...execArgv, 'dist/lab/device.js', ...tail],
  },
  {
    name: `pinned Node ${spawnSync(node24, ['--version'], { encoding: 'utf8' }).stdout.trim()}, bundle`,
    cmd: node24,
    args: [...execArgv, 'dist/lab/device.js', ...tail],
  },
  { name: 'single executable (SEA)', cmd: exe, args: tail },
];
try {
  await stop((await startAndTime(variants[0].cmd, variants[0].args)).child); // provision once
  const figures = variants.map(() => ({ ready: [], rss: [] }));
  for (let i = 0; i < rounds; i++) {
    for (const [k, v] of variants.entries()) {
      const { child, readyMs } = await startAndTime(v.cmd, v.args);
      await new Promise((r) => setTimeout(r, 1500));
      figures[k].ready.push(readyMs);
      figures[k].rss.push(rssMiB(child.pid));
      await stop(child);
    }
  }
  console.log(`Agent (lab device), ${rounds} rounds, medians; node flags ${execArgv.join(' ')}`);
  for (const [k, v] of variants.entries()) {
    const f = figures[k];
    console.log(
      `  ${v.name.padEnd(34)} start → API ready ${median(f.ready).toFixed(0).padStart(4)} ms   idle RSS ${median(f.rss).toFixed(1)} MiB`,
    );
  }
} finally {
  rmSync(stateDir, { recursive: true, force: true });
}

// `airliftd --version`: start to exit, bundle on the system Node against the packaged executable.
const timeRun = (cmd, args) => {
  const t = [];
  for (let i = 0; i < rounds * 2; i++) {
    const t0 = performance.now();
    spawnSync(cmd, args, { stdio: 'ignore' });
    t.push(performance.now() - t0);
  }
  return median(t);
};
console.log('airliftd --version (start to exit)');
console.log(
  `  system Node, dist/agent/airliftd.js  ${timeRun(process.execPath, ['dist/agent/airliftd.js', '--version']).toFixed(0)} ms`,
);
if (existsSync(packaged)) {
  execFileSync('cp', [packaged, join(work, 'airliftd')]);
  console.log(`  ${packaged} (copied)  ${timeRun(join(work, 'airliftd'), ['--version']).toFixed(0)} ms`);
  console.log(`  ${packaged}  ${timeRun(packaged, ['--version']).toFixed(0)} ms`);
}
console.log('Sizes');
console.log(
  `  dist/agent/airliftd.js + airliftctl.js  ${mib(statSync('dist/agent/airliftd.js').size + statSync('dist/agent/airliftctl.js').size)}`,
);
console.log(`  ${exe} (lab device)  ${mib(statSync(exe).size)}`);
for (const d of ['amd64', 'arm64']) {
  const f = `dist/sea/${d}/airliftd`;
  if (existsSync(f)) console.log(`  ${f}  ${mib(statSync(f).size)}`);
  const p = `dist/airlift-agent_${version}_${d}.deb`;
  if (existsSync(p)) console.log(`  ${p}  ${mib(statSync(p).size)}`);
}
const all = `dist/airlift-agent_${version}_all.deb`;
if (existsSync(all)) console.log(`  ${all}  ${(statSync(all).size / 1024).toFixed(0)} KiB`);
