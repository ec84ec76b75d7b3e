/**
 * AvahiAdvertiser with a real avahi-daemon: the daemon runs in host A (its compiled-in paths bound
 * to temp directories by avahi-host.ts, so the machine's own Avahi, if any, is untouched), the test
 * writes the service file, and a multicast-dns listener in host B must see the service (with a
 * hostile instance name intact), the TXT change, and goodbyes when the file is removed.
 *
 * Needs root, iproute2 and the Debian package avahi-daemon (not started on install in CI images
 * with policy-rc.d; this test starts its own instance). Skipped with the reason otherwise.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AvahiAdvertiser } from '../../../agent/mdns/avahi-advertiser';
import { NetnsLab, netnsAvailable, stopChild, sweepStaleLabs } from '../../../lab/netns';
import { buildTxt } from '../../../shared/protocol/mdns';
import { ChildLines, isRr, type LineEvent, type RrEvent } from './child-lines';

const REPO = fileURLToPath(new URL('../../..', import.meta.url));
const AVAHI_HOST = fileURLToPath(new URL('./avahi-host.ts', import.meta.url));
const BROWSER = fileURLToPath(new URL('./browser-host.ts', import.meta.url));

const HOST = 'airlift-k7q2m6xa';
const TYPE_PTR = '_airlift._tcp.local';
// Markup, quotes and Avahi's own wildcard: all must reach the network verbatim.
const INSTANCE = `Airlift <K7Q2M6XA> & "x" %h`;
const FQDN = `${INSTANCE}.${TYPE_PTR}`;

async function availability(): Promise<string> {
  const netns = await netnsAvailable();
  if (!netns.ok) return netns.reason;
  if (spawnSync('avahi-daemon', ['--version']).status !== 0) {
    return 'avahi-daemon is not installed (apt-get install -y avahi-daemon)';
  }
  if (!existsSync('/etc/avahi/services'))
    return '/etc/avahi/services is missing (avahi-daemon package incomplete)';
  return '';
}
const skipReason = await availability();
if (skipReason) console.warn(`SKIPPING avahi-netns: ${skipReason}`);

const txtOf = (rr: RrEvent): string[] => rr.data as string[];
const rrFor =
  (type: string, name: string, extra: (rr: RrEvent) => boolean = () => true) =>
  (e: LineEvent): e is RrEvent =>
    isRr(e) && e.type === type && e.name === name && extra(e);

describe.skipIf(skipReason !== '')(
  `AvahiAdvertiser with a real avahi-daemon${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let lab: NetnsLab;
    let dir: string;
    let servicesDir: string;
    let daemon: ChildLines;
    let browser: ChildLines;

    beforeAll(async () => {
      await sweepStaleLabs();
      dir = await mkdtemp(join(tmpdir(), 'airlift-avahi-'));
      servicesDir = join(dir, 'services');
      await mkdir(servicesDir, { mode: 0o755 });
      await mkdir(join(dir, 'run'));
      const config = join(dir, 'avahi-daemon.conf');
      await writeFile(
        config,
        [
          '[server]',
          `host-name=${HOST}`,
          'use-ipv4=yes',
          'use-ipv6=no',
          'allow-interfaces=eth0',
          'enable-dbus=no',
          '[wide-area]',
          'enable-wide-area=no',
          '[publish]',
          'publish-hinfo=no',
          'publish-workstation=no',
          '',
        ].join('\n'),
      );
      lab = await NetnsLab.create({
        segments: ['lan'],
        hosts: [
          { name: 'a', links: [{ segment: 'lan', address: '10.77.0.1/24' }] },
          { name: 'b', links: [{ segment: 'lan', address: '10.77.0.2/24' }] },
        ],
      });
      const node = (host: string, ...args: string[]) =>
        lab.spawn(host, process.execPath, ['--import', 'tsx', ...args], { cwd: REPO });
      browser = new ChildLines('browser B', node('b', BROWSER, '10.77.0.2'));
      daemon = new ChildLines('avahi-daemon A', node('a', AVAHI_HOST, servicesDir, join(dir, 'run'), config));
      const ready = (e: LineEvent) => e.ev === 'ready';
      await Promise.all([browser.waitFor('ready', ready, 15_000), daemon.waitFor('ready', ready, 15_000)]);
    });

    afterAll(async () => {
      // Stop the daemon through its host first, so no avahi-daemon outlives the namespace.
      if (daemon as ChildLines | undefined) await stopChild(daemon.child, 3000);
      await lab.destroy();
      await rm(dir, { recursive: true, force: true });
    });

    it('publishes the file, follows a TXT change, and withdraws on stop', async () => {
      const advertiser = new AvahiAdvertiser({ servicesDir });
      const txt = (state: 'setup' | 'online') =>
        buildTxt({ deviceId: 'K7Q2M6XA', state, model: 'lab-pi', fw: '1.0.0' });

      const startedAt = Date.now();
      await advertiser.start({ instance: INSTANCE, hostname: HOST, port: 4780, txt: txt('setup') });
      const ptr = await browser.waitFor(
        'PTR',
        rrFor('PTR', TYPE_PTR, (rr) => rr.data === FQDN && (rr.ttl ?? 0) > 0),
        8000,
      );
      const srv = await browser.waitFor('SRV', rrFor('SRV', FQDN), 5000);
      const first = await browser.waitFor('TXT', rrFor('TXT', FQDN), 5000);
      const a = await browser.waitFor(
        'A',
        rrFor('A', `${HOST}.local`, (rr) => (rr.ttl ?? 0) > 0),
        5000,
      );
      expect(srv.data).toEqual({ target: `${HOST}.local`, port: 4780 });
      expect(txtOf(first)).toEqual(['id=K7Q2M6XA', 'v=1', 'st=setup', 'pv=', 'md=lab-pi', 'fw=1.0.0']);
      expect(a.data).toBe('10.77.0.1');
      console.log(`[measure] avahi: first PTR ${ptr.t - startedAt} ms after start() wrote the file`);

      const mark = browser.events.length;
      const updatedAt = Date.now();
      await advertiser.updateTxt(txt('online'));
      const online = await browser.waitFor(
        'TXT st=online',
        rrFor('TXT', FQDN, (rr) => txtOf(rr).includes('st=online')),
        8000,
        mark,
      );
      // Avahi reloads a changed file by withdrawing and re-probing the whole group; record what browsers see.
      const flap = browser.events
        .slice(mark)
        .some(rrFor('PTR', TYPE_PTR, (rr) => rr.data === FQDN && rr.ttl === 0));
      console.log(
        `[measure] avahi: TXT st=online ${online.t - updatedAt} ms after updateTxt(); goodbye in between: ${flap ? 'yes' : 'no'}`,
      );

      const beforeStop = browser.events.length;
      await advertiser.stop();
      expect(await readdir(servicesDir)).toEqual([]);
      await browser.waitFor(
        'PTR goodbye',
        rrFor('PTR', TYPE_PTR, (rr) => rr.data === FQDN && rr.ttl === 0),
        5000,
        beforeStop,
      );
      await browser.waitFor(
        'SRV goodbye',
        rrFor('SRV', FQDN, (rr) => rr.ttl === 0),
        5000,
        beforeStop,
      );

      // The daemon loaded our file without complaint.
      const logs = daemon.events.filter((e) => e.ev === 'log').map((e) => String(e.line));
      expect(logs.filter((l) => /parse failure|Failed to load|XML_ParseBuffer/i.test(l))).toEqual([]);
      expect(logs.some((l) => l.includes('successfully established'))).toBe(true);
    });
  },
);
