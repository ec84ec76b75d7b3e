/**
 * `npm start -- --lab 12 [--faults] [--adapters 2] [--ap-sta] [--ready]`: the desktop app on a
 * virtual fleet. Real agents on simulated radios, the real station service in Electron's main
 * process, the real UI in the sandboxed window — the only difference from `npm start` is the
 * environment the service runs on (and a scratch directory for its state, its own userData, no
 * updates). Bundled by scripts/build-desktop.mjs into dist/desktop/lab.js; it runs only inside
 * Electron (it reaches `electron` through main/electron/boot.ts).
 *
 * Import the manifest printed on stderr, make a profile for LabNet (password printed too), and
 * provision; `--ready` does the import and the profile for you.
 */
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boot, bundleDir } from '../main/electron/boot';
import { LAB_FAULTS, labBanner, startLabStationParts } from './lab-station';

interface LabArgs {
  devices: number;
  adapters: number;
  faults: boolean;
  apSta: boolean;
  ready: boolean;
  timeScale: number;
}

/** Our flags among whatever else Electron and Chromium leave in argv (their switches are ignored). */
export function parseLabArgs(argv: readonly string[]): LabArgs {
  const value = (flag: string, min: number, max: number, fallback: number): number => {
    const i = argv.indexOf(flag);
    if (i < 0) return fallback;
    const n = Number(argv[i + 1]);
    if (!Number.isFinite(n) || n < min || n > max)
      throw new Error(`${flag} takes a number from ${min} to ${max}`);
    return n;
  };
  return {
    devices: Math.trunc(value('--lab', 1, 500, 12)),
    adapters: Math.trunc(value('--adapters', 1, 8, 2)),
    faults: argv.includes('--faults'),
    apSta: argv.includes('--ap-sta'),
    ready: argv.includes('--ready'),
    timeScale: value('--time-scale', 0.01, 10, 0.25),
  };
}

function start(): void {
  const args = parseLabArgs(process.argv.slice(1));
  // A scratch directory for this run's userData; the station's state lives with the fleet's.
  const scratchDir = join(tmpdir(), `airlift-lab-desktop-${process.pid}`);
  boot({
    lab: true,
    desktopDir: bundleDir(import.meta.url),
    userData: join(scratchDir, 'user-data'),
    station: async ({ log }) => {
      log(
        'info',
        `starting ${args.devices} virtual devices${args.faults ? ` and ${LAB_FAULTS.length} with faults` : ''}`,
      );
      const parts = await startLabStationParts(args);
      process.stderr.write(
        [
          `Airlift desktop (lab): ${parts.fleet.devices.length} virtual devices`,
          ...labBanner(parts),
          '',
        ].join('\n'),
      );
      return {
        env: parts.env,
        paths: {
          dataDir: join(parts.dir, 'station'),
          jobsDir: join(parts.dir, 'jobs'),
          locksDir: join(parts.dir, 'locks'),
        },
        scanIntervalMs: 5_000,
        afterStart: (service) => parts.prepare(service, args.ready),
        close: async () => {
          await parts.close();
          await rm(scratchDir, { recursive: true, force: true });
        },
      };
    },
  });
}

start();
