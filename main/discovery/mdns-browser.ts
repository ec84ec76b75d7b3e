/**
 * The station's mDNS browser for `_airlift._tcp` (decision 0002): raw multicast-dns sockets, one per
 * interface, feeding the RFC 6762 cache of mdns-cache.ts.
 *
 * - Continuous querying (RFC 6762 §5.2): the first query after 20-120 ms, then 1 s, 2 s, 4 s, ...
 *   capped at `maxQueryIntervalMs`, each carrying the known answers of that link (§7.1, split over
 *   several packets with the TC bit when they do not fit one, §7.2). `refresh()` starts over.
 * - Cache maintenance queries at 80/85/90/95 % of each record's TTL (§5.2), and questions for what an
 *   instance still lacks (SRV, TXT, addresses of the SRV target; RFC 6763 §4), backing off per question.
 * - Interfaces are re-read every few seconds: a link that appears is browsed at once (back-off
 *   restarted), a link that goes away has its records expire in one second (§10.3).
 * - Every packet is untrusted: responses not from port 5353 are ignored (§6), malformed records are
 *   skipped by the cache, and decoder failures arrive as multicast-dns 'warning' events.
 *
 * IPv4 sockets only (multicast-dns needs an explicit interface and group for IPv6); AAAA records in
 * IPv4 responses are still collected.
 */
import makeMdns from 'multicast-dns';
import { isIPv4 } from 'node:net';
import { networkInterfaces as osNetworkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import type { Answer, Question } from 'dns-packet';
import { AirliftError } from '../../shared/errors';
import { parseIpv4, sameSubnet } from '../../shared/ipv4';
import type { DiscoveredService, DiscoveryEvent, ServiceBrowser } from '../ports/discovery';
import { MdnsCache, type CacheQuestion, type KnownAnswer } from './mdns-cache';

/** RFC 6762 §5: mDNS port; §6: responses from any other source port are ignored. */
export const MDNS_PORT = 5353;
/** RFC 6762 §5.2: the first query of a series waits a random 20-120 ms (hosts booting together). */
export const FIRST_QUERY_DELAY_MS = [20, 120] as const;
/** RFC 6762 §5.2: at least one second between the first two queries, then at least doubling. */
export const MIN_QUERY_INTERVAL_MS = 1000;
/**
 * RFC 6762 §5.2 allows capping the interval at 60 minutes. A technician watches a screen for
 * minutes, and multicast over Wi-Fi is lossy: a device whose announcements were lost would stay
 * invisible for up to an hour. One query a minute per link, with known-answer suppression, costs a
 * few hundred bytes.
 */
export const DEFAULT_MAX_QUERY_INTERVAL_MS = 60_000;
/** Wait this long after a packet before asking for what an instance lacks: the rest may be in flight. */
export const RESOLVE_DELAY_MS = 250;
/** How often interfaces are re-read (multicast-dns re-joins its group every 5 s too). */
export const LINK_POLL_MS = 5000;
/** RFC 6762 §17: keep each query within one Ethernet frame (1500 - IP/UDP headers, with margin). */
export const MAX_QUERY_BYTES = 1400;
/** RFC 1035 §4.1.1: the TC bit; RFC 6762 §7.2: "more known answers follow". */
const TC_FLAG = 0x0200;
/** start() waits this long for the sockets to bind. */
const READY_TIMEOUT_MS = 2000;
/** setTimeout overflows past 2^31-1 ms; nothing here needs to sleep longer than an hour. */
const MAX_SLEEP_MS = 3_600_000;

export interface TimerHandle {
  cancel(): void;
}

/** Time for the browser; `lab/manual-clock.ts` fits it. */
export interface BrowserClock {
  now(): number;
  setTimer(ms: number, fn: () => void): TimerHandle;
}

const systemClock: BrowserClock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, ms);
    // The sockets keep the process alive while browsing; a timer alone must not.
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

/** One query packet as multicast-dns sends it. */
export interface OutgoingQuery {
  questions: Question[];
  answers: Answer[];
  flags?: number;
}

