/**
 * dist/desktop/lab.js as built (`npm start -- --lab 2 --ready`), booted in Node over a fake
 * `electron` package (bundle-harness.ts): the virtual fleet, the manifest imported and the LabNet
 * profile made, all seen from the bundled preload; quitting closes the fleet.
 */
import { rm } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import type { StationSnapshot } from '../../../../shared/station-api';
import { runBundle, type BundleRun } from './bundle-harness';

let run: BundleRun | undefined;
afterAll(async () => {
  if (run) await rm(run.dir, { recursive: true, force: true });
});

describe('the built lab bundle', () => {
  it('runs the desktop app on the virtual fleet', async () => {
    run = await runBundle({ entry: 'lab/desktop.ts', argv: ['--lab', '2', '--ready', '--time-scale', '0.02'] });
    const e = run.electron;
    // Its own userData, so its own single-instance lock and keychain file.
    expect(e.calls[0]).toBe('app.setPath userData');
    const win = await run.ready();
    const api = run.page(win);
    const snap = (await api['getSnapshot']?.({})) as StationSnapshot;
    expect(snap.info).toMatchObject({ host: 'electron', lab: true });
    expect(snap.devices).toHaveLength(2);
    expect(snap.devices.every((d) => d.secretKnown)).toBe(true);
    expect(snap.profiles.map((p) => [p.name, p.password.held])).toEqual([['LabNet', true]]);

    win.close();
    const end = Date.now() + 30_000;
    while (!e.calls.includes('quit allowed') && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(e.calls).toContain('quit allowed');
  }, 120_000);
});
