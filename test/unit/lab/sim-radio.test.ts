import { pbkdf2Sync } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { JoinTarget, SetupApConfig } from '../../../agent/ports/radio';
import { Airspace, DEFAULT_APS, ssidHexOf } from '../../../lab/airspace';
import { SimRadio, type SimRadioOptions } from '../../../lab/sim-radio';
import { CONNECT_FAILURE_REASONS } from '../../../shared/errors';

const LABNET: JoinTarget = {
  ssidHex: ssidHexOf('LabNet'),
  security: 'wpa2-psk',
  passphrase: 'correct horse',
  hidden: false,
};
const JOIN = { timeoutMs: 30_000, keepAp: false };
const SETUP_AP: SetupApConfig = {
  ssid: 'Airlift-K7Q2M6XA',
  address: '10.140.7.1',
  prefixLength: 24,
  dhcpRange: { start: '10.140.7.10', end: '10.140.7.50' },
  channel: 6,
};

function world(): Airspace {
  return Airspace.withDefaults({ onListenerError: () => undefined });
}

function instant(airspace: Airspace, extra: Partial<SimRadioOptions> = {}): SimRadio {
  return new SimRadio({ airspace, deviceId: 'K7Q2M6XA', timeScale: 0, ...extra });
}

afterEach(() => {
  vi.useRealTimers();
});

