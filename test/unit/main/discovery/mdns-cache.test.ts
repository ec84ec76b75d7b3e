/**
 * MdnsCache (main/discovery/mdns-cache.ts) on crafted packets: every packet is encoded and decoded by
 * dns-packet, so the cache sees exactly what multicast-dns hands over (Buffers for TXT, flush bits).
 * Time is a number passed in; nothing here sleeps.
 */
import fc from 'fast-check';
import { AUTHORITATIVE_ANSWER, decode, encode, type Answer } from 'dns-packet';
import { describe, expect, it } from 'vitest';
import {
  MdnsCache,
  type MdnsCacheOptions,
  DEFAULT_DOWN_GRACE_MS,
} from '../../../../main/discovery/mdns-cache';
import type { DiscoveryEvent } from '../../../../main/ports/discovery';

const T0 = Date.UTC(2026, 0, 1);
const TYPE = '_airlift._tcp.local';
const FQDN = 'Airlift K7Q2M6XA._airlift._tcp.local';
const HOST = 'airlift-k7q2m6xa.local';
const SETUP = ['id=K7Q2M6XA', 'v=1', 'st=setup', 'pv=', 'md=lab-pi', 'fw=1.0.0'];
const ONLINE = ['id=K7Q2M6XA', 'v=1', 'st=online', 'pv=0badc0de', 'md=lab-pi', 'fw=1.0.0'];
const TXT_SETUP = { id: 'K7Q2M6XA', v: '1', st: 'setup', pv: '', md: 'lab-pi', fw: '1.0.0' };

const ptr = (ttl = 4500, data = FQDN): Answer => ({ name: TYPE, type: 'PTR', ttl, data });
const srv = (ttl = 120, port = 4780, target = HOST): Answer => ({
  name: FQDN,
  type: 'SRV',
  ttl,
  flush: true,
  data: { target, port },
});
const txt = (entries: string[], ttl = 4500): Answer => ({
  name: FQDN,
  type: 'TXT',
  ttl,
  flush: true,
  data: entries,
});
const a = (address: string, ttl = 120, flush = true, name = HOST): Answer => ({
  name,
  type: 'A',
  ttl,
  flush,
  data: address,
});

/** A response as it comes off the wire. */
function wire(answers: Answer[], additionals: Answer[] = []) {
  return decode(encode({ type: 'response', flags: AUTHORITATIVE_ANSWER, answers, additionals }));
}

/** The whole service in one packet, the way ciao announces it. */
const announce = (entries = SETUP, address = '10.77.0.1') => wire([ptr(), srv(), txt(entries), a(address)]);

function upAt(now: number, options: MdnsCacheOptions = {}): MdnsCache {
  const cache = new MdnsCache({ random: () => 0, ...options });
  const events = cache.ingest(announce(), { now, interface: 'eth0' });
  expect(events.map((e) => e.type)).toEqual(['up']);
  return cache;
}

/** expect.objectContaining, typed for use inside an expected object. */
const like = (shape: object): unknown => expect.objectContaining(shape);
const types = (events: DiscoveryEvent[]) => events.map((e) => e.type);

