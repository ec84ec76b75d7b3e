/**
 * The link probe on a real kernel link: a veth with an address and a default route inside a network
 * namespace of a lab (lab/netns.ts), probed by a child started there, so sysfs and `ip` are the
 * namespace's own. Nothing leaves the namespaces the lab creates; the lab deletes them.
 *
 * Needs root and iproute2; otherwise skipped with the reason in its name.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetnsLab, netnsAvailable, sweepStaleLabs } from '../../../../lab/netns';

const REPO = fileURLToPath(new URL('../../../..', import.meta.url));
const CHILD = fileURLToPath(new URL('./links-probe-child.ts', import.meta.url));

const availability = await netnsAvailable();
const skipReason = availability.ok ? '' : availability.reason;

describe.skipIf(!availability.ok)(
  `LinkProbe in a network namespace${skipReason ? ` (skipped: ${skipReason})` : ''}`,
  () => {
    let lab: NetnsLab;
    let dir: string;

    beforeAll(async () => {
      await sweepStaleLabs();
      dir = mkdtempSync(join(tmpdir(), 'airlift-links-netns-'));
      writeFileSync(join(dir, 'resolv.conf'), 'nameserver 10.79.0.1\n');
      lab = await NetnsLab.create({
        segments: ['lan'],
        hosts: [{ name: 'dev', links: [{ segment: 'lan', address: '10.79.0.23/24' }] }],
      });
      // A gateway address on the segment; no host answers it, nothing is sent there.
      const route = await lab.exec('dev', 'ip', ['-4', 'route', 'add', 'default', 'via', '10.79.0.1']);
      expect(route.code, route.stderr).toBe(0);
    });

    afterAll(async () => {
      await lab.destroy();
      rmSync(dir, { recursive: true, force: true });
    });

    it('reads a veth that is up, with its address, mask, gateway; a veth is not auto-detected', async () => {
      const ifname = lab.host('dev').links[0]?.ifname ?? 'eth0';
      const run = await lab.exec(
        'dev',
        process.execPath,
        ['--import', 'tsx', CHILD, join(dir, 'resolv.conf'), ifname],
        { cwd: REPO, timeoutMs: 20_000 },
      );
      expect(run.code, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({
        configured: {
          up: true,
          lease: {
            ip: '10.79.0.23',
            subnetmask: '255.255.255.0',
            defaultgw: '10.79.0.1',
            nameservers: ['10.79.0.1'],
          },
        },
        // A veth has no `device`: not a physical NIC, so nothing is found without the config.
        autodetected: null,
      });
    });
  },
);
