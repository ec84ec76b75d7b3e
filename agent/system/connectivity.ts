/**
 * Real connectivity checks: gateway reachable (TCP connect to port 53 or 80 — a refusal also proves it
 * is there), DNS names resolve, NTP servers answer an SNTP request, URLs answer 2xx/3xx. Each check
 * has its own timeout; none throws.
 */
import { Resolver } from 'node:dns/promises';
import { createSocket } from 'node:dgram';
import { Socket } from 'node:net';
import type { CheckResult, ConnectivityPort, ConnectivityTargets } from '../ports/connectivity';
import type { Lease } from '../ports/radio';

function since(start: number): number {
  return Math.round(performance.now() - start);
}

/** Resolves true when the host answers on `port` (connected or actively refused). */
function tcpReachable(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code === 'ECONNREFUSED'));
    socket.connect(port, host);
  });
}

/** One SNTP (RFC 4330) client request; true when a server-mode reply arrives. */
function ntpAnswers(host: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    const timer = setTimeout(() => finish(false), timeoutMs);
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      sock.close();
      resolve(ok);
    };
    sock.once('error', () => finish(false));
    sock.once('message', (msg) => finish(msg.length >= 48 && ((msg[0] ?? 0) & 0x07) === 4));
    const req = Buffer.alloc(48);
    req[0] = (4 << 3) | 3; // version 4, mode 3 (client)
    sock.send(req, 123, host, (err) => {
      if (err) finish(false);
    });
  });
}

export class SystemConnectivity implements ConnectivityPort {
  async check(lease: Lease | undefined, t: ConnectivityTargets): Promise<CheckResult[]> {
    const jobs: Promise<CheckResult>[] = [];
    if (lease?.defaultgw) {
      const gw = lease.defaultgw;
      jobs.push(
        (async () => {
          const start = performance.now();
          const ok = (await tcpReachable(gw, 53, t.timeoutMs)) || (await tcpReachable(gw, 80, t.timeoutMs));
          return { id: 'gateway', target: gw, state: ok ? 'ok' : 'failed', latencyMs: since(start) };
        })(),
      );
    }
    const resolver = new Resolver({ timeout: t.timeoutMs, tries: 1 });
    if (lease && lease.nameservers.length > 0) resolver.setServers(lease.nameservers);
    for (const name of t.dns) {
      jobs.push(
        (async () => {
          const start = performance.now();
          try {
            const addrs = await resolver.resolve4(name);
            return { id: 'dns', target: name, state: 'ok', latencyMs: since(start), detail: addrs[0] };
          } catch (err) {
            return {
              id: 'dns',
              target: name,
              state: 'failed',
              detail: (err as NodeJS.ErrnoException).code ?? 'error',
            };
          }
        })(),
      );
    }
    for (const host of t.ntp) {
      jobs.push(
        (async () => {
          const start = performance.now();
          const ok = await ntpAnswers(host, t.timeoutMs);
          return { id: 'ntp', target: host, state: ok ? 'ok' : 'failed', latencyMs: since(start) };
        })(),
      );
    }
    for (const url of t.urls) {
      jobs.push(
        (async () => {
          const start = performance.now();
          try {
            const res = await fetch(url, {
              method: 'GET',
              redirect: 'manual',
              signal: AbortSignal.timeout(t.timeoutMs),
            });
            await res.body?.cancel();
            const ok = res.status >= 200 && res.status < 400;
            return {
              id: 'url',
              target: url,
              state: ok ? 'ok' : 'failed',
              latencyMs: since(start),
              detail: `HTTP ${res.status}`,
            };
          } catch (err) {
            return { id: 'url', target: url, state: 'failed', detail: (err as Error).name };
          }
        })(),
      );
    }
    return Promise.all(jobs);
  }
}
