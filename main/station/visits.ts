/**
 * Short visits to devices outside a job: read what a device hears (the pre-flight survey), or make
 * it blink (Identify). A device on the network is reached at its address; one in setup mode by
 * joining its setup AP with a free adapter, which is put back on its own network afterwards.
 */
import { setupSubnet } from '../../shared/addressing';
import { DEFAULT_SSID_PREFIX, setupSsid } from '../../shared/identity';
import { AirliftError } from '../../shared/errors';
import { DeviceApi } from '../engine/device-api';
import type { DeviceTransport } from '../ports/device-transport';
import type { WifiAdapter } from '../ports/wifi-adapter';
import type { DeviceRow } from '../../shared/station-api';

export interface VisitTarget {
  row: DeviceRow;
  /** The SSID its setup AP was seen with. */
  setupSsid?: string;
}

export interface Visitor {
  transport: DeviceTransport;
  apPort: number;
  joinTimeoutMs: number;
}

/** The device's API on the network it is on now, if it advertises an address. */
export function lanApi(v: Visitor, row: DeviceRow): DeviceApi | undefined {
  if (row.address === undefined || !row.lan) return undefined;
  return new DeviceApi(`http://${row.address}:${row.lan.port}`, v.transport.fetch);
}

/**
 * Join each device's setup AP in turn on `lane` and run `visit` against its API there; the lane goes
 * back to where it was at the end. A device whose AP cannot be joined is reported, not thrown.
 */
export async function visitOverSetupAps<T>(
  v: Visitor,
  lane: WifiAdapter,
  targets: readonly VisitTarget[],
  visit: (api: DeviceApi, t: VisitTarget) => Promise<T>,
  onEach?: (t: VisitTarget, result: T | Error) => void,
): Promise<Map<string, T | Error>> {
  const out = new Map<string, T | Error>();
  if (targets.length === 0) return out;
  const original = await lane.current().catch(() => undefined);
  try {
    for (const t of targets) {
      const result = await visitOne(v, lane, t, visit).catch((err: unknown) =>
        err instanceof Error ? err : new Error(String(err)),
      );
      out.set(t.row.id, result);
      onEach?.(t, result);
    }
  } finally {
    await lane.restore(original).catch(() => undefined);
    v.transport.networkChanged();
  }
  return out;
}

async function visitOne<T>(
  v: Visitor,
  lane: WifiAdapter,
  t: VisitTarget,
  visit: (api: DeviceApi, t: VisitTarget) => Promise<T>,
): Promise<T> {
  const ssid = t.setupSsid ?? setupSsid(t.row.id, DEFAULT_SSID_PREFIX);
  const subnet = setupSubnet(t.row.id);
  const joined = await lane.join({
    ssidHex: Buffer.from(ssid, 'utf8').toString('hex'),
    security: 'open',
    timeoutMs: v.joinTimeoutMs,
    expectReachable: { host: subnet.address, port: v.apPort },
  });
  v.transport.networkChanged();
  if (!joined.ok) {
    throw new AirliftError('UNREACHABLE', `Could not join ${ssid}: ${joined.reason}`);
  }
  const base = `http://${subnet.address}${v.apPort === 80 ? '' : `:${v.apPort}`}`;
  return visit(new DeviceApi(base, v.transport.fetch), t);
}