describe('assembling a service', () => {
  it('reports up only once PTR, SRV, TXT and an address are known, across packets', () => {
    const cache = new MdnsCache({ random: () => 0 });
    expect(cache.ingest(wire([ptr()]), { now: T0, interface: 'eth0' })).toEqual([]);
    expect(cache.missing()).toEqual([
      { name: FQDN, type: 'SRV', interface: 'eth0' },
      { name: FQDN, type: 'TXT', interface: 'eth0' },
    ]);
    expect(cache.ingest(wire([srv()], [txt(SETUP)]), { now: T0 + 10, interface: 'eth0' })).toEqual([]);
    expect(cache.missing()).toEqual([
      { name: HOST, type: 'A', interface: 'eth0' },
      { name: HOST, type: 'AAAA', interface: 'eth0' },
    ]);
    expect(cache.services()).toEqual([]);

    const events = cache.ingest(wire([a('10.77.0.1')]), { now: T0 + 20, interface: 'eth0' });
    expect(events).toEqual([
      {
        type: 'up',
        service: {
          fqdn: FQDN,
          instance: 'Airlift K7Q2M6XA',
          host: HOST,
          port: 4780,
          addresses: ['10.77.0.1'],
          txt: TXT_SETUP,
          interface: 'eth0',
          lastSeen: T0 + 20,
        },
      },
    ]);
    expect(cache.missing()).toEqual([]);
    expect(cache.services()).toHaveLength(1);
  });

  it('takes SRV, TXT and addresses from the additional section', () => {
    const cache = new MdnsCache();
    const events = cache.ingest(wire([ptr()], [srv(), txt(SETUP), a('10.77.0.1')]), { now: T0 });
    expect(types(events)).toEqual(['up']);
    // No interface given: none reported.
    expect(cache.services()[0]?.interface).toBeUndefined();
  });

  it('SRV and TXT before the PTR are kept; an address before its SRV is not (and is asked for)', () => {
    const cache = new MdnsCache();
    expect(cache.ingest(wire([a('10.77.0.1')]), { now: T0 })).toEqual([]);
    expect(cache.size).toBe(0);
    expect(cache.ingest(wire([srv(), txt(SETUP)]), { now: T0 + 5 })).toEqual([]);
    expect(cache.ingest(wire([ptr()]), { now: T0 + 10 })).toEqual([]);
    expect(cache.missing().map((q) => q.type)).toEqual(['A', 'AAAA']);
    expect(types(cache.ingest(wire([a('10.77.0.1')]), { now: T0 + 20 }))).toEqual(['up']);
  });

  it('lists IPv4 and IPv6 addresses of the SRV target, freshest first', () => {
    const cache = upAt(T0);
    const aaaa: Answer = { name: HOST, type: 'AAAA', ttl: 120, data: 'fe80::1' };
    const events = cache.ingest(wire([aaaa]), { now: T0 + 100, interface: 'eth0' });
    expect(events).toEqual([expect.objectContaining({ type: 'update', changed: ['addresses'] }) as unknown]);
    expect(cache.services()[0]?.addresses).toEqual(['fe80::1', '10.77.0.1']);
  });

  it('matches names case-insensitively and tolerates a trailing dot', () => {
    const cache = new MdnsCache();
    const events = cache.ingest(
      wire([
        { name: '_AIRLIFT._TCP.LOCAL', type: 'PTR', ttl: 4500, data: FQDN.toUpperCase() },
        { ...srv(), name: FQDN.toLowerCase() },
        txt(SETUP),
        a('10.77.0.1', 120, true, HOST.toUpperCase()),
      ]),
      { now: T0 },
    );
    expect(types(events)).toEqual(['up']);
    const raw = cache.ingest({ answers: [{ ...ptr(), name: `${TYPE}.` }] }, { now: T0 + 1 });
    expect(raw).toEqual([]);
    expect(cache.size).toBe(4);
  });

  it('tracks only its own service type', () => {
    const cache = new MdnsCache();
    const other = 'Printer._ipp._tcp.local';
    const events = cache.ingest(
      wire([
        { name: '_ipp._tcp.local', type: 'PTR', ttl: 4500, data: other },
        { name: other, type: 'SRV', ttl: 120, data: { target: 'printer.local', port: 631 } },
        { name: other, type: 'TXT', ttl: 4500, data: ['rp=ipp'] },
        a('10.77.0.50', 120, true, 'printer.local'),
        // A PTR of our type pointing outside it, and a bare `_airlift._tcp.local` SRV.
        { name: TYPE, type: 'PTR', ttl: 4500, data: other },
        { name: TYPE, type: 'SRV', ttl: 120, data: { target: HOST, port: 1 } },
      ]),
      { now: T0 },
    );
    expect(events).toEqual([]);
    expect(cache.size).toBe(0);
  });

  it('ignores records that do not parse, and never throws', () => {
    const cache = new MdnsCache();
    const junk: unknown[] = [
      null,
      'PTR',
      42,
      { name: 5, type: 'PTR', ttl: 1, data: FQDN },
      { name: TYPE, type: 'PTR', ttl: -1, data: FQDN },
      { name: TYPE, type: 'PTR', ttl: 1.5, data: FQDN },
      { name: TYPE, type: 'PTR', ttl: 2 ** 32, data: FQDN },
      { name: TYPE, type: 'PTR', data: FQDN },
      { name: TYPE, type: 'PTR', ttl: 1, data: Buffer.from('x') },
      { name: TYPE, type: 'PTR', ttl: 1, class: 'CH', data: FQDN },
      { name: FQDN, type: 'SRV', ttl: 1, data: { target: HOST, port: 0 } },
      { name: FQDN, type: 'SRV', ttl: 1, data: { target: HOST, port: '4780' } },
      { name: FQDN, type: 'SRV', ttl: 1, data: null },
      { name: FQDN, type: 'TXT', ttl: 1, data: 7 },
      { name: FQDN, type: 'TXT', ttl: 1, data: [{}] },
      { name: HOST, type: 'A', ttl: 1, data: '999.1.1.1' },
      { name: HOST, type: 'AAAA', ttl: 1, data: '10.0.0.1' },
      { name: '', type: 'PTR', ttl: 1, data: FQDN },
      { name: 'x'.repeat(300), type: 'PTR', ttl: 1, data: FQDN },
    ];
    expect(cache.ingest({ answers: junk, additionals: 'nope' }, { now: T0 })).toEqual([]);
    expect(cache.ingest({ answers: { length: 3 } }, { now: T0 })).toEqual([]);
    expect(cache.size).toBe(0);

    fc.assert(
      fc.property(fc.anything(), fc.anything(), (answers, additionals) => {
        const fuzzed = new MdnsCache();
        fuzzed.ingest({ answers, additionals }, { now: T0 });
        fuzzed.tick(T0 + 10_000_000);
        return true;
      }),
      { numRuns: 300 },
    );
    // Shapes close to real records, with hostile values.
    const record = fc.record({
      name: fc.oneof(fc.constant(TYPE), fc.constant(FQDN), fc.constant(HOST), fc.string()),
      type: fc.constantFrom('PTR', 'SRV', 'TXT', 'A', 'AAAA', 'NSEC', 'OPT'),
      ttl: fc.oneof(fc.integer({ min: -5, max: 5000 }), fc.double()),
      flush: fc.boolean(),
      data: fc.oneof(
        fc.constant(FQDN),
        fc.string(),
        fc.record({ target: fc.string(), port: fc.integer({ min: -1, max: 70000 }) }),
        fc.array(fc.oneof(fc.string(), fc.uint8Array())),
        fc.ipV4(),
        fc.ipV6(),
      ),
    });
    fc.assert(
      fc.property(fc.array(record, { maxLength: 20 }), fc.nat({ max: 200_000_000 }), (answers, later) => {
        const fuzzed = new MdnsCache({ downGraceMs: 0 });
        fuzzed.ingest({ answers }, { now: T0, interface: 'eth0' });
        fuzzed.dueRefreshes(T0 + later);
        fuzzed.knownAnswers(T0 + later);
        fuzzed.missing();
        fuzzed.tick(T0 + later);
        return (fuzzed.nextDeadline() ?? Infinity) > T0;
      }),
      { numRuns: 300 },
    );
  });

  it('returns copies: a listener cannot corrupt the cache', () => {
    const cache = upAt(T0);
    const [copy] = cache.services();
    if (!copy) throw new Error('no service');
    copy.addresses.push('6.6.6.6');
    copy.txt.st = 'online';
    expect(cache.services()[0]?.addresses).toEqual(['10.77.0.1']);
    expect(cache.services()[0]?.txt.st).toBe('setup');
  });
});