describe('SimRadio join outcomes', () => {
  it('joins LabNet and gets a lease from its subnet', async () => {
    const air = world();
    const radio = instant(air);
    const outcome = await radio.join(LABNET, JOIN);
    expect(outcome).toMatchObject({ ok: true, bssid: DEFAULT_APS.labNet.bssid, signal: -45 });
    if (!outcome.ok) throw new Error('unreachable');
    expect(outcome.lease.ip).toMatch(/^192\.168\.50\.\d+$/);
    expect(outcome.lease).toMatchObject({ subnetmask: '255.255.255.0', defaultgw: '192.168.50.1' });
    const status = await radio.status();
    expect(status.wifi).toMatchObject({ up: true, ssidHex: LABNET.ssidHex, lease: outcome.lease });
    expect(air.clientsOf(DEFAULT_APS.labNet.bssid)).toEqual(['K7Q2M6XA']);
  });

  it('accepts the 64-hex PSK computed independently', async () => {
    const psk = pbkdf2Sync('correct horse', 'LabNet', 4096, 32, 'sha1').toString('hex');
    const outcome = await instant(world()).join({ ...LABNET, passphrase: undefined, psk }, JOIN);
    expect(outcome.ok).toBe(true);
  });

  it('joins SSIDs that are not UTF-8 by their bytes', async () => {
    const outcome = await instant(world()).join(
      { ssidHex: DEFAULT_APS.latin1.ssidHex, security: 'wpa2-psk', passphrase: 'latin one', hidden: false },
      JOIN,
    );
    expect(outcome).toMatchObject({ ok: true, bssid: DEFAULT_APS.latin1.bssid });
  });

  it('ssid_not_found when nothing by that name is heard', async () => {
    const outcome = await instant(world()).join({ ...LABNET, ssidHex: ssidHexOf('Nowhere') }, JOIN);
    expect(outcome).toMatchObject({ ok: false, reason: 'ssid_not_found' });
  });

  it('assoc_rejected on a security mismatch', async () => {
    const outcome = await instant(world()).join(
      { ssidHex: LABNET.ssidHex, security: 'open', hidden: false },
      JOIN,
    );
    expect(outcome).toMatchObject({ ok: false, reason: 'assoc_rejected' });
  });

  it('auth_failed on a wrong passphrase or PSK', async () => {
    const radio = instant(world());
    expect(await radio.join({ ...LABNET, passphrase: 'battery staple' }, JOIN)).toMatchObject({
      ok: false,
      reason: 'auth_failed',
    });
    const wrongPsk = pbkdf2Sync('correct horse', 'CoffeeShop', 4096, 32, 'sha1').toString('hex');
    expect(await radio.join({ ...LABNET, passphrase: undefined, psk: wrongPsk }, JOIN)).toMatchObject({
      ok: false,
      reason: 'auth_failed',
    });
    expect((await radio.status()).wifi.up).toBe(false);
  });

  it('dhcp_timeout when the AP never answers DHCP', async () => {
    const air = world();
    air.updateAp(DEFAULT_APS.labNet.bssid, { dhcp: 'timeout' });
    const outcome = await instant(air).join(LABNET, JOIN);
    expect(outcome).toMatchObject({ ok: false, reason: 'dhcp_timeout' });
    expect(air.clientsOf(DEFAULT_APS.labNet.bssid)).toEqual([]);
  });

  it('timeout when the sim latencies exceed the join timeout, whatever the time scale', async () => {
    const radio = instant(world(), { latency: { associateMs: 5000, jitter: 0 } });
    const outcome = await radio.join(LABNET, { timeoutMs: 4000, keepAp: false });
    expect(outcome).toMatchObject({ ok: false, reason: 'timeout' });
  });

  it.each(CONNECT_FAILURE_REASONS)('forceJoinFailure %s is reported as given', async (reason) => {
    const radio = instant(world(), { faults: { forceJoinFailure: reason } });
    expect(await radio.join(LABNET, JOIN)).toMatchObject({ ok: false, reason });
    radio.setFaults({ forceJoinFailure: undefined });
    expect((await radio.join(LABNET, JOIN)).ok).toBe(true);
  });

  it('drops the current connection once it starts associating elsewhere, not for an absent SSID', async () => {
    const radio = instant(world());
    await radio.join(LABNET, JOIN);
    await radio.join({ ...LABNET, ssidHex: ssidHexOf('Nowhere') }, JOIN);
    expect((await radio.status()).wifi.up).toBe(true);
    await radio.join({ ...LABNET, passphrase: 'wrong wrong' }, JOIN);
    expect((await radio.status()).wifi.up).toBe(false);
  });

  it('keeps the same address across leave and rejoin', async () => {
    const radio = instant(world());
    const first = await radio.join(LABNET, JOIN);
    await radio.leave();
    expect((await radio.status()).wifi.up).toBe(false);
    const second = await radio.join(LABNET, JOIN);
    expect(first.ok && second.ok && first.lease.ip === second.lease.ip).toBe(true);
  });

  it('refuses a malformed SSID as a programming error', async () => {
    await expect(instant(world()).join({ ...LABNET, ssidHex: 'xyz' }, JOIN)).rejects.toMatchObject({
      code: 'INVALID_SSID',
    });
  });
});

describe('SimRadio hidden SSIDs', () => {
  function withHidden(): Airspace {
    const air = world();
    air.addAp({
      ssidHex: ssidHexOf('Stealth'),
      bssid: '02:00:00:00:00:99',
      security: 'wpa2-psk',
      passphrase: 'quiet please',
      frequency: 2437,
      hidden: true,
      subnet: '172.16.5.0/24',
      internet: true,
    });
    return air;
  }
  const stealth: JoinTarget = {
    ssidHex: ssidHexOf('Stealth'),
    security: 'wpa2-psk',
    passphrase: 'quiet please',
    hidden: false,
  };

  it('is not in the scan by name', async () => {
    const scan = await instant(withHidden()).scan();
    expect(scan.some((r) => r.ssidHex === stealth.ssidHex)).toBe(false);
    expect(scan.find((r) => r.bssid === '02:00:00:00:00:99')).toMatchObject({ ssid: '', ssidHex: '' });
  });

  it('is joinable only with hidden: true', async () => {
    const radio = instant(withHidden());
    expect(await radio.join(stealth, JOIN)).toMatchObject({ ok: false, reason: 'ssid_not_found' });
    const outcome = await radio.join({ ...stealth, hidden: true }, JOIN);
    expect(outcome).toMatchObject({ ok: true, bssid: '02:00:00:00:00:99' });
  });
});

