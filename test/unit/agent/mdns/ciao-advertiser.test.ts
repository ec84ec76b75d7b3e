/**
 * CiaoAdvertiser's own logic against a fake ciao (no sockets): what it asks ciao for, the RFC 6762
 * §8.4 TXT repeat, clean teardown in every order, and errors as AirliftError.
 * test/integration/mdns/ciao-netns.test.ts runs the real ciao between network namespaces.
 */
import type { NetworkInterfaceInfo } from 'node:os';
import type { MDNSServerOptions, ServiceOptions } from '@homebridge/ciao';
import { describe, expect, it } from 'vitest';
import {
  CiaoAdvertiser,
  linkAddresses,
  type CiaoResponderLike,
  type CiaoServiceLike,
} from '../../../../agent/mdns/ciao-advertiser';
import type { Advertisement } from '../../../../agent/ports/advertiser';
import { AirliftError } from '../../../../shared/errors';
import { ManualClock } from '../../../../lab/manual-clock';

const ad: Advertisement = {
  instance: 'Airlift K7Q2M6XA',
  hostname: 'airlift-k7q2m6xa',
  port: 4780,
  txt: { id: 'K7Q2M6XA', v: '1', st: 'setup', pv: '', md: 'pi', fw: '1' },
  interfaces: ['wlan0', 'eth0'],
};

class FakeService implements CiaoServiceLike {
  readonly log: string[];
  readonly txts: Record<string, string>[] = [];
  readonly listeners = new Map<string, (name: string) => void>();
  advertiseResult: Promise<void> = Promise.resolve();
  endError: Error | undefined;

  constructor(log: string[]) {
    this.log = log;
  }
  advertise(): Promise<void> {
    this.log.push('advertise');
    return this.advertiseResult;
  }
  updateTxt(txt: Record<string, string>): void {
    this.log.push(`updateTxt st=${txt.st ?? ''}`);
    this.txts.push(txt);
  }
  end(): Promise<void> {
    this.log.push('end');
    return this.endError ? Promise.reject(this.endError) : Promise.resolve();
  }
  destroy(): Promise<void> {
    this.log.push('destroy');
    return Promise.resolve();
  }
  on(event: 'name-change' | 'hostname-change', listener: (name: string) => void): this {
    this.listeners.set(event, listener);
    return this;
  }
}

class FakeCiao {
  readonly log: string[] = [];
  readonly responderOptions: (MDNSServerOptions | undefined)[] = [];
  readonly serviceOptions: ServiceOptions[] = [];
  readonly services: FakeService[] = [];
  createError: Error | undefined;
  prepare: ((service: FakeService) => void) | undefined;

  getResponder = (options: MDNSServerOptions | undefined): CiaoResponderLike => {
    this.log.push('getResponder');
    this.responderOptions.push(options);
    return {
      createService: (options: ServiceOptions) => {
        if (this.createError) throw this.createError;
        this.serviceOptions.push(options);
        const service = new FakeService(this.log);
        this.prepare?.(service);
        this.services.push(service);
        return service;
      },
      shutdown: () => {
        this.log.push('shutdown');
        return Promise.resolve();
      },
    };
  };
}

function setup(options: { txtRepeatMs?: number; startTimeoutMs?: number } = {}) {
  const ciao = new FakeCiao();
  const clock = new ManualClock();
  const renames: string[] = [];
  const advertiser = new CiaoAdvertiser({
    getResponder: ciao.getResponder,
    clock,
    onRename: (what, name) => renames.push(`${what}:${name}`),
    ...options,
  });
  return { ciao, clock, advertiser, renames };
}

async function errorOf(promise: Promise<unknown>): Promise<AirliftError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof AirliftError)) throw new Error(`expected an AirliftError, got ${String(err)}`);
  return err;
}

