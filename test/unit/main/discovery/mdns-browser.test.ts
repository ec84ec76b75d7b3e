/**
 * MdnsBrowser (main/discovery/mdns-browser.ts) over fake multicast-dns sockets and a manual clock:
 * which sockets it opens, when it queries and with which known answers, how it treats responses
 * (interface attribution, source port, malformed packets), and teardown. Packets are built with
 * dns-packet and decoded, as multicast-dns would hand them over.
 * test/integration/main/mdns-browser-netns.test.ts runs it against a real advertiser.
 */
import { EventEmitter } from 'node:events';
import type { NetworkInterfaceInfo } from 'node:os';
import fc from 'fast-check';
import { AUTHORITATIVE_ANSWER, TRUNCATED_RESPONSE, decode, encode, type Answer } from 'dns-packet';
import { describe, expect, it } from 'vitest';
import {
  MAX_QUERY_BYTES,
  MdnsBrowser,
  splitKnownAnswers,
  type MdnsBrowserOptions,
  type MdnsSocketLike,
  type MdnsSocketOptions,
  type OutgoingQuery,
} from '../../../../main/discovery/mdns-browser';
import type { DiscoveryEvent } from '../../../../main/ports/discovery';
import { AirliftError } from '../../../../shared/errors';
import { ManualClock } from '../../../../lab/manual-clock';

const TYPE = '_airlift._tcp.local';
const FQDN = 'Airlift K7Q2M6XA._airlift._tcp.local';
const HOST = 'airlift-k7q2m6xa.local';
const SETUP = ['id=K7Q2M6XA', 'v=1', 'st=setup', 'pv=', 'md=lab-pi', 'fw=1.0.0'];
const ONLINE = ['id=K7Q2M6XA', 'v=1', 'st=online', 'pv=0badc0de', 'md=lab-pi', 'fw=1.0.0'];
const DEVICE = { address: '10.77.0.1', port: 5353, family: 'IPv4', size: 0 };

const ptr = (ttl = 4500, data = FQDN): Answer => ({ name: TYPE, type: 'PTR', ttl, data });
const srv = (ttl = 120): Answer => ({
  name: FQDN,
  type: 'SRV',
  ttl,
  flush: true,
  data: { target: HOST, port: 4780 },
});
const txt = (entries: string[], ttl = 4500): Answer => ({
  name: FQDN,
  type: 'TXT',
  ttl,
  flush: true,
  data: entries,
});
const a = (address: string, ttl = 120): Answer => ({
  name: HOST,
  type: 'A',
  ttl,
  flush: true,
  data: address,
});
const wire = (answers: Answer[], additionals: Answer[] = []) =>
  decode(encode({ type: 'response', flags: AUTHORITATIVE_ANSWER, answers, additionals }));

/** expect.objectContaining, typed for use inside an expected object. */
const like = (shape: object): unknown => expect.objectContaining(shape);

function nic(address: string, netmask: string, internal = false): NetworkInterfaceInfo {
  return { address, netmask, family: 'IPv4', mac: '02:00:00:00:00:01', internal, cidr: `${address}/24` };
}

class FakeSocket extends EventEmitter implements MdnsSocketLike {
  readonly sent: { at: number; packet: OutgoingQuery }[] = [];
  destroyed = false;
  failQuery: Error | undefined;

  constructor(
    readonly options: MdnsSocketOptions,
    private readonly clock: ManualClock,
    bindError?: Error,
  ) {
    super();
    // multicast-dns binds asynchronously and then reports 'ready' (or 'error').
    queueMicrotask(() => (bindError ? this.emit('error', bindError) : this.emit('ready')));
  }
  query(packet: OutgoingQuery, callback: (error: Error | null) => void): void {
    // Encodable exactly as multicast-dns would send it.
    encode({ ...packet, type: 'query' });
    this.sent.push({ at: this.clock.now(), packet: structuredClone(packet) });
    callback(this.failQuery ?? null);
  }
  destroy(callback?: () => void): void {
    this.destroyed = true;
    callback?.();
  }
  /** A response arriving on this socket. */
  receive(packet: unknown, rinfo: unknown = DEVICE): void {
    this.emit('response', packet, rinfo);
  }
  /** PTR queries sent, with their time. */
  get browses() {
    return this.sent.filter((s) => s.packet.questions.some((q) => q.name === TYPE && q.type === 'PTR'));
  }
}