describe('SimRadio range', () => {
  it('hears nothing and finds nothing when out of range, and loses its link', async () => {
    const air = world();
    const radio = instant(air);
    await radio.join(LABNET, JOIN);
    radio.setFaults({ outOfRange: true });
    expect((await radio.status()).wifi.up).toBe(false);
    expect(await radio.scan()).toEqual([]);
    expect(await radio.join(LABNET, JOIN)).toMatchObject({ ok: false, reason: 'ssid_not_found' });
    radio.setFaults({ outOfRange: false });
    expect((await radio.join(LABNET, JOIN)).ok).toBe(true);
  });

  it('follows per-device signal overrides', async () => {
    const air = world();
    const radio = instant(air);
    air.setSignal('K7Q2M6XA', DEFAULT_APS.labNet.bssid, -80);
    expect((await radio.scan()).find((r) => r.bssid === DEFAULT_APS.labNet.bssid)?.signal).toBe(-80);
    air.setSignal('K7Q2M6XA', DEFAULT_APS.labNet.bssid, undefined);
    expect(await radio.join(LABNET, JOIN)).toMatchObject({ ok: false, reason: 'ssid_not_found' });
  });

  it('does not hear bands the radio lacks', async () => {
    const radio = instant(world(), { capabilities: { bands: ['2.4GHz'] } });
    const scan = await radio.scan();
    expect(scan.every((r) => r.frequency < 3000)).toBe(true);
    expect(scan.some((r) => r.ssid === 'LabNet')).toBe(true);
  });

  it('fails with hardware for a security mode the radio lacks', async () => {
    const radio = instant(world(), { capabilities: { security: ['open', 'wpa2-psk'] } });
    const outcome = await radio.join(
      {
        ssidHex: DEFAULT_APS.neighbour5g.ssidHex,
        security: 'wpa3-sae',
        passphrase: 'not your network',
        hidden: false,
      },
      JOIN,
    );
    expect(outcome).toMatchObject({ ok: false, reason: 'hardware' });
  });
});

