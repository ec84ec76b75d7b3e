/**
 * The device registry: one row per device, keyed by the id on its label, merged from every source
 * that names it — setup-AP scans (by SSID prefix), mDNS advertisements, imported manifests and QR
 * payloads — and from its results in earlier jobs. A device that changes address, or is seen by
 * another adapter, stays one row. Setup secrets are kept here and never leave in a row: a row says
 * only `secretKnown`.
 *
 * Rows are derived on demand from what is known (`rowOf`, pure); changes are batched into one
 * `devices` event at most every `flushMs`.
 */
import type { SetupAddress } from '../../shared/manifest';
import type { ScanResult } from '../../shared/protocol/wifi';
import type { DeviceHistoryEntry, DeviceRow, DeviceSource, DeviceWarning } from '../../shared/station-api';
import { deviceIdOfSetupSsid, lanReadingOf } from '../engine/discovery-merge';
import type { DiscoveredService, DiscoveryEvent } from '../ports/discovery';

/** A sighting older than this no longer counts as "in range". */
export const SIGHTING_FRESH_MS = 90_000;
/** Text from devices and manifests is clipped to this before it reaches a row. */
const LABEL_MAX = 256;

export interface SecretEntry {
  secret: string;
  /** Salt and iterations from the manifest, to precompute PBKDF2 before contact. */
  hint?: { salt: Uint8Array; iterations: number };
}

interface Sighting {
  ssid: string;
  bssid: string;
  signal: number;
  adapter: string;
  seenAt: number;
}

interface Known {
  id: string;
  label?: { name?: string; group?: string; site?: string };
  labelSources: Set<'manifest' | 'qr'>;
  secret?: SecretEntry;
  /** Its setup AP's fixed address, when its manifest row gave one (thingymcconfig's 10.0.0.1). */
  setupAddress?: SetupAddress;
  /** A second, different secret arrived for the same id: two devices claim one label. */
  secretConflict: boolean;
  /** Setup-AP sightings by BSSID. */
  sightings: Map<string, Sighting>;
  /** mDNS services naming this id, by instance fqdn. */
  services: Map<string, DiscoveredService>;
  hears?: { ssid: string; ssidHex: string; signal: number }[];
  hearsAt?: number;
  history: DeviceHistoryEntry[];
  /** The last job found it refusing handshakes until a local reset. */
  lockedOut: boolean;
}

export interface RowContext {
  now: number;
  minSignal: number;
}

/** The latest result says the device refuses handshakes until someone resets it locally. */
function lockedOutBy(history: readonly DeviceHistoryEntry[]): boolean {
  const last = history[0];
  return last?.result === 'failed' && (last.reason === 'locked_out' || last.reason === 'setup_closed');
}

function clip(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  return text.length > LABEL_MAX ? `${text.slice(0, LABEL_MAX - 1)}…` : text;
}

/**
 * Sightings that still say something: recent, and newer than the device's last job result (a
 * device verified on its network since its setup AP was last heard is not in setup any more).
 */
function freshSightings(k: Known, now: number): Sighting[] {
  const lastResult = k.history[0] ? Date.parse(k.history[0].at) : Number.NEGATIVE_INFINITY;
  return [...k.sightings.values()].filter(
    (s) => now - s.seenAt <= SIGHTING_FRESH_MS && s.seenAt > lastResult,
  );
}

