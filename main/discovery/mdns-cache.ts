/**
 * The station's RFC 6762 record cache for one DNS-SD service type (decision 0002). Pure: no sockets,
 * no timers; every call is given the time. The browser (mdns-browser.ts) feeds it response packets and
 * asks it when to wake up, what to ask and which answers it already knows.
 *
 * Records are cached by owner name, type, interface and data, from the answer and additional sections
 * of every packet. A service is assembled from the cache (PTR → SRV + TXT → A/AAAA of the SRV target)
 * whenever any packet or expiry touches the cache, so an address or TXT change is reported whichever
 * packet carries it, and a response spread over several packets is assembled once it is complete.
 *
 * A goodbye or a cache flush leaves the old record in the cache for one second (§10.1, §10.2) so that
 * an immediate re-announcement revives it, but it no longer counts for the service: it is the
 * responder's own statement that the record is gone. A service whose PTR or SRV is gone is held for
 * `downGraceMs` before `down`, because Avahi withdraws and re-announces a service for every TXT change
 * (decision 0004).
 */
import { isIPv4, isIPv6 } from 'node:net';
import { utf8DecodeStrict } from '../../shared/encoding';
import { txtRecordFromEntries } from '../../shared/protocol/mdns';
import type { DiscoveredService, DiscoveryEvent } from '../ports/discovery';

/** RFC 6762 §10.1: a goodbye (TTL 0) is kept for one second, then deleted. */
export const GOODBYE_DELAY_MS = 1000;
/**
 * RFC 6762 §10.2: a record with the cache-flush bit invalidates the records of its set received more
 * than one second ago (younger ones are the rest of the same multi-packet announcement); they expire
 * one second later.
 */
export const FLUSH_AGE_MS = 1000;
/** RFC 6762 §5.2: maintenance queries at 80, 85, 90 and 95 % of a record's lifetime... */
export const REFRESH_FRACTIONS = [0.8, 0.85, 0.9, 0.95] as const;
/** ...each plus a random 0-2 % of the TTL, so that queriers do not ask in lockstep. */
export const REFRESH_JITTER = 0.02;
/** RFC 6762 §7.1: an answer goes into the known-answer list only with more than half its TTL left. */
export const KNOWN_ANSWER_MIN_REMAINING = 0.5;
/**
 * How long a service whose PTR or SRV is gone is held before `down`. Avahi sends goodbyes and then
 * re-announces about a second later for every TXT change (decision 0004); 3 s rides that out.
 */
export const DEFAULT_DOWN_GRACE_MS = 3000;
/** A hostile LAN must not grow the cache without bound; a fleet needs ~5 records per device. */
export const DEFAULT_MAX_RECORDS = 20_000;

export type RecordType = 'PTR' | 'SRV' | 'TXT' | 'A' | 'AAAA';

/** A question the browser should send; `interface` is where the record was seen (absent: every link). */
export interface CacheQuestion {
  name: string;
  type: RecordType;
  interface?: string;
}

/** A PTR answer for a query's known-answer list, TTL in seconds as it remains (RFC 6762 §7.1). */
export interface KnownAnswer {
  name: string;
  type: 'PTR';
  class: 'IN';
  ttl: number;
  data: string;
}

export interface MdnsCacheOptions {
  /** DNS-SD service type, `_airlift._tcp` by default. */
  serviceType?: string;
  /** Default `local`. */
  domain?: string;
  downGraceMs?: number;
  maxRecords?: number;
  /** [0, 1) source for the refresh jitter; tests pass `() => 0`. */
  random?: () => number;
}

export interface IngestMeta {
  now: number;
  /** Interface the packet arrived on; records are cached per interface (RFC 6762 §14). */
  interface?: string;
}

interface SrvData {
  target: string;
  port: number;
}

type RecordData =
  | { type: 'PTR'; data: string }
  | { type: 'SRV'; data: SrvData }
  | { type: 'TXT'; data: Uint8Array[] }
  | { type: 'A' | 'AAAA'; data: string };

type ParsedRecord = RecordData & {
  /** Owner name as received, without a trailing dot. */
  name: string;
  /** Lower-case owner name: DNS names compare case-insensitively. */
  key: string;
  ttl: number;
  flush: boolean;
  /** Canonical form of the data: two records with equal keys are the same record. */
  dataKey: string;
};