describe('SimRadio setup AP and the AP+STA rule', () => {
  it('puts the setup AP in the air for others, never in its own scan', async () => {
    const air = world();
    const radio = instant(air);
    await radio.startAp(SETUP_AP);
    const ap = air.listAps().find((a) => a.owner === 'K7Q2M6XA');
    expect(ap).toMatchObject({
      ssidHex: ssidHexOf('Airlift-K7Q2M6XA'),
      security: 'open',
      frequency: 2437,
      gateway: '10.140.7.1',
      internet: false,
    });
    expect(air.scanResultsFor('station').some((r) => r.ssid === 'Airlift-K7Q2M6XA')).toBe(true);
    expect((await radio.scan()).some((r) => r.ssid === 'Airlift-K7Q2M6XA')).toBe(false);

    const lease = air.join('station', ap?.bssid ?? '');
    expect(lease.ip).toMatch(/^10\.140\.7\.(?:[1-4]\d|50)$/);
    expect((await radio.status()).ap).toEqual({
      up: true,
      ssid: 'Airlift-K7Q2M6XA',
      address: '10.140.7.1',
      clients: 1,
    });

    await radio.stopAp();
    expect(air.listAps().some((a) => a.owner === 'K7Q2M6XA')).toBe(false);
    expect(air.membershipOf('station')).toBeUndefined();
    expect((await radio.status()).ap).toEqual({ up: false, clients: 0 });
  });

  it('uses WPA2 when the AP has a passphrase, and keeps its BSSID across restarts', async () => {
    const air = world();
    const radio = instant(air);
    await radio.startAp({ ...SETUP_AP, passphrase: 'setup-pass-1' });
    const first = air.listAps().find((a) => a.owner === 'K7Q2M6XA');
    expect(first).toMatchObject({ security: 'wpa2-psk', passphrase: 'setup-pass-1' });
    await radio.startAp(SETUP_AP);
    const second = air.listAps().filter((a) => a.owner === 'K7Q2M6XA');
    expect(second).toHaveLength(1);
    expect(second[0]).toMatchObject({ bssid: first?.bssid, security: 'open' });
  });

  it('without concurrent AP+STA: join fails with hardware while the AP is up', async () => {
    const air = world();
    const radio = instant(air);
    await radio.startAp(SETUP_AP);
    for (const keepAp of [true, false]) {
      expect(await radio.join(LABNET, { timeoutMs: 30_000, keepAp })).toMatchObject({
        ok: false,
        reason: 'hardware',
      });
    }
    expect((await radio.status()).ap.up).toBe(true);
    await radio.stopAp();
    expect((await radio.join(LABNET, JOIN)).ok).toBe(true);
  });

  it('without concurrent AP+STA: starting the AP drops the station link', async () => {
    const radio = instant(world());
    await radio.join(LABNET, JOIN);
    await radio.startAp(SETUP_AP);
    const status = await radio.status();
    expect(status.wifi.up).toBe(false);
    expect(status.ap.up).toBe(true);
  });

  it('with concurrent AP+STA: keepAp keeps the AP, keepAp false takes it down', async () => {
    const radio = instant(world(), { capabilities: { concurrentApSta: true } });
    expect((await radio.capabilities()).concurrentApSta).toBe(true);
    await radio.startAp(SETUP_AP);
    expect((await radio.join(LABNET, { timeoutMs: 30_000, keepAp: true })).ok).toBe(true);
    let status = await radio.status();
    expect(status.ap.up && status.wifi.up).toBe(true);

    expect((await radio.join(LABNET, { timeoutMs: 30_000, keepAp: false })).ok).toBe(true);
    status = await radio.status();
    expect(status.ap.up).toBe(false);
    expect(status.wifi.up).toBe(true);
  });

  it('the concurrentApSta fault overrides the capability at run time', async () => {
    const radio = instant(world(), { capabilities: { concurrentApSta: true } });
    radio.setFaults({ concurrentApSta: false });
    expect((await radio.capabilities()).concurrentApSta).toBe(false);
    await radio.startAp(SETUP_AP);
    expect(await radio.join(LABNET, { timeoutMs: 30_000, keepAp: true })).toMatchObject({
      reason: 'hardware',
    });
  });

  it('failApStart makes startAp throw and leaves no AP', async () => {
    const air = world();
    const radio = instant(air, { faults: { failApStart: true } });
    await expect(radio.startAp(SETUP_AP)).rejects.toMatchObject({ code: 'COMMAND_FAILED' });
    expect(air.listAps().some((a) => a.owner === 'K7Q2M6XA')).toBe(false);
    expect((await radio.status()).ap.up).toBe(false);
  });

  it('refuses an invalid AP passphrase', async () => {
    await expect(instant(world()).startAp({ ...SETUP_AP, passphrase: 'short' })).rejects.toMatchObject({
      code: 'INVALID_PASSPHRASE',
    });
  });
});

