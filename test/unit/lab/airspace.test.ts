import { describe, expect, it, vi } from 'vitest';
import {
  Airspace,
  DEFAULT_APS,
  HEARING_THRESHOLD_DBM,
  ssidHexOf,
  type AccessPointInit,
  type AirspaceEvents,
} from '../../../lab/airspace';
import { AirliftError } from '../../../shared/errors';

const AP: AccessPointInit = {
  ssidHex: ssidHexOf('Test'),
  bssid: '02:00:00:00:aa:01',
  security: 'open',
  frequency: 2412,
  subnet: '10.20.30.0/24',
  internet: true,
};

function silent(): Airspace {
  return new Airspace({ onListenerError: () => undefined });
}

describe('Airspace defaults', () => {
  it('creates the documented world with deterministic BSSIDs', () => {
    const a = Airspace.withDefaults();
    const b = Airspace.withDefaults();
    expect(a.listAps().map((ap) => ap.bssid)).toEqual(b.listAps().map((ap) => ap.bssid));
    const names = a.scanResultsFor('observer').map((r) => r.ssid);
    expect(names).toEqual(
      expect.arrayContaining(['LabNet', 'CoffeeShop', 'Neighbour 5G', 'caf\\xe9', 'Back\\Office: 2nd']),
    );
    const lab = a.getAp(DEFAULT_APS.labNet.bssid);
    expect(lab).toMatchObject({
      security: 'wpa2-psk',
      passphrase: 'correct horse',
      internet: true,
      gateway: '192.168.50.1',
      nameservers: ['192.168.50.1'],
    });
    expect(a.getAp(DEFAULT_APS.coffeeShop.bssid)).toMatchObject({ security: 'open', internet: false });
    expect(a.getAp(DEFAULT_APS.neighbour5g.bssid)).toMatchObject({ security: 'wpa3-sae', frequency: 5180 });
  });

  it('reports scan entries strongest first, with authoritative hex SSIDs', () => {
    const scan = Airspace.withDefaults().scanResultsFor('x');
    const signals = scan.map((r) => r.signal);
    expect(signals).toEqual([...signals].sort((p, q) => q - p));
    const latin = scan.find((r) => r.bssid === DEFAULT_APS.latin1.bssid);
    expect(latin).toMatchObject({ ssidHex: '636166e9', ssid: 'caf\\xe9', known: false });
  });
});

describe('Airspace access points', () => {
  it('refuses a duplicate BSSID, a bad SSID, a bad subnet and a personal AP without passphrase', () => {
    const air = silent();
    air.addAp(AP);
    expect(() => air.addAp(AP)).toThrow(AirliftError);
    expect(() => air.addAp({ ...AP, bssid: '02:00:00:00:aa:02', ssidHex: '' })).toThrow(/SSID/);
    expect(() => air.addAp({ ...AP, bssid: '02:00:00:00:aa:03', subnet: '10.0.0.0/33' })).toThrow(/subnet/);
    expect(() => air.addAp({ ...AP, bssid: '02:00:00:00:aa:04', security: 'wpa2-psk' })).toThrow(
      /passphrase/,
    );
  });

  it('normalises BSSIDs and allocates deterministic unused ones', () => {
    const air = silent();
    air.addAp({ ...AP, bssid: '02:00:00:00:AA:01' });
    expect(air.getAp('02:00:00:00:aa:01')).toBeDefined();
    const first = air.allocateBssid('K7Q2M6XA');
    expect(first).toBe(silent().allocateBssid('K7Q2M6XA'));
    expect(first).toMatch(/^0a:1f(?::[0-9a-f]{2}){4}$/);
    air.addAp({ ...AP, bssid: first });
    expect(air.allocateBssid('K7Q2M6XA')).not.toBe(first);
  });
});

