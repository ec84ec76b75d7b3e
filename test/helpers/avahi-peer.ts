/**
 * The parent's side of avahi-peer-host.ts: start a real Avahi peer in one of the network lab's
 * namespaces, browse with `avahi-browse -p -r` (its parsable output: `=` lines are resolved
 * services), publish with `avahi-publish`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NetnsFleet } from '../../lab/netns-fleet';
import type { LineChild, LineEvent } from '../../lab/netns-proc';

const HOST = fileURLToPath(new URL('./avahi-peer-host.ts', import.meta.url));

/** One resolved service as `avahi-browse -p -r` prints it. */
export interface AvahiService {
  iface: string;
  name: string;
  type: string;
  host: string;
  address: string;
  port: number;
  txt: string[];
  t: number;
}

/**
 * `=;eth0;IPv4;Airlift\032K7Q2M6XA;_airlift._tcp;local;airlift-k7q2m6xa.local;192.168.50.30;4780;"fw=1.0.0" "md=…"`
 * Names are escaped (`\032` is a space, decimal); TXT strings are quoted, space-separated.
 */
export function parseResolved(line: string, t: number): AvahiService | undefined {
  if (!line.startsWith('=;')) return undefined;
  const f = line.split(';');
  if (f.length < 10) return undefined;
  const unescape = (s: string) => s.replace(/\\(\d{3})/g, (_, d: string) => String.fromCharCode(Number(d)));
  const txtField = f.slice(9).join(';');
  const txt = [...txtField.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1] ?? '');
  return {
    iface: f[1] ?? '',
    name: unescape(f[3] ?? ''),
    type: f[4] ?? '',
    host: f[6] ?? '',
    address: f[7] ?? '',
    port: Number(f[8]),
    txt,
    t,
  };
}

export class AvahiPeer {
  private constructor(
    readonly proc: LineChild,
    private readonly dir: string,
  ) {}

  static async start(fleet: NetnsFleet, ns: string, iface: string, hostname: string): Promise<AvahiPeer> {
    const dir = await mkdtemp(join(tmpdir(), 'airlift-avahi-peer-'));
    const proc = fleet.spawnIn(ns, `avahi peer ${hostname}`, process.execPath, [
      '--import',
      'tsx',
      HOST,
      dir,
      iface,
      hostname,
    ]);
    await proc.waitFor('avahi-daemon ready', (e) => e.ev === 'ready', 20_000);
    return new AvahiPeer(proc, dir);
  }

  send(command: Record<string, unknown>): void {
    this.proc.child.stdin?.write(`${JSON.stringify(command)}\n`);
  }

  /** Start `avahi-browse -p -r -k <type>`; resolved services are read with `resolved()`. */
  browse(type = '_airlift._tcp'): number {
    const from = this.proc.events.length;
    this.send({ cmd: 'browse', type });
    return from;
  }

  /** Resolved services seen since event index `from` (the latest per name). */
  resolved(from = 0): Map<string, AvahiService> {
    const out = new Map<string, AvahiService>();
    for (const e of this.proc.events.slice(from)) {
      if (e.ev !== 'browse') continue;
      const s = parseResolved(String(e['line']), e.t);
      if (s) out.set(s.name, s);
    }
    return out;
  }

  async publish(name: string, type: string, port: number, txt: string[]): Promise<LineEvent> {
    const from = this.proc.events.length;
    this.send({ cmd: 'publish', name, type, port, txt });
    return this.proc.waitFor(
      `avahi-publish ${name}`,
      (e) => e.ev === 'published' && e['name'] === name,
      15_000,
      from,
    );
  }

  async stop(): Promise<void> {
    this.proc.child.stdin?.end();
    await this.proc.stop(3000);
    await rm(this.dir, { recursive: true, force: true });
  }
}