type Entry = ParsedRecord & {
  /** '' when the interface is unknown. */
  iface: string;
  receivedAt: number;
  expiresAt: number;
  /** Goodbye or flushed: deleted at `expiresAt`, no longer part of any service. */
  doomed: boolean;
  /** Index into REFRESH_FRACTIONS of the next maintenance query; past the end: none left. */
  refreshStep: number;
  refreshAt: number;
};

interface Reported {
  service: DiscoveredService;
  /** Set while the PTR or SRV is missing: `down` at this time unless they come back. */
  downAt?: number;
}

type PtrEntry = Entry & { type: 'PTR' };
type SrvEntry = Entry & { type: 'SRV' };

interface ServiceView {
  fqdn: string;
  ptrs: PtrEntry[];
  srv?: Entry & { type: 'SRV' };
  txt?: Entry & { type: 'TXT' };
  addresses: Entry[];
}

const lossyUtf8 = new TextDecoder('utf-8');

export class MdnsCache {
  readonly serviceType: string;
  readonly domain: string;
  /** `_airlift._tcp.local`: the PTR owner name we browse. */
  readonly browseName: string;
  private readonly browseKey: string;
  /** `._airlift._tcp.local`: every instance name ends with it. */
  private readonly instanceSuffix: string;
  private readonly downGraceMs: number;
  private readonly maxRecords: number;
  private readonly random: () => number;

  private readonly byName = new Map<string, Entry[]>();
  /** The PTR entries of `byName`, by the instance they point at (lookups per instance stay O(1)). */
  private readonly ptrsByInstance = new Map<string, PtrEntry[]>();
  /** The SRV entries of `byName`, by lower-case target (which addresses to keep, whom they concern). */
  private readonly srvsByTarget = new Map<string, SrvEntry[]>();
  private recordCount = 0;
  private readonly reported = new Map<string, Reported>();
  /** Instances with a PTR that lack their SRV, TXT or an address (kept by `evaluate`). */
  private readonly incomplete = new Set<string>();
  /** Records refused because the cache was full (a hostile or very large network). */
  dropped = 0;

  constructor(options: MdnsCacheOptions = {}) {
    this.serviceType = trimDot(options.serviceType ?? '_airlift._tcp');
    this.domain = trimDot(options.domain ?? 'local');
    this.browseName = `${this.serviceType}.${this.domain}`;
    this.browseKey = this.browseName.toLowerCase();
    this.instanceSuffix = `.${this.browseKey}`;
    this.downGraceMs = Math.max(0, options.downGraceMs ?? DEFAULT_DOWN_GRACE_MS);
    this.maxRecords = options.maxRecords ?? DEFAULT_MAX_RECORDS;
    this.random = options.random ?? Math.random;
  }

  /** Number of cached records, doomed ones included. */
  get size(): number {
    return this.recordCount;
  }

  /**
   * Cache the answers and additionals of one response packet and return what changed for the
   * services. Anything that is not a well-formed record of interest is ignored, never thrown.
   */
  ingest(packet: { answers?: unknown; additionals?: unknown }, meta: IngestMeta): DiscoveryEvent[] {
    const iface = meta.interface ?? '';
    const records: ParsedRecord[] = [];
    for (const section of [packet.answers, packet.additionals]) {
      if (!Array.isArray(section)) continue;
      for (const raw of section as unknown[]) {
        const rr = parseRecord(raw);
        if (rr) records.push(rr);
      }
    }
    // Names first, addresses second: an A record is kept only for the target of an SRV we track,
    // and that SRV may be in this very packet.
    for (const rr of records) {
      if (rr.type !== 'A' && rr.type !== 'AAAA' && this.isTracked(rr)) this.insert(rr, iface, meta.now);
    }
    for (const rr of records) {
      if ((rr.type === 'A' || rr.type === 'AAAA') && this.isLiveTarget(rr.key))
        this.insert(rr, iface, meta.now);
    }
    // Only the instances this packet touched are assembled again: a fleet answers a query with
    // hundreds of packets.
    const dirty = new Set<string>();
    for (const rr of records) this.markDirty(dirty, rr);
    return this.evaluate(meta.now, dirty);
  }

  /** Expire what is due at `now` (TTLs, goodbyes, flushes, down grace) and report the changes. */
  tick(now: number): DiscoveryEvent[] {
    const removed: Entry[] = [];
    for (const [key, list] of this.byName) {
      const kept = list.filter((e) => e.expiresAt > now);
      if (kept.length === list.length) continue;
      for (const e of list) if (e.expiresAt <= now) removed.push(e);
      this.recordCount -= list.length - kept.length;
      if (kept.length === 0) this.byName.delete(key);
      else this.byName.set(key, kept);
    }
    const dirty = new Set<string>();
    for (const e of removed) this.markDirty(dirty, e);
    for (const e of removed) this.unindex(e);
    for (const [key, r] of this.reported) if (r.downAt !== undefined && r.downAt <= now) dirty.add(key);
    return this.evaluate(now, dirty);
  }

