/**
 * Agent figures, measured side by side in one run (medians; this machine is shared and noisy):
 * idle RSS against a bare Node HTTP server started with the same Node flags, process start → API
 * ready, bundle size, the loopback latency of a SPAKE2+ handshake plus a `wifi.set`, `/v1/status`
 * latency under concurrent clients (and a bare Node server's under the same load, the floor this
 * load generator and machine impose), and RSS over many provisioning cycles.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { deriveProverSecrets } from '../../shared/crypto/airlift';
import { openSession } from '../../shared/session/client';

const ID = 'K7Q2M6XA';
const SECRET = 'ABCDEFGHIJKLMNOPQRSTUVWXYQ';
const BARE_SERVER = `require('node:http').createServer((q, s) => s.end('{}')).listen(0, '127.0.0.1', function () { console.log('listening http://127.0.0.1:' + this.address().port); });`;

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};

interface Started {
  child: ChildProcess;
  url: string;
  readyMs: number;
}

/** Spawn, and time until the API answers (first line `listening URL`, then a GET that succeeds). */
async function startAndTime(args: string[], env: Record<string, string> = {}): Promise<Started> {
  const t0 = performance.now();
  const child = spawn(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, ...env },
  });
  const rl = createInterface({ input: child.stdout });
  const url = await new Promise<string>((resolve, reject) => {
    rl.once('line', (line) =>
      line.startsWith('listening ') ? resolve(line.slice(10)) : reject(new Error(line)),
    );
    child.once('exit', (code) => reject(new Error(`exited ${code}`)));
  });
  for (;;) {
    try {
      const res = await fetch(`${url}/v1/info`);
      await res.arrayBuffer();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 2));
    }
  }
  return { child, url, readyMs: performance.now() - t0 };
}