describe('updates', () => {
  it('a TXT change (cache-flush) is an update of txt', () => {
    const cache = upAt(T0);
    const events = cache.ingest(wire([txt(ONLINE)]), { now: T0 + 5000, interface: 'eth0' });
    expect(events).toEqual([
      {
        type: 'update',
        changed: ['txt'],
        service: like({ txt: like({ st: 'online', pv: '0badc0de' }) }),
      },
    ]);
  });

  it('a new address replacing the old one (cache-flush) is one update of addresses', () => {
    const cache = upAt(T0);
    const sizeBefore = cache.size;
    const events = cache.ingest(wire([a('10.77.0.9')]), { now: T0 + 5000, interface: 'eth0' });
    expect(events).toEqual([
      {
        type: 'update',
        changed: ['addresses'],
        service: like({ addresses: ['10.77.0.9'] }),
      },
    ]);
    // §10.2: the flushed record stays one second, then goes without another event.
    expect(cache.size).toBe(sizeBefore + 1);
    expect(cache.tick(T0 + 5999)).toEqual([]);
    expect(cache.size).toBe(sizeBefore + 1);
    expect(cache.tick(T0 + 6000)).toEqual([]);
    expect(cache.size).toBe(sizeBefore);
  });

  it('port and host changes are reported', () => {
    const cache = upAt(T0);
    expect(cache.ingest(wire([srv(120, 8080)]), { now: T0 + 5000, interface: 'eth0' })).toEqual([
      expect.objectContaining({ type: 'update', changed: ['port'] }),
    ]);
    const moved = cache.ingest(
      wire([srv(120, 8080, 'other.local'), a('10.77.0.3', 120, true, 'other.local')]),
      {
        now: T0 + 10_000,
        interface: 'eth0',
      },
    );
    expect(moved).toEqual([
      expect.objectContaining({
        type: 'update',
        changed: ['addresses', 'host'],
        service: like({ host: 'other.local', addresses: ['10.77.0.3'] }),
      }),
    ]);
  });

  it('a re-announcement of the same records changes nothing but lastSeen', () => {
    const cache = upAt(T0);
    expect(cache.ingest(announce(), { now: T0 + 1000, interface: 'eth0' })).toEqual([]);
    expect(cache.services()[0]?.lastSeen).toBe(T0 + 1000);
  });

  it('an address goodbye before the new address keeps the old one until the new one arrives', () => {
    const cache = upAt(T0);
    expect(cache.ingest(wire([a('10.77.0.1', 0)]), { now: T0 + 5000, interface: 'eth0' })).toEqual([]);
    expect(cache.services()[0]?.addresses).toEqual(['10.77.0.1']);
    expect(cache.tick(T0 + 6000)).toEqual([]);
    expect(cache.ingest(wire([a('10.77.0.9')]), { now: T0 + 6500, interface: 'eth0' })).toEqual([
      expect.objectContaining({ type: 'update', changed: ['addresses'] }),
    ]);
  });
});