  /** The next time `tick` or `dueRefreshes` has something to do; undefined when nothing is pending. */
  nextDeadline(): number | undefined {
    let next = Infinity;
    for (const list of this.byName.values()) {
      for (const e of list) next = Math.min(next, e.expiresAt, e.doomed ? Infinity : e.refreshAt);
    }
    for (const r of this.reported.values()) if (r.downAt !== undefined) next = Math.min(next, r.downAt);
    return Number.isFinite(next) ? next : undefined;
  }

  /**
   * RFC 6762 §5.2 cache maintenance: the questions for records that reached 80/85/90/95 % of their
   * lifetime without being refreshed. Each step is reported once; an answer starts the steps over.
   */
  dueRefreshes(now: number): CacheQuestion[] {
    const out = new Map<string, CacheQuestion>();
    for (const list of this.byName.values()) {
      for (const e of list) {
        if (e.doomed || e.refreshAt > now) continue;
        // Advance past every step already due, so a late wake-up cannot loop on the same step.
        while (e.refreshAt <= now && e.refreshStep < REFRESH_FRACTIONS.length) {
          e.refreshStep++;
          e.refreshAt = this.refreshTime(e);
        }
        // Ask only about what still matters: addresses of a tracked target, SRV/TXT of a browsed instance.
        const wanted =
          e.type === 'PTR' ||
          ((e.type === 'A' || e.type === 'AAAA') && this.isLiveTarget(e.key)) ||
          ((e.type === 'SRV' || e.type === 'TXT') && this.livePtrs(e.key).length > 0);
        if (!wanted) continue;
        const q: CacheQuestion = { name: e.name, type: e.type };
        if (e.iface !== '') q.interface = e.iface;
        out.set(`${e.key}|${e.type}|${e.iface}`, q);
      }
    }
    return [...out.values()];
  }

  /**
   * Known answers for a PTR query on `iface` (RFC 6762 §7.1): the PTRs of services we have reported
   * that still have more than half their TTL. PTRs of incomplete services are left out on purpose:
   * listing them would suppress the very answer (and its additional SRV/TXT/A) we still need.
   */
  knownAnswers(now: number, iface?: string): KnownAnswer[] {
    const out = new Map<string, KnownAnswer>();
    for (const e of this.byName.get(this.browseKey) ?? []) {
      if (e.type !== 'PTR' || e.doomed) continue;
      if (iface !== undefined && e.iface !== iface) continue;
      const reported = this.reported.get(e.dataKey);
      if (!reported || reported.downAt !== undefined) continue;
      const remainingMs = e.expiresAt - now;
      if (remainingMs <= e.ttl * 1000 * KNOWN_ANSWER_MIN_REMAINING) continue;
      const answer: KnownAnswer = {
        name: e.name,
        type: 'PTR',
        class: 'IN',
        ttl: Math.floor(remainingMs / 1000),
        data: e.data,
      };
      const prior = out.get(e.dataKey);
      if (!prior || prior.ttl < answer.ttl) out.set(e.dataKey, answer);
    }
    return [...out.values()];
  }

  /**
   * What the browsed instances still lack (RFC 6763 §4: resolve an instance by asking for its SRV and
   * TXT, then the addresses of the SRV target): responders may split an answer over several packets
   * or lose one, and a goodbye'd TXT (Avahi) must be fetched again.
   */
  missing(): CacheQuestion[] {
    const out = new Map<string, CacheQuestion>();
    const add = (name: string, type: RecordType, iface: string): void => {
      const q: CacheQuestion = { name, type };
      if (iface !== '') q.interface = iface;
      out.set(`${name.toLowerCase()}|${type}|${iface}`, q);
    };
    for (const key of this.incomplete) {
      const view = this.view(key);
      const ptr = view.ptrs[0];
      if (!ptr) continue;
      if (!view.srv) add(view.fqdn, 'SRV', ptr.iface);
      if (!view.txt) add(view.fqdn, 'TXT', ptr.iface);
      if (view.srv && view.addresses.length === 0) {
        add(view.srv.data.target, 'A', view.srv.iface);
        add(view.srv.data.target, 'AAAA', view.srv.iface);
      }
    }
    return [...out.values()];
  }

