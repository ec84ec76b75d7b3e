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
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatManifestCsv } from '../shared/manifest';
import type { StationSnapshot } from '../shared/station-api';
import { boot, bundleDir } from '../main/electron/boot';
import { LABNET, startFleet, type InjectedFault } from './fleet';

const FAULTS: InjectedFault[] = ['wrong_password', 'out_of_range', 'dhcp_failure'];

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
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`${flag} takes a number from ${min} to ${max}`);
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
  // Scratch directories for this run: the app's userData, the station's state and jobs.
  const scratchDir = join(tmpdir(), `airlift-lab-desktop-${process.pid}`);
  boot({
    lab: true,
    desktopDir: bundleDir(import.meta.url),
    userData: join(scratchDir, 'user-data'),
    station: async ({ log }) => {
      const dir = await mkdtemp(join(tmpdir(), 'airlift-lab-desktop-state-'));
      log('info', `starting ${args.devices} virtual devices${args.faults ? ' and 3 with faults' : ''}`);
      const fleet = await startFleet({
        devices: args.devices,
        adapters: args.adapters,
        faults: args.faults ? FAULTS : [],
        timeScale: args.timeScale,
        apSta: args.apSta,
      });
      const manifestPath = join(dir, 'lab-manifest.csv');
      const manifest = formatManifestCsv(fleet.manifest.map((m) => ({ ...m, extra: { salt: m.salt, iter: String(m.iter) } })));
      await writeFile(manifestPath, manifest, { mode: 0o600 });
      process.stderr.write(
        [
          `Airlift desktop (lab): ${args.devices + (args.faults ? FAULTS.length : 0)} virtual devices`,
          `Manifest of the virtual fleet: ${manifestPath}`,
          `Target network: ${LABNET.ssid}, password "${LABNET.passphrase}" (a lab network)`,
          '',
        ].join('\n'),
      );
      return {
        env: { adapters: fleet.provider, browser: fleet.browser(), transport: fleet.transport },
        paths: { dataDir: join(dir, 'station'), jobsDir: join(dir, 'jobs'), locksDir: join(dir, 'locks') },
        scanIntervalMs: 5_000,
        afterStart: async (service) => {
          // As lab/station.ts: the fleet runs on scaled time, so waiting longer for a device is only slower.
          const { settings } = (await service.call('getSnapshot', {})) as StationSnapshot;
          await service.call('saveSettings', {
            settings: { ...settings, verifyTimeoutSeconds: Math.max(5, Math.ceil(25 * args.timeScale)) },
          });
          if (!args.ready) return;
          await service.call('importManifest', { fileName: 'lab-manifest.csv', text: manifest });
          await service.call('saveProfile', { name: LABNET.ssid, ssid: LABNET.ssid, security: 'wpa2-psk', password: LABNET.passphrase });
        },
        close: async () => {
          await fleet.close();
          await rm(dir, { recursive: true, force: true });
          await rm(scratchDir, { recursive: true, force: true });
        },
      };
    },
  });
}

start();