describe('SimRadio one channel for AP and station (the AP planner)', () => {
  const AP1: SetupApConfig = { ...SETUP_AP, channel: 1 };
  const oneChannel = (air: Airspace, extra: Partial<SimRadioOptions> = {}) =>
    instant(air, { capabilities: { concurrentApSta: true }, singleChannel: true, ...extra });
  const ownFrequency = (air: Airspace) => air.listAps().find((a) => a.owner === 'K7Q2M6XA')?.frequency;
  const KEEP = { timeoutMs: 30_000, keepAp: true };

  it('the AP starts on the channel of an associated station', async () => {
    const air = world();
    const radio = oneChannel(air);
    expect((await radio.join(LABNET, JOIN)).ok).toBe(true); // LabNet: 2437 MHz, channel 6
    await radio.startAp(AP1);
    expect(ownFrequency(air)).toBe(2437);
    expect((await radio.status()).wifi.up).toBe(true);
  });

  it('a join to another channel takes the AP off the air, and it comes back on the station channel', async () => {
    const air = world();
    const radio = oneChannel(air);
    await radio.startAp(AP1);
    expect(ownFrequency(air)).toBe(2412);
    const seen: string[] = [];
    air.on('ap-removed', ({ ap }) => seen.push(`off:${ap.frequency}`));
    air.on('ap-added', ({ ap }) => seen.push(`on:${ap.frequency}`));
    expect((await radio.join(LABNET, KEEP)).ok).toBe(true);
    expect(seen).toEqual(['off:2412', 'on:2437']);
    const status = await radio.status();
    expect(status.ap.up && status.wifi.up).toBe(true);
    // On the same channel now: the next join leaves the AP alone.
    seen.length = 0;
    expect((await radio.join(LABNET, KEEP)).ok).toBe(true);
    expect(seen).toEqual([]);
  });

  it('after a failed join the AP is back on its configured channel', async () => {
    const air = world();
    const radio = oneChannel(air);
    await radio.startAp(AP1);
    expect(await radio.join({ ...LABNET, passphrase: 'wrong horse' }, KEEP)).toMatchObject({
      reason: 'auth_failed',
    });
    expect(ownFrequency(air)).toBe(2412);
  });

  it('5 GHz without a country: the AP and the station take turns; with one, the AP follows', async () => {
    const neighbour: JoinTarget = {
      ssidHex: DEFAULT_APS.neighbour5g.ssidHex,
      security: 'wpa3-sae',
      passphrase: 'not your network',
      hidden: false,
    };
    const air = world();
    const radio = oneChannel(air);
    await radio.startAp(AP1);
    expect((await radio.join(neighbour, KEEP)).ok).toBe(true);
    expect((await radio.status()).ap.up).toBe(false);
    const withCountry = world();
    const de = oneChannel(withCountry, { country: 'DE' });
    await de.startAp(AP1);
    expect((await de.join(neighbour, KEEP)).ok).toBe(true);
    expect(ownFrequency(withCountry)).toBe(5180);
  });

  it('two channels (the default): the AP keeps its own', async () => {
    const air = world();
    const radio = instant(air, { capabilities: { concurrentApSta: true } });
    await radio.startAp(AP1);
    expect((await radio.join(LABNET, KEEP)).ok).toBe(true);
    expect(ownFrequency(air)).toBe(2412);
  });
});

describe('SimRadio status, serialisation and close', () => {
  it('reports a wired link from the ethernet fault', async () => {
    const radio = instant(world());
    const lease = {
      ip: '10.0.0.5',
      subnetmask: '255.255.255.0',
      defaultgw: '10.0.0.1',
      nameservers: ['10.0.0.1'],
    };
    radio.setFaults({ ethernet: lease });
    expect((await radio.status()).ethernet).toEqual({ up: true, lease });
    radio.setFaults({ ethernet: undefined });
    expect((await radio.status()).ethernet).toEqual({ up: false });
  });

  it('refuses a second radio operation while one is in flight', async () => {
    vi.useFakeTimers();
    const radio = new SimRadio({ airspace: world(), deviceId: 'K7Q2M6XA', latency: { jitter: 0 } });
    const join = radio.join(LABNET, JOIN);
    await expect(radio.scan()).rejects.toMatchObject({ code: 'BUSY' });
    await expect(radio.status()).resolves.toBeDefined();
    await vi.runAllTimersAsync();
    expect((await join).ok).toBe(true);
    const scan = radio.scan();
    await vi.runAllTimersAsync();
    expect(await scan).not.toHaveLength(0);
  });

  it('close leaves the network, stops the AP and refuses further operations', async () => {
    const air = world();
    const radio = instant(air, { capabilities: { concurrentApSta: true } });
    await radio.startAp(SETUP_AP);
    await radio.join(LABNET, { timeoutMs: 30_000, keepAp: true });
    await radio.close();
    await radio.close();
    expect(air.membershipOf('K7Q2M6XA')).toBeUndefined();
    expect(air.listAps().some((a) => a.owner === 'K7Q2M6XA')).toBe(false);
    await expect(radio.scan()).rejects.toMatchObject({ code: 'BACKEND_UNAVAILABLE' });
  });
});