describe('CiaoAdvertiser', () => {
  it('asks ciao for a responder on exactly the given interfaces and an airlift/tcp service', async () => {
    const { ciao, advertiser } = setup();
    expect(advertiser.kind).toBe('embedded');
    await advertiser.start(ad);
    expect(ciao.responderOptions).toEqual([{ interface: ['wlan0', 'eth0'] }]);
    expect(ciao.serviceOptions).toEqual([
      { name: 'Airlift K7Q2M6XA', type: 'airlift', hostname: 'airlift-k7q2m6xa', port: 4780, txt: ad.txt },
    ]);
    expect(ciao.log).toEqual(['getResponder', 'advertise']);
  });

  it('leaves interface choice to ciao when none are given', async () => {
    const { ciao, advertiser } = setup();
    const { interfaces: _omit, ...rest } = ad;
    await advertiser.start(rest);
    expect(ciao.responderOptions).toEqual([undefined]);
  });

  it('announces a TXT change, then repeats it one second later (RFC 6762 §8.4)', async () => {
    const { ciao, clock, advertiser } = setup();
    await advertiser.start(ad);
    await advertiser.updateTxt({ ...ad.txt, st: 'online' });
    expect(ciao.log.slice(-1)).toEqual(['updateTxt st=online']);
    clock.advance(999);
    expect(ciao.services[0]?.txts).toHaveLength(1);
    clock.advance(1);
    expect(ciao.log.slice(-2)).toEqual(['updateTxt st=online', 'updateTxt st=online']);
    clock.advance(10_000);
    expect(ciao.services[0]?.txts).toHaveLength(2);
  });

  it('repeats only the latest TXT when changes come quickly, and none after stop', async () => {
    const { ciao, clock, advertiser } = setup();
    await advertiser.start(ad);
    await advertiser.updateTxt({ ...ad.txt, st: 'applying' });
    clock.advance(500);
    await advertiser.updateTxt({ ...ad.txt, st: 'failsafe' });
    clock.advance(1000);
    expect(ciao.services[0]?.txts.map((t) => t.st)).toEqual(['applying', 'failsafe', 'failsafe']);

    await advertiser.updateTxt({ ...ad.txt, st: 'online' });
    await advertiser.stop();
    clock.advance(5000);
    expect(ciao.services[0]?.txts.map((t) => t.st)).toEqual(['applying', 'failsafe', 'failsafe', 'online']);
    expect(clock.pendingTimers).toBe(0);
  });

  it('stops with goodbyes first, then releases the service and the responder; twice is fine', async () => {
    const { ciao, advertiser } = setup();
    await advertiser.start(ad);
    await Promise.all([advertiser.stop(), advertiser.stop()]);
    await advertiser.stop();
    expect(ciao.log).toEqual(['getResponder', 'advertise', 'end', 'destroy', 'shutdown']);
    // And it can advertise again.
    await advertiser.start(ad);
    expect(ciao.log.filter((l) => l === 'getResponder')).toHaveLength(2);
  });

  it('still releases the responder when the goodbye fails, and says so', async () => {
    const { ciao, advertiser } = setup();
    await advertiser.start(ad);
    const service = ciao.services[0];
    if (service) service.endError = new Error('send EPERM');
    const err = await errorOf(advertiser.stop());
    expect(err.code).toBe('BACKEND_UNAVAILABLE');
    expect(err.message).toMatch(/did not stop cleanly.*Airlift K7Q2M6XA.*send EPERM/);
    expect(ciao.log.slice(-3)).toEqual(['end', 'destroy', 'shutdown']);
  });

  it('turns a failed advertise into BACKEND_UNAVAILABLE and cleans up', async () => {
    const { ciao, advertiser } = setup();
    ciao.prepare = (s) => {
      s.advertiseResult = Promise.reject(new Error('bind EADDRNOTAVAIL'));
    };
    const err = await errorOf(advertiser.start(ad));
    expect(err.code).toBe('BACKEND_UNAVAILABLE');
    expect(err.message).toBe(
      'Embedded mDNS responder could not advertise "Airlift K7Q2M6XA" on wlan0, eth0: bind EADDRNOTAVAIL',
    );
    expect(ciao.log).toEqual(['getResponder', 'advertise', 'end', 'destroy', 'shutdown']);
    // Idle again: a retry works.
    ciao.prepare = undefined;
    await advertiser.start(ad);
  });

  it('turns a ciao assertion at creation into BACKEND_UNAVAILABLE and releases the responder', async () => {
    const { ciao, advertiser } = setup();
    ciao.createError = new Error('AssertionError: service name too long');
    const err = await errorOf(advertiser.start(ad));
    expect(err.code).toBe('BACKEND_UNAVAILABLE');
    expect(err.message).toMatch(/could not be created on wlan0, eth0: .*too long/);
    expect(ciao.log).toEqual(['getResponder', 'shutdown']);
  });

  it('gives up with TIMEOUT when probing never ends', async () => {
    const { ciao, clock, advertiser } = setup({ startTimeoutMs: 30_000 });
    ciao.prepare = (s) => {
      s.advertiseResult = new Promise(() => undefined);
    };
    const started = advertiser.start(ad);
    clock.advance(30_000);
    const err = await errorOf(started);
    expect(err.code).toBe('TIMEOUT');
    expect(ciao.log.slice(-3)).toEqual(['end', 'destroy', 'shutdown']);
  });

  it('stop() during start() wins: start resolves, nothing stays advertised', async () => {
    const { ciao, clock, advertiser } = setup();
    ciao.prepare = (s) => {
      s.advertiseResult = new Promise(() => undefined);
    };
    const started = advertiser.start(ad);
    await advertiser.stop();
    clock.advance(60_000);
    await started;
    expect(ciao.log).toEqual(['getResponder', 'advertise', 'end', 'destroy', 'shutdown']);
    expect((await errorOf(advertiser.updateTxt(ad.txt))).code).toBe('INTERNAL');
  });

  it('refuses misuse and bad input with clear codes', async () => {
    const { ciao, advertiser } = setup();
    expect((await errorOf(advertiser.updateTxt(ad.txt))).message).toMatch(/call start\(\) before updateTxt/);
    expect((await errorOf(advertiser.start({ ...ad, hostname: 'airlift.local' }))).code).toBe(
      'INVALID_CONFIG',
    );
    expect((await errorOf(advertiser.start({ ...ad, interfaces: [] }))).code).toBe('INVALID_CONFIG');
    expect(ciao.log).toEqual([]);
    await advertiser.start(ad);
    expect((await errorOf(advertiser.start(ad))).code).toBe('INTERNAL');
    expect((await errorOf(advertiser.updateTxt({ st: 'x'.repeat(300) }))).code).toBe('INVALID_CONFIG');
  });

  it('reports ciao renaming the service or host after a conflict', async () => {
    const { ciao, advertiser, renames } = setup();
    await advertiser.start(ad);
    ciao.services[0]?.listeners.get('name-change')?.('Airlift K7Q2M6XA (2)');
    ciao.services[0]?.listeners.get('hostname-change')?.('airlift-k7q2m6xa-2');
    expect(renames).toEqual(['instance:Airlift K7Q2M6XA (2)', 'hostname:airlift-k7q2m6xa-2']);
  });
});