/** Options given to the socket factory (a subset of multicast-dns's). */
export interface MdnsSocketOptions {
  /** IPv4 address of the interface: joins the group there and sends from it. */
  interface: string;
  /** Wildcard: a socket bound to a unicast address receives no multicast. */
  bind: string;
  port: number;
  reuseAddr: boolean;
  /** Our queries must reach a responder on this host too. */
  loopback: boolean;
}

/** The part of a multicast-dns instance the browser uses; tests substitute an EventEmitter fake. */
export interface MdnsSocketLike {
  on(event: 'ready', listener: () => void): unknown;
  on(event: 'response', listener: (packet: unknown, rinfo: unknown) => void): unknown;
  on(event: 'warning' | 'error', listener: (err: unknown) => void): unknown;
  query(packet: OutgoingQuery, callback: (error: Error | null) => void): void;
  destroy(callback?: () => void): void;
}

export interface MdnsBrowserOptions {
  /** DNS-SD service type; only its instances are tracked. Default `_airlift._tcp`. */
  serviceType?: string;
  /**
   * Interface names (`eth0`) or IPv4 addresses, one socket each; default: every interface with a
   * non-loopback IPv4 address, re-read while browsing.
   */
  interfaces?: string[];
  clock?: BrowserClock;
  mdnsFactory?: (options: MdnsSocketOptions) => MdnsSocketLike;
  /** Replaces os.networkInterfaces (tests). */
  networkInterfaces?: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
  /** [0, 1) source for the RFC's random delays; tests pass `() => 0`. */
  random?: () => number;
  /** See mdns-cache.ts DEFAULT_DOWN_GRACE_MS. */
  downGraceMs?: number;
  maxQueryIntervalMs?: number;
  /** Socket problems, malformed packets, failing listeners: for the log, never thrown. */
  onWarning?: (message: string, cause?: unknown) => void;
}

interface LinkSpec {
  /** Interface name, or the address when no interface has it (yet). */
  label: string;
  address: string;
  netmask?: string | undefined;
}

interface Link extends LinkSpec {
  id: string;
  socket: MdnsSocketLike;
  ready: boolean;
  closed: boolean;
  /** Resolves once the socket is bound or has failed. */
  settled: Promise<void>;
  error?: unknown;
}

const SERVICE_TYPE_RE = /^_[A-Za-z0-9-]{1,15}\._(?:tcp|udp)$/;

export class MdnsBrowser implements ServiceBrowser {
  private readonly cache: MdnsCache;
  private readonly clock: BrowserClock;
  private readonly factory: (options: MdnsSocketOptions) => MdnsSocketLike;
  private readonly nics: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
  private readonly random: () => number;
  private readonly maxQueryIntervalMs: number;
  private readonly specs: readonly string[] | undefined;
  private readonly warn: (message: string, cause?: unknown) => void;

  private readonly listeners = new Set<(event: DiscoveryEvent) => void>();
  private readonly links = new Map<string, Link>();
  /** Specs already reported as unresolvable (warn once until they resolve). */
  private readonly unresolvedWarned = new Set<string>();
  /** Per resolve question: when it was last asked and the wait before asking again. */
  private readonly asked = new Map<string, { at: number; interval: number }>();

  private running = false;
  /** Bumped by stop(): a timer or start() from before it is stale. */
  private generation = 0;
  private timer: TimerHandle | undefined;
  /** 0 until the first query of a series went out. */
  private queryInterval = 0;
  private nextQueryAt = Infinity;
  private nextLinkPollAt = Infinity;
  private resolveAt: number | undefined;