  /** Services reported `up` and not yet `down` (held ones included). */
  services(): DiscoveredService[] {
    return [...this.reported.values()].map((r) => cloneService(r.service));
  }

  /**
   * RFC 6762 §10.3: the link is gone (interface down, address changed), so its records can no longer
   * be confirmed; they expire in one second like a goodbye.
   */
  forgetInterface(iface: string, now: number): DiscoveryEvent[] {
    for (const list of this.byName.values()) {
      for (const e of list) if (e.iface === iface) this.doom(e, now);
    }
    return this.evaluate(now);
  }

  /** Whether `missing()` has anything to ask (cheap: called after every packet). */
  hasMissing(): boolean {
    return this.incomplete.size > 0;
  }

  /** Drop everything without events (the browser stopped). */
  clear(): void {
    this.incomplete.clear();
    this.byName.clear();
    this.ptrsByInstance.clear();
    this.srvsByTarget.clear();
    this.reported.clear();
    this.recordCount = 0;
  }

  // ---------------------------------------------------------------------------------------------------

  private isTracked(rr: ParsedRecord): boolean {
    switch (rr.type) {
      case 'PTR':
        return rr.key === this.browseKey && this.isInstanceKey(rr.dataKey);
      case 'SRV':
      case 'TXT':
        return this.isInstanceKey(rr.key);
      case 'A':
      case 'AAAA':
        return false;
    }
  }

  private isInstanceKey(key: string): boolean {
    return key.length > this.instanceSuffix.length && key.endsWith(this.instanceSuffix);
  }

  private insert(rr: ParsedRecord, iface: string, now: number): void {
    const list = this.byName.get(rr.key) ?? [];
    const existing = list.find((e) => e.type === rr.type && e.iface === iface && e.dataKey === rr.dataKey);
    if (rr.ttl === 0) {
      // RFC 6762 §10.1. Its cache-flush bit is ignored: a goodbye says one record is gone, not that
      // the rest of its set is stale (ciao sets the bit on address goodbyes).
      if (existing) this.doom(existing, now);
      return;
    }
    if (rr.flush) {
      for (const e of list) {
        if (e !== existing && e.type === rr.type && e.iface === iface && now - e.receivedAt > FLUSH_AGE_MS) {
          this.doom(e, now);
        }
      }
    }
    if (existing) {
      Object.assign(existing, rr, { receivedAt: now, doomed: false, refreshStep: 0 });
      existing.expiresAt = now + rr.ttl * 1000;
      existing.refreshAt = this.refreshTime(existing);
      return;
    }
    if (this.recordCount >= this.maxRecords) {
      this.dropped++;
      return;
    }
    const entry = {
      ...rr,
      iface,
      receivedAt: now,
      expiresAt: now + rr.ttl * 1000,
      doomed: false,
      refreshStep: 0,
      refreshAt: 0,
    } as Entry;
    entry.refreshAt = this.refreshTime(entry);
    list.push(entry);
    this.byName.set(rr.key, list);
    if (entry.type === 'PTR') pushTo(this.ptrsByInstance, entry.dataKey, entry);
    if (entry.type === 'SRV') pushTo(this.srvsByTarget, entry.data.target.toLowerCase(), entry);
    this.recordCount++;
  }

  private unindex(e: Entry): void {
    if (e.type === 'PTR') removeFrom(this.ptrsByInstance, e.dataKey, e);
    if (e.type === 'SRV') removeFrom(this.srvsByTarget, e.data.target.toLowerCase(), e);
  }

  private isLiveTarget(hostKey: string): boolean {
    return (this.srvsByTarget.get(hostKey) ?? []).some((e) => !e.doomed);
  }

  /**
   * The instances a record concerns: its own (SRV, TXT), the one it points at (PTR), or those whose
   * SRV targets it (A, AAAA).
   */
  private markDirty(dirty: Set<string>, rr: ParsedRecord): void {
    switch (rr.type) {
      case 'PTR':
        dirty.add(rr.dataKey);
        return;
      case 'SRV':
      case 'TXT':
        dirty.add(rr.key);
        return;
      case 'A':
      case 'AAAA':
        for (const srv of this.srvsByTarget.get(rr.key) ?? []) dirty.add(srv.key);
        return;
    }
  }