async function rssMiB(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

const deviceArgs = (stateDir: string) => [
  'dist/lab/device.js',
  '--id',
  ID,
  '--secret',
  SECRET,
  '--listen',
  '127.0.0.1:0',
  '--log-level',
  'warn',
  '--state-dir',
  stateDir,
];

/** How the agent's Node runs: flags and environment. */
export interface RunVariant {
  name: string;
  flags: string[];
  env: Record<string, string>;
}

/**
 * The Node flags and environment the systemd unit starts airliftd with (packaging/airliftd.service),
 * so the figures are those of what ships.
 */
export function serviceVariant(unitText: string): RunVariant {
  const exec = /^ExecStart=(\S+)\s+(.*?)\s+\/\S+airliftd\.js/m.exec(unitText);
  const flags = exec?.[2]?.split(/\s+/).filter((f) => f.startsWith('--')) ?? [];
  const env: Record<string, string> = {};
  for (const m of unitText.matchAll(/^Environment=(\w+)=(\S*)$/gm)) if (m[1]) env[m[1]] = m[2] ?? '';
  return { name: 'as the unit runs it', flags, env };
}

/** `AIRLIFT_BENCH_FLAGS="--flag ..."` adds a variant, to try other Node flags side by side. */
const extra = process.env.AIRLIFT_BENCH_FLAGS?.split(/\s+/).filter((f) => f !== '') ?? [];

export const VARIANTS: RunVariant[] = [
  { name: 'default flags', flags: [], env: {} },
  serviceVariant(readFileSync(new URL('../../packaging/airliftd.service', import.meta.url), 'utf8')),
  ...(extra.length > 0 ? [{ name: 'AIRLIFT_BENCH_FLAGS', flags: extra, env: {} }] : []),
];

export interface VariantFigures {
  variant: RunVariant;
  rssMiB: number;
  readyMs: number;
  handshakeMs: number;
  pushMs: number;
}

export interface AgentFigures {
  /** The bare server with default flags. */
  bareRssMiB: number;
  bareReadyMs: number;
  /** The bare server with each variant's flags and environment, by variant. */
  bareRssByVariantMiB: number[];
  variants: VariantFigures[];
  bundleKiB: number;
  bundleGzipKiB: number;
  pbkdf2Ms: number;
}

export async function benchAgent(rounds = 5): Promise<AgentFigures> {
  // A device's identity is made once, at the factory (airliftctl provision-identity), and it boots
  // with it. Provision once here, then measure boots with the stored identity.
  const stateDir = await mkdtemp(join(tmpdir(), 'airlift-bench-'));
  await stop((await startAndTime(deviceArgs(stateDir))).child);
  const bareReady: number[] = [];
  const bareRss = VARIANTS.map(() => [] as number[]);
  const rss = VARIANTS.map(() => [] as number[]);
  const ready = VARIANTS.map(() => [] as number[]);
  for (let i = 0; i < rounds; i++) {
    const bares: Started[] = [];
    const started: Started[] = [];
    for (const [k, v] of VARIANTS.entries()) {
      const b = await startAndTime([...v.flags, '-e', BARE_SERVER], v.env);
      bares.push(b);
      if (k === 0) bareReady.push(b.readyMs);
      const a = await startAndTime([...v.flags, ...deviceArgs(stateDir)], v.env);
      started.push(a);
      ready[k]?.push(a.readyMs);
    }
    await new Promise((r) => setTimeout(r, 1500)); // let them settle to idle
    for (const [k, b] of bares.entries()) bareRss[k]?.push(await rssMiB(b.child.pid ?? 0));
    for (const [k, a] of started.entries()) rss[k]?.push(await rssMiB(a.child.pid ?? 0));
    await Promise.all([...bares, ...started].map((a) => stop(a.child)));
  }

  // Handshake + push on loopback, PBKDF2 precomputed as the station does off the critical path.
  let secrets: { w0: Uint8Array; w1: Uint8Array } | undefined;
  let pbkdf2Ms = NaN;
  const variants: VariantFigures[] = [];
  for (const [k, v] of VARIANTS.entries()) {
    const a = await startAndTime([...v.flags, ...deviceArgs(stateDir)], v.env);
    const info = (await (await fetch(`${a.url}/v1/info`)).json()) as { id: string };
    const handshake: number[] = [];
    const push: number[] = [];
    for (let i = 0; i < 30; i++) {
      const t0 = performance.now();
      const session = await openSession({
        baseUrl: a.url,
        deviceId: info.id,
        deriveSecrets: (salt, iter) => {
          if (!secrets) {
            const p0 = performance.now();
            secrets = deriveProverSecrets(SECRET, ID, salt, iter);
            pbkdf2Ms = performance.now() - p0;
          }
          return secrets;
        },
        fetch: (u, init) => fetch(u, init),
      });
      const t1 = performance.now();
      await session.call('wifi.set', {
        networks: [{ ssid: 'LabNet', passphrase: 'correct horse' }],
        mode: 'add',
        apply: 'later',
        nonce: '0123456789abcdef',
      });
      const t2 = performance.now();
      if (i > 0) {
        handshake.push(t1 - t0);
        push.push(t2 - t1);
      }
    }
    await stop(a.child);
    variants.push({
      variant: v,
      rssMiB: median(rss[k] ?? []),
      readyMs: median(ready[k] ?? []),
      handshakeMs: median(handshake),
      pushMs: median(push),
    });
  }

  await rm(stateDir, { recursive: true, force: true });
  const bundle = await readFile('dist/agent/airliftd.js');
  const { size } = await stat('dist/agent/airliftd.js');
  return {
    bareRssMiB: median(bareRss[0] ?? []),
    bareReadyMs: median(bareReady),
    bareRssByVariantMiB: bareRss.map((xs) => median(xs)),
    variants,
    bundleKiB: size / 1024,
    bundleGzipKiB: gzipSync(bundle).length / 1024,
    pbkdf2Ms,
  };
}

// ---- under load -----------------------------------------------------------------------------------

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}

/** One GET over a keep-alive agent of its own, from `localAddress` (each client its own address). */
function getOnce(url: string, agent: HttpAgent, localAddress: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = httpRequest(url, { agent, localAddress }, (res) => {
      res.resume();
      res.on('end', () => resolve(performance.now() - t0));
    });
    req.on('error', reject);
    req.end();
  });
}

