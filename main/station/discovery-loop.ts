/**
 * Discovery while no job holds the radio: every adapter scans for setup APs at an interval, and one
 * long-lived mDNS browser listens on every network the station is on. Both feed the registry. An
 * adapter a job is using (here or in another process, by its lock) is left alone; the browser keeps
 * listening. Each adapter's state — current network, whether the OS lets it scan — is kept for the
 * Pre-flight screen.
 */
import { AirliftError } from '../../shared/errors';
import type { ScanResult } from '../../shared/protocol/wifi';
import type { AdapterRow } from '../../shared/station-api';
import { adapterLockOwner } from '../engine/adapter-lock';
import type { ServiceBrowser } from '../ports/discovery';
import type { WifiAdapter, WifiAdapterProvider } from '../ports/wifi-adapter';
import type { DeviceRegistry } from './registry';

export interface DiscoveryLoopOptions {
  adapters: WifiAdapterProvider;
  browser: ServiceBrowser;
  registry: DeviceRegistry;
  locksDir: string;
  prefixes: () => readonly string[];
  /** The job running in this station, and the adapters it holds. */
  heldByUs: () => { jobId: string; adapters: readonly string[] } | undefined;
  onAdapters: (rows: AdapterRow[]) => void;
  onNotice: (level: 'warn' | 'error', text: string) => void;
  intervalMs?: number;
}

type Permission = AdapterRow['permission'];

/** What a failed scan says about the OS's permission (Windows Location consent, macOS Location). */
export function permissionFrom(err: unknown): Permission {
  if (err instanceof AirliftError && err.details?.['cause'] === 'location_consent') {
    const raw = err.details['fix'];
    const url = typeof raw === 'string' ? raw.replace(/^start\s+/, '') : undefined;
    return {
      state: 'denied',
      fix: err.message,
      ...(url === 'ms-settings:privacy-location' ||
      url === 'x-apple.systempreferences:com.apple.preference.security?Privacy_LocationServices'
        ? { settingsUrl: url }
        : {}),
    };
  }
  return { state: 'unknown' };
}

export class DiscoveryLoop {
  private timer: NodeJS.Timeout | undefined;
  private readonly rows = new Map<string, AdapterRow>();
  /** Each adapter's last scan, for the SSID picker's "this computer hears" column. */
  private readonly scans = new Map<string, ScanResult[]>();
  private adapterList: WifiAdapter[] = [];
  private sweeping: Promise<void> | undefined;
  private stopped = false;
  private unsubscribe: () => void = () => undefined;

  constructor(private readonly o: DiscoveryLoopOptions) {}

  async start(): Promise<void> {
    this.unsubscribe = this.o.browser.subscribe((e) => this.o.registry.onDiscovery(e));
    await this.o.browser.start();
    for (const svc of this.o.browser.services()) this.o.registry.onDiscovery({ type: 'up', service: svc });
    await this.sweep();
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.sweeping?.catch(() => undefined);
    this.unsubscribe();
    await this.o.browser.stop();
  }

  adapters(): AdapterRow[] {
    return [...this.rows.values()];
  }

  /** What this computer's adapters heard in their last scans. */
  stationScan(): ScanResult[] {
    return [...this.scans.values()].flat();
  }

  /** Scan now (and ask mDNS again); resolves when every free adapter has answered. */
  sweep(): Promise<void> {
    this.sweeping ??= this.sweepOnce().finally(() => {
      this.sweeping = undefined;
    });
    return this.sweeping;
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.sweep().finally(() => this.schedule());
    }, this.o.intervalMs ?? 15_000);
    this.timer.unref();
  }

  private async sweepOnce(): Promise<void> {
    this.o.browser.refresh();
    try {
      this.adapterList = await this.o.adapters.list();
    } catch (err) {
      this.adapterList = [];
      this.o.onNotice('warn', `No Wi-Fi adapters: ${err instanceof Error ? err.message : String(err)}`);
    }
    const present = new Set(this.adapterList.map((a) => a.info.id));
    for (const id of this.rows.keys())
      if (!present.has(id)) {
        this.rows.delete(id);
        this.scans.delete(id);
      }
    await Promise.all(this.adapterList.map((a) => this.visit(a)));
    this.o.onAdapters(this.adapters());
  }

  private async visit(a: WifiAdapter): Promise<void> {
    const previous = this.rows.get(a.info.id);
    const ours = this.o.heldByUs();
    const other = ours?.adapters.includes(a.info.id)
      ? undefined
      : await adapterLockOwner(this.o.locksDir, a.info.id);
    const busy: AdapterRow['busy'] = ours?.adapters.includes(a.info.id)
      ? { jobId: ours.jobId, by: 'this' }
      : other
        ? { jobId: other.jobId, by: 'other' }
        : undefined;
    const row: AdapterRow = {
      id: a.info.id,
      name: a.info.name,
      ...(a.info.mac !== undefined ? { mac: a.info.mac } : {}),
      ...(a.enterprise !== undefined ? { enterprise: { ...a.enterprise } } : {}),
      permission: previous?.permission ?? { state: 'unknown' },
      ...(busy ? { busy } : {}),
    };
    // A job's adapter is moving between networks: neither scan it nor ask where it is.
    if (!busy) {
      const current = await a.current().catch(() => undefined);
      if (current) row.current = { ssid: current.ssid };
      try {
        const results = await a.scan();
        this.scans.set(a.info.id, results);
        this.o.registry.addScan(a.info.id, results, this.o.prefixes());
        row.permission = { state: 'granted' };
      } catch (err) {
        row.permission = permissionFrom(err);
        row.lastScanError = err instanceof Error ? err.message.slice(0, 1000) : String(err);
        if (previous?.lastScanError !== row.lastScanError)
          this.o.onNotice('warn', `${a.info.name} could not scan: ${row.lastScanError}`);
      }
    } else if (previous?.current) {
      row.current = previous.current;
    }
    this.rows.set(a.info.id, row);
  }
}