interface Rig {
  browser: MdnsBrowser;
  clock: ManualClock;
  sockets: FakeSocket[];
  socket(address: string): FakeSocket;
  events: DiscoveryEvent[];
  warnings: string[];
  nics: NodeJS.Dict<NetworkInterfaceInfo[]>;
  bindError: Error | undefined;
}

function rig(options: MdnsBrowserOptions = {}): Rig {
  const clock = new ManualClock();
  const r: Rig = {
    clock,
    sockets: [],
    events: [],
    warnings: [],
    bindError: undefined,
    nics: {
      lo: [nic('127.0.0.1', '255.0.0.0', true)],
      eth0: [nic('10.77.0.2', '255.255.255.0')],
      wlan0: [nic('192.168.1.20', '255.255.255.0')],
    },
    socket(address) {
      const found = r.sockets.filter((s) => s.options.interface === address && !s.destroyed).at(-1);
      if (!found) throw new Error(`no open socket on ${address}`);
      return found;
    },
    browser: undefined as unknown as MdnsBrowser,
  };
  r.browser = new MdnsBrowser({
    clock,
    random: () => 0,
    networkInterfaces: () => r.nics,
    mdnsFactory: (o) => {
      const s = new FakeSocket(o, clock, r.bindError);
      r.sockets.push(s);
      return s;
    },
    onWarning: (m) => r.warnings.push(m),
    ...options,
  });
  r.browser.subscribe((e) => r.events.push(e));
  return r;
}

async function started(options: MdnsBrowserOptions = {}): Promise<Rig> {
  const r = rig(options);
  await r.browser.start();
  return r;
}