/** The row a front end shows for what is known of one device. Pure. */
export function rowOf(k: Known, ctx: RowContext): DeviceRow {
  const sightings = freshSightings(k, ctx.now);
  const strongest = sightings.reduce<Sighting | undefined>(
    (a, s) => (!a || s.signal > a.signal ? s : a),
    undefined,
  );
  const services = [...k.services.values()].sort((a, b) => b.lastSeen - a.lastSeen);
  const svc = services[0];
  const sources: DeviceSource[] = [];
  if (strongest) sources.push('scan');
  if (svc) sources.push('mdns');
  if (k.labelSources.has('manifest')) sources.push('manifest');
  if (k.labelSources.has('qr')) sources.push('qr');
  const reading = svc ? lanReadingOf(svc) : undefined;
  const ipv4 = reading?.ipv4;
  const state = reading?.state ?? (strongest ? 'setup' : 'unknown');
  const warnings: DeviceWarning[] = [];
  if (strongest && strongest.signal < ctx.minSignal) warnings.push('weak_signal');
  if (k.history.some((h) => h.result === 'verified')) warnings.push('verified_before');
  const bssids = new Set(sightings.map((s) => s.bssid));
  if (bssids.size > 1 || services.length > 1 || k.secretConflict) warnings.push('duplicate_id');
  if (!k.secret) warnings.push('no_secret');
  if (k.lockedOut) warnings.push('locked_out');
  const lastSeen = Math.max(0, ...sightings.map((s) => s.seenAt), ...services.map((s) => s.lastSeen));
  const name = clip(k.label?.name);
  const group = clip(k.label?.group);
  const site = clip(k.label?.site);
  return {
    id: k.id,
    ...(name !== undefined ? { name } : {}),
    ...(group !== undefined ? { group } : {}),
    ...(site !== undefined ? { site } : {}),
    sources,
    ...(strongest
      ? {
          setupAp: {
            ssid: strongest.ssid,
            bssid: strongest.bssid,
            signal: Math.max(-127, Math.min(0, strongest.signal)),
            adapter: strongest.adapter,
            seenAt: strongest.seenAt,
          },
        }
      : {}),
    ...(svc
      ? {
          lan: {
            addresses: svc.addresses.slice(0, 16).map((a) => clip(a) ?? ''),
            port: svc.port,
            host: clip(svc.host) ?? '',
            seenAt: svc.lastSeen,
          },
        }
      : {}),
    state,
    ...(ipv4 !== undefined ? { address: ipv4 } : {}),
    secretKnown: k.secret !== undefined,
    history: k.history.slice(0, 8),
    warnings,
    ...(k.hears ? { hears: k.hears.slice(0, 64) } : {}),
    ...(k.hearsAt !== undefined ? { hearsAt: k.hearsAt } : {}),
    ...(lastSeen > 0 ? { lastSeen } : {}),
  };
}

export interface LabelInput {
  deviceId: string;
  name?: string;
  group?: string;
  site?: string;
  secret?: SecretEntry;
  setupAddress?: SetupAddress;
}

export interface RegistryOptions {
  onChange: (change: { upsert: DeviceRow[]; remove: string[] }) => void;
  context: () => RowContext;
  flushMs?: number;
  now?: () => number;
}