  private doom(e: Entry, now: number): void {
    if (e.doomed && e.expiresAt <= now + GOODBYE_DELAY_MS) return;
    e.doomed = true;
    e.expiresAt = Math.min(e.expiresAt, now + GOODBYE_DELAY_MS);
  }

  private refreshTime(e: Entry): number {
    const fraction = REFRESH_FRACTIONS[e.refreshStep];
    if (fraction === undefined) return Infinity;
    return e.receivedAt + e.ttl * 1000 * (fraction + REFRESH_JITTER * this.random());
  }

  private livePtrs(instanceKey: string): PtrEntry[] {
    return (this.ptrsByInstance.get(instanceKey) ?? []).filter((e) => !e.doomed);
  }

  /** Instances that have a PTR in the cache or were reported. */
  private instanceKeys(): Set<string> {
    return new Set([...this.reported.keys(), ...this.ptrsByInstance.keys()]);
  }

  private view(instanceKey: string): ServiceView {
    const ptrs = freshestFirst(this.livePtrs(instanceKey));
    const own = (this.byName.get(instanceKey) ?? []).filter((e) => !e.doomed);
    const srv = freshestFirst(own.filter((e): e is Entry & { type: 'SRV' } => e.type === 'SRV'))[0];
    const txt = freshestFirst(own.filter((e): e is Entry & { type: 'TXT' } => e.type === 'TXT'))[0];
    const addresses = srv
      ? freshestFirst(
          (this.byName.get(srv.data.target.toLowerCase()) ?? []).filter(
            (e) => !e.doomed && (e.type === 'A' || e.type === 'AAAA'),
          ),
        )
      : [];
    const fqdn = ptrs[0]?.data ?? srv?.name ?? txt?.name ?? this.reported.get(instanceKey)?.service.fqdn;
    const view: ServiceView = { fqdn: fqdn ?? instanceKey, ptrs, addresses };
    if (srv) view.srv = srv;
    if (txt) view.txt = txt;
    return view;
  }

  /** Assemble the `dirty` instances (default: all) again and report what changed. */
  private evaluate(now: number, dirty: Set<string> = this.instanceKeys()): DiscoveryEvent[] {
    const events: DiscoveryEvent[] = [];
    for (const key of dirty) {
      const view = this.view(key);
      const reported = this.reported.get(key);
      const srv = view.srv;
      if (view.ptrs.length > 0 && !(srv && view.txt && view.addresses.length > 0)) this.incomplete.add(key);
      else this.incomplete.delete(key);
      if (!reported) {
        if (view.ptrs.length > 0 && srv && view.txt && view.addresses.length > 0) {
          const service = this.assemble(view, srv, undefined);
          this.reported.set(key, { service });
          events.push({ type: 'up', service: cloneService(service) });
        }
        continue;
      }
      if (view.ptrs.length === 0 || !srv) {
        reported.downAt ??= now + this.downGraceMs;
        if (reported.downAt <= now) {
          this.reported.delete(key);
          events.push({ type: 'down', fqdn: reported.service.fqdn });
        }
        continue;
      }
      delete reported.downAt;
      const next = this.assemble(view, srv, reported.service);
      const changed = diff(reported.service, next);
      reported.service = next;
      if (changed.length > 0) events.push({ type: 'update', service: cloneService(next), changed });
    }
    return events;
  }

  /** The service as reported; a TXT or address set that is momentarily missing keeps its last value. */
  private assemble(
    view: ServiceView,
    srv: Entry & { type: 'SRV' },
    previous: DiscoveredService | undefined,
  ): DiscoveredService {
    const fqdn = previous?.fqdn ?? view.fqdn;
    const addresses = [...new Set(view.addresses.map((e) => e.dataKey))];
    const all = [...view.ptrs, srv, ...(view.txt ? [view.txt] : []), ...view.addresses];
    const service: DiscoveredService = {
      fqdn,
      instance: fqdn.slice(0, fqdn.length - this.instanceSuffix.length),
      host: srv.data.target,
      port: srv.data.port,
      addresses: addresses.length > 0 ? addresses : (previous?.addresses ?? []),
      txt: view.txt ? txtToRecord(view.txt.data) : (previous?.txt ?? {}),
      lastSeen: Math.max(...all.map((e) => e.receivedAt)),
    };
    if (srv.iface !== '') service.interface = srv.iface;
    return service;
  }
}

// -----------------------------------------------------------------------------------------------------
// Record parsing: every field of a decoded packet is checked, because a packet is attacker-controlled
// and a test or a future decoder may hand over shapes dns-packet never produces.