describe('cache flush (RFC 6762 §10.2)', () => {
  it('keeps records of the set received within the last second (one announcement, several packets)', () => {
    const cache = upAt(T0);
    const events = cache.ingest(wire([a('10.77.0.2')]), { now: T0 + 500, interface: 'eth0' });
    expect(events).toEqual([expect.objectContaining({ changed: ['addresses'] })]);
    expect(cache.services()[0]?.addresses).toEqual(['10.77.0.2', '10.77.0.1']);
  });

  it('leaves the same name on another interface alone', () => {
    const cache = upAt(T0);
    cache.ingest(wire([a('192.168.1.5')]), { now: T0, interface: 'wlan0' });
    expect(cache.services()[0]?.addresses.sort()).toEqual(['10.77.0.1', '192.168.1.5']);
    expect(cache.ingest(wire([a('10.77.0.1')]), { now: T0 + 5000, interface: 'eth0' })).toEqual([]);
    expect(cache.services()[0]?.addresses).toEqual(['10.77.0.1', '192.168.1.5']);
  });

  it('a goodbye carrying the flush bit removes only itself', () => {
    const cache = new MdnsCache();
    cache.ingest(wire([ptr(), srv(), txt(SETUP), a('10.77.0.1'), a('10.77.0.2')]), { now: T0 });
    const events = cache.ingest(wire([a('10.77.0.1', 0, true)]), { now: T0 + 5000 });
    expect(events).toEqual([
      expect.objectContaining({
        changed: ['addresses'],
        service: like({ addresses: ['10.77.0.2'] }),
      }),
    ]);
  });

  it('a record without the flush bit adds to the set', () => {
    const cache = upAt(T0);
    cache.ingest(wire([a('10.77.0.2', 120, false)]), { now: T0 + 5000, interface: 'eth0' });
    expect(cache.services()[0]?.addresses).toEqual(['10.77.0.2', '10.77.0.1']);
  });
});

