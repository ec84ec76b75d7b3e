/**
 * The device's promised name (`airlift-<id>.local`, shown by the portal and `/v1/status`) through
 * a running avahi-daemon, which otherwise publishes the OS host name only (`raspberrypi.local` on
 * Raspberry Pi OS). Avahi's static files cannot do it: a static service names a host but publishes
 * no address for it, and a static host (/etc/avahi/hosts) for one of the machine's own addresses
 * collides with the daemon's own reverse (PTR) record and is refused. What works is an address
 * record without its reverse, which only Avahi's D-Bus API offers: `avahi-publish -a -R` (avahi-utils)
 * holds it for as long as it runs. So: one such child per address the device is reachable at,
 * replaced when the address changes, stopped with the advertiser. The service's SRV record still
 * names the daemon's host, which resolves as before; the promised name resolves too.
 *
 * A child that exits (avahi-utils missing, no D-Bus, a name conflict) is logged with what it said
 * and started again later, never in a loop.
 */
import { spawnChild, stopChild, type ChildProcess } from '../../platform/processes';
import { readLines } from '../../platform/framing';

export const AVAHI_PUBLISH = 'avahi-publish';

export interface AvahiHostNameOptions {
  /** The fully qualified name, `airlift-<id>.local`. */
  name: string;
  /** The tool; default `avahi-publish` on PATH. */
  tool?: string;
  /** Extra environment for the tool (tests: DBUS_SYSTEM_BUS_ADDRESS of a private bus). */
  env?: Record<string, string>;
  /** First wait before starting an exited publisher again; doubles up to 5 minutes. */
  retryMs?: number;
  log?: (level: 'info' | 'warn', fields: Record<string, unknown>, message: string) => void;
}

interface Publisher {
  child: ChildProcess;
  established: boolean;
  lines: string[];
}

const MAX_RETRY_MS = 5 * 60_000;

export class AvahiHostName {
  private readonly wanted = new Set<string>();
  private readonly running = new Map<string, Publisher>();
  private readonly retries = new Map<string, { timer: NodeJS.Timeout; delay: number }>();
  private readonly delays = new Map<string, number>();
  private stopped = false;

  constructor(private readonly options: AvahiHostNameOptions) {}

  /** The addresses the name should resolve to now (IPv4 text). */
  setAddresses(addresses: readonly string[]): void {
    if (this.stopped) return;
    const next = new Set(addresses);
    for (const ip of [...this.wanted]) {
      if (next.has(ip)) continue;
      this.wanted.delete(ip);
      this.cancelRetry(ip);
      this.delays.delete(ip);
      const p = this.running.get(ip);
      this.running.delete(ip);
      if (p) void stopChild(p.child, 2000);
    }
    for (const ip of next) {
      if (this.wanted.has(ip)) continue;
      this.wanted.add(ip);
      this.start(ip);
    }
  }

  /** Addresses Avahi confirmed it publishes the name for. */
  established(): string[] {
    return [...this.running].filter(([, p]) => p.established).map(([ip]) => ip);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const ip of [...this.retries.keys()]) this.cancelRetry(ip);
    const children = [...this.running.values()].map((p) => p.child);
    this.running.clear();
    this.wanted.clear();
    await Promise.all(children.map((c) => stopChild(c, 2000)));
  }

  private start(ip: string): void {
    const { name, tool = AVAHI_PUBLISH, env, log } = this.options;
    // -a: an address record; -R: without the reverse record (the daemon's own has that address).
    const child = spawnChild(tool, ['-a', '-R', name, ip], {
      ...(env ? { env } : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const p: Publisher = { child, established: false, lines: [] };
    this.running.set(ip, p);
    const onLine = (line: string): void => {
      if (p.lines.length < 8) p.lines.push(line);
      if (/^Established under name/.test(line)) {
        p.established = true;
        this.delays.delete(ip);
        log?.('info', { name, address: ip }, 'the device name is published through Avahi');
      }
    };
    if (child.stdout) readLines(child.stdout, 4096, onLine);
    if (child.stderr) readLines(child.stderr, 4096, onLine);
    child.on('error', (err) => onLine(`spawn error: ${err.message}`));
    child.once('exit', (code, signal) => {
      if (this.running.get(ip) !== p) return;
      this.running.delete(ip);
      if (this.stopped || !this.wanted.has(ip)) return;
      const delay = this.delays.get(ip) ?? this.options.retryMs ?? 15_000;
      log?.(
        'warn',
        { name, address: ip, code, signal, said: p.lines.join(' | '), retryInMs: delay },
        `${name} is not published through Avahi (is avahi-utils installed and D-Bus running?); the device is still reachable at its address and the OS host name`,
      );
      this.delays.set(ip, Math.min(delay * 2, MAX_RETRY_MS));
      const timer = setTimeout(() => {
        this.retries.delete(ip);
        if (!this.stopped && this.wanted.has(ip) && !this.running.has(ip)) this.start(ip);
      }, delay);
      timer.unref();
      this.retries.set(ip, { timer, delay });
    });
  }

  private cancelRetry(ip: string): void {
    const r = this.retries.get(ip);
    if (r) clearTimeout(r.timer);
    this.retries.delete(ip);
  }
}