describe('sockets', () => {
  it('opens one socket per interface with an IPv4 address, bound to the wildcard, never on loopback', async () => {
    const r = await started();
    expect(r.sockets.map((s) => s.options)).toEqual([
      { interface: '10.77.0.2', bind: '0.0.0.0', port: 5353, reuseAddr: true, loopback: true },
      { interface: '192.168.1.20', bind: '0.0.0.0', port: 5353, reuseAddr: true, loopback: true },
    ]);
    await r.browser.stop();
  });

  it('takes interfaces by name or address; one without an address is opened when it gets one', async () => {
    const r = await started({ interfaces: ['eth0', '192.168.1.20', 'wlan1'] });
    expect(r.sockets.map((s) => s.options.interface)).toEqual(['10.77.0.2', '192.168.1.20']);
    expect(r.warnings).toEqual([expect.stringContaining('"wlan1" has no IPv4 address')]);
    r.nics.wlan1 = [nic('172.16.0.9', '255.255.0.0')];
    r.clock.advance(5000);
    expect(r.sockets.map((s) => s.options.interface)).toEqual(['10.77.0.2', '192.168.1.20', '172.16.0.9']);
    // The new link is browsed at once (the back-off starts over).
    r.clock.advance(20);
    expect(r.socket('172.16.0.9').browses).toHaveLength(1);
    expect(r.warnings).toHaveLength(1);
    await r.browser.stop();
  });

  it('refuses a configuration it cannot use', () => {
    const bad: MdnsBrowserOptions[] = [
      { serviceType: 'airlift' },
      { serviceType: '_airlift._sctp' },
      { interfaces: [] },
      { interfaces: ['fe80::1'] },
      { interfaces: [''] },
      { maxQueryIntervalMs: 10 },
    ];
    for (const options of bad) {
      expect(() => new MdnsBrowser(options), JSON.stringify(options)).toThrow(
        expect.objectContaining({ code: 'INVALID_CONFIG' }) as Error,
      );
    }
  });

  it('start() fails with BACKEND_UNAVAILABLE when no socket can be bound', async () => {
    const r = rig();
    r.bindError = Object.assign(new Error('bind EACCES 0.0.0.0:5353'), { code: 'EACCES' });
    const failure = await r.browser.start().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(AirliftError);
    expect((failure as AirliftError).code).toBe('BACKEND_UNAVAILABLE');
    expect((failure as AirliftError).message).toContain('EACCES');
    expect(r.sockets.every((s) => s.destroyed)).toBe(true);
    expect(r.clock.pendingTimers).toBe(0);
  });

  it('a socket that fails later is dropped with a warning and reopened at the next interface poll', async () => {
    const r = await started();
    r.socket('10.77.0.2').emit('error', new Error('EADDRINUSE'));
    expect(r.sockets[0]?.destroyed).toBe(true);
    expect(r.warnings).toEqual([expect.stringContaining('EADDRINUSE')]);
    r.clock.advance(5000);
    expect(r.sockets.filter((s) => s.options.interface === '10.77.0.2')).toHaveLength(2);
    expect(r.socket('10.77.0.2').destroyed).toBe(false);
    await r.browser.stop();
  });

  it('stop() closes every socket, forgets every service and leaves no timer', async () => {
    const r = await started();
    r.socket('10.77.0.2').receive(wire([ptr(), srv(), txt(SETUP), a('10.77.0.1')]));
    expect(r.browser.services()).toHaveLength(1);
    await r.browser.stop();
    expect(r.sockets.every((s) => s.destroyed)).toBe(true);
    expect(r.browser.services()).toEqual([]);
    expect(r.clock.pendingTimers).toBe(0);
    r.sockets[0]?.receive(wire([ptr(), srv(), txt(SETUP), a('10.77.0.1')]));
    expect(r.browser.services()).toEqual([]);
    await r.browser.stop(); // twice is fine
  });
});

