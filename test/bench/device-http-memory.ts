/**
 * What one oversized device answer costs the station: a device on loopback (its own process)
 * answers `GET /v1/status` with a 400 MB JSON body, and a station process reads it through the
 * engine's DeviceApi, once with the global fetch and once with the undici transport. Each client is
 * a fresh process, so its peak RSS (getrusage maxrss) is its own. Prints figures; passes or fails
 * nothing. Run: `npx tsx test/bench/device-http-memory.ts [megabytes=400] [--chunked] [variant]`
 * (`--chunked`: no Content-Length, so only the byte count read can stop it).
 * (decision 0011)
 */
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { DeviceApi } from '../../main/engine/device-api';
import type { FetchLike } from '../../shared/session/client';

type Variant = 'global-fetch' | 'undici-transport';
interface ClientReport {
  variant: Variant;
  outcome: string;
  baselineRssMiB: number;
  peakRssMiB: number;
  ms: number;
}

const MiB = 1024 * 1024;
const self = fileURLToPath(import.meta.url);

/** A device whose status is `{"state":"AAAA…"}`, `megabytes` long, streamed from one reused chunk. */
function device(megabytes: number, chunked: boolean): void {
  const total = megabytes * MiB;
  const head = Buffer.from('{"state":"');
  const tail = Buffer.from('"}');
  const chunk = Buffer.alloc(MiB, 0x41);
  const server = createServer((_req, res) => {
    res.writeHead(200, {
      'content-type': 'application/json',
      ...(chunked ? {} : { 'content-length': String(total) }),
    });
    res.write(head);
    let left = total - head.length - tail.length;
    const pump = () => {
      while (left > 0 && !res.destroyed) {
        const n = Math.min(left, chunk.length);
        left -= n;
        if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          res.once('drain', pump);
          return;
        }
      }
      if (!res.destroyed) res.end(tail);
    };
    pump();
  });
  server.listen(0, '127.0.0.1', () => {
    process.send?.((server.address() as AddressInfo).port);
  });
}

async function client(variant: Variant, port: number): Promise<void> {
  let fetchLike: FetchLike;
  let close = () => Promise.resolve();
  if (variant === 'global-fetch') {
    // What main/cli/airlift-bin.ts used before decision 0011.
    fetchLike = (url, init) => fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
  } else {
    const { UndiciDeviceTransport } = await import('../../main/engine/device-http');
    const t = new UndiciDeviceTransport();
    fetchLike = t.fetch;
    close = () => t.close();
  }
  const api = new DeviceApi(`http://127.0.0.1:${port}`, fetchLike, 60_000);
  global.gc?.();
  const baselineRssMiB = process.memoryUsage().rss / MiB;
  const started = performance.now();
  const outcome = await api.status().then(
    () => 'read it all',
    (err: unknown) => `refused: ${(err as { code?: string }).code ?? ''} ${(err as Error).message}`,
  );
  const ms = performance.now() - started;
  await close();
  const report: ClientReport = {
    variant,
    outcome: outcome.slice(0, 160),
    baselineRssMiB,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    ms,
  };
  process.send?.(report);
}

function child(args: string[]): Promise<{ message: unknown; done: Promise<void>; kill: () => void }> {
  const c = fork(self, args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [...process.execArgv],
  });
  return new Promise((resolve, reject) => {
    c.once('message', (message: unknown) =>
      resolve({
        message,
        done: new Promise((r) => c.once('exit', () => r())),
        kill: () => c.kill(),
      }),
    );
    c.once('exit', (code) => reject(new Error(`child ${args.join(' ')} exited with ${code}`)));
  });
}

async function main(args: string[]): Promise<void> {
  const megabytes = Number(args.find((a) => /^\d+$/.test(a)) ?? 400);
  const chunked = args.includes('--chunked');
  const only = args.find((a): a is Variant => a === 'global-fetch' || a === 'undici-transport');
  const server = await child(['--device', String(megabytes), chunked ? 'chunked' : 'sized']);
  console.log(
    `A device answers GET /v1/status with ${megabytes} MiB of JSON, ${chunked ? 'chunked (no Content-Length)' : 'with its Content-Length'} (loopback, separate process)`,
  );
  for (const variant of ['global-fetch', 'undici-transport'] as const) {
    if (only && only !== variant) continue;
    const c = await child(['--client', variant, String(server.message)]);
    await c.done;
    const r = c.message as ClientReport;
    console.log(
      `  ${r.variant.padEnd(17)} peak RSS ${r.peakRssMiB.toFixed(0).padStart(5)} MiB (idle ${r.baselineRssMiB.toFixed(0)} MiB, +${(r.peakRssMiB - r.baselineRssMiB).toFixed(0)})  ${r.ms.toFixed(0)} ms  ${r.outcome}`,
    );
  }
  server.kill();
}

const [mode, a, b] = process.argv.slice(2);
if (mode === '--device') device(Number(a), b === 'chunked');
else if (mode === '--client') void client(a as Variant, Number(b));
else void main(process.argv.slice(2));