describe('CiaoAdvertiser after an address change', () => {
  const info = (address: string, internal = false): NetworkInterfaceInfo => ({
    address,
    netmask: '255.255.255.0',
    family: 'IPv4',
    mac: '02:00:00:00:00:01',
    internal,
    cidr: `${address}/24`,
  });

  function withLinks(initial: NodeJS.Dict<NetworkInterfaceInfo[]>) {
    let links = initial;
    const logged: string[] = [];
    const t = setup();
    const advertiser = new CiaoAdvertiser({
      getResponder: t.ciao.getResponder,
      clock: t.clock,
      readInterfaces: () => links,
      log: (level, _fields, message) => logged.push(`${level}: ${message}`),
    });
    const settle = () => new Promise((r) => setTimeout(r, 0));
    return {
      ...t,
      advertiser,
      logged,
      settle,
      set: (next: NodeJS.Dict<NetworkInterfaceInfo[]>) => {
        links = next;
      },
    };
  }

  it('compares the addresses of the advertised links only, loopback aside', () => {
    const links = { lo: [info('127.0.0.1', true)], wlan0: [info('192.168.50.7')], eth1: [info('10.0.0.2')] };
    expect(linkAddresses(links, ['wlan0'])).toBe('wlan0=192.168.50.7');
    expect(linkAddresses(links, undefined)).toBe('eth1=10.0.0.2 wlan0=192.168.50.7');
  });

  it('advertises again on a fresh responder within a second of a new lease, with the latest TXT', async () => {
    const t = withLinks({ wlan0: [info('192.168.50.7')] });
    await t.advertiser.start({ ...ad, interfaces: ['wlan0'] });
    await t.advertiser.updateTxt({ ...ad.txt, st: 'online' });
    t.clock.advance(5000); // steady addresses: nothing happens
    await t.settle();
    expect(t.ciao.log.filter((l) => l === 'getResponder')).toHaveLength(1);

    t.set({ wlan0: [info('192.168.50.251')] });
    t.clock.advance(1000);
    await t.settle();
    expect(t.ciao.log.slice(-5)).toEqual(['end', 'destroy', 'shutdown', 'getResponder', 'advertise']);
    expect(t.ciao.serviceOptions[1]?.txt).toEqual({ ...ad.txt, st: 'online' });
    expect(t.logged).toEqual(['info: addresses changed: advertising again']);

    // And it keeps watching the new address.
    t.set({ wlan0: [info('192.168.50.9')] });
    t.clock.advance(1000);
    await t.settle();
    expect(t.ciao.log.filter((l) => l === 'getResponder')).toHaveLength(3);
    await t.advertiser.stop();
    expect(t.clock.pendingTimers).toBe(0);
  });

  it('keeps a name chosen after a conflict, and a TXT changed between the two responders', async () => {
    const t = withLinks({ wlan0: [info('192.168.50.7')] });
    await t.advertiser.start(ad);
    t.ciao.services[0]?.listeners.get('name-change')?.('Airlift K7Q2M6XA (2)');
    let release: () => void = () => undefined;
    const first = t.ciao.services[0];
    if (first) first.end = () => new Promise<void>((r) => (release = r));
    t.set({ wlan0: [info('192.168.50.251')] });
    t.clock.advance(1000);
    await t.advertiser.updateTxt({ ...ad.txt, st: 'applying' }); // while the old one says goodbye
    release();
    await t.settle();
    expect(t.ciao.serviceOptions[1]).toMatchObject({ name: 'Airlift K7Q2M6XA (2)', txt: { st: 'applying' } });
  });

  it('does not advertise again when stopped meanwhile', async () => {
    const t = withLinks({ wlan0: [info('192.168.50.7')] });
    await t.advertiser.start(ad);
    let release: () => void = () => undefined;
    const first = t.ciao.services[0];
    if (first) first.end = () => new Promise<void>((r) => (release = r));
    t.set({ wlan0: [] });
    t.clock.advance(1000);
    const stopped = t.advertiser.stop();
    release();
    await stopped;
    await t.settle();
    expect(t.ciao.log.filter((l) => l === 'getResponder')).toHaveLength(1);
    expect(t.clock.pendingTimers).toBe(0);
  });

  it('retries while the link has no usable address, and stops retrying on stop()', async () => {
    const t = withLinks({ wlan0: [info('192.168.50.7')] });
    await t.advertiser.start(ad);
    t.ciao.prepare = (s) => {
      s.advertiseResult = Promise.reject(new Error('no usable interface'));
    };
    t.set({ wlan0: [] });
    t.clock.advance(1000);
    await t.settle();
    expect(t.logged.at(-1)).toMatch(/^warn: advertising again after an address change failed; retrying/);
    t.ciao.prepare = undefined;
    t.set({ wlan0: [info('192.168.50.251')] });
    t.clock.advance(5000);
    await t.settle();
    expect(t.ciao.log.filter((l) => l === 'advertise')).toHaveLength(3);
    await t.advertiser.updateTxt({ ...ad.txt, st: 'online' }); // running again
    await t.advertiser.stop();
    expect(t.clock.pendingTimers).toBe(0);
  });
});