export interface StatusLatency {
  clients: number;
  requests: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * `GET /v1/status` on a running agent (the lab device, as the unit runs it) — or, `bare`, on a bare
 * Node HTTP server with the same flags, for the floor of this load — from `clients` concurrent
 * keep-alive clients, each from its own loopback address (the agent allows 32 sockets per
 * address), `perClient` requests each after a warm-up: back to back, or (`intervalMs`) each
 * client one request every `intervalMs`, staggered. The clients run in this process: on 2 cores,
 * they and the server share the machine.
 */
export async function benchStatusLatency(
  clients = 50,
  perClient = 100,
  target: 'agent' | 'bare' = 'agent',
  intervalMs?: number,
): Promise<StatusLatency> {
  const stateDir = await mkdtemp(join(tmpdir(), 'airlift-bench-status-'));
  const v = VARIANTS[1] ?? { flags: [], env: {} };
  const a = await startAndTime(
    [...v.flags, ...(target === 'agent' ? deviceArgs(stateDir) : ['-e', BARE_SERVER])],
    v.env,
  );
  try {
    const url = `${a.url}/v1/status`;
    const agents = Array.from({ length: clients }, () => new HttpAgent({ keepAlive: true, maxSockets: 1 }));
    const from = (i: number) => `127.0.0.${2 + i}`;
    await Promise.all(agents.map((ag, i) => getOnce(url, ag, from(i))));
    const times: number[] = [];
    await Promise.all(
      agents.map(async (ag, i) => {
        const start = performance.now() + (intervalMs ?? 0) * (i / clients);
        for (let n = 0; n < perClient; n++) {
          if (intervalMs !== undefined) {
            const wait = start + n * intervalMs - performance.now();
            if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          }
          times.push(await getOnce(url, ag, from(i)));
        }
      }),
    );
    for (const ag of agents) ag.destroy();
    return { clients, requests: times.length, p50Ms: percentile(times, 50), p99Ms: percentile(times, 99) };
  } finally {
    await stop(a.child);
    await rm(stateDir, { recursive: true, force: true });
  }
}

export interface CycleFigures {
  cycles: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  /** Idle RSS after every `checkpoint` cycles (no settling pause), to tell a plateau from a leak. */
  rssCheckpointsMiB: number[];
  growthPct: number;
  cycleMs: number;
}

/**
 * Provisioning cycles against one running agent (sim radio at time scale 0): a SPAKE2+ session,
 * `wifi.set` (confirm), the device on trial, `device.commit`, online — `cycles` times after a
 * warm-up; idle RSS before and after.
 */
export async function benchCycles(
  cycles = 500,
  warmup = 20,
  checkpoint = 100,
  progress: (m: string) => void = () => undefined,
): Promise<CycleFigures> {
  const stateDir = await mkdtemp(join(tmpdir(), 'airlift-bench-cycles-'));
  const v = VARIANTS[1] ?? { flags: [], env: {} };
  const a = await startAndTime([...v.flags, ...deviceArgs(stateDir), '--time-scale', '0'], v.env);
  let secrets: { w0: Uint8Array; w1: Uint8Array } | undefined;
  const stateOf = async () => ((await (await fetch(`${a.url}/v1/status`)).json()) as { state: string }).state;
  const cycle = async (n: number) => {
    const session = await openSession({
      baseUrl: a.url,
      deviceId: ID,
      deriveSecrets: (salt, iter) => (secrets ??= deriveProverSecrets(SECRET, ID, salt, iter)),
      fetch: (u, init) => fetch(u, init),
    });
    const nonce = n.toString(16).padStart(16, '0');
    await session.call('wifi.set', {
      networks: [{ ssid: 'LabNet', passphrase: 'correct horse' }],
      mode: 'replace',
      commit: 'confirm',
      failsafeSeconds: 60,
      nonce,
    });
    for (let i = 0; i < 2000 && (await stateOf()) !== 'failsafe'; i++)
      await new Promise((r) => setTimeout(r, 2));
    await session.call('device.commit', { nonce });
    for (let i = 0; i < 2000 && (await stateOf()) !== 'online'; i++)
      await new Promise((r) => setTimeout(r, 2));
  };
  try {
    for (let n = 1; n <= warmup; n++) await cycle(n);
    await new Promise((r) => setTimeout(r, 2000));
    const rssBeforeMiB = await rssMiB(a.child.pid ?? 0);
    const t0 = performance.now();
    const rssCheckpointsMiB: number[] = [];
    for (let n = warmup + 1; n <= warmup + cycles; n++) {
      await cycle(n);
      if ((n - warmup) % checkpoint === 0) {
        rssCheckpointsMiB.push(await rssMiB(a.child.pid ?? 0));
        progress(`${n - warmup}/${cycles} cycles, RSS ${rssCheckpointsMiB.at(-1)?.toFixed(1)} MiB`);
      }
    }
    const cycleMs = (performance.now() - t0) / cycles;
    await new Promise((r) => setTimeout(r, 2000));
    const rssAfterMiB = await rssMiB(a.child.pid ?? 0);
    return {
      cycles,
      rssBeforeMiB,
      rssAfterMiB,
      rssCheckpointsMiB,
      growthPct: ((rssAfterMiB - rssBeforeMiB) / rssBeforeMiB) * 100,
      cycleMs,
    };
  } finally {
    await stop(a.child);
    await rm(stateDir, { recursive: true, force: true });
  }
}
