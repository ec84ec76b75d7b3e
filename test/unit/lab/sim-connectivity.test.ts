import { describe, expect, it } from 'vitest';
import type { ConnectivityTargets } from '../../../agent/ports/connectivity';
import type { JoinTarget } from '../../../agent/ports/radio';
import { Airspace, DEFAULT_APS, ssidHexOf } from '../../../lab/airspace';
import { SimConnectivity } from '../../../lab/sim-connectivity';
import { SimRadio } from '../../../lab/sim-radio';

const TARGETS: ConnectivityTargets = {
  dns: ['example.com'],
  ntp: ['pool.ntp.org'],
  urls: ['http://connectivity.example/generate_204'],
  timeoutMs: 2000,
};
const JOIN = { timeoutMs: 30_000, keepAp: false };
const LABNET: JoinTarget = {
  ssidHex: ssidHexOf('LabNet'),
  security: 'wpa2-psk',
  passphrase: 'correct horse',
  hidden: false,
};
const COFFEE: JoinTarget = { ssidHex: ssidHexOf('CoffeeShop'), security: 'open', hidden: false };
const WIRED = {
  ip: '10.0.0.5',
  subnetmask: '255.255.255.0',
  defaultgw: '10.0.0.1',
  nameservers: ['10.0.0.1'],
};

function setup(): { air: Airspace; radio: SimRadio; conn: SimConnectivity } {
  const air = Airspace.withDefaults({ onListenerError: () => undefined });
  const radio = new SimRadio({ airspace: air, deviceId: 'K7Q2M6XA', timeScale: 0 });
  return { air, radio, conn: new SimConnectivity({ radio }) };
}

function states(results: { id: string; state: string }[]): string[] {
  return results.map((r) => `${r.id}:${r.state}`);
}

describe('SimConnectivity', () => {
  it('everything ok on a network with internet', async () => {
    const { radio, conn } = setup();
    const outcome = await radio.join(LABNET, JOIN);
    if (!outcome.ok) throw new Error('join failed');
    const results = await conn.check(outcome.lease, TARGETS);
    expect(states(results)).toEqual(['gateway:ok', 'dns:ok', 'ntp:ok', 'url:ok']);
    expect(results[0]).toMatchObject({ target: '192.168.50.1' });
    expect(results.every((r) => typeof r.latencyMs === 'number')).toBe(true);
  });

  it('gateway answers but the internet does not on a network without uplink', async () => {
    const { radio, conn } = setup();
    const outcome = await radio.join(COFFEE, JOIN);
    if (!outcome.ok) throw new Error('join failed');
    const results = await conn.check(outcome.lease, TARGETS);
    expect(states(results)).toEqual(['gateway:ok', 'dns:failed', 'ntp:failed', 'url:failed']);
    expect(results[1]?.detail).toMatch(/CoffeeShop.*no internet/);
  });

  it('follows the AP losing its uplink at run time', async () => {
    const { air, radio, conn } = setup();
    await radio.join(LABNET, JOIN);
    air.updateAp(DEFAULT_APS.labNet.bssid, { internet: false });
    expect(states(await conn.check(undefined, TARGETS))).toContain('dns:failed');
    air.updateAp(DEFAULT_APS.labNet.bssid, { internet: true });
    expect(states(await conn.check(undefined, TARGETS))).toContain('dns:ok');
  });

  it('fails everything with no link, or for a lease no link holds', async () => {
    const { radio, conn } = setup();
    const none = await conn.check(undefined, TARGETS);
    expect(states(none)).toEqual(['gateway:failed', 'dns:failed', 'ntp:failed', 'url:failed']);
    expect(none[0]?.detail).toBe('No link is up');
    await radio.join(LABNET, JOIN);
    const stale = await conn.check({ ...WIRED, ip: '192.168.99.9' }, TARGETS);
    expect(stale.every((r) => r.state === 'failed')).toBe(true);
  });

  it('counts the ethernet lease as internet and prefers it', async () => {
    const { radio, conn } = setup();
    await radio.join(COFFEE, JOIN);
    radio.setFaults({ ethernet: WIRED });
    const wired = await conn.check(undefined, TARGETS);
    expect(states(wired)).toEqual(['gateway:ok', 'dns:ok', 'ntp:ok', 'url:ok']);
    expect(wired[0]?.target).toBe('10.0.0.1');
    expect(states(await conn.check(WIRED, TARGETS))).toContain('url:ok');
  });

  it('skips empty target lists and checks each target once', async () => {
    const { radio, conn } = setup();
    radio.setFaults({ ethernet: WIRED });
    const results = await conn.check(WIRED, {
      dns: ['a.example', 'b.example'],
      ntp: [],
      urls: [],
      timeoutMs: 1000,
    });
    expect(results.map((r) => `${r.id}:${r.target}:${r.state}`)).toEqual([
      'gateway:10.0.0.1:ok',
      'dns:a.example:ok',
      'dns:b.example:ok',
      'ntp::skipped',
      'url::skipped',
    ]);
  });
});