describe('Airspace events', () => {
  it('emits ap-added, joined, left and ap-removed in order', () => {
    const air = silent();
    const log: string[] = [];
    air.on('ap-added', ({ ap }) => log.push(`added ${ap.bssid}`));
    air.on('joined', ({ observerId, lease }) => log.push(`joined ${observerId} ${lease.ip}`));
    air.on('left', ({ observerId, reason }) => log.push(`left ${observerId} ${reason}`));
    air.on('ap-removed', ({ ap, dropped }) => log.push(`removed ${ap.bssid} [${dropped.join(',')}]`));
    air.addAp(AP);
    const lease = air.join('dev1', AP.bssid);
    air.removeAp(AP.bssid);
    expect(log).toEqual([
      `added ${AP.bssid}`,
      `joined dev1 ${lease.ip}`,
      'left dev1 ap-removed',
      `removed ${AP.bssid} [dev1]`,
    ]);
    expect(air.membershipOf('dev1')).toBeUndefined();
    expect(air.removeAp(AP.bssid)).toBe(false);
  });

  it('keeps delivering when a listener throws or rejects, and reports the error', async () => {
    const errors: [unknown, keyof AirspaceEvents][] = [];
    const air = new Airspace({ onListenerError: (e, ev) => errors.push([e, ev]) });
    const second = vi.fn();
    air.on('ap-added', () => {
      throw new Error('boom');
    });
    // eslint-disable-next-line @typescript-eslint/no-misused-promises -- an async listener is the case under test
    air.on('ap-added', () => Promise.reject(new Error('async boom')));
    air.on('ap-added', second);
    expect(() => air.addAp(AP)).not.toThrow();
    expect(second).toHaveBeenCalledOnce();
    await Promise.resolve();
    expect(errors.map(([e, ev]) => [(e as Error).message, ev])).toEqual([
      ['boom', 'ap-added'],
      ['async boom', 'ap-added'],
    ]);
  });

  it('stops delivering after unsubscribe, including from inside a listener', () => {
    const air = silent();
    const seen: string[] = [];
    const off = air.on('ap-added', () => {
      seen.push('once');
      off();
    });
    air.addAp(AP);
    air.addAp({ ...AP, bssid: '02:00:00:00:aa:02' });
    expect(seen).toEqual(['once']);
  });
});

describe('Airspace leases', () => {
  it('gives each observer a stable address that survives leave and rejoin', () => {
    const air = silent();
    air.addAp(AP);
    const a1 = air.join('alpha', AP.bssid);
    const b1 = air.join('beta', AP.bssid);
    expect(a1.ip).not.toBe(b1.ip);
    expect(a1).toMatchObject({
      subnetmask: '255.255.255.0',
      defaultgw: '10.20.30.1',
      nameservers: ['10.20.30.1'],
    });
    air.leave('alpha');
    expect(air.clientsOf(AP.bssid)).toEqual(['beta']);
    expect(air.join('alpha', AP.bssid).ip).toBe(a1.ip);

    // Same sequence in another world: same addresses (nothing depends on time or randomness).
    const other = silent();
    other.addAp(AP);
    expect(other.join('alpha', AP.bssid).ip).toBe(a1.ip);
  });

  it('frees the address on leave and never hands out the gateway', () => {
    const air = silent();
    air.addAp({ ...AP, subnet: '10.9.9.0/30' }); // hosts .1 (gateway) and .2 only
    expect(air.join('one', AP.bssid).ip).toBe('10.9.9.2');
    expect(() => air.join('two', AP.bssid)).toThrow(expect.objectContaining({ code: 'TIMEOUT' }) as Error);
    expect(air.membershipOf('two')).toBeUndefined();
    air.leave('one');
    expect(air.join('two', AP.bssid).ip).toBe('10.9.9.2');
  });

  it('honours an explicit DHCP range', () => {
    const air = silent();
    air.addAp({ ...AP, dhcpRange: { start: '10.20.30.100', end: '10.20.30.101' } });
    const ips = ['a', 'b'].map((id) => air.join(id, AP.bssid).ip).sort();
    expect(ips).toEqual(['10.20.30.100', '10.20.30.101']);
  });

  it('refuses joins to unknown, unheard or DHCP-dead APs without changing membership', () => {
    const air = silent();
    air.addAp(AP);
    air.addAp({ ...AP, bssid: '02:00:00:00:aa:02', dhcp: 'timeout' });
    const lease = air.join('dev', AP.bssid);
    expect(() => air.join('dev', '02:00:00:00:ff:ff')).toThrow(
      expect.objectContaining({ code: 'NOT_FOUND' }) as Error,
    );
    expect(() => air.join('dev', '02:00:00:00:aa:02')).toThrow(
      expect.objectContaining({ code: 'TIMEOUT', details: { reason: 'dhcp_timeout' } }) as Error,
    );
    expect(air.membershipOf('dev')).toEqual({ bssid: AP.bssid, lease });
  });

  it('moves an observer between APs (roaming) and frees the old address', () => {
    const air = silent();
    const left = vi.fn();
    air.on('left', left);
    air.addAp(AP);
    air.addAp({ ...AP, bssid: '02:00:00:00:aa:02', subnet: '10.20.31.0/24' });
    air.join('dev', AP.bssid);
    air.join('dev', '02:00:00:00:aa:02');
    expect(left).toHaveBeenCalledWith({ observerId: 'dev', bssid: AP.bssid, reason: 'roamed' });
    expect(air.clientsOf(AP.bssid)).toEqual([]);
    expect(air.clientsOf('02:00:00:00:aa:02')).toEqual(['dev']);
  });

  it('deauthenticates clients when the AP is re-keyed', () => {
    const air = silent();
    air.addAp({ ...AP, security: 'wpa2-psk', passphrase: 'first pass' });
    air.join('dev', AP.bssid);
    air.updateAp(AP.bssid, { internet: false });
    expect(air.clientsOf(AP.bssid)).toEqual(['dev']);
    air.updateAp(AP.bssid, { passphrase: 'second pass' });
    expect(air.clientsOf(AP.bssid)).toEqual([]);
  });
});