export class DeviceRegistry {
  private readonly known = new Map<string, Known>();
  private readonly dirty = new Set<string>();
  private readonly removed = new Set<string>();
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly options: RegistryOptions) {
    this.now = options.now ?? Date.now;
  }

  rows(): DeviceRow[] {
    const ctx = this.options.context();
    return [...this.known.values()].map((k) => rowOf(k, ctx)).sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  row(deviceId: string): DeviceRow | undefined {
    const k = this.known.get(deviceId);
    return k ? rowOf(k, this.options.context()) : undefined;
  }

  has(deviceId: string): boolean {
    return this.known.has(deviceId);
  }

  secretOf(deviceId: string): SecretEntry | undefined {
    return this.known.get(deviceId)?.secret;
  }

  /** Its setup AP's fixed address, when its manifest gave one (the runner reaches such devices one lane at a time). */
  setupAddressOf(deviceId: string): SetupAddress | undefined {
    return this.known.get(deviceId)?.setupAddress;
  }

  /** The SSID its setup AP was last seen with (a product line may use another prefix). */
  setupSsidOf(deviceId: string): string | undefined {
    const k = this.known.get(deviceId);
    if (!k) return undefined;
    let best: Sighting | undefined;
    for (const s of k.sightings.values()) if (!best || s.seenAt > best.seenAt) best = s;
    return best?.ssid;
  }

  /**
   * Manifest rows and QR payloads: whether the device was new, and whether a setup secret it already
   * had was replaced by another (two labels claiming one id, or a relabelled unit).
   */
  addLabel(
    input: LabelInput,
    source: 'manifest' | 'qr',
  ): { change: 'added' | 'updated' | 'unchanged'; replacedSecret: boolean } {
    const k = this.entry(input.deviceId);
    const isNew = k.labelSources.size === 0 && !k.secret;
    const before = JSON.stringify([k.label, k.secret?.secret, k.labelSources.has(source)]);
    k.labelSources.add(source);
    const label = {
      ...k.label,
      ...(input.name !== undefined && input.name !== '' ? { name: input.name } : {}),
      ...(input.group !== undefined && input.group !== '' ? { group: input.group } : {}),
      ...(input.site !== undefined && input.site !== '' ? { site: input.site } : {}),
    };
    if (Object.keys(label).length > 0) k.label = label;
    if (input.setupAddress !== undefined) k.setupAddress = input.setupAddress;
    let replacedSecret = false;
    if (input.secret) {
      replacedSecret = k.secret !== undefined && k.secret.secret !== input.secret.secret;
      if (replacedSecret) k.secretConflict = true;
      const sameSecret = k.secret?.secret === input.secret.secret;
      const hint = input.secret.hint ?? (sameSecret ? k.secret?.hint : undefined);
      k.secret = hint ? { secret: input.secret.secret, hint } : { secret: input.secret.secret };
    }
    const changed = before !== JSON.stringify([k.label, k.secret?.secret, true]);
    this.touch(k.id);
    return { change: isNew ? 'added' : changed ? 'updated' : 'unchanged', replacedSecret };
  }

  /** One adapter's scan: every SSID that names a device under one of the prefixes. */
  addScan(adapter: string, results: readonly ScanResult[], prefixes: readonly string[]): void {
    const at = this.now();
    for (const r of results) {
      const id = deviceIdOfSetupSsid(r.ssid, prefixes);
      if (id === undefined) continue;
      const k = this.entry(id);
      k.sightings.set(r.bssid, { ssid: r.ssid, bssid: r.bssid, signal: r.signal, adapter, seenAt: at });
      this.touch(id);
    }
    // Sightings that aged out change rows too (the source badge goes).
    for (const k of this.known.values()) {
      for (const [bssid, s] of k.sightings)
        if (at - s.seenAt > SIGHTING_FRESH_MS) {
          k.sightings.delete(bssid);
          this.touch(k.id);
        }
    }
  }

  /** The mDNS browser's events. */
  onDiscovery(event: DiscoveryEvent): void {
    if (event.type === 'down') {
      for (const k of this.known.values()) if (k.services.delete(event.fqdn)) this.touch(k.id);
      return;
    }
    const svc = event.service;
    const id = lanReadingOf(svc)?.id;
    if (id === undefined) return;
    // The same instance may have moved between ids (a re-provisioned unit): drop it elsewhere.
    for (const k of this.known.values()) if (k.id !== id && k.services.delete(svc.fqdn)) this.touch(k.id);
    this.entry(id).services.set(svc.fqdn, svc);
    this.touch(id);
  }

  /** What a device itself hears (a pre-flight survey, or its LAN scan). */
  setHears(deviceId: string, networks: { ssid: string; ssidHex: string; signal: number }[]): void {
    const k = this.entry(deviceId);
    k.hears = networks
      .map((n) => ({
        ssid: clip(n.ssid) ?? '',
        ssidHex: n.ssidHex,
        signal: Math.max(-127, Math.min(0, n.signal)),
      }))
      .sort((a, b) => b.signal - a.signal);
    k.hearsAt = this.now();
    this.touch(deviceId);
  }

  /** Results of earlier jobs, newest first; replaces what was known. */
  setHistory(byDevice: ReadonlyMap<string, DeviceHistoryEntry[]>): void {
    for (const [id, entries] of byDevice) {
      const k = this.known.get(id);
      // History alone does not make a device appear: it must be discovered or imported.
      if (!k) continue;
      k.history = entries;
      k.lockedOut = lockedOutBy(entries);
      this.touch(id);
    }
    this.pendingHistory = byDevice;
  }

  forget(deviceIds: readonly string[]): number {
    let removed = 0;
    for (const id of deviceIds) {
      if (!this.known.delete(id)) continue;
      removed++;
      this.dirty.delete(id);
      this.removed.add(id);
      this.scheduleFlush();
    }
    return removed;
  }

  /** Re-derive every row (settings changed: prefixes, minimum signal). */
  touchAll(): void {
    for (const id of this.known.keys()) this.touch(id);
  }

  flushNow(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.dirty.size === 0 && this.removed.size === 0) return;
    const ctx = this.options.context();
    const upsert = [...this.dirty].flatMap((id) => {
      const k = this.known.get(id);
      return k ? [rowOf(k, ctx)] : [];
    });
    const remove = [...this.removed];
    this.dirty.clear();
    this.removed.clear();
    this.options.onChange({ upsert, remove });
  }

  close(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
  }

  /** History read before a device appeared is applied when it does. */
  private pendingHistory: ReadonlyMap<string, DeviceHistoryEntry[]> = new Map();

  private entry(id: string): Known {
    let k = this.known.get(id);
    if (!k) {
      const history = this.pendingHistory.get(id) ?? [];
      k = {
        id,
        labelSources: new Set(),
        secretConflict: false,
        sightings: new Map(),
        services: new Map(),
        history,
        lockedOut: lockedOutBy(history),
      };
      this.known.set(id, k);
      this.removed.delete(id);
    }
    return k;
  }

  private touch(id: string): void {
    this.dirty.add(id);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    this.flushTimer = setTimeout(() => this.flushNow(), this.options.flushMs ?? 100);
    this.flushTimer.unref();
  }
}