describe('continuous querying (RFC 6762 §5.2)', () => {
  it('first query after 20-120 ms, then 1 s doubling, capped at 60 s; refresh() starts over', async () => {
    const r = await started({ interfaces: ['eth0'] });
    const t0 = r.clock.now();
    r.clock.advance(300_000);
    const offsets = r.socket('10.77.0.2').browses.map((s) => s.at - t0);
    expect(offsets.slice(0, 9)).toEqual([20, 1020, 3020, 7020, 15_020, 31_020, 63_020, 123_020, 183_020]);
    const gaps = offsets.slice(1).map((t, i) => t - (offsets[i] ?? 0));
    expect(Math.max(...gaps)).toBe(60_000);

    r.browser.refresh();
    const t1 = r.clock.now();
    const before = r.socket('10.77.0.2').browses.length;
    r.clock.advance(3100);
    expect(
      r
        .socket('10.77.0.2')
        .browses.slice(before)
        .map((s) => s.at - t1),
    ).toEqual([20, 1020, 3020]);
    await r.browser.stop();
  });

  it('the first delay is random within 20-120 ms', async () => {
    const r = await started({ random: () => 0.999 });
    r.clock.advance(119);
    expect(r.socket('10.77.0.2').browses).toHaveLength(0);
    r.clock.advance(1);
    expect(r.socket('10.77.0.2').browses).toHaveLength(1);
    await r.browser.stop();
  });

  it('puts the PTRs it holds into the next query of the same link as known answers (§7.1)', async () => {
    const r = await started();
    r.socket('10.77.0.2').receive(wire([ptr(), srv(), txt(SETUP), a('10.77.0.1')]));
    r.clock.advance(20);
    const [eth] = r.socket('10.77.0.2').browses;
    const [wlan] = r.socket('192.168.1.20').browses;
    expect(eth?.packet.answers).toEqual([{ name: TYPE, type: 'PTR', class: 'IN', ttl: 4499, data: FQDN }]);
    expect(wlan?.packet.answers).toEqual([]);
    // On the wire: a query with one question and one known answer.
    if (!eth) throw new Error('no query on eth0');
    const onWire = decode(encode({ ...eth.packet, type: 'query' }));
    expect(onWire.questions).toEqual([{ name: TYPE, type: 'PTR', class: 'IN' }]);
    expect(onWire.answers).toHaveLength(1);
    expect(onWire.flag_tc).toBe(false);
    await r.browser.stop();
  });

  it('splits a long known-answer list over several packets with TC set on all but the last (§7.2)', async () => {
    const r = await started({ interfaces: ['eth0'] });
    const s = r.socket('10.77.0.2');
    for (let i = 0; i < 60; i++) {
      const fqdn = `Airlift D${String(i).padStart(7, '0')}._airlift._tcp.local`;
      const host = `d${i}.local`;
      s.receive(
        wire([
          ptr(4500, fqdn),
          { name: fqdn, type: 'SRV', ttl: 120, data: { target: host, port: 4780 } },
          { name: fqdn, type: 'TXT', ttl: 4500, data: ['v=1'] },
          { name: host, type: 'A', ttl: 120, data: `10.77.1.${i}` },
        ]),
      );
    }
    expect(r.events.filter((e) => e.type === 'up')).toHaveLength(60);
    r.clock.advance(20);
    const packets = s.sent.filter((p) => p.at === r.clock.now()).map((p) => p.packet);
    expect(packets.length).toBeGreaterThan(1);
    for (const [i, p] of packets.entries()) {
      const bytes = encode({ ...p, type: 'query' });
      expect(bytes.length).toBeLessThanOrEqual(MAX_QUERY_BYTES);
      expect(decode(bytes).flag_tc).toBe(i < packets.length - 1);
      expect(p.questions.length).toBe(i === 0 ? 1 : 0);
    }
    expect(packets.flatMap((p) => p.answers)).toHaveLength(60);
    expect(TRUNCATED_RESPONSE).toBe(0x200);
    await r.browser.stop();
  });

  it('asks again at 80 % of a record’s TTL, on the link it came from', async () => {
    const r = await started();
    const t0 = r.clock.now();
    r.socket('10.77.0.2').receive(wire([ptr(), srv(), txt(SETUP), a('10.77.0.1')]));
    r.clock.advance(96_000);
    const refresh = r
      .socket('10.77.0.2')
      .sent.filter((s) => s.at === t0 + 96_000 && s.packet.questions.some((q) => q.type === 'SRV'));
    expect(refresh.map((s) => s.packet.questions)).toEqual([
      [
        { name: FQDN, type: 'SRV' },
        { name: HOST, type: 'A' },
      ],
    ]);
    expect(r.socket('192.168.1.20').sent.some((s) => s.packet.questions.some((q) => q.type === 'SRV'))).toBe(
      false,
    );
    await r.browser.stop();
  });

  it('asks for what an instance lacks, backing off per question, until it has it', async () => {
    const r = await started({ interfaces: ['eth0'] });
    const s = r.socket('10.77.0.2');
    const t0 = r.clock.now();
    s.receive(wire([ptr()]));
    r.clock.advance(5000);
    const asks = (type: string) => s.sent.filter((p) => p.packet.questions.some((q) => q.type === type));
    expect(asks('SRV').map((p) => p.at - t0)).toEqual([250, 1250, 3250]);
    expect(asks('TXT').map((p) => p.packet.questions)).toContainEqual([
      { name: FQDN, type: 'SRV' },
      { name: FQDN, type: 'TXT' },
    ]);
    s.receive(wire([srv(), txt(SETUP)]));
    r.clock.advance(250);
    expect(asks('A').at(-1)?.packet.questions).toEqual([
      { name: HOST, type: 'A' },
      { name: HOST, type: 'AAAA' },
    ]);
    s.receive(wire([a('10.77.0.1')]));
    expect(r.events.map((e) => e.type)).toEqual(['up']);
    const sentBefore = s.sent.length;
    r.clock.advance(10_000);
    // Only the browse back-off goes on.
    expect(s.sent.slice(sentBefore).every((p) => p.packet.questions[0]?.type === 'PTR')).toBe(true);
    await r.browser.stop();
  });
});