describe('goodbyes and expiry', () => {
  it('a PTR goodbye reports down after the grace; the record itself leaves after one second', () => {
    const cache = upAt(T0);
    const size = cache.size;
    const t1 = T0 + 10_000;
    expect(cache.ingest(wire([ptr(0)]), { now: t1, interface: 'eth0' })).toEqual([]);
    expect(cache.services()).toHaveLength(1); // held
    expect(cache.knownAnswers(t1)).toEqual([]);
    expect(cache.tick(t1 + 999)).toEqual([]);
    expect(cache.size).toBe(size);
    expect(cache.tick(t1 + 1000)).toEqual([]);
    expect(cache.size).toBe(size - 1);
    expect(cache.nextDeadline()).toBe(t1 + DEFAULT_DOWN_GRACE_MS);
    expect(cache.tick(t1 + DEFAULT_DOWN_GRACE_MS - 1)).toEqual([]);
    expect(cache.tick(t1 + DEFAULT_DOWN_GRACE_MS)).toEqual([{ type: 'down', fqdn: FQDN }]);
    expect(cache.services()).toEqual([]);
  });

  it('with no grace, a goodbye of the SRV is down at once', () => {
    const cache = upAt(T0, { downGraceMs: 0 });
    expect(cache.ingest(wire([srv(0)]), { now: T0 + 10, interface: 'eth0' })).toEqual([
      { type: 'down', fqdn: FQDN },
    ]);
  });

  it('Avahi-style TXT change: goodbyes, then the service again within the grace: one update, no down', () => {
    const cache = upAt(T0);
    const t1 = T0 + 20_000;
    expect(cache.ingest(wire([ptr(0), srv(0), txt(SETUP, 0)]), { now: t1, interface: 'eth0' })).toEqual([]);
    expect(cache.tick(t1 + 1000)).toEqual([]);
    const events = cache.ingest(announce(ONLINE), { now: t1 + 1050, interface: 'eth0' });
    expect(events).toEqual([expect.objectContaining({ type: 'update', changed: ['txt'] })]);
    expect(cache.tick(t1 + 60_000)).toEqual([]);
    expect(cache.services()[0]?.txt.st).toBe('online');
  });

  it('a goodbye revoked by a re-announcement within the second is no event at all', () => {
    const cache = upAt(T0);
    cache.ingest(wire([ptr(0)]), { now: T0 + 5000, interface: 'eth0' });
    expect(cache.ingest(wire([ptr()]), { now: T0 + 5500, interface: 'eth0' })).toEqual([]);
    expect(cache.tick(T0 + 100_000)).toEqual([]);
    expect(cache.services()).toHaveLength(1);
  });

  it('a goodbye for a record never seen is ignored', () => {
    const cache = new MdnsCache();
    expect(cache.ingest(wire([ptr(0), srv(0)]), { now: T0 })).toEqual([]);
    expect(cache.size).toBe(0);
  });

  it('the SRV expiring at its TTL takes the service down', () => {
    const cache = upAt(T0, { downGraceMs: 0 });
    expect(cache.tick(T0 + 119_999)).toEqual([]);
    expect(cache.tick(T0 + 120_000)).toEqual([{ type: 'down', fqdn: FQDN }]);
    // PTR and TXT (4500 s) are still cached: an SRV answer brings the service back.
    expect(
      types(cache.ingest(wire([srv(), a('10.77.0.1')]), { now: T0 + 121_000, interface: 'eth0' })),
    ).toEqual(['up']);
  });

  it('a TXT that expires alone keeps the service with its last TXT and asks for it', () => {
    const cache = new MdnsCache({ downGraceMs: 0 });
    cache.ingest(wire([ptr(), srv(4500), txt(SETUP, 60), a('10.77.0.1', 4500)]), { now: T0 });
    expect(cache.tick(T0 + 60_000)).toEqual([]);
    expect(cache.services()[0]?.txt).toEqual(TXT_SETUP);
    expect(cache.missing()).toEqual([{ name: FQDN, type: 'TXT' }]);
  });

  it('forgetting an interface expires its records like a goodbye (RFC 6762 §10.3)', () => {
    const cache = upAt(T0, { downGraceMs: 0 });
    expect(cache.forgetInterface('wlan0', T0 + 10)).toEqual([]);
    expect(cache.forgetInterface('eth0', T0 + 10)).toEqual([{ type: 'down', fqdn: FQDN }]);
    cache.tick(T0 + 1010);
    expect(cache.size).toBe(0);
  });
});