describe('SimRadio latency', () => {
  it('timeScale 0 completes without any timer firing', async () => {
    vi.useFakeTimers();
    const radio = instant(world());
    await radio.startAp(SETUP_AP);
    await radio.stopAp();
    expect((await radio.join(LABNET, JOIN)).ok).toBe(true);
    expect(await radio.scan()).not.toHaveLength(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('honours a fixed latency: scan + associate + DHCP', async () => {
    vi.useFakeTimers();
    const radio = new SimRadio({
      airspace: world(),
      deviceId: 'K7Q2M6XA',
      latency: { scanMs: 1000, associateMs: 500, dhcpMs: 300, jitter: 0 },
    });
    let outcome: unknown;
    void radio.join(LABNET, JOIN).then((o) => (outcome = o));
    await vi.advanceTimersByTimeAsync(1799);
    expect(outcome).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(outcome).toMatchObject({ ok: true });
  });

  it('timeScale multiplies the waits, and jitter stays within its bounds', async () => {
    vi.useFakeTimers();
    const radio = new SimRadio({
      airspace: world(),
      deviceId: 'K7Q2M6XA',
      timeScale: 0.5,
      latency: { scanMs: 1000, jitter: 0.2 },
      random: () => 0, // the shortest wait jitter allows: 1000 * 0.8 * 0.5
    });
    let done = false;
    void radio.scan().then(() => (done = true));
    await vi.advanceTimersByTimeAsync(399);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
  });

  it('a join timeout fires at the deadline, not after the full latency', async () => {
    vi.useFakeTimers();
    const radio = new SimRadio({
      airspace: world(),
      deviceId: 'K7Q2M6XA',
      latency: { scanMs: 100, associateMs: 60_000, jitter: 0 },
    });
    let outcome: unknown;
    void radio.join(LABNET, { timeoutMs: 5000, keepAp: false }).then((o) => (outcome = o));
    await vi.advanceTimersByTimeAsync(4999);
    expect(outcome).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(outcome).toMatchObject({ ok: false, reason: 'timeout' });
  });

  it('ssid_not_found arrives after a scan-like delay', async () => {
    vi.useFakeTimers();
    const radio = new SimRadio({
      airspace: world(),
      deviceId: 'K7Q2M6XA',
      latency: { scanMs: 2000, jitter: 0 },
    });
    let outcome: unknown;
    void radio.join({ ...LABNET, ssidHex: ssidHexOf('Nowhere') }, JOIN).then((o) => (outcome = o));
    await vi.advanceTimersByTimeAsync(1999);
    expect(outcome).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(outcome).toMatchObject({ ok: false, reason: 'ssid_not_found' });
  });

  it('a silent DHCP server is given up on at dhcpGiveUpMs, bounded by the join timeout', async () => {
    vi.useFakeTimers();
    const air = world();
    air.updateAp(DEFAULT_APS.labNet.bssid, { dhcp: 'timeout' });
    const radio = new SimRadio({
      airspace: air,
      deviceId: 'K7Q2M6XA',
      latency: { scanMs: 0, associateMs: 0, dhcpGiveUpMs: 10_000, jitter: 0 },
    });
    let outcome: unknown;
    void radio.join(LABNET, { timeoutMs: 3000, keepAp: false }).then((o) => (outcome = o));
    await vi.advanceTimersByTimeAsync(2999);
    expect(outcome).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    expect(outcome).toMatchObject({ ok: false, reason: 'dhcp_timeout' });
  });
});