  constructor(options: MdnsBrowserOptions = {}) {
    const serviceType = options.serviceType ?? '_airlift._tcp';
    if (!SERVICE_TYPE_RE.test(serviceType)) {
      throw new AirliftError('INVALID_CONFIG', `Not a DNS-SD service type: "${serviceType}"`);
    }
    if (options.interfaces !== undefined) {
      if (options.interfaces.length === 0) {
        throw new AirliftError(
          'INVALID_CONFIG',
          'Give at least one interface, or omit the list to browse on every interface',
        );
      }
      for (const spec of options.interfaces) {
        if (typeof spec !== 'string' || spec === '' || spec.includes(':')) {
          throw new AirliftError(
            'INVALID_CONFIG',
            `Interface "${spec}" must be an interface name or an IPv4 address (IPv6 is not browsed)`,
          );
        }
      }
    }
    const maxInterval = options.maxQueryIntervalMs ?? DEFAULT_MAX_QUERY_INTERVAL_MS;
    if (!Number.isFinite(maxInterval) || maxInterval < MIN_QUERY_INTERVAL_MS) {
      throw new AirliftError(
        'INVALID_CONFIG',
        `maxQueryIntervalMs must be at least ${MIN_QUERY_INTERVAL_MS}`,
      );
    }
    this.random = options.random ?? Math.random;
    this.cache = new MdnsCache({
      serviceType,
      random: this.random,
      ...(options.downGraceMs === undefined ? {} : { downGraceMs: options.downGraceMs }),
    });
    this.clock = options.clock ?? systemClock;
    this.factory = options.mdnsFactory ?? ((o) => makeMdns(o));
    this.nics = options.networkInterfaces ?? osNetworkInterfaces;
    this.maxQueryIntervalMs = maxInterval;
    this.specs = options.interfaces ? [...options.interfaces] : undefined;
    this.warn = options.onWarning ?? (() => undefined);
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const generation = ++this.generation;
    const now = this.clock.now();
    this.syncLinks(now);
    const opened = [...this.links.values()];

    // Wait for the binds so that a refused socket (EACCES, ...) fails start() instead of a log line.
    let timeout: TimerHandle | undefined;
    await Promise.race([
      Promise.all(opened.map((l) => l.settled)),
      new Promise<void>((resolve) => {
        timeout = this.clock.setTimer(READY_TIMEOUT_MS, resolve);
      }),
    ]);
    timeout?.cancel();
    if (generation !== this.generation) return; // stop() came first

    if (opened.length > 0 && opened.every((l) => l.closed)) {
      const reasons = opened.map((l) => `${l.label}: ${describe(l.error)}`).join('; ');
      await this.stop();
      throw new AirliftError(
        'BACKEND_UNAVAILABLE',
        `Cannot open an mDNS socket on any interface (${reasons})`,
      );
    }
    if (opened.length === 0) {
      this.warn('mDNS: no interface with an IPv4 address yet; browsing starts when one appears');
    }
    this.restartQueries(this.clock.now());
  }

