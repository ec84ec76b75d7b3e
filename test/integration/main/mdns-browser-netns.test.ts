/**
 * The station's MdnsBrowser against the agent's real CiaoAdvertiser on a real (virtual) network:
 * the advertiser runs in host A, the browser in host B, both on one bridged segment, each in its own
 * network namespace (mdns-host.ts). The browser must report the device `up` with A's address and
 * TXT, an `update` of the TXT (st=setup → st=online), an `update` of the addresses when A's address
 * changes (ciao re-announces it), and `down` after the goodbyes of stop(); a second browser started
 * later in host C must find the device by querying. Prints measured latencies.
 *
 * Needs root and iproute2 (CI runs as root); otherwise it is skipped with the reason in its name.
 */
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetnsLab, netnsAvailable, sweepStaleLabs } from '../../../lab/netns';
import type { DiscoveredService, DiscoveryEvent } from '../../../main/ports/discovery';
import { buildTxt, instanceName, serviceInstanceFqdn } from '../../../shared/protocol/mdns';
import { ChildLines, type LineEvent } from '../mdns/child-lines';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const HOST_SCRIPT = fileURLToPath(new URL('./mdns-host.ts', import.meta.url));

const DEVICE = 'K7Q2M6XA';
const FQDN = serviceInstanceFqdn(DEVICE);
const HOSTNAME = 'airlift-k7q2m6xa';
const A_FIRST = '10.77.0.1';
const A_SECOND = '10.77.0.11';
const NONCE = '0badc0de5eed';

const availability = await netnsAvailable();
const skipReason = availability.ok ? '' : availability.reason;
if (!availability.ok) console.warn(`SKIPPING mdns-browser-netns: ${skipReason}`);

interface Discovery extends LineEvent {
  ev: 'discovery';
  event: DiscoveryEvent;
}
const isDiscovery = (e: LineEvent): e is Discovery => e.ev === 'discovery';
const discovery =
  (pred: (event: DiscoveryEvent) => boolean) =>
  (e: LineEvent): e is Discovery =>
    isDiscovery(e) && pred(e.event);
const serviceOf = (e: Discovery): DiscoveredService => {
  if (e.event.type === 'down') throw new Error('a down event has no service');
  return e.event.service;
};

