/**
 * lab/netns.ts, the builder the mDNS tests (and later end-to-end tests) stand on: it builds what it
 * is asked, leaves nothing behind on failure or on a second destroy, and sweeps labs of dead runs.
 * Needs root and iproute2; skipped with the reason otherwise.
 */
import { describe, expect, it } from 'vitest';
import { NetnsLab, netnsAvailable, run, sweepStaleLabs } from '../../../lab/netns';
import { AirliftError } from '../../../shared/errors';

const availability = await netnsAvailable();
const skipReason = availability.ok ? '' : availability.reason;
if (!availability.ok) console.warn(`SKIPPING netns-lab: ${skipReason}`);

async function namespaces(prefix: string): Promise<string[]> {
  const r = await run('ip', ['netns', 'list']);
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}

describe.skipIf(!availability.ok)(`NetnsLab${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('builds hosts on bridged segments with addresses and multicast routes, and removes them twice over', async () => {
    const lab = await NetnsLab.create({
      segments: ['lan'],
      hosts: [
        { name: 'a', links: [{ segment: 'lan', address: '10.77.0.1/24' }] },
        { name: 'b', links: [{ segment: 'lan', address: '10.77.0.2/24', ifname: 'wlan0' }] },
      ],
    });
    try {
      expect(lab.id).toMatch(new RegExp(`^alab-${process.pid}-[0-9a-f]{6}$`));
      expect(await namespaces(lab.id)).toHaveLength(3);
      expect(lab.host('b').links).toEqual([
        { ifname: 'wlan0', segment: 'lan', cidr: '10.77.0.2/24', ip: '10.77.0.2' },
      ]);
      const addr = await lab.exec('b', 'ip', ['-4', '-o', 'addr', 'show', 'dev', 'wlan0']);
      expect(addr.stdout).toContain('inet 10.77.0.2/24');
      const routes = await lab.exec('a', 'ip', ['route', 'show', '224.0.0.0/4']);
      expect(routes.stdout).toContain('224.0.0.0/4 dev eth0');
      // L2 works across the bridge: B learns A's MAC (ARP) when it sends A a datagram.
      const send = await lab.exec('b', process.execPath, [
        '-e',
        "const s=require('dgram').createSocket('udp4');s.send('x',9,'10.77.0.1',()=>setTimeout(()=>s.close(),200));",
      ]);
      expect(send.code).toBe(0);
      const neigh = await lab.exec('b', 'ip', ['neigh', 'show', '10.77.0.1']);
      expect(neigh.stdout).toMatch(/lladdr [0-9a-f:]{17}/);
      // The machine's own namespace holds none of it.
      expect((await run('ip', ['-o', 'link', 'show', 'br-lan'])).code).not.toBe(0);
    } finally {
      await lab.destroy();
      await lab.destroy();
    }
    expect(await namespaces(lab.id)).toEqual([]);
    expect(() => lab.exec('a', 'true', [])).toThrow(AirliftError);
  });

  it('removes everything it made when building fails half way', async () => {
    const before = await namespaces(`alab-${process.pid}-`);
    // Passes the spec check but the kernel refuses the address, after namespaces exist.
    const failed = await NetnsLab.create({
      segments: ['lan'],
      hosts: [
        { name: 'a', links: [{ segment: 'lan', address: '10.77.0.1/24' }] },
        { name: 'b', links: [{ segment: 'lan', address: '10.77.0.300/24' }] },
      ],
    }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(AirliftError);
    expect((failed as AirliftError).message).toMatch(/ip -n alab-.* addr add 10\.77\.0\.300\/24/);
    expect(await namespaces(`alab-${process.pid}-`)).toEqual(before);
  });

  it('refuses specs that would make bad names', async () => {
    const bad = [
      { segments: ['LAN'], hosts: [] },
      { segments: ['lan', 'lan'], hosts: [] },
      { segments: ['lan'], hosts: [{ name: 'toolonghost', links: [] }] },
      { segments: ['lan'], hosts: [{ name: 'a', links: [{ segment: 'wan' }] }] },
      { segments: ['lan'], hosts: [{ name: 'a', links: [{ segment: 'lan', address: '10.0.0.1' }] }] },
      { segments: ['lan'], hosts: [{ name: 'a', links: [{ segment: 'lan', ifname: 'lo' }] }] },
    ];
    for (const spec of bad) {
      await expect(NetnsLab.create(spec), JSON.stringify(spec)).rejects.toMatchObject({
        code: 'INVALID_CONFIG',
      });
    }
  });

  it('sweeps namespaces left by a process that is gone', async () => {
    // pid 4194305 is above Linux's largest pid_max: never alive.
    const stale = 'alab-4194305-abcdef-a';
    expect((await run('ip', ['netns', 'add', stale])).code).toBe(0);
    const removed = await sweepStaleLabs();
    expect(removed).toContain(stale);
    expect(await namespaces(stale)).toEqual([]);
  });
});