describe('responses', () => {
  it('a service split across packets is up once, on the interface whose subnet holds the sender', async () => {
    const r = await started();
    const eth = r.socket('10.77.0.2');
    const wlan = r.socket('192.168.1.20');
    // Linux hands every packet to every socket bound to *:5353; both sockets see each packet.
    for (const packet of [wire([ptr()]), wire([srv()], [txt(SETUP)]), wire([a('10.77.0.1')])]) {
      wlan.receive(packet);
      eth.receive(packet);
    }
    expect(r.events).toEqual([
      {
        type: 'up',
        service: like({
          fqdn: FQDN,
          addresses: ['10.77.0.1'],
          interface: 'eth0',
          txt: { id: 'K7Q2M6XA', v: '1', st: 'setup', pv: '', md: 'lab-pi', fw: '1.0.0' },
        }),
      },
    ]);
    await r.browser.stop();
  });

  it('a sender on none of our subnets is taken without an interface (several links) or with the only one', async () => {
    const ll = { ...DEVICE, address: '169.254.7.7' };
    const r = await started();
    r.socket('192.168.1.20').receive(wire([ptr(), srv(), txt(SETUP), a('169.254.7.7')]), ll);
    expect(r.browser.services()[0]?.interface).toBeUndefined();
    await r.browser.stop();

    const single = await started({ interfaces: ['wlan0'] });
    single.socket('192.168.1.20').receive(wire([ptr(), srv(), txt(SETUP), a('169.254.7.7')]), ll);
    expect(single.browser.services()[0]?.interface).toBe('wlan0');
    await single.browser.stop();
  });

  it('reports a TXT change and an address change as updates, and a goodbye as down after the grace', async () => {
    const r = await started({ interfaces: ['eth0'] });
    const s = r.socket('10.77.0.2');
    s.receive(wire([ptr(), srv(), txt(SETUP), a('10.77.0.1')]));
    r.clock.advance(5000);
    s.receive(wire([txt(ONLINE)]));
    r.clock.advance(5000);
    s.receive(wire([a('10.77.0.7')]), { ...DEVICE, address: '10.77.0.7' });
    r.clock.advance(5000);
    s.receive(wire([ptr(0), srv(0), txt(ONLINE, 0), a('10.77.0.7', 0)]));
    r.clock.advance(2999);
    expect(r.events.map((e) => (e.type === 'update' ? `update ${e.changed.join()}` : e.type))).toEqual([
      'up',
      'update txt',
      'update addresses',
    ]);
    r.clock.advance(1);
    expect(r.events.at(-1)).toEqual({ type: 'down', fqdn: FQDN });
    expect(r.browser.services()).toEqual([]);
    await r.browser.stop();
  });

  it('ignores responses whose source port is not 5353 (§6)', async () => {
    const r = await started();
    r.socket('10.77.0.2').receive(wire([ptr(), srv(), txt(SETUP), a('10.77.0.1')]), {
      ...DEVICE,
      port: 40000,
    });
    expect(r.events).toEqual([]);
    await r.browser.stop();
  });

  it('survives malformed packets, decoder warnings and odd remote info', async () => {
    const r = await started();
    const s = r.socket('10.77.0.2');
    // What multicast-dns does with bytes dns-packet cannot decode.
    let decodeError: unknown;
    try {
      decode(Buffer.from([0, 1, 0x84, 0, 0, 0, 0, 5, 0, 0, 0, 0, 3, 0x61]));
    } catch (err) {
      decodeError = err;
    }
    expect(decodeError).toBeInstanceOf(Error);
    s.emit('warning', decodeError);
    for (const packet of [null, undefined, 'garbage', 7, { answers: 'x' }, { answers: [{ name: 1 }] }, []]) {
      s.receive(packet);
    }
    for (const rinfo of [undefined, null, 'x', { address: 5, port: 5353 }, { address: '10.77.0.1' }]) {
      // (emit, not receive(): its default would fill in an undefined rinfo)
      s.emit('response', wire([ptr(), srv(), txt(SETUP), a('10.77.0.1')]), rinfo);
    }
    fc.assert(
      fc.property(fc.anything(), fc.anything(), (packet, rinfo) => {
        s.emit('response', packet, rinfo);
        s.receive({ answers: [packet], additionals: packet }, DEVICE);
        return true;
      }),
      { numRuns: 200 },
    );
    expect(r.events).toEqual([]);
    expect(r.warnings).toEqual([expect.stringContaining('Cannot decode name')]);
    // Still browsing.
    s.receive(wire([ptr(), srv(), txt(SETUP), a('10.77.0.1')]));
    expect(r.events.map((e) => e.type)).toEqual(['up']);
    await r.browser.stop();
  });

  it('a listener that throws does not keep the event from the others', async () => {
    const r = rig();
    const seen: string[] = [];
    r.browser.subscribe(() => {
      throw new Error('listener bug');
    });
    const unsubscribe = r.browser.subscribe((e) => seen.push(e.type));
    await r.browser.start();
    r.socket('10.77.0.2').receive(wire([ptr(), srv(), txt(SETUP), a('10.77.0.1')]));
    expect(seen).toEqual(['up']);
    expect(r.warnings).toEqual([expect.stringContaining('listener bug')]);
    unsubscribe();
    r.socket('10.77.0.2').receive(wire([txt(ONLINE)]));
    expect(seen).toEqual(['up']);
    await r.browser.stop();
  });

  it('a link that goes away takes its services down after the grace (§10.3)', async () => {
    const r = await started();
    r.socket('192.168.1.20').receive(wire([ptr(), srv(), txt(SETUP), a('192.168.1.50')]), {
      ...DEVICE,
      address: '192.168.1.50',
    });
    expect(r.browser.services()[0]?.interface).toBe('wlan0');
    delete r.nics.wlan0;
    r.clock.advance(5000);
    expect(r.sockets[1]?.destroyed).toBe(true);
    r.clock.advance(3000);
    expect(r.events.map((e) => e.type)).toEqual(['up', 'down']);
    await r.browser.stop();
  });

  it('a failed send is a warning, not a crash', async () => {
    const r = await started({ interfaces: ['eth0'] });
    r.socket('10.77.0.2').failQuery = new Error('ENETUNREACH');
    r.clock.advance(20);
    expect(r.warnings).toEqual([expect.stringContaining('ENETUNREACH')]);
    await r.browser.stop();
  });
});

describe('splitKnownAnswers', () => {
  it('keeps everything in one packet when it fits', () => {
    const packets = splitKnownAnswers([{ name: TYPE, type: 'PTR' }], []);
    expect(packets).toEqual([{ questions: [{ name: TYPE, type: 'PTR' }], answers: [] }]);
  });

  it('never leaves a packet without an answer, even for an oversized one', () => {
    const huge = {
      name: TYPE,
      type: 'PTR' as const,
      class: 'IN' as const,
      ttl: 1,
      data: `${'x'.repeat(60)}.local`,
    };
    const packets = splitKnownAnswers([{ name: TYPE, type: 'PTR' }], [huge, huge, huge], 100);
    expect(packets.map((p) => p.answers.length)).toEqual([1, 1, 1]);
    expect(packets.map((p) => p.flags)).toEqual([0x200, 0x200, undefined]);
  });
});
