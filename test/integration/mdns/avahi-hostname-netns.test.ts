/**
 * The `.local` name the portal and `/v1/status` promise, with Avahi running (Raspberry Pi OS's
 * default): a real avahi-daemon in host A whose own host name is the OS's (`raspberrypi`), on a
 * private system bus; the agent's AvahiAdvertiser writes its service file and publishes
 * `airlift-k7q2m6xa.local` for the device's address; a multicast-dns client in host B asks for
 * the promised name, as a phone back on its own network would, and must get the address; the OS
 * name still resolves; an address change follows; stopping withdraws the name.
 *
 * Needs root, iproute2, avahi-daemon, avahi-utils (avahi-publish) and dbus-daemon. Skipped with the
 * reason otherwise.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
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

const OS_HOST = 'raspberrypi';
const PROMISED = 'airlift-k7q2m6xa.local';

async function availability(): Promise<string> {
  const netns = await netnsAvailable();
  if (!netns.ok) return netns.reason;
  for (const [tool, pkg] of [
    ['avahi-daemon', 'avahi-daemon'],
    ['avahi-publish', 'avahi-utils'],
    ['dbus-daemon', 'dbus'],
  ] as const) {
    if (spawnSync(tool, ['--version']).error) return `${tool} is not installed (apt-get install -y ${pkg})`;
  }
  if (!existsSync('/etc/avahi/services'))
    return '/etc/avahi/services is missing (avahi-daemon package incomplete)';
  return '';
}
const skipReason = await availability();
if (skipReason) console.warn(`SKIPPING avahi-hostname-netns: ${skipReason}`);

const aFor =
  (name: string, extra: (rr: RrEvent) => boolean = () => true) =>
  (e: LineEvent): e is RrEvent =>
    isRr(e) && e.type === 'A' && e.name === name && extra(e);

describe.skipIf(skipReason !== '')(
  `the promised .local name through a real avahi-daemon${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let lab: NetnsLab;
    let dir: string;
    let servicesDir: string;
    let daemon: ChildLines;
    let browser: ChildLines;
    let bus: string;

    beforeAll(async () => {
      await sweepStaleLabs();
      dir = await mkdtemp(join(tmpdir(), 'airlift-avahi-name-'));
      servicesDir = join(dir, 'services');
      await mkdir(servicesDir, { mode: 0o755 });
      await mkdir(join(dir, 'run'));
      bus = `unix:path=${join(dir, 'run', 'dbus', 'system_bus_socket')}`;
      const config = join(dir, 'avahi-daemon.conf');
      await writeFile(
        config,
        [
          '[server]',
          `host-name=${OS_HOST}`,
          'use-ipv4=yes',
          'use-ipv6=no',
          'allow-interfaces=eth0',
          'enable-dbus=yes',
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
          { name: 'a', links: [{ segment: 'lan', address: '10.78.0.1/24' }] },
          { name: 'b', links: [{ segment: 'lan', address: '10.78.0.2/24' }] },
        ],
      });
      const node = (host: string, ...args: string[]) =>
        lab.spawn(host, process.execPath, ['--import', 'tsx', ...args], { cwd: REPO });
      browser = new ChildLines('browser B', node('b', BROWSER, '10.78.0.2'));
      daemon = new ChildLines(
        'avahi-daemon A',
        node('a', AVAHI_HOST, servicesDir, join(dir, 'run'), config, 'dbus'),
      );
      const ready = (e: LineEvent) => e.ev === 'ready';
      await Promise.all([browser.waitFor('ready', ready, 15_000), daemon.waitFor('ready', ready, 15_000)]);
    });

    afterAll(async () => {
      if (daemon as ChildLines | undefined) await stopChild(daemon.child, 3000);
      await lab.destroy();
      await rm(dir, { recursive: true, force: true });
    });

    /** Ask for `name` until an answer with a live TTL matching `address` arrives. */
    async function resolves(name: string, address: string, ms = 10_000): Promise<RrEvent> {
      const mark = browser.events.length;
      const ask = () => browser.child.stdin?.write(`${JSON.stringify({ cmd: 'query', name, type: 'A' })}\n`);
      ask();
      const timer = setInterval(ask, 1000);
      try {
        return await browser.waitFor(
          `A ${name} = ${address}`,
          aFor(name, (rr) => rr.data === address && (rr.ttl ?? 0) > 0),
          ms,
          mark,
        );
      } finally {
        clearInterval(timer);
      }
    }

    it('publishes airlift-<id>.local beside the OS host name, follows an address change, withdraws it', async () => {
      const advertiser = new AvahiAdvertiser({
        servicesDir,
        hostName: { env: { DBUS_SYSTEM_BUS_ADDRESS: bus } },
      });
      await advertiser.start({
        instance: 'Airlift K7Q2M6XA',
        hostname: 'airlift-k7q2m6xa',
        port: 4780,
        txt: buildTxt({ deviceId: 'K7Q2M6XA', state: 'online', model: 'lab-pi', fw: '1.0.0' }),
      });
      // Without the agent's help Avahi answers only for the OS name.
      await resolves(`${OS_HOST}.local`, '10.78.0.1');

      // The agent reports its address (the link carrying traffic): the promised name resolves.
      advertiser.updateAddresses(['10.78.0.1']);
      const first = await resolves(PROMISED, '10.78.0.1');
      expect(first.from).toBe('10.78.0.1');
      // avahi-publish says so once its entry group is established.
      for (let i = 0; i < 50 && advertiser.publishedAddresses().length === 0; i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(advertiser.publishedAddresses()).toEqual(['10.78.0.1']);
      // The OS's own name is untouched (no reverse record was taken from it).
      await resolves(`${OS_HOST}.local`, '10.78.0.1');

      // A new lease: the name follows it.
      advertiser.updateAddresses(['10.78.0.7']);
      await resolves(PROMISED, '10.78.0.7');

      const mark = browser.events.length;
      await advertiser.stop();
      await browser.waitFor(
        'goodbye',
        aFor(PROMISED, (rr) => rr.ttl === 0),
        8000,
        mark,
      );
      const logs = daemon.events.filter((e) => e.ev === 'log').map((e) => String(e.line));
      expect(logs.filter((l) => /collision|conflict/i.test(l))).toEqual([]);
    });
  },
);