describe.skipIf(!availability.ok)(
  `MdnsBrowser against CiaoAdvertiser in network namespaces${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let lab: NetnsLab;
    let advertiser: ChildLines;
    let browser: ChildLines;
    let node: (host: string, role: string) => ChildProcess;

    beforeAll(async () => {
      await sweepStaleLabs();
      lab = await NetnsLab.create({
        segments: ['lan'],
        hosts: [
          { name: 'a', links: [{ segment: 'lan', address: `${A_FIRST}/24` }] },
          { name: 'b', links: [{ segment: 'lan', address: '10.77.0.2/24' }] },
          { name: 'c', links: [{ segment: 'lan', address: '10.77.0.3/24' }] },
        ],
      });
      // When A's first address goes, its replacement in the same subnet must stay (it is added as a
      // secondary address, which the kernel would otherwise delete along with the primary).
      const sysctl = await lab.exec('a', 'sysctl', ['-w', 'net.ipv4.conf.eth0.promote_secondaries=1']);
      expect(sysctl.code, sysctl.stderr).toBe(0);
      node = (host: string, role: string) =>
        lab.spawn(host, process.execPath, ['--import', 'tsx', HOST_SCRIPT, role], { cwd: REPO });
      browser = new ChildLines('browser B', node('b', 'browser'));
      advertiser = new ChildLines('advertiser A', node('a', 'advertiser'));
      const ready = (e: LineEvent) => e.ev === 'ready';
      await Promise.all([
        browser.waitFor('ready', ready, 15_000),
        advertiser.waitFor('ready', ready, 15_000),
      ]);
    });

    afterAll(async () => {
      await lab.destroy();
    });

    it('reports up, a TXT update, an address change and down', async () => {
      // --- up ------------------------------------------------------------------------------------------
      advertiser.send({
        cmd: 'start',
        ad: {
          instance: instanceName(DEVICE),
          hostname: HOSTNAME,
          port: 4780,
          txt: buildTxt({ deviceId: DEVICE, state: 'setup', model: 'lab-pi', fw: '1.0.0' }),
          interfaces: ['eth0'],
        },
      });
      const starting = await advertiser.waitFor('starting', (e) => e.ev === 'starting', 5000);
      const up = await browser.waitFor(
        'up',
        discovery((e) => e.type === 'up'),
        10_000,
      );
      const started = await advertiser.waitFor('started', (e) => e.ev === 'started', 10_000);
      expect(serviceOf(up)).toMatchObject({
        fqdn: FQDN,
        instance: instanceName(DEVICE),
        host: `${HOSTNAME}.local`,
        port: 4780,
        addresses: [A_FIRST],
        interface: 'eth0',
        txt: { id: DEVICE, v: '1', st: 'setup', pv: '', md: 'lab-pi', fw: '1.0.0' },
      });
      console.log(
        `[measure] up ${up.t - starting.t} ms after start() (probing ${started.t - starting.t} ms, so ${up.t - started.t} ms after the first announcement)`,
      );

      // --- a browser that arrives later finds the device by asking -------------------------------------
      // (the station rejoining the target network after pushing credentials)
      const late = new ChildLines('browser C', node('c', 'browser'));
      const lateReady = await late.waitFor('ready', (e) => e.ev === 'ready', 15_000);
      const lateUp = await late.waitFor(
        'up',
        discovery((e) => e.type === 'up'),
        5000,
      );
      expect(serviceOf(lateUp)).toMatchObject({ fqdn: FQDN, addresses: [A_FIRST], txt: { st: 'setup' } });
      console.log(`[measure] a browser started later: up ${lateUp.t - lateReady.t} ms after its start()`);
      late.send({ cmd: 'stop' });
      await late.waitFor('stopped', (e) => e.ev === 'stopped', 5000);

      // --- TXT update ----------------------------------------------------------------------------------
      // ciao announces at 0, +1 s and +3 s and carries a change made meanwhile on the next of those;
      // a device changes state long after start-up, so measure the steady state (as ciao-netns does).
      await new Promise((r) => setTimeout(r, Math.max(0, started.t + 3200 - Date.now())));
      advertiser.send({
        cmd: 'updateTxt',
        txt: buildTxt({
          deviceId: DEVICE,
          state: 'online',
          lastNonceHex: NONCE,
          model: 'lab-pi',
          fw: '1.0.0',
        }),
      });
      const updating = await advertiser.waitFor('updating', (e) => e.ev === 'updating', 5000);
      const txtUpdate = await browser.waitFor(
        'update txt',
        discovery((e) => e.type === 'update' && e.changed.includes('txt')),
        5000,
      );
      expect(txtUpdate.event).toMatchObject({ type: 'update', changed: ['txt'] });
      expect(serviceOf(txtUpdate).txt).toMatchObject({ st: 'online', pv: NONCE.slice(0, 8) });
      console.log(`[measure] TXT st=online reported ${txtUpdate.t - updating.t} ms after updateTxt()`);

      // --- address change --------------------------------------------------------------------------------
      const beforeMove = browser.events.length;
      const movedAt = Date.now();
      for (const args of [
        ['addr', 'add', `${A_SECOND}/24`, 'dev', 'eth0'],
        ['addr', 'del', `${A_FIRST}/24`, 'dev', 'eth0'],
      ]) {
        const r = await lab.exec('a', 'ip', args);
        expect(r.code, r.stderr).toBe(0);
      }
      const moved = await browser.waitFor(
        'update addresses',
        discovery(
          (e) =>
            e.type === 'update' && e.changed.includes('addresses') && e.service.addresses.join() === A_SECOND,
        ),
        10_000,
        beforeMove,
      );
      expect(serviceOf(moved)).toMatchObject({ addresses: [A_SECOND], txt: { st: 'online' } });
      console.log(
        `[measure] address change reported ${moved.t - movedAt} ms after "ip addr" (ciao polls every 1 s here)`,
      );

      // --- down ------------------------------------------------------------------------------------------
      // The re-announcement after the move must not have looked like the device leaving.
      expect(browser.events.filter(discovery((e) => e.type === 'down'))).toEqual([]);
      advertiser.send({ cmd: 'stop' });
      const stopping = await advertiser.waitFor('stopping', (e) => e.ev === 'stopping', 5000);
      const down = await browser.waitFor(
        'down',
        discovery((e) => e.type === 'down'),
        10_000,
      );
      expect(down.event).toEqual({ type: 'down', fqdn: FQDN });
      console.log(
        `[measure] down ${down.t - stopping.t} ms after stop() (goodbye + the 3 s hold for re-announcements)`,
      );

      // --- nothing else happened --------------------------------------------------------------------------
      const kinds = browser.events.filter(isDiscovery).map((e) => e.event.type);
      expect(kinds).toEqual(['up', 'update', 'update', 'down']);
      browser.send({ cmd: 'services' });
      const services = await browser.waitFor('services', (e) => e.ev === 'services', 5000);
      expect(services.services).toEqual([]);
      expect(browser.events.filter((e) => e.ev === 'warning' || e.ev === 'error')).toEqual([]);
      expect(advertiser.events.filter((e) => e.ev === 'error')).toEqual([]);
    });
  },
);