describe('Airspace signal', () => {
  it('applies per-observer overrides and the hearing threshold', () => {
    const air = silent();
    air.addAp({ ...AP, signal: -60 });
    expect(air.signalFor('near', AP.bssid)).toBe(-60);
    air.setSignal('far', AP.bssid, HEARING_THRESHOLD_DBM);
    expect(air.signalFor('far', AP.bssid)).toBe(-90);
    air.setSignal('far', AP.bssid, -90.5);
    expect(air.signalFor('far', AP.bssid)).toBeUndefined();
    expect(air.scanResultsFor('far')).toEqual([]);
    expect(air.scanResultsFor('near')).toHaveLength(1);
    air.setSignal('near', AP.bssid, undefined);
    expect(air.scanResultsFor('near')).toEqual([]);
    air.clearSignal('near');
    expect(air.signalFor('near', AP.bssid)).toBe(-60);
  });

  it('drops an association when the observer moves out of range', () => {
    const air = silent();
    const left = vi.fn();
    air.on('left', left);
    air.addAp(AP);
    air.join('dev', AP.bssid);
    air.setSignal('dev', AP.bssid, -95);
    expect(left).toHaveBeenCalledWith({ observerId: 'dev', bssid: AP.bssid, reason: 'out-of-range' });
    expect(() => air.join('dev', AP.bssid)).toThrow(
      expect.objectContaining({ code: 'UNREACHABLE' }) as Error,
    );
  });

  it('never lets an observer hear its own AP', () => {
    const air = silent();
    air.addAp({ ...AP, owner: 'dev' });
    expect(air.scanResultsFor('dev')).toEqual([]);
    expect(air.scanResultsFor('station')).toHaveLength(1);
  });

  it('hears hidden APs, but a scan shows them with an empty SSID only', () => {
    const air = silent();
    air.addAp({ ...AP, hidden: true });
    expect(air.scanFor('x')).toEqual([{ ap: air.getAp(AP.bssid), signal: -50 }]);
    expect(air.scanResultsFor('x')).toEqual([
      {
        ssid: '',
        ssidHex: '',
        bssid: AP.bssid,
        frequency: 2412,
        signal: -50,
        security: 'open',
        known: false,
      },
    ]);
  });
});
