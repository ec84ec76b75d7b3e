/**
 * A virtual fleet in its own process, for measurements where the devices must not share the
 * station's CPU (each real device has its own). The parent forks this file; it starts a fleet already
 * on LabNet, reports each device's identity, LAN address and loopback listener, and streams what a
 * station on LabNet would hear over mDNS. `RemoteFleet` is the parent's side.
 */
import { fileURLToPath } from 'node:url';
import { toHex, utf8Encode } from '../shared/encoding';
import type { FetchLike } from '../shared/session/client';
import type { DiscoveredService, DiscoveryEvent, ServiceBrowser } from '../main/ports/discovery';
import { forkNode, type ChildProcess } from '../platform/processes';
import { LABNET, startFleet } from './fleet';
import { forward } from './sim-net';

interface HostedDevice {
  deviceId: string;
  setupSecret: string;
  salt: string;
  iter: number;
  ip: string;
  loopback: { host: string; port: number };
}

type FromHost = { type: 'ready'; devices: HostedDevice[] } | { type: 'discovery'; event: DiscoveryEvent };

// ---- the child -----------------------------------------------------------------------------------

async function host(count: number): Promise<void> {
  const fleet = await startFleet({ devices: count, adapters: 1, timeScale: 0, onLan: true, store: 'memory' });
  const ear = fleet.adapters[0];
  await ear?.join({
    ssidHex: toHex(utf8Encode(LABNET.ssid)),
    security: 'wpa2-psk',
    passphrase: LABNET.passphrase,
    timeoutMs: 5000,
  });
  const browser = fleet.browser();
  browser.subscribe((event) => process.send?.({ type: 'discovery', event } satisfies FromHost));
  await browser.start();
  const devices = fleet.devices.map((d) => ({
    deviceId: d.entry.deviceId,
    setupSecret: d.entry.setupSecret,
    salt: d.entry.salt,
    iter: d.entry.iter,
    ip: fleet.net.leaseOf(d.entry.deviceId) ?? '',
    loopback: d.lab.running.listening[0] ?? { host: '127.0.0.1', port: 0 },
  }));
  process.send?.({ type: 'ready', devices } satisfies FromHost);
  process.on('message', (m: unknown) => {
    if (m === 'close') {
      void fleet.close().finally(() => process.exit(0));
    }
  });
}

if (process.argv[2] === '--host') {
  host(Number(process.argv[3] ?? 10)).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}

// ---- the parent ------------------------------------------------------------------------------------

class RemoteBrowser implements ServiceBrowser {
  readonly known = new Map<string, DiscoveredService>();
  private readonly listeners = new Set<(e: DiscoveryEvent) => void>();

  feed(event: DiscoveryEvent): void {
    if (event.type === 'down') this.known.delete(event.fqdn);
    else this.known.set(event.service.fqdn, event.service);
    for (const l of [...this.listeners]) l(event);
  }
  start(): Promise<void> {
    return Promise.resolve();
  }
  subscribe(listener: (event: DiscoveryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  services(): DiscoveredService[] {
    return [...this.known.values()];
  }
  refresh(): void {
    // The host streams every change; there is nothing to ask again.
  }
  stop(): Promise<void> {
    return Promise.resolve();
  }
}

export class RemoteFleet {
  private constructor(
    private readonly child: ChildProcess,
    readonly devices: HostedDevice[],
    readonly browser: RemoteBrowser,
  ) {}

  static async start(count: number): Promise<RemoteFleet> {
    const child = forkNode(fileURLToPath(import.meta.url), ['--host', String(count)]);
    const browser = new RemoteBrowser();
    const devices = await new Promise<HostedDevice[]>((resolve, reject) => {
      child.on('message', (m: FromHost) => {
        if (m.type === 'ready') resolve(m.devices);
        else browser.feed(m.event);
      });
      child.once('exit', (code) => reject(new Error(`fleet host exited with ${code}`)));
    });
    return new RemoteFleet(child, devices, browser);
  }

  /** HTTP to a device's LAN address goes to its listener in the host process. */
  fetch(): FetchLike {
    const byIp = new Map(this.devices.map((d) => [d.ip, d.loopback]));
    return (url, init) => {
      const u = new URL(url);
      const to = byIp.get(u.hostname);
      if (!to) return Promise.reject(new Error(`no route to ${u.host}`));
      return forward(to, u, init);
    };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.send('close');
    });
  }
}