describe('cache maintenance (RFC 6762 §5.2)', () => {
  it('asks at 80, 85, 90 and 95 % of the TTL, then lets the record expire', () => {
    const cache = new MdnsCache({ random: () => 0 });
    cache.ingest(wire([ptr(), srv(100), txt(SETUP), a('10.77.0.1', 100)]), { now: T0, interface: 'eth0' });
    expect(cache.nextDeadline()).toBe(T0 + 80_000);
    expect(cache.dueRefreshes(T0 + 79_999)).toEqual([]);
    const due = [80, 85, 90, 95].map((pct) => cache.dueRefreshes(T0 + pct * 1000));
    for (const questions of due) {
      expect(questions).toEqual([
        { name: FQDN, type: 'SRV', interface: 'eth0' },
        { name: HOST, type: 'A', interface: 'eth0' },
      ]);
    }
    expect(cache.dueRefreshes(T0 + 99_999)).toEqual([]);
    expect(cache.nextDeadline()).toBe(T0 + 100_000); // expiry
  });

  it('adds up to 2 % of the TTL at random, and an answer starts the steps over', () => {
    const cache = new MdnsCache({ random: () => 0.5 });
    cache.ingest(wire([ptr(), srv(100), txt(SETUP), a('10.77.0.1', 100)]), { now: T0 });
    expect(cache.dueRefreshes(T0 + 80_999)).toEqual([]);
    expect(cache.dueRefreshes(T0 + 81_000).map((q) => q.type)).toEqual(['SRV', 'A']);
    cache.ingest(wire([srv(100), a('10.77.0.1', 100)]), { now: T0 + 82_000 });
    expect(cache.dueRefreshes(T0 + 86_000)).toEqual([]);
    expect(cache.nextDeadline()).toBe(T0 + 82_000 + 81_000);
  });

  it('a late wake-up asks once, not once per missed step', () => {
    const cache = new MdnsCache({ random: () => 0 });
    cache.ingest(wire([ptr(), srv(100), txt(SETUP), a('10.77.0.1', 100)]), { now: T0 });
    expect(cache.dueRefreshes(T0 + 96_000)).toHaveLength(2);
    expect(cache.dueRefreshes(T0 + 99_000)).toEqual([]);
  });

  it('does not ask about addresses no SRV points at any more', () => {
    const cache = new MdnsCache({ random: () => 0 });
    cache.ingest(wire([ptr(), srv(4500), txt(SETUP), a('10.77.0.1', 100)]), { now: T0 });
    cache.ingest(wire([srv(4500, 4780, 'elsewhere.local')]), { now: T0 + 2000 });
    expect(cache.dueRefreshes(T0 + 80_000)).toEqual([]);
  });
});

describe('known answers (RFC 6762 §7.1)', () => {
  it('lists reported PTRs with more than half their TTL left, with the TTL that remains', () => {
    const cache = upAt(T0);
    expect(cache.knownAnswers(T0 + 1000)).toEqual([
      { name: TYPE, type: 'PTR', class: 'IN', ttl: 4499, data: FQDN },
    ]);
    expect(cache.knownAnswers(T0 + 2_249_000)).toHaveLength(1);
    expect(cache.knownAnswers(T0 + 2_250_000)).toEqual([]);
  });

  it('is per interface', () => {
    const cache = upAt(T0);
    expect(cache.knownAnswers(T0, 'eth0')).toHaveLength(1);
    expect(cache.knownAnswers(T0, 'wlan0')).toEqual([]);
  });

  it('leaves out incomplete services, so that their answer still comes', () => {
    const cache = new MdnsCache();
    cache.ingest(wire([ptr(), srv(), txt(SETUP)]), { now: T0 });
    expect(cache.knownAnswers(T0)).toEqual([]);
  });
});

describe('limits', () => {
  it('stops caching new records at maxRecords and counts what it dropped', () => {
    const cache = new MdnsCache({ maxRecords: 10 });
    const many = Array.from({ length: 30 }, (_, i) => ptr(4500, `Airlift D${i}._airlift._tcp.local`));
    cache.ingest(wire(many), { now: T0 });
    expect(cache.size).toBe(10);
    expect(cache.dropped).toBe(20);
    // Known records are still refreshed when the cache is full.
    cache.ingest(wire(many.slice(0, 1)), { now: T0 + 1000 });
    expect(cache.dropped).toBe(20);
  });

  it('a TXT value that is not UTF-8 stays visible instead of vanishing', () => {
    const cache = new MdnsCache();
    const bad: Answer = {
      name: FQDN,
      type: 'TXT',
      ttl: 4500,
      data: [Buffer.from('id=K7Q2M6XA'), Buffer.from([0x6d, 0x64, 0x3d, 0xff])],
    };
    cache.ingest(wire([ptr(), srv(), bad, a('10.77.0.1')]), { now: T0 });
    expect(cache.services()[0]?.txt).toEqual({ id: 'K7Q2M6XA', md: '\ufffd' });
  });
});
