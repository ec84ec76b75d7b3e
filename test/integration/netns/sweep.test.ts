/**
 * The network lab cleans up after a crashed run: a namespace named for a process that is gone
 * (`al-<dead pid>-…`), with a process still running inside it (as a device's dnsmasq outlives a
 * killed agent), its /etc/netns entry and its run directory are all removed by the next start's
 * sweep — and a live run's are left alone. Needs root and iproute2.
 */
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { netnsAvailable, run } from '../../../lab/netns';
import { sweepStaleRuns } from '../../../lab/netns-fleet';
import { pidsInNamespace } from '../../../lab/netns-proc';
import { spawnChild } from '../../../platform/processes';

const availability = await netnsAvailable();
if (!availability.ok) console.warn(`SKIPPING network lab sweep: ${availability.reason}`);

/** A pid that no process has now: one that has just exited. */
async function deadPid(): Promise<number> {
  const child = spawnChild('true', []);
  await new Promise((r) => child.once('exit', r));
  return child.pid ?? 999_999;
}

describe.skipIf(!availability.ok)(
  `network lab sweep${availability.ok ? '' : ` (SKIPPED: ${availability.reason})`}`,
  () => {
    const made: string[] = [];
    afterAll(async () => {
      for (const ns of made) await run('ip', ['netns', 'del', ns]);
    });

    it('removes a dead run’s namespaces, what runs in them and its files; keeps a live run’s', async () => {
      const dead = `al-${await deadPid()}-beef-air`;
      const live = `al-${process.pid}-f00d-air`;
      for (const ns of [dead, live]) {
        expect((await run('ip', ['netns', 'add', ns])).code).toBe(0);
        made.push(ns);
        await mkdir(`/etc/netns/${ns}`, { recursive: true });
        await writeFile(`/etc/netns/${ns}/resolv.conf`, '');
        await mkdir(`/tmp/${ns}`, { recursive: true });
      }
      const orphan = spawnChild('ip', ['netns', 'exec', dead, 'sleep', '600'], { stdio: 'ignore' });
      const gone = new Promise((r) => orphan.once('exit', r));
      const end = Date.now() + 5000;
      while (pidsInNamespace(dead).length === 0 && Date.now() < end)
        await new Promise((r) => setTimeout(r, 20));
      expect(pidsInNamespace(dead)).toEqual([orphan.pid]);

      expect(sweepStaleRuns()).toContain(dead);
      await gone;
      const list = (await run('ip', ['netns', 'list'])).stdout;
      expect(list).not.toContain(dead);
      expect(existsSync(`/etc/netns/${dead}`)).toBe(false);
      expect(existsSync(`/tmp/${dead}`)).toBe(false);
      // This process is alive: its run is not swept.
      expect(list).toContain(live);
      expect(existsSync(`/etc/netns/${live}`)).toBe(true);
      await rm(`/etc/netns/${live}`, { recursive: true, force: true });
      await rm(`/tmp/${live}`, { recursive: true, force: true });
    });
  },
);