  subscribe(listener: (event: DiscoveryEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  services(): DiscoveredService[] {
    return this.cache.services();
  }

  refresh(): void {
    if (!this.running) return;
    const now = this.clock.now();
    this.syncLinks(now);
    this.asked.clear();
    this.restartQueries(now);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.generation++;
    this.timer?.cancel();
    this.timer = undefined;
    const links = [...this.links.values()];
    this.links.clear();
    this.cache.clear();
    this.asked.clear();
    this.resolveAt = undefined;
    this.nextQueryAt = Infinity;
    this.nextLinkPollAt = Infinity;
    await Promise.all(links.map((l) => this.closeLink(l)));
  }

  // ---------------------------------------------------------------------------------------------------
  // Scheduling: one timer, set for the earliest of the next query, cache deadline, resolve, link poll.

  private restartQueries(now: number): void {
    const [min, max] = FIRST_QUERY_DELAY_MS;
    this.queryInterval = 0;
    this.nextQueryAt = now + min + Math.floor(this.random() * (max - min + 1));
    this.nextLinkPollAt = now + LINK_POLL_MS;
    this.schedule();
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer?.cancel();
    const at = Math.min(
      this.nextQueryAt,
      this.nextLinkPollAt,
      this.resolveAt ?? Infinity,
      this.cache.nextDeadline() ?? Infinity,
    );
    if (!Number.isFinite(at)) {
      this.timer = undefined;
      return;
    }
    const generation = this.generation;
    const delay = Math.min(Math.max(0, at - this.clock.now()), MAX_SLEEP_MS);
    this.timer = this.clock.setTimer(delay, () => {
      if (generation !== this.generation) return;
      this.timer = undefined;
      this.wake();
    });
  }

  private wake(): void {
    const now = this.clock.now();
    this.emit(this.cache.tick(now));

    if (now >= this.nextLinkPollAt) {
      this.nextLinkPollAt = now + LINK_POLL_MS;
      // A new link has an empty cache: browse it now, with the back-off from the start.
      if (this.syncLinks(now) > 0) this.restartQueries(now);
    }
    if (now >= this.nextQueryAt) this.sendBrowse(now);

    const refreshes = this.cache.dueRefreshes(now);
    if (refreshes.length > 0) this.sendQuestions(refreshes);

    if (this.resolveAt !== undefined && now >= this.resolveAt) this.sendResolves(now);
    this.schedule();
  }

  // ---------------------------------------------------------------------------------------------------
  // Queries.

  private sendBrowse(now: number): void {
    const question: Question = { name: this.cache.browseName, type: 'PTR' };
    for (const link of this.links.values()) {
      // Known answers are per link: a responder on this link must not be silenced by what we heard
      // on another one.
      const known = this.cache.knownAnswers(now, link.label);
      for (const packet of splitKnownAnswers([question], known)) this.send(link, packet);
    }
    this.queryInterval =
      this.queryInterval === 0
        ? MIN_QUERY_INTERVAL_MS
        : Math.min(this.queryInterval * 2, this.maxQueryIntervalMs);
    this.nextQueryAt = now + this.queryInterval;
  }

  /** Ask what the cache says instances lack, each question backing off on its own (1 s doubling). */
  private sendResolves(now: number): void {
    this.resolveAt = undefined;
    const missing = this.cache.missing();
    const keys = new Set<string>();
    const due: CacheQuestion[] = [];
    let next = Infinity;
    for (const q of missing) {
      const key = `${q.name.toLowerCase()}|${q.type}|${q.interface ?? ''}`;
      keys.add(key);
      const asked = this.asked.get(key);
      if (asked && now < asked.at + asked.interval) {
        next = Math.min(next, asked.at + asked.interval);
        continue;
      }
      const interval = asked ? Math.min(asked.interval * 2, this.maxQueryIntervalMs) : MIN_QUERY_INTERVAL_MS;
      this.asked.set(key, { at: now, interval });
      next = Math.min(next, now + interval);
      due.push(q);
    }
    for (const key of this.asked.keys()) if (!keys.has(key)) this.asked.delete(key);
    if (due.length > 0) this.sendQuestions(due);
    if (Number.isFinite(next)) this.resolveAt = next;
  }

  /** One packet per link with the questions for it (a question without an interface goes everywhere). */
  private sendQuestions(questions: CacheQuestion[]): void {
    for (const link of this.links.values()) {
      const mine = questions
        .filter((q) => q.interface === undefined || q.interface === link.label || !this.hasLabel(q.interface))
        .map((q): Question => ({ name: q.name, type: q.type }));
      if (mine.length > 0) this.send(link, { questions: mine, answers: [] });
    }
  }

  private hasLabel(label: string): boolean {
    for (const l of this.links.values()) if (l.label === label) return true;
    return false;
  }

  private send(link: Link, packet: OutgoingQuery): void {
    if (link.closed) return;
    try {
      link.socket.query(packet, (err) => {
        if (err) this.warn(`mDNS: query on ${link.label} failed: ${err.message}`, err);
      });
    } catch (err) {
      this.warn(`mDNS: query on ${link.label} failed: ${describe(err)}`, err);
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Responses.

  private onResponse(link: Link, packet: unknown, rinfo: unknown): void {
    if (!this.running || link.closed) return;
    const source = remote(rinfo);
    if (source?.port !== MDNS_PORT) return;
    const attributed = this.attribute(link, source.address);
    if (!attributed.accept) return;
    if (typeof packet !== 'object' || packet === null) return;
    const now = this.clock.now();
    let events: DiscoveryEvent[];
    try {
      events = this.cache.ingest(
        packet,
        attributed.iface === undefined ? { now } : { now, interface: attributed.iface },
      );
    } catch (err) {
      // The cache validates every field; this is the last line of defence for the process.
      this.warn(`mDNS: response from ${source.address} could not be processed: ${describe(err)}`, err);
      return;
    }
    this.emit(events);
    // Ask soon for what is still missing; a question asked recently keeps its own back-off.
    if (this.cache.hasMissing()) {
      this.resolveAt = Math.min(this.resolveAt ?? Infinity, now + RESOLVE_DELAY_MS);
    }
    this.schedule();
  }

  /**
   * Which link a packet belongs to. On Linux every socket bound to *:5353 receives the group's
   * packets from every interface any socket joined (IP_MULTICAST_ALL), so each socket would see each
   * packet: the link whose subnet holds the sender takes it, the others drop their copy. A sender on
   * none of our subnets (a device that fell back to 169.254/16) is taken by every socket but with no
   * interface unless there is only one link, so the copies are identical and harmless.
   */
  private attribute(link: Link, source: string): { accept: boolean; iface?: string } {
    const links = [...this.links.values()];
    const owner = links.find((l) => inSubnet(source, l));
    if (owner) return owner === link ? { accept: true, iface: link.label } : { accept: false };
    return links.length === 1 ? { accept: true, iface: link.label } : { accept: true };
  }

  private emit(events: DiscoveryEvent[]): void {
    for (const event of events) {
      for (const listener of [...this.listeners]) {
        try {
          listener(event);
        } catch (err) {
          // One failing listener must not keep the event from the others.
          this.warn(`mDNS: a discovery listener threw on "${event.type}": ${describe(err)}`, err);
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Links.

  /** Open sockets for new links, close those gone; returns how many were opened. */
  private syncLinks(now: number): number {
    const wanted = new Map<string, LinkSpec>();
    for (const spec of this.resolveLinks()) wanted.set(`${spec.label}|${spec.address}`, spec);
    for (const [id, link] of this.links) {
      if (wanted.has(id) && !link.closed) continue;
      this.links.delete(id);
      void this.closeLink(link);
      // RFC 6762 §10.3: what was heard on a link that is gone (or changed address) can no longer be
      // confirmed. Done before the new link of the same name opens, so its records are not touched.
      this.emit(this.cache.forgetInterface(link.label, now));
    }
    let opened = 0;
    for (const [id, spec] of wanted) {
      if (this.links.has(id)) continue;
      if (this.openLink(id, spec)) opened++;
    }
    return opened;
  }

  private resolveLinks(): LinkSpec[] {
    let nics: NodeJS.Dict<NetworkInterfaceInfo[]>;
    try {
      nics = this.nics();
    } catch (err) {
      this.warn(`mDNS: cannot list network interfaces: ${describe(err)}`, err);
      return [...this.links.values()].map(({ label, address, netmask }) => ({ label, address, netmask }));
    }
    const out: LinkSpec[] = [];
    const seen = new Set<string>();
    const add = (spec: LinkSpec): void => {
      if (seen.has(spec.address)) return;
      seen.add(spec.address);
      out.push(spec);
    };
    if (this.specs === undefined) {
      for (const [name, infos] of Object.entries(nics)) {
        const info = infos?.find((i) => isV4(i) && !i.internal);
        if (info) add({ label: name, address: info.address, netmask: info.netmask });
      }
      return out;
    }
    for (const spec of this.specs) {
      let found: LinkSpec | undefined;
      if (isIPv4(spec)) {
        for (const [name, infos] of Object.entries(nics)) {
          const info = infos?.find((i) => isV4(i) && i.address === spec);
          if (info) found = { label: name, address: spec, netmask: info.netmask };
        }
        // Not (yet) on any interface: try anyway; joining the group fails with a warning until it is.
        found ??= { label: spec, address: spec };
      } else {
        const info = nics[spec]?.find(isV4);
        if (info) found = { label: spec, address: info.address, netmask: info.netmask };
      }
      if (found) {
        this.unresolvedWarned.delete(spec);
        add(found);
      } else if (!this.unresolvedWarned.has(spec)) {
        this.unresolvedWarned.add(spec);
        this.warn(`mDNS: interface "${spec}" has no IPv4 address; it is browsed once it gets one`);
      }
    }
    return out;
  }

  private openLink(id: string, spec: LinkSpec): boolean {
    let socket: MdnsSocketLike;
    try {
      socket = this.factory({
        interface: spec.address,
        bind: '0.0.0.0',
        port: MDNS_PORT,
        reuseAddr: true,
        loopback: true,
      });
    } catch (err) {
      this.warn(`mDNS: cannot open a socket on ${spec.label} (${spec.address}): ${describe(err)}`, err);
      return false;
    }
    let settle: () => void = () => undefined;
    const link: Link = {
      ...spec,
      id,
      socket,
      ready: false,
      closed: false,
      settled: new Promise<void>((resolve) => (settle = resolve)),
    };
    socket.on('ready', () => {
      link.ready = true;
      settle();
    });
    socket.on('response', (packet, rinfo) => this.onResponse(link, packet, rinfo));
    socket.on('warning', (err) => {
      // Undecodable packets and group joins that failed: the socket itself is fine.
      if (this.running && !link.closed) this.warn(`mDNS: ${link.label}: ${describe(err)}`, err);
    });
    socket.on('error', (err) => {
      // multicast-dns reports bind failures (EACCES, EADDRINUSE) here: this link is unusable. The
      // next interface poll opens it again.
      link.error = err;
      if (this.running && !link.closed)
        this.warn(`mDNS: socket on ${link.label} failed: ${describe(err)}`, err);
      if (this.links.get(id) === link) this.links.delete(id);
      void this.closeLink(link);
      settle();
    });
    this.links.set(id, link);
    return true;
  }

  private closeLink(link: Link): Promise<void> {
    if (link.closed) return Promise.resolve();
    link.closed = true;
    return new Promise<void>((resolve) => {
      try {
        link.socket.destroy(() => resolve());
      } catch (err) {
        this.warn(`mDNS: closing the socket on ${link.label} failed: ${describe(err)}`, err);
        resolve();
      }
    });
  }
}

// -----------------------------------------------------------------------------------------------------

/**
 * Known answers spread over as many packets as needed (RFC 6762 §7.2): the questions go in the
 * first, every packet but the last carries TC so responders wait for the rest (400-500 ms).
 * Sizes are those of dns-packet's uncompressed encoding.
 */
export function splitKnownAnswers(
  questions: Question[],
  answers: KnownAnswer[],
  maxBytes = MAX_QUERY_BYTES,
): OutgoingQuery[] {
  const packets: OutgoingQuery[] = [];
  let current: OutgoingQuery = { questions, answers: [] };
  let size = 12 + questions.reduce((n, q) => n + nameBytes(q.name) + 4, 0);
  for (const answer of answers) {
    const bytes = nameBytes(answer.name) + 10 + nameBytes(answer.data);
    if (current.answers.length > 0 && size + bytes > maxBytes) {
      packets.push(current);
      current = { questions: [], answers: [] };
      size = 12;
    }
    current.answers.push(answer);
    size += bytes;
  }
  packets.push(current);
  for (const p of packets.slice(0, -1)) p.flags = TC_FLAG;
  return packets;
}

function nameBytes(name: string): number {
  return name === '' ? 1 : Buffer.byteLength(name) + 2;
}

function isV4(info: NetworkInterfaceInfo): boolean {
  // Node 18.0-18.3 reported the family as a number.
  return info.family === 'IPv4' || (info.family as unknown) === 4;
}

function inSubnet(address: string, link: LinkSpec): boolean {
  if (link.netmask === undefined) return false;
  const a = parseIpv4(address);
  const b = parseIpv4(link.address);
  const m = parseIpv4(link.netmask);
  if (a === undefined || b === undefined || m === undefined || m === 0) return false;
  return sameSubnet(a, b, m);
}

function remote(rinfo: unknown): { address: string; port: number } | undefined {
  if (typeof rinfo !== 'object' || rinfo === null) return undefined;
  const r = rinfo as Record<string, unknown>;
  return typeof r.address === 'string' && typeof r.port === 'number'
    ? { address: r.address, port: r.port }
    : undefined;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