function parseRecord(raw: unknown): ParsedRecord | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  if (typeof r.name !== 'string' || typeof r.type !== 'string') return undefined;
  // mDNS uses class IN only; dns-packet reports the cache-flush bit separately.
  if (r.class !== undefined && r.class !== 'IN') return undefined;
  const ttl = r.ttl;
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 0 || ttl > 0xffffffff) return undefined;
  const name = trimDot(r.name);
  if (name === '' || name.length > 255) return undefined;
  const base = { name, key: name.toLowerCase(), ttl, flush: r.flush === true };
  const data = r.data;
  switch (r.type) {
    case 'PTR': {
      if (typeof data !== 'string') return undefined;
      const target = trimDot(data);
      if (target === '' || target.length > 255) return undefined;
      return { ...base, type: 'PTR', data: target, dataKey: target.toLowerCase() };
    }
    case 'SRV': {
      if (typeof data !== 'object' || data === null) return undefined;
      const d = data as Record<string, unknown>;
      if (typeof d.target !== 'string' || typeof d.port !== 'number') return undefined;
      const target = trimDot(d.target);
      // Port 0 is RFC 2782's "service not available here".
      if (target === '' || target.length > 255 || !Number.isInteger(d.port) || d.port < 1 || d.port > 65535)
        return undefined;
      return {
        ...base,
        type: 'SRV',
        data: { target, port: d.port },
        dataKey: `${d.port} ${target.toLowerCase()}`,
      };
    }
    case 'TXT': {
      const entries = txtEntries(data);
      if (!entries) return undefined;
      return { ...base, type: 'TXT', data: entries, dataKey: entries.map((b) => hex(b)).join(',') };
    }
    case 'A':
      if (typeof data !== 'string' || !isIPv4(data)) return undefined;
      return { ...base, type: 'A', data, dataKey: data };
    case 'AAAA':
      if (typeof data !== 'string' || !isIPv6(data)) return undefined;
      return { ...base, type: 'AAAA', data, dataKey: data.toLowerCase() };
    default:
      return undefined;
  }
}

function txtEntries(data: unknown): Uint8Array[] | undefined {
  const list = Array.isArray(data) ? (data as unknown[]) : [data];
  const out: Uint8Array[] = [];
  for (const item of list) {
    if (typeof item === 'string') out.push(new TextEncoder().encode(item));
    else if (item instanceof Uint8Array) out.push(Uint8Array.from(item));
    else return undefined;
  }
  return out;
}

function txtToRecord(entries: Uint8Array[]): Record<string, string> {
  const pairs = Object.entries(txtRecordFromEntries(entries)).map(([key, value]): [string, string] => [
    key,
    // Values we cannot read stay visible (with U+FFFD) rather than vanish; the engine's parseTxt
    // refuses them with a clear error.
    typeof value === 'string' ? value : (utf8DecodeStrict(value) ?? lossyUtf8.decode(value)),
  ]);
  // fromEntries defines own properties, so a key such as `__proto__` stays data.
  return Object.fromEntries(pairs);
}

function diff(a: DiscoveredService, b: DiscoveredService): ('addresses' | 'txt' | 'port' | 'host')[] {
  const changed: ('addresses' | 'txt' | 'port' | 'host')[] = [];
  // Order is freshness, which every refresh reshuffles: compare the sets.
  if ([...a.addresses].sort().join() !== [...b.addresses].sort().join()) changed.push('addresses');
  if (!sameTxt(a.txt, b.txt)) changed.push('txt');
  if (a.port !== b.port) changed.push('port');
  if (a.host.toLowerCase() !== b.host.toLowerCase()) changed.push('host');
  return changed;
}

function sameTxt(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}

function pushTo<E>(index: Map<string, E[]>, key: string, entry: E): void {
  const list = index.get(key);
  if (list) list.push(entry);
  else index.set(key, [entry]);
}

function removeFrom<E>(index: Map<string, E[]>, key: string, entry: E): void {
  const kept = (index.get(key) ?? []).filter((e) => e !== entry);
  if (kept.length > 0) index.set(key, kept);
  else index.delete(key);
}

function freshestFirst<E extends Entry>(list: E[]): E[] {
  return [...list].sort((x, y) => y.receivedAt - x.receivedAt);
}

function cloneService(s: DiscoveredService): DiscoveredService {
  return { ...s, addresses: [...s.addresses], txt: { ...s.txt } };
}

function trimDot(name: string): string {
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}
